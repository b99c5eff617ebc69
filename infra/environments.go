package main

import "github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

// Environments is the one place that says how the nightly job runs in each
// environment. Each entry becomes the stack "TallyUptime-<Name>". Anything
// left zero takes the default documented on the Environment type (config.go).
//
// The deployer's own values (account, region, alarm addresses, the network
// and the GitHub repository) are not here: they come from the CDK context
// (context.go, docs/deploy.md). Without them the app still synthesizes
// offline, with environment-agnostic stacks, no alarm subscription, no path
// to a database and no GitHub trust, and says so in synth warnings.
func Environments() []Environment {
	return []Environment{
		{
			Name: "staging",
			// An hour before prod, so a bad image or migration shows up in
			// staging's alarms before prod runs it.
			Schedule:     "cron(0 1 * * ? *)",
			LogRetention: awslogs.RetentionDays_ONE_MONTH,
		},
		{
			Name:         "prod",
			LogRetention: awslogs.RetentionDays_THREE_MONTHS,
			Job:          JobDefaults{Points: 1},
			// A `cdk destroy` or a stray delete-stack must not take the
			// schedule and the run history with it.
			TerminationProtection: true,
		},
	}
}
