package main

// Tests of the GitHub Actions trust stack (github.go). It is synthesized with
// the other stacks, in the shared app of infra_test.go.

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// githubSynth is TallyUptime-github as main.go builds it (shipped environments).
var githubSynth *synthesized

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

func github(t *testing.T) *synthesized {
	t.Helper()
	synth(t)
	return githubSynth
}

func TestGitHubTrustValidate(t *testing.T) {
	envs := Environments()
	ok := GitHubActions().WithDefaults(envs)
	if err := ok.Validate(); err != nil {
		t.Fatalf("shipped GitHub trust: %v", err)
	}
	eq(t, "default branch", ok.Branch, "main")
	eq(t, "default environments", ok.Environments, []string{"staging", "prod"})
	eq(t, "default qualifier", ok.BootstrapQualifier, "hnb659fds")
	cases := map[string]func(g *GitHubTrust){
		"no repository":        func(g *GitHubTrust) { g.Repository = "" },
		"owner only":           func(g *GitHubTrust) { g.Repository = "tally" },
		"wildcard repository":  func(g *GitHubTrust) { g.Repository = "tally/*" },
		"wildcard owner":       func(g *GitHubTrust) { g.Repository = "*/uptime" },
		"three parts":          func(g *GitHubTrust) { g.Repository = "tally/uptime/x" },
		"wildcard branch":      func(g *GitHubTrust) { g.Branch = "release/*" },
		"wildcard environment": func(g *GitHubTrust) { g.Environments = []string{"prod*"} },
		"environment with :":   func(g *GitHubTrust) { g.Environments = []string{"prod:x"} },
		"not GitHub's provider": func(g *GitHubTrust) {
			g.ExistingProviderARN = "arn:aws:iam::123456789012:oidc-provider/accounts.google.com"
		},
		"bad qualifier": func(g *GitHubTrust) { g.BootstrapQualifier = "Not-Valid" },
	}
	for name, mutate := range cases {
		g := ok
		mutate(&g)
		if err := g.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestGitHubStackSynthesizesWithTheApp(t *testing.T) {
	g := github(t)
	eq(t, "stack name", *g.github.StackName(), "TallyUptime-github")
	// Account-agnostic, like the shipped environment stacks.
	if !strings.HasPrefix(*g.github.Account(), "${Token[") {
		t.Errorf("the GitHub stack is pinned to account %s; it must synthesize offline", *g.github.Account())
	}
	types := map[string]int{}
	for _, r := range g.res {
		types[r["Type"].(string)]++
	}
	eq(t, "resources", types, map[string]int{"AWS::IAM::OIDCProvider": 1, "AWS::IAM::Role": 1, "AWS::IAM::Policy": 1})
}

func TestGitHubOIDCProvider(t *testing.T) {
	g := github(t)
	_, p := g.one(t, "AWS::IAM::OIDCProvider")
	eq(t, "url", p["Url"], "https://token.actions.githubusercontent.com")
	eq(t, "client ids", p["ClientIdList"], []any{"sts.amazonaws.com"})
}

func TestGitHubRoleTrust(t *testing.T) {
	g := github(t)
	providerID, _ := g.one(t, "AWS::IAM::OIDCProvider")
	_, role := g.one(t, "AWS::IAM::Role")
	eq(t, "role name", role["RoleName"], "tally-uptime-github-actions")
	eq(t, "max session", role["MaxSessionDuration"], float64(3600))
	if role["Policies"] != nil || role["ManagedPolicyArns"] != nil {
		t.Errorf("the role has inline or managed policies: %s", jsonOf(role))
	}
	stmts := arr(obj(role["AssumeRolePolicyDocument"])["Statement"])
	if len(stmts) != 1 {
		t.Fatalf("%d trust statements, want 1: %s", len(stmts), jsonOf(stmts))
	}
	st := obj(stmts[0])
	eq(t, "effect", st["Effect"], "Allow")
	eq(t, "action", st["Action"], "sts:AssumeRoleWithWebIdentity")
	eq(t, "principal", st["Principal"], map[string]any{"Federated": ref(providerID)})
	eq(t, "conditions", st["Condition"], map[string]any{
		"StringEquals": map[string]any{"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
		"StringLike": map[string]any{"token.actions.githubusercontent.com:sub": []any{
			"repo:tally/uptime:ref:refs/heads/main",
			"repo:tally/uptime:environment:staging",
			"repo:tally/uptime:environment:prod",
		}},
	})
	// Whatever the configuration says, no subject may hold a wildcard.
	for _, sub := range arr(obj(obj(st["Condition"])["StringLike"])["token.actions.githubusercontent.com:sub"]) {
		if strings.ContainsAny(sub.(string), "*?") {
			t.Errorf("subject %q has a wildcard", sub)
		}
	}
}

// TestGitHubRolePermissions checks every statement: what it allows and where.
func TestGitHubRolePermissions(t *testing.T) {
	g := github(t)
	_, policy := g.one(t, "AWS::IAM::Policy")
	got := map[string]map[string]any{}
	var actions []string
	for _, s := range arr(obj(policy["PolicyDocument"])["Statement"]) {
		st := obj(s)
		eq(t, "effect", st["Effect"], "Allow")
		if st["NotAction"] != nil || st["NotResource"] != nil {
			t.Errorf("NotAction/NotResource in %s", jsonOf(st))
		}
		for _, a := range arr(st["Action"]) {
			if strings.Contains(a.(string), "*") {
				t.Errorf("wildcard action %v", a)
			}
			actions = append(actions, a.(string))
		}
		resources := []string{}
		for _, r := range arr(st["Resource"]) {
			resources = append(resources, renderJoin(r))
		}
		got[st["Sid"].(string)] = map[string]any{"actions": arr(st["Action"]), "resources": resources, "condition": st["Condition"]}
	}
	sort.Strings(actions)
	actions = slices.Compact(actions)
	eq(t, "the role's actions", actions, []string{
		"cloudformation:DescribeStacks", "ecs:DescribeTasks", "ecs:RunTask", "ecs:StopTask",
		"iam:PassRole", "logs:FilterLogEvents", "logs:GetLogEvents", "sts:AssumeRole",
	})

	const pfx = "arn:${AWS::Partition}:"
	const acct = "${AWS::AccountId}"
	const region = "${AWS::Region}"
	var bootstrap []string
	for _, kind := range []string{"deploy", "file-publishing", "image-publishing", "lookup"} {
		bootstrap = append(bootstrap, pfx+"iam::"+acct+":role/cdk-hnb659fds-"+kind+"-role-"+acct+"-"+region)
	}
	want := map[string]map[string]any{
		"AssumeCdkBootstrapRoles": {"actions": []any{"sts:AssumeRole"}, "resources": bootstrap, "condition": nil},
	}
	for _, e := range Environments() {
		sid := sidPart(e.Name)
		fam := "tally-uptime-" + e.Name
		onCluster := map[string]any{"ArnEquals": map[string]any{"ecs:cluster": map[string]any{"Fn::Join": []any{"", []any{
			"arn:", ref("AWS::Partition"), ":ecs:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":cluster/" + fam}}}}}
		want["RunTask"+sid] = map[string]any{"actions": []any{"ecs:RunTask"},
			"resources": []string{pfx + "ecs:" + region + ":" + acct + ":task-definition/" + fam + ":*"}, "condition": onCluster}
		want["WatchAndStopTasks"+sid] = map[string]any{"actions": []any{"ecs:DescribeTasks", "ecs:StopTask"},
			"resources": []string{pfx + "ecs:" + region + ":" + acct + ":task/" + fam + "/*"}, "condition": onCluster}
		want["PassTaskRoles"+sid] = map[string]any{"actions": []any{"iam:PassRole"},
			"resources": []string{pfx + "iam::" + acct + ":role/" + fam + "-task", pfx + "iam::" + acct + ":role/" + fam + "-execution"},
			"condition": map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}
		want["ReadStackOutputs"+sid] = map[string]any{"actions": []any{"cloudformation:DescribeStacks"},
			"resources": []string{pfx + "cloudformation:" + region + ":" + acct + ":stack/TallyUptime-" + e.Name + "/*"}, "condition": nil}
		want["ReadJobLogs"+sid] = map[string]any{"actions": []any{"logs:GetLogEvents", "logs:FilterLogEvents"},
			"resources": []string{pfx + "logs:" + region + ":" + acct + ":log-group:/tally/uptime/" + e.Name,
				pfx + "logs:" + region + ":" + acct + ":log-group:/tally/uptime/" + e.Name + ":*"}, "condition": nil}
	}
	for sid, w := range want {
		eq(t, sid, jsonOf(got[sid]), jsonOf(w))
	}
	if len(got) != len(want) {
		t.Errorf("statements %d, want %d: %s", len(got), len(want), jsonOf(got))
	}
}

// The roles the GitHub role may pass are exactly the task's two roles of each
// environment stack.
func TestGitHubPassRoleMatchesTaskRoles(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		_, td := s.one(t, "AWS::ECS::TaskDefinition")
		for what, want := range map[string]string{"TaskRoleArn": s.env.TaskRoleName(), "ExecutionRoleArn": s.env.ExecutionRoleName()} {
			id := obj(td[what])["Fn::GetAtt"].([]any)[0].(string)
			eq(t, what+" name", props(s.res[id])["RoleName"], want)
		}
	})
}

func TestGitHubOutputs(t *testing.T) {
	g := github(t)
	providerID, _ := g.one(t, "AWS::IAM::OIDCProvider")
	roleID, _ := g.one(t, "AWS::IAM::Role")
	assert(t, "RoleArn", func() {
		g.template.HasOutput(jsii.String("RoleArn"), map[string]any{"Value": getAtt(roleID, "Arn")})
	})
	assert(t, "OidcProviderArn", func() {
		g.template.HasOutput(jsii.String("OidcProviderArn"), map[string]any{"Value": ref(providerID)})
	})
}

func TestGitHubCdkNag(t *testing.T) {
	g := github(t)
	a := assertions.Annotations_FromStack(g.github.Stack)
	for _, e := range *a.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
		t.Errorf("cdk-nag error at %s: %v", *e.Id, e.Entry.Data)
	}
	for _, w := range *a.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
		t.Errorf("cdk-nag warning at %s: %v", *w.Id, w.Entry.Data)
	}
	got := []string{}
	for _, r := range g.res {
		for _, sup := range arr(obj(obj(r["Metadata"])["cdk_nag"])["rules_to_suppress"]) {
			got = append(got, r["Type"].(string)+" "+obj(sup)["id"].(string))
			if reason, _ := obj(sup)["reason"].(string); len(reason) < 60 {
				t.Errorf("suppression %v has no real reason", obj(sup)["id"])
			}
			// Only the named wildcard resources, never a blanket IAM5.
			applies := arr(obj(sup)["applies_to"])
			if len(applies) == 0 {
				t.Errorf("%s suppression applies to everything", obj(sup)["id"])
			}
			for _, a := range applies {
				if !strings.HasPrefix(a.(string), "Resource::arn:") || strings.Contains(a.(string), "Action::") {
					t.Errorf("suppression applies to %v", a)
				}
			}
		}
	}
	sort.Strings(got)
	eq(t, "suppressions", got, []string{"AWS::IAM::Policy AwsSolutions-IAM5", "AWS::IAM::Role AwsSolutions-IAM5"})
}

// An imported provider (an account holds one per URL) and environments pinned
// to an account and region: the trust points at the given provider, nothing is
// created for it, and the permissions name the pinned account and region.
func TestGitHubExistingProviderAndPinnedEnvironment(t *testing.T) {
	synth(t) // jsii is up and the shared app built; this is a second, small app
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	trust := GitHubActions()
	trust.ExistingProviderARN = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
	trust.Environments = []string{"legacy", "legacy-approval"}
	legacy := existingVPC().WithDefaults()
	gh, err := NewGitHubStack(app, trust, []Environment{legacy})
	if err != nil {
		t.Fatal(err)
	}
	awscdk.Aspects_Of(gh.Stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(false)}), nil)
	g, err := templateOf(gh.Stack)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(g.ofType("AWS::IAM::OIDCProvider")); n != 0 {
		t.Errorf("%d OIDC providers created next to the imported one", n)
	}
	_, role := g.one(t, "AWS::IAM::Role")
	st := obj(arr(obj(role["AssumeRolePolicyDocument"])["Statement"])[0])
	eq(t, "federated", st["Principal"], map[string]any{"Federated": trust.ExistingProviderARN})
	eq(t, "subjects", obj(obj(st["Condition"])["StringLike"])["token.actions.githubusercontent.com:sub"], []any{
		"repo:tally/uptime:ref:refs/heads/main",
		"repo:tally/uptime:environment:legacy",
		"repo:tally/uptime:environment:legacy-approval",
	})
	_, policy := g.one(t, "AWS::IAM::Policy")
	doc := jsonOf(policy)
	for _, want := range []string{
		":iam::123456789012:role/cdk-hnb659fds-deploy-role-123456789012-eu-west-1",
		":ecs:eu-west-1:123456789012:task-definition/tally-uptime-legacy:*",
		":iam::123456789012:role/tally-uptime-legacy-execution",
		":logs:eu-west-1:123456789012:log-group:/tally/uptime/legacy:*",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("policy lacks %s: %s", want, doc)
		}
	}
	a := assertions.Annotations_FromStack(gh.Stack)
	for _, e := range *a.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
		t.Errorf("cdk-nag error at %s: %v", *e.Id, e.Entry.Data)
	}
}
