// Command infra is the CDK app of tally-uptime: one stack per environment in
// environments.go, filled in from the CDK context (context.go), plus the GitHub
// trust stacks. cdk.json runs it (`npx cdk synth`); `CDK_OUTDIR=dir go run
// ./infra` synthesizes without the CLI. Both work offline.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// listEnvironmentsArg prints the environments' names, in order, as one JSON array and exits:
// the workflows and scripts build their matrices and checks from it, so an environment added
// in environments.go is deployed, diffed and offered for backfills without another edit.
const listEnvironmentsArg = "--list-environments"

func main() {
	if len(os.Args) == 2 && os.Args[1] == listEnvironmentsArg {
		if err := json.NewEncoder(os.Stdout).Encode(EnvironmentNames(Environments())); err != nil {
			fmt.Fprintln(os.Stderr, "infra:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}

func run() error {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if _, _, err := BuildApp(app); err != nil {
		return err
	}
	// cdk-nag on every synth, not only in the tests: an unsuppressed
	// AwsSolutions error fails `cdk synth` and therefore a deploy.
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(false)}), nil)
	app.Synth(nil)
	return nil
}

// BuildApp adds every stack to app: one per environment of environments.go
// with the deployer's values from the app's CDK context, and, when the
// context names a GitHub repository, one GitHub trust stack per account.
func BuildApp(app awscdk.App) ([]*UptimeStack, []*GitHubStack, error) {
	ctx, err := ReadDeployContext(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		return nil, nil, err
	}
	envs, err := ctx.Apply(Environments())
	if err != nil {
		return nil, nil, err
	}
	stacks, err := NewStacks(app, envs)
	if err != nil {
		return nil, nil, err
	}
	if ctx.GitHubRepository == "" {
		for _, s := range stacks {
			awscdk.Annotations_Of(s.Stack).AddWarningV2(jsii.String("tally-uptime:noGitHubRepository"), jsii.String(
				"No githubRepository in the CDK context: no GitHub Actions trust stack is synthesized, so no workflow can deploy or run this environment."), nil)
		}
		return stacks, nil, nil
	}
	withDefaults := make([]Environment, len(stacks))
	for i, s := range stacks {
		withDefaults[i] = s.Env
	}
	trusts, err := GitHubTrusts(ctx.GitHubRepository, withDefaults)
	if err != nil {
		return nil, nil, err
	}
	var github []*GitHubStack
	for _, t := range trusts {
		t.OwnerID, t.RepositoryID = ctx.GitHubOwnerID, ctx.GitHubRepositoryID
		g, err := NewGitHubStack(app, t)
		if err != nil {
			return nil, nil, err
		}
		github = append(github, g)
	}
	return stacks, github, nil
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
		if err := envs[i].checkDeployerValues(); err != nil {
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

// EnvironmentNames are the names of envs, in order: the promotion order the deploy follows.
func EnvironmentNames(envs []Environment) []string {
	names := make([]string, len(envs))
	for i, e := range envs {
		names[i] = e.Name
	}
	return names
}
