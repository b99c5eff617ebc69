package main

// The app as `cdk synth` builds it (BuildApp), in two scenarios: with no CDK
// context at all, and with the example context of docs/deploy.md, given the
// way `cdk -c` gives it (every value a string). Each scenario is synthesized
// once and shared by the tests that read it.

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// exampleContextFile is the example context of docs/deploy.md; scripts/test.sh
// synthesizes with it too.
const exampleContextFile = "example-context.json"

const exampleRepository = "acme-corp/tally-uptime"

type scenario struct {
	envs     map[string]*synthesized // by environment name
	github   map[string]*synthesized // by account
	ghStacks map[string]*GitHubStack // by account
	// annotations by stack name, read while the cloud assembly still exists
	annotations map[string]assertions.Annotations
}

type scenarioBuild struct {
	once sync.Once
	s    *scenario
	err  error
}

var scenarios = map[string]*scenarioBuild{"none": {}, "example": {}}

// scenarioContext is the CDK context of a scenario. The example's
// environments are one JSON string, the way `cdk -c environments=...` passes them.
func scenarioContext(name string) (map[string]interface{}, error) {
	if name == "none" {
		return map[string]interface{}{}, nil
	}
	var ctx map[string]json.RawMessage
	b, err := os.ReadFile(exampleContextFile)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &ctx); err != nil {
		return nil, err
	}
	out := map[string]interface{}{ContextEnvironments: string(ctx[ContextEnvironments])}
	for _, key := range []string{ContextGitHubRepository, ContextGitHubOwnerID, ContextGitHubRepositoryID} {
		var v string
		if err := json.Unmarshal(ctx[key], &v); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out[key] = v
	}
	return out, nil
}

// synthScenario builds and synthesizes one scenario's app on first use.
func synthScenario(t *testing.T, name string) *scenario {
	t.Helper()
	b := scenarios[name]
	b.once.Do(func() {
		ctx, err := scenarioContext(name)
		if err != nil {
			b.err = err
			return
		}
		b.s, b.err = buildScenario(ctx)
	})
	if b.err != nil {
		t.Fatalf("scenario %s: %v", name, b.err)
	}
	return b.s
}

func buildScenario(context map[string]interface{}) (*scenario, error) {
	dir, err := os.MkdirTemp("", "infra-scenario-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(dir), Context: &context})
	envStacks, ghStacks, err := BuildApp(app)
	if err != nil {
		return nil, err
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(false)}), nil)
	app.Synth(nil)
	s := &scenario{envs: map[string]*synthesized{}, github: map[string]*synthesized{}, ghStacks: map[string]*GitHubStack{},
		annotations: map[string]assertions.Annotations{}}
	for _, st := range envStacks {
		syn, err := templateOf(st.Stack)
		if err != nil {
			return nil, err
		}
		syn.env, syn.stack = st.Env, st
		s.envs[st.Env.Name] = syn
		s.annotations[*st.StackName()] = assertions.Annotations_FromStack(st.Stack)
	}
	for _, g := range ghStacks {
		syn, err := templateOf(g.Stack)
		if err != nil {
			return nil, err
		}
		s.github[g.Trust.Account], s.ghStacks[g.Trust.Account] = syn, g
		s.annotations[*g.StackName()] = assertions.Annotations_FromStack(g.Stack)
	}
	return s, nil
}

// templateOf reads a synthesized stack's template into the test helpers' shape.
func templateOf(stack awscdk.Stack) (*synthesized, error) {
	tmpl := assertions.Template_FromStack(stack, nil)
	raw, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		return nil, err
	}
	var doc struct {
		Resources map[string]map[string]any
		Outputs   map[string]any
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return &synthesized{template: tmpl, res: doc.Resources, outputs: doc.Outputs}, nil
}

// rendered replaces every Fn::Join, Ref and Fn::GetAtt in v by its text
// (renderJoin), so policies compare as the strings they become.
func rendered(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["Fn::Join"]; ok {
			return renderJoin(x)
		}
		_, isRef := x["Ref"]
		_, isGetAtt := x["Fn::GetAtt"]
		if (isRef || isGetAtt) && len(x) == 1 {
			return renderJoin(x)
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = rendered(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rendered(e)
		}
		return out
	}
	return v
}

// warningsOf lists the app's own synth warnings of a stack (not cdk-nag's or CDK's).
func (s *scenario) warningsOf(stack awscdk.Stack) []string {
	var out []string
	a := s.annotations[*stack.StackName()]
	for _, w := range *a.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String(`\[ack: tally-uptime:`))) {
		out = append(out, jsonOf(w.Entry.Data))
	}
	return out
}
