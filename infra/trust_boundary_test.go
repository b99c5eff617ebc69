package main

// The trust boundary of docs/deploy.md: an environment's GitHub role deploys its own
// environment's stack and nothing else, and no workflow can change the GitHub trust.

import (
	"strings"
	"testing"
)

// The CloudFormation execution role may change the stacks' own roles, but nothing of the GitHub
// trust: the roles the workflows assume and the OIDC provider that vouches for them.
func TestExecutionPolicyCannotTouchTheGitHubTrust(t *testing.T) {
	doc, _ := readBootstrapPolicy(t)
	guarded := []string{
		"arn:aws:iam::111111111111:role/tally-uptime-github-staging",
		"arn:aws:iam::222222222222:role/tally-uptime-github-prod",
		"arn:aws:iam::111111111111:role/tally-uptime-github-diff",
		"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com",
	}
	changes := []string{"iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:DeleteRole",
		"iam:CreateRole", "iam:AttachRolePolicy", "iam:PassRole", "iam:TagRole", "iam:UpdateRole",
		"iam:CreateOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint", "iam:AddClientIDToOpenIDConnectProvider",
		"iam:DeleteOpenIDConnectProvider"}
	for _, st := range doc.Statement {
		for _, a := range stringsOf(st.Action) {
			if strings.HasPrefix(a, "iam:") {
				changes = append(changes, a)
			}
		}
	}
	for _, arn := range guarded {
		for _, a := range changes {
			if doc.allows(a, arn) {
				t.Errorf("the execution policy allows %s on %s", a, arn)
			}
		}
	}
	// The stacks' own roles stay in reach, or no deploy could create them.
	for _, a := range []string{"iam:CreateRole", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"} {
		if !doc.allows(a, "arn:aws:iam::111111111111:role/tally-uptime-staging-task") {
			t.Errorf("the execution policy no longer allows %s on the stacks' own roles", a)
		}
	}
	// So the trust stacks are deployed with the administrator's credentials, not the bootstrap
	// roles: CliCredentialsStackSynthesizer writes no BootstrapVersion check into the template.
	for account, g := range synthScenario(t, "example").github {
		if p := obj(g.template.ToJSON())["Parameters"]; obj(p)["BootstrapVersion"] != nil {
			t.Errorf("TallyUptime-github-%s is deployed through the CDK bootstrap roles", account)
		}
	}
}

// Each environment's role reaches only its own account (the documented and tested default: one
// account per environment), and two environments in one account are refused.
func TestEnvironmentRoleReachesOnlyItsOwnEnvironment(t *testing.T) {
	s := synthScenario(t, "example")
	if exampleAccounts["staging"] == exampleAccounts["prod"] {
		t.Fatal("the example context puts staging and prod in one account")
	}
	for env, account := range exampleAccounts {
		_, statements := roleNamed(t, s.github[account], "tally-uptime-github-"+env)
		for _, st := range statements {
			for _, r := range stringsOf(obj(st)["Resource"]) {
				other := "prod"
				if env == "prod" {
					other = "staging"
				}
				if !strings.Contains(r, ":"+account+":") || strings.Contains(r, exampleAccounts[other]) || strings.Contains(r, other) {
					t.Errorf("%s's role reaches beyond its own account and environment: %s", env, r)
				}
			}
		}
	}
	_, err := GitHubTrusts(exampleRepository, []Environment{
		{Name: "staging", Account: "111111111111", Region: "eu-west-1"},
		{Name: "prod", Account: "111111111111", Region: "eu-west-1"},
	})
	if err == nil || !strings.Contains(err.Error(), "staging and prod share account 111111111111") ||
		!strings.Contains(err.Error(), "account of its own") || strings.Contains(err.Error(), ". ") {
		t.Errorf("two environments in one account: %v, want one sentence refusing it", err)
	}
}
