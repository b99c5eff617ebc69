package main

// Tests of the CDK context (context.go) without jsii: decoding in both forms,
// and every way a context is refused.

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// contextOf is a TryGetContext over a fixed map.
func contextOf(m map[string]any) func(string) any { return func(k string) any { return m[k] } }

// exampleContextObject is the example context the way cdk.json holds it.
func exampleContextObject(t *testing.T) map[string]any {
	t.Helper()
	var ctx map[string]any
	b, err := os.ReadFile(exampleContextFile)
	if err == nil {
		err = json.Unmarshal(b, &ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func TestReadDeployContextBothForms(t *testing.T) {
	fromObject, err := ReadDeployContext(contextOf(exampleContextObject(t)))
	if err != nil {
		t.Fatal(err)
	}
	fromString, err := ReadDeployContext(contextOf(map[string]any{
		ContextGitHubRepository: exampleRepository, ContextGitHubOwnerID: "81234567", ContextGitHubRepositoryID: "912345678",
		ContextEnvironments: jsonOf(exampleContextObject(t)[ContextEnvironments])}))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "-c and cdk.json agree", fromString, fromObject)
	eq(t, "repository", fromObject.GitHubRepository, exampleRepository)
	eq(t, "staging", fromObject.Environments["staging"], EnvironmentContext{Account: "111111111111", Region: "eu-west-1",
		AlarmEmails: []string{"oncall-staging@acme-corp.io"}, DatabaseCIDR: "52.95.110.7/32"})
	eq(t, "prod subnets", fromObject.Environments["prod"].SubnetIDs, []string{"subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"})

	none, err := ReadDeployContext(contextOf(nil))
	if err != nil || none.GitHubRepository != "" || len(none.Environments) != 0 || none.Spot != nil {
		t.Errorf("no context = %+v, %v; want nothing", none, err)
	}
}

func TestApplyContext(t *testing.T) {
	c, err := ReadDeployContext(contextOf(map[string]any{ContextEnvironments: exampleContextObject(t)[ContextEnvironments], ContextSpot: "true"}))
	if err != nil {
		t.Fatal(err)
	}
	envs, err := c.Apply(Environments())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Environment{}
	for _, e := range envs {
		byName[e.Name] = e
	}
	st, pr := byName["staging"], byName["prod"]
	eq(t, "staging", []any{st.Account, st.Region, st.AlarmEmails, st.Network.DatabaseCIDR, st.NewVPC()},
		[]any{"111111111111", "eu-west-1", []string{"oncall-staging@acme-corp.io"}, "52.95.110.7/32", true})
	eq(t, "prod network", pr.Network, Network{VpcID: "vpc-0a1b2c3d4e5f60718",
		SubnetIDs: []string{"subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"}, AvailabilityZones: []string{"eu-west-1a", "eu-west-1b"},
		DatabaseSecurityGroupID: "sg-0123456789abcdef0"})
	eq(t, "plain spot key applies to every environment", []bool{st.Spot, pr.Spot}, []bool{true, true})
	eq(t, "prod keeps its termination protection", pr.TerminationProtection, true)
	eq(t, "dashboards by default", []bool{st.NoDashboard, pr.NoDashboard}, []bool{false, false})

	// An environment's own keys win over the plain spot key.
	c.Environments["staging"] = withEnv(c.Environments["staging"], func(e *EnvironmentContext) {
		no, off := false, false
		e.Spot, e.Dashboard = &no, &off
	})
	envs, _ = c.Apply(Environments())
	eq(t, "staging's own spot and dashboard", []bool{envs[0].Spot, envs[0].NoDashboard, envs[1].Spot}, []bool{false, true, true})
}

func withEnv(e EnvironmentContext, f func(*EnvironmentContext)) EnvironmentContext { f(&e); return e }

// TestContextRefused: each malformed or placeholder context is refused with
// one sentence that names the key.
func TestContextRefused(t *testing.T) {
	staging := func(extra string) string {
		return `{"staging": {"account": "111111111111", "region": "eu-west-1", "alarmEmails": ["a@acme-corp.io"], ` + extra + `}}`
	}
	cases := map[string]struct {
		ctx  map[string]any
		want string
	}{
		"not JSON":          {map[string]any{ContextEnvironments: `{"staging": `}, "context environments is not valid JSON"},
		"unknown key":       {map[string]any{ContextEnvironments: staging(`"databaseCidr": "52.95.110.7/32", "vpcID": "vpc-1"`)}, `unknown key "vpcID"`},
		"wrong type":        {map[string]any{ContextEnvironments: staging(`"databaseCidr": 5`)}, "environments.staging.databaseCidr must be a string"},
		"emails not a list": {map[string]any{ContextEnvironments: `{"prod": {"alarmEmails": "a@acme-corp.io"}}`}, "alarmEmails must be a list of strings"},
		"bad account":       {map[string]any{ContextEnvironments: `{"prod": {"account": "1234"}}`}, "environments.prod.account"},
		"no address":        {map[string]any{ContextEnvironments: `{"prod": {"account": "111111111111", "region": "eu-west-1"}}`}, "alarmEmails is empty"},
		"no database path":  {map[string]any{ContextEnvironments: staging(`"dashboard": false`)}, "needs databaseCidr"},
		"vpc without group": {map[string]any{ContextEnvironments: staging(`"vpcId": "vpc-0a1b2c3d4e5f60718"`)}, "databaseSecurityGroupId is needed"},
		"foreign provider": {map[string]any{ContextEnvironments: staging(`"databaseCidr": "52.95.110.7/32",
			"githubOidcProviderArn": "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com"`)}, "not in the environment's account"},
		"zone of another region": {map[string]any{ContextEnvironments: staging(`"vpcId": "vpc-0a1b2c3d4e5f60718", "databaseSecurityGroupId": "sg-0123456789abcdef0",
			"subnetIds": ["subnet-0a1b2c3d4e5f60718"], "availabilityZones": ["us-east-1a"]`)}, "not a zone of eu-west-1"},
		"spot not a bool":     {map[string]any{ContextSpot: "yes"}, "context spot must be true or false"},
		"wildcard repository": {map[string]any{ContextGitHubRepository: "acme-corp/*"}, "githubRepository"},
		"repository a number": {map[string]any{ContextGitHubRepository: 7}, "githubRepository must be a string"},
		"environments a list": {map[string]any{ContextEnvironments: []any{"staging"}}, "environments must be an object"},
	}
	for name, c := range cases {
		_, err := ReadDeployContext(contextOf(c.ctx))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, c.want)
			continue
		}
		if msg := err.Error(); strings.Count(msg, ". ") > 0 || strings.Contains(msg, "\n") {
			t.Errorf("%s: not one sentence: %s", name, msg)
		}
	}

	// An environment the app does not have.
	c, err := ReadDeployContext(contextOf(map[string]any{ContextEnvironments: strings.Replace(staging(`"databaseCidr": "52.95.110.7/32"`), "staging", "qa", 1)}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(Environments()); err == nil || !strings.Contains(err.Error(), "environments.qa names no environment") {
		t.Errorf("unknown environment: %v", err)
	}
}

func TestShippedEnvironmentsHoldNoDeployerValues(t *testing.T) {
	for _, e := range Environments() {
		if e.Account != "" || e.Region != "" || len(e.AlarmEmails) != 0 || e.Network.DatabaseCIDR != "" || e.Network.VpcID != "" {
			t.Errorf("%s holds a deployer value; those come from the CDK context", e.Name)
		}
		eq(t, e.Name+" termination protection", e.TerminationProtection, e.Name == "prod")
	}
}

// GitHub's ids: numeric strings, both or neither, and only beside the repository; an
// environment without an account or region is told which key is missing and why.
func TestContextGitHubIDsAndMissingKeys(t *testing.T) {
	repo := map[string]any{ContextGitHubRepository: exampleRepository}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range repo {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	c, err := ReadDeployContext(contextOf(with(map[string]any{ContextGitHubOwnerID: "81234567", ContextGitHubRepositoryID: "912345678"})))
	if err != nil || c.GitHubOwnerID != "81234567" || c.GitHubRepositoryID != "912345678" {
		t.Errorf("ids: %+v, %v", c, err)
	}
	for name, tc := range map[string]struct {
		ctx  map[string]any
		want string
	}{
		"owner id a name":       {with(map[string]any{ContextGitHubOwnerID: "acme-corp", ContextGitHubRepositoryID: "912345678"}), `githubOwnerId "acme-corp" is not GitHub's numeric id`},
		"repository id glob":    {with(map[string]any{ContextGitHubOwnerID: "81234567", ContextGitHubRepositoryID: "9*"}), `githubRepositoryId "9*" is not GitHub's numeric id`},
		"one id only":           {with(map[string]any{ContextGitHubOwnerID: "81234567"}), "go together"},
		"ids without repo":      {map[string]any{ContextGitHubOwnerID: "1", ContextGitHubRepositoryID: "2"}, "need githubRepository"},
		"environment no acct":   {with(map[string]any{ContextEnvironments: `{"prod": {"region": "eu-west-1"}}`}), "environments.prod has no account: its stack is pinned to that AWS account, and with githubRepository its GitHub role is created there"},
		"environment no region": {with(map[string]any{ContextEnvironments: `{"prod": {"account": "222222222222"}}`}), "environments.prod has no region"},
	} {
		_, err := ReadDeployContext(contextOf(tc.ctx))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), ". ") {
			t.Errorf("%s: %v, want one sentence saying %q", name, err, tc.want)
		}
	}
}
