package main

import "github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

// Environments is the one place that says where and how the nightly job runs.
// Each entry becomes the stack "TallyUptime-<Name>". Anything left zero takes
// the default documented on the Environment type (config.go).
//
// The shipped entries must synthesize offline with no AWS credentials: no
// account lookups, no Vpc.fromLookup. That is why both create their own small
// VPC; to run next to an existing database instead, fill in Network (see the
// "existing VPC" configuration in infra_test.go for a complete example).
//
// The alarm addresses use the reserved .example domain on purpose: replace
// them with a real mailbox or list before the first deploy, and confirm the
// subscription mail SNS sends.
func Environments() []Environment {
	return []Environment{
		{
			Name: "staging",
			// An hour before prod, so a bad image or migration shows up in
			// staging's alarms before prod runs it.
			Schedule:     "cron(0 1 * * ? *)",
			AlarmEmails:  []string{"uptime-alerts-staging@tally.example"},
			LogRetention: awslogs.RetentionDays_ONE_MONTH,
		},
		{
			Name:         "prod",
			AlarmEmails:  []string{"uptime-alerts@tally.example"},
			LogRetention: awslogs.RetentionDays_THREE_MONTHS,
			Job:          JobDefaults{Points: 1},
		},
	}
}

// GitHubActions is who may deploy and run the job from GitHub Actions: the
// stack TallyUptime-github (github.go) trusts exactly this repository's
// workflows on this branch and in these GitHub environments (default: one per
// environment above, staging and prod). docs/deploy.md has the GitHub side.
func GitHubActions() GitHubTrust {
	return GitHubTrust{
		Repository: "tally/uptime",
		Branch:     "main",
		// An AWS account holds one OIDC provider for GitHub. If another stack
		// or a person already created it, import it instead of creating it:
		// ExistingProviderARN: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
	}
}
