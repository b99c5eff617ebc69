package main

// One jsii process serves this whole package. The shipped environments and the
// fixture configurations are synthesized once, in one app, and most tests read
// those shared templates; the few that need another app (the context scenarios,
// an optional dashboard, a third environment) build a small one of their own.
// TestMain closes jsii.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/tally/uptime/internal/contract"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	if synthDir != "" {
		os.RemoveAll(synthDir)
	}
	os.Exit(code)
}

// existingVPC exercises every non-default path: an imported VPC and database
// security group, Spot, a paused schedule, a customer-managed key, an ECR
// image and job defaults. It never deploys; it only has to synthesize offline.
func existingVPC() Environment {
	return Environment{
		Name:           "legacy",
		Account:        "123456789012",
		Region:         "eu-west-1",
		Schedule:       "cron(30 3 * * ? *)",
		TimeZone:       "Europe/Berlin",
		SchedulePaused: true,
		Network: Network{
			VpcID:                   "vpc-0a1b2c3d4e5f60718",
			SubnetIDs:               []string{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"},
			AvailabilityZones:       []string{"eu-west-1a", "eu-west-1b"},
			DatabaseSecurityGroupID: "sg-0db0db0db0db0db00",
			DatabasePort:            6432,
		},
		DatabaseURLParameter: "/legacy/uptime/database-url",
		DatabaseURLKeyARN:    "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
		AlarmEmails:          []string{"a@acme-corp.io", "b@acme-corp.io"},
		LogRetention:         awslogs.RetentionDays_ONE_WEEK,
		CPU:                  512,
		MemoryMiB:            1024,
		Spot:                 true,
		Job:                  JobDefaults{Points: 2, Force: true, Timeout: 20 * time.Minute},
		ImageURI:             "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tally-uptime@sha256:" + strings.Repeat("ab", 32),
	}
}

// spotOnly is the shipped defaults with Spot on, in the private subnets Spot
// needs (validate.go): only the capacity provider changes; the task and its
// image stay ARM64.
func spotOnly() Environment {
	return Environment{Name: "spot", AlarmEmails: []string{"a@acme-corp.io"}, Spot: true,
		Network: Network{VpcID: "vpc-0a1b2c3d4e5f60718", SubnetIDs: []string{"subnet-0aaa1111bbbb2222c"},
			AvailabilityZones: []string{"eu-west-1a"}}}
}

type synthesized struct {
	env      Environment
	stack    *UptimeStack
	template assertions.Template
	res      map[string]map[string]any // logical id -> resource
	outputs  map[string]any
	assets   map[string]any // <stack>.assets.json
}

var (
	synthOnce sync.Once
	synthDir  string
	synthErr  error
	stacks    map[string]*synthesized
)

// synth builds and synthesizes the app once, on first use, so that `go test
// -run` of a single test still works.
func synth(t *testing.T) map[string]*synthesized {
	t.Helper()
	synthOnce.Do(func() {
		synthErr = func() error {
			dir, err := os.MkdirTemp("", "infra-test-cdk-out-")
			if err != nil {
				return err
			}
			synthDir = dir
			app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(dir)})
			built, err := NewStacks(app, append(Environments(), existingVPC(), spotOnly()))
			if err != nil {
				return err
			}
			for _, s := range built {
				awscdk.Aspects_Of(s.Stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(false)}), nil)
			}
			app.Synth(nil)
			stacks = map[string]*synthesized{}
			for _, s := range built {
				tmpl := assertions.Template_FromStack(s.Stack, nil)
				raw, _ := json.Marshal(tmpl.ToJSON())
				var doc struct {
					Resources map[string]map[string]any
					Outputs   map[string]any
				}
				if err := json.Unmarshal(raw, &doc); err != nil {
					return err
				}
				assets := map[string]any{}
				b, err := os.ReadFile(filepath.Join(dir, contract.StackName(s.Env.Name)+".assets.json"))
				if err != nil {
					return err
				}
				if err := json.Unmarshal(b, &assets); err != nil {
					return err
				}
				stacks[s.Env.Name] = &synthesized{env: s.Env, stack: s, template: tmpl,
					res: doc.Resources, outputs: doc.Outputs, assets: assets}
			}
			return nil
		}()
	})
	if synthErr != nil {
		t.Fatalf("synth: %v", synthErr)
	}
	return stacks
}

// shipped runs fn once per environment in environments.go, as subtests.
func shipped(t *testing.T, fn func(t *testing.T, s *synthesized)) {
	all := synth(t)
	for _, e := range Environments() {
		t.Run(e.Name, func(t *testing.T) { fn(t, all[e.Name]) })
	}
}

// assert turns a failed CDK assertion (a panic from jsii) into a test error.
func assert(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	fn()
}

func (s *synthesized) ofType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.res {
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// one returns the only resource of a type, failing the test otherwise.
func (s *synthesized) one(t *testing.T, typ string) (string, map[string]any) {
	t.Helper()
	rs := s.ofType(typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s, want 1", len(rs), typ)
	}
	for id, r := range rs {
		return id, props(r)
	}
	return "", nil
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

func ref(id string) map[string]any       { return map[string]any{"Ref": id} }
func getAtt(id, a string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, a}} }

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func arr(v any) []any {
	switch a := v.(type) {
	case []any:
		return a
	case nil:
		return nil
	default:
		return []any{a}
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if jsonOf(got) != jsonOf(want) {
		t.Errorf("%s = %s, want %s", what, jsonOf(got), jsonOf(want))
	}
}

// renderJoin flattens an Fn::Join into text, writing references as ${id}.
func renderJoin(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if j, ok := x["Fn::Join"].([]any); ok {
			parts := []string{}
			for _, p := range arr(j[1]) {
				parts = append(parts, renderJoin(p))
			}
			return strings.Join(parts, j[0].(string))
		}
		if r, ok := x["Ref"].(string); ok {
			return "${" + r + "}"
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok {
			return fmt.Sprintf("${%s.%s}", g[0], g[1])
		}
	}
	return jsonOf(v)
}
