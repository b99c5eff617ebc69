package main

// Tests of the GitHub Actions trust stacks (github.go, github_permissions.go),
// read from the "example" scenario: staging in account 111111111111 and prod
// in 222222222222, so one trust stack per account.

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

var exampleAccounts = map[string]string{"staging": "111111111111", "prod": "222222222222"}

func TestGitHubTrustValidate(t *testing.T) {
	env := Environment{Name: "staging", Account: "111111111111", Region: "eu-west-1"}
	ok := GitHubTrust{Repository: exampleRepository, Account: env.Account, Region: env.Region, Environments: []Environment{env}}.WithDefaults()
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid trust: %v", err)
	}
	eq(t, "default branch", ok.Branch, "main")
	eq(t, "default qualifier", ok.BootstrapQualifier, "hnb659fds")
	cases := map[string]func(g *GitHubTrust){
		"no repository":       func(g *GitHubTrust) { g.Repository = "" },
		"owner only":          func(g *GitHubTrust) { g.Repository = "acme-corp" },
		"wildcard repository": func(g *GitHubTrust) { g.Repository = "acme-corp/*" },
		"wildcard owner":      func(g *GitHubTrust) { g.Repository = "*/tally-uptime" },
		"three parts":         func(g *GitHubTrust) { g.Repository = "acme-corp/tally/x" },
		"wildcard branch":     func(g *GitHubTrust) { g.Branch = "release/*" },
		"no environment":      func(g *GitHubTrust) { g.Environments = nil },
		"other account's env": func(g *GitHubTrust) { g.Environments = []Environment{{Name: "prod", Account: "222222222222"}} },
		"env named diff":      func(g *GitHubTrust) { g.Environments = []Environment{{Name: "diff", Account: g.Account}} },
		"not GitHub's provider": func(g *GitHubTrust) {
			g.ExistingProviderARN = "arn:aws:iam::111111111111:oidc-provider/accounts.google.com"
		},
		"another account's provider": func(g *GitHubTrust) {
			g.ExistingProviderARN = "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com"
		},
		"bad qualifier": func(g *GitHubTrust) { g.BootstrapQualifier = "Not-Valid" },
		"no account":    func(g *GitHubTrust) { g.Account = "" },
		"two environments": func(g *GitHubTrust) {
			g.Environments = append(g.Environments, Environment{Name: "prod", Account: g.Account})
		},
		"owner id only":      func(g *GitHubTrust) { g.OwnerID = "81234567" },
		"non-numeric ids":    func(g *GitHubTrust) { g.OwnerID, g.RepositoryID = "acme-corp", "*" },
		"wildcard for an id": func(g *GitHubTrust) { g.OwnerID, g.RepositoryID = "81234567", "9*" },
	}
	for name, mutate := range cases {
		g := ok
		mutate(&g)
		if err := g.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestGitHubStacksOnePerAccount(t *testing.T) {
	s := synthScenario(t, "example")
	if len(s.github) != 2 {
		t.Fatalf("%d GitHub stacks, want one per account (2)", len(s.github))
	}
	for env, account := range exampleAccounts {
		g := s.github[account]
		if g == nil {
			t.Fatalf("no GitHub stack for account %s (%s)", account, env)
		}
		gh := s.ghStacks[account]
		eq(t, "stack name", *gh.StackName(), "TallyUptime-github-"+account)
		eq(t, "pinned", []string{*gh.Account(), *gh.Region()}, []string{account, "eu-west-1"})
		types := map[string]int{}
		for _, r := range g.res {
			types[r["Type"].(string)]++
		}
		// The provider, the environment's role and the diff role, each role with its policy.
		eq(t, account+" resources", types, map[string]int{"AWS::IAM::OIDCProvider": 1, "AWS::IAM::Role": 2, "AWS::IAM::Policy": 2})
		_, p := g.one(t, "AWS::IAM::OIDCProvider")
		eq(t, "url", p["Url"], "https://token.actions.githubusercontent.com")
		eq(t, "client ids", p["ClientIdList"], []any{"sts.amazonaws.com"})
	}
	// No GitHub stack without a repository.
	if n := len(synthScenario(t, "none").github); n != 0 {
		t.Errorf("%d GitHub stacks without a githubRepository", n)
	}
}

// roleNamed returns a role's properties and the statements of its one policy, rendered.
func roleNamed(t *testing.T, g *synthesized, name string) (map[string]any, []any) {
	t.Helper()
	for id, r := range g.ofType("AWS::IAM::Role") {
		if props(r)["RoleName"] != name {
			continue
		}
		var statements []any
		for _, p := range g.ofType("AWS::IAM::Policy") {
			if jsonOf(props(p)["Roles"]) == jsonOf([]any{ref(id)}) {
				statements = append(statements, arr(obj(props(p)["PolicyDocument"])["Statement"])...)
			}
		}
		return props(r), rendered(statements).([]any)
	}
	t.Fatalf("no role %s", name)
	return nil, nil
}

func TestGitHubRoleTrust(t *testing.T) {
	s := synthScenario(t, "example")
	for env, account := range exampleAccounts {
		g := s.github[account]
		providerID, _ := g.one(t, "AWS::IAM::OIDCProvider")
		for name, subjects := range map[string][]any{
			// The immutable form: the example context gives githubOwnerId and githubRepositoryId.
			"tally-uptime-github-" + env: {"repo:acme-corp@81234567/tally-uptime@912345678:environment:" + env},
			"tally-uptime-github-diff": {"repo:acme-corp@81234567/tally-uptime@912345678:pull_request",
				"repo:acme-corp@81234567/tally-uptime@912345678:ref:refs/heads/main"},
		} {
			role, _ := roleNamed(t, g, name)
			eq(t, name+" max session", role["MaxSessionDuration"], float64(3600))
			if role["Policies"] != nil || role["ManagedPolicyArns"] != nil {
				t.Errorf("%s has inline or managed policies: %s", name, jsonOf(role))
			}
			eq(t, name+" trust", role["AssumeRolePolicyDocument"], map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Principal": map[string]any{"Federated": ref(providerID)},
				"Condition": map[string]any{"StringEquals": map[string]any{
					"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
					"token.actions.githubusercontent.com:sub": subjects,
				}},
			}}})
		}
	}
	// No role is trusted by both environments: the staging account has no prod role.
	for _, r := range s.github["111111111111"].ofType("AWS::IAM::Role") {
		if strings.Contains(jsonOf(r), "environment:prod") {
			t.Errorf("a role in the staging account trusts prod: %s", jsonOf(r))
		}
	}
}

// TestGitHubRolePermissions is the whole policy of each role, statement by statement.
func TestGitHubRolePermissions(t *testing.T) {
	s := synthScenario(t, "example")
	const pfx = "arn:${AWS::Partition}:"
	for env, acct := range exampleAccounts {
		g := s.github[acct]
		fam := "tally-uptime-" + env
		at := func(service, resource string) string { return pfx + service + ":eu-west-1:" + acct + ":" + resource }
		iamRole := func(name string) string { return pfx + "iam::" + acct + ":role/" + name }
		bootstrap := func(kind string) string { return iamRole("cdk-hnb659fds-" + kind + "-role-" + acct + "-eu-west-1") }
		onCluster := map[string]any{"ArnEquals": map[string]any{"ecs:cluster": at("ecs", "cluster/"+fam)}}
		allow := func(sid string, actions any, resources any, condition map[string]any) map[string]any {
			st := map[string]any{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
			if condition != nil {
				st["Condition"] = condition
			}
			return st
		}
		_, got := roleNamed(t, g, "tally-uptime-github-"+env)
		eq(t, env+" role policy", got, []any{
			allow("AssumeCdkBootstrapRoles", "sts:AssumeRole",
				[]any{bootstrap("deploy"), bootstrap("file-publishing"), bootstrap("image-publishing"), bootstrap("lookup")}, nil),
			allow("RunTask", "ecs:RunTask", at("ecs", "task-definition/"+fam+":*"), onCluster),
			allow("WatchAndStopTasks", []any{"ecs:DescribeTasks", "ecs:StopTask"}, at("ecs", "task/"+fam+"/*"), onCluster),
			allow("PassTaskRoles", "iam:PassRole", []any{iamRole(fam + "-task"), iamRole(fam + "-execution")},
				map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
			allow("ReadStackOutputs", "cloudformation:DescribeStacks", at("cloudformation", "stack/TallyUptime-"+env+"/*"), nil),
			allow("ReadJobLogs", []any{"logs:GetLogEvents", "logs:FilterLogEvents"},
				[]any{at("logs", "log-group:/tally/uptime/"+env), at("logs", "log-group:/tally/uptime/"+env+":*")}, nil),
		})
		_, diff := roleNamed(t, g, "tally-uptime-github-diff")
		eq(t, env+" diff role policy", diff, []any{allow("AssumeCdkLookupRoles", "sts:AssumeRole", bootstrap("lookup"), nil)})
		if d := jsonOf(diff); strings.Contains(d, "deploy-role") || strings.Contains(d, "publishing") ||
			strings.Contains(d, "ecs:") || strings.Contains(d, "iam:PassRole") {
			t.Errorf("the diff role can deploy, publish, run tasks or pass roles: %s", d)
		}
	}
}

// The roles the GitHub role may pass are exactly the task's two roles of the
// environment stack.
func TestGitHubPassRoleMatchesTaskRoles(t *testing.T) {
	s := synthScenario(t, "example")
	for env := range exampleAccounts {
		e := s.envs[env]
		_, td := e.one(t, "AWS::ECS::TaskDefinition")
		for what, want := range map[string]string{"TaskRoleArn": e.env.TaskRoleName(), "ExecutionRoleArn": e.env.ExecutionRoleName()} {
			id := obj(td[what])["Fn::GetAtt"].([]any)[0].(string)
			eq(t, what+" name", props(e.res[id])["RoleName"], want)
		}
	}
}

func TestGitHubOutputs(t *testing.T) {
	s := synthScenario(t, "example")
	for env, account := range exampleAccounts {
		g := s.github[account]
		names := []string{}
		for k := range g.outputs {
			names = append(names, k)
		}
		sort.Strings(names)
		eq(t, "outputs", names, []string{"DiffRoleArn", "OidcProviderArn", sidPart(env) + "RoleArn"})
		providerID, _ := g.one(t, "AWS::IAM::OIDCProvider")
		assert(t, "OidcProviderArn", func() {
			g.template.HasOutput(jsii.String("OidcProviderArn"), map[string]any{"Value": ref(providerID)})
		})
	}
}

func TestGitHubCdkNag(t *testing.T) {
	s := synthScenario(t, "example")
	for account, g := range s.github {
		a := s.annotations["TallyUptime-github-"+account]
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
				// Only the named wildcard resources, never a blanket IAM5.
				applies := arr(obj(sup)["applies_to"])
				if len(applies) == 0 {
					t.Errorf("%s suppression applies to everything", obj(sup)["id"])
				}
				for _, a := range applies {
					if !strings.HasPrefix(a.(string), "Resource::arn:") {
						t.Errorf("suppression applies to %v", a)
					}
				}
			}
		}
		sort.Strings(got)
		// The environment's role only; the diff role names no wildcard.
		eq(t, "suppressions", got, []string{"AWS::IAM::Policy AwsSolutions-IAM5", "AWS::IAM::Role AwsSolutions-IAM5"})
	}
}

// An account that already has GitHub's provider, and a context without GitHub's ids: the
// provider is imported, the roles trust the name form, and the synth warns that a repository
// created or renamed on or after 2026-07-15 needs the ids.
func TestGitHubImportedProviderAndNameSubjects(t *testing.T) {
	synthScenario(t, "none") // jsii is up; this is a small app of its own
	const provider = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
	trusts, err := GitHubTrusts(exampleRepository, []Environment{
		{Name: "staging", Account: "111111111111", Region: "eu-west-1", GitHubOIDCProviderARN: provider}})
	if err != nil || len(trusts) != 1 {
		t.Fatalf("trusts %d, %v; want one", len(trusts), err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	gh, err := NewGitHubStack(app, trusts[0])
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
	role, _ := roleNamed(t, g, "tally-uptime-github-staging")
	trust := obj(arr(obj(role["AssumeRolePolicyDocument"])["Statement"])[0])
	eq(t, "federated", trust["Principal"], map[string]any{"Federated": provider})
	eq(t, "name-form subject", obj(trust["Condition"])["StringEquals"], map[string]any{
		"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
		"token.actions.githubusercontent.com:sub": []any{"repo:acme-corp/tally-uptime:environment:staging"}})
	warnings := assertions.Annotations_FromStack(gh.Stack).FindWarning(jsii.String("*"),
		assertions.Match_StringLikeRegexp(jsii.String("githubOwnerId and githubRepositoryId.*2026-07-15.*gh api repos/acme-corp/tally-uptime")))
	if len(*warnings) != 1 {
		t.Errorf("%d warnings about the name-form subjects, want 1", len(*warnings))
	}
	// With the ids, no warning (the example scenario) and the immutable form only.
	if w := synthScenario(t, "example").warningsOf(synthScenario(t, "example").ghStacks["111111111111"].Stack); len(w) != 0 {
		t.Errorf("warnings with the ids given: %v", w)
	}
	// A repository needs every environment's account.
	if _, err := GitHubTrusts(exampleRepository, []Environment{{Name: "staging"}}); err == nil ||
		!strings.Contains(err.Error(), "environments.staging") {
		t.Errorf("an environment without an account: %v", err)
	}
	if !slices.Contains(trusts[0].DiffSubjects(), "repo:acme-corp/tally-uptime:pull_request") {
		t.Error("the diff role does not trust pull requests")
	}
}
