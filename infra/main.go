// Command infra is the CDK app of tally-uptime: one stack per environment in
// environments.go. cdk.json runs it (`npx cdk synth`); `CDK_OUTDIR=dir go run
// ./infra` synthesizes without the CLI. Both work offline for the shipped
// configuration.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}

func run() error {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	envs := Environments()
	if _, err := NewStacks(app, envs); err != nil {
		return err
	}
	// The GitHub Actions trust is one more stack next to the environments'
	// (NewStacks filled in their defaults).
	if _, err := NewGitHubStack(app, GitHubActions(), envs); err != nil {
		return err
	}
	// cdk-nag on every synth, not only in the tests: an unsuppressed
	// AwsSolutions error fails `cdk synth` and therefore a deploy.
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(false)}), nil)
	app.Synth(nil)
	return nil
}

// NewStacks validates every environment first, so one bad entry stops the
// synth before anything is built, then adds one stack per environment.
func NewStacks(app awscdk.App, envs []Environment) ([]*UptimeStack, error) {
	seen := map[string]bool{}
	for i, e := range envs {
		envs[i] = e.WithDefaults()
		if err := envs[i].Validate(); err != nil {
			return nil, err
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("environment %q is configured twice", e.Name)
		}
		seen[e.Name] = true
	}
	stacks := make([]*UptimeStack, len(envs))
	for i, e := range envs {
		stacks[i] = NewUptimeStack(app, e)
	}
	return stacks, nil
}
