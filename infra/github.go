package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// GitHub's OIDC issuer and the audience aws-actions/configure-aws-credentials asks for.
const (
	GitHubOIDCHost     = "token.actions.githubusercontent.com"
	GitHubOIDCAudience = "sts.amazonaws.com"
	GitHubStackName    = "TallyUptime-github"
	// GitHubRoleName is fixed so the role ARN can be written into the
	// repository variable before anyone reads the stack's outputs.
	GitHubRoleName            = "tally-uptime-github-actions"
	DefaultBootstrapQualifier = "hnb659fds" // CDK's default; `cdk bootstrap --qualifier` changes it
)

// GitHubTrust is who may deploy and run the job from GitHub Actions: one
// repository, its deploy branch and its GitHub environments. It becomes the
// stack TallyUptime-github (one per account; see docs/deploy.md).
type GitHubTrust struct {
	// Repository is "owner/name", exactly; no wildcards.
	Repository string
	// Branch whose workflow runs may assume the role (subject
	// repo:OWNER/NAME:ref:refs/heads/BRANCH). Default "main".
	Branch string
	// Environments are the GitHub environments whose jobs may assume the role
	// (subject repo:OWNER/NAME:environment:NAME), whatever their branch: give
	// each one a deployment-branch rule in GitHub (docs/deploy.md). Default:
	// the name of every environment of the app.
	Environments []string
	// ExistingProviderARN imports the account's GitHub OIDC provider instead
	// of creating one: an account can hold only one provider per URL.
	ExistingProviderARN string
	// Account and Region pin the stack like Environment's; empty is agnostic.
	Account string
	Region  string
	// BootstrapQualifier of the CDK bootstrap roles the workflows assume. Default "hnb659fds".
	BootstrapQualifier string
}

var (
	gitHubRepoPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$`)
	gitHubBranchPattern   = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,200}$`)
	gitHubEnvPattern      = regexp.MustCompile(`^[A-Za-z0-9._-]{1,255}$`)
	gitHubProviderPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/` + regexp.QuoteMeta(GitHubOIDCHost) + `$`)
	qualifierPattern      = regexp.MustCompile(`^[a-z0-9]{1,10}$`)
)

// WithDefaults fills the branch, the qualifier and, when none are given, the
// GitHub environments from the app's environments.
func (g GitHubTrust) WithDefaults(envs []Environment) GitHubTrust {
	if g.Branch == "" {
		g.Branch = "main"
	}
	if g.BootstrapQualifier == "" {
		g.BootstrapQualifier = DefaultBootstrapQualifier
	}
	if len(g.Environments) == 0 {
		for _, e := range envs {
			g.Environments = append(g.Environments, e.Name)
		}
	}
	return g
}

// Validate refuses anything that would widen the trust: wildcards, a repository
// that is not owner/name, a provider that is not GitHub's.
func (g GitHubTrust) Validate() error {
	if !gitHubRepoPattern.MatchString(g.Repository) {
		return fmt.Errorf("github: repository %q is not owner/name (no wildcards)", g.Repository)
	}
	if !gitHubBranchPattern.MatchString(g.Branch) || strings.Contains(g.Branch, "..") {
		return fmt.Errorf("github: branch %q is not a plain branch name (no wildcards)", g.Branch)
	}
	if len(g.Environments) == 0 {
		return fmt.Errorf("github: no GitHub environment may deploy")
	}
	for _, e := range g.Environments {
		if !gitHubEnvPattern.MatchString(e) {
			return fmt.Errorf("github: environment %q is not a plain GitHub environment name (no wildcards)", e)
		}
	}
	if g.ExistingProviderARN != "" && !gitHubProviderPattern.MatchString(g.ExistingProviderARN) {
		return fmt.Errorf("github: %q is not the ARN of a %s OIDC provider", g.ExistingProviderARN, GitHubOIDCHost)
	}
	if !qualifierPattern.MatchString(g.BootstrapQualifier) {
		return fmt.Errorf("github: bootstrap qualifier %q is not 1-10 lower-case letters or digits", g.BootstrapQualifier)
	}
	return nil
}

// Subjects are the OIDC "sub" claims the role trusts, in GitHub's default
// format: the branch's pushes and workflow_dispatch runs, and jobs bound to one
// of the environments.
func (g GitHubTrust) Subjects() []string {
	subs := []string{fmt.Sprintf("repo:%s:ref:refs/heads/%s", g.Repository, g.Branch)}
	for _, e := range g.Environments {
		subs = append(subs, fmt.Sprintf("repo:%s:environment:%s", g.Repository, e))
	}
	return subs
}

// GitHubStack holds the OIDC provider (or imports it) and the one role GitHub
// Actions assumes: deploy the environment stacks through the CDK bootstrap
// roles, and run, watch and stop the job's task. Nothing else.
type GitHubStack struct {
	awscdk.Stack
	Trust       GitHubTrust
	ProviderArn *string
	Role        awsiam.Role
}

// NewGitHubStack builds the trust stack for envs (after their WithDefaults).
func NewGitHubStack(scope constructs.Construct, trust GitHubTrust, envs []Environment) (*GitHubStack, error) {
	trust = trust.WithDefaults(envs)
	if err := trust.Validate(); err != nil {
		return nil, err
	}
	props := &awscdk.StackProps{
		StackName:   jsii.String(GitHubStackName),
		Description: jsii.String("tally-uptime: the GitHub Actions OIDC trust and the role its workflows deploy and run the job with"),
	}
	if trust.Account != "" || trust.Region != "" {
		props.Env = &awscdk.Environment{}
		if trust.Account != "" {
			props.Env.Account = jsii.String(trust.Account)
		}
		if trust.Region != "" {
			props.Env.Region = jsii.String(trust.Region)
		}
	}
	stack := awscdk.NewStack(scope, jsii.String(GitHubStackName), props)
	awscdk.Tags_Of(stack).Add(jsii.String("project"), jsii.String("tally-uptime"), nil)
	g := &GitHubStack{Stack: stack, Trust: trust}

	if trust.ExistingProviderARN != "" {
		g.ProviderArn = jsii.String(trust.ExistingProviderARN)
	} else {
		provider := awsiam.NewOidcProviderNative(stack, jsii.String("Provider"), &awsiam.OidcProviderNativeProps{
			Url:       jsii.String("https://" + GitHubOIDCHost),
			ClientIds: jsii.Strings(GitHubOIDCAudience),
			// No thumbprints: IAM secures GitHub's provider with its own
			// library of trusted root CAs and ignores thumbprints for it.
		})
		g.ProviderArn = provider.OidcProviderArn()
	}

	subjects := make([]interface{}, 0, len(trust.Environments)+1)
	for _, s := range trust.Subjects() {
		subjects = append(subjects, s)
	}
	g.Role = awsiam.NewRole(stack, jsii.String("Role"), &awsiam.RoleProps{
		RoleName: jsii.String(GitHubRoleName),
		Description: jsii.String(fmt.Sprintf("GitHub Actions of %s (branch %s, environments %s): deploy the tally-uptime stacks, run and watch the job",
			trust.Repository, trust.Branch, strings.Join(trust.Environments, ", "))),
		AssumedBy: awsiam.NewWebIdentityPrincipal(g.ProviderArn, &map[string]interface{}{
			"StringEquals": map[string]interface{}{GitHubOIDCHost + ":aud": GitHubOIDCAudience},
			"StringLike":   map[string]interface{}{GitHubOIDCHost + ":sub": subjects},
		}),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})

	var wildcards []string
	for _, st := range gitHubPermissions(stack, trust, envs) {
		g.Role.AddToPolicy(awsiam.NewPolicyStatement(st.props))
		wildcards = append(wildcards, st.wildcards...)
	}
	applies := make([]interface{}, 0, len(wildcards))
	for _, w := range wildcards {
		applies = append(applies, "Resource::"+w)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(g.Role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Every action is named and every resource is this job's own: the task ids, the task definition " +
			"revisions, the log streams and the stack ids are only known at run time, so those ARNs end in a wildcard " +
			"under a fixed family, cluster, log group or stack name; RunTask, DescribeTasks and StopTask are further " +
			"held to the environment's cluster by an ecs:cluster condition."),
		AppliesTo: &applies,
	}}, jsii.Bool(true))

	for _, o := range []struct{ name, value, description string }{
		{"RoleArn", *g.Role.RoleArn(), "The repository variable AWS_ROLE_ARN of the GitHub workflows"},
		{"OidcProviderArn", *g.ProviderArn, "GitHub's OIDC provider in this account"},
		{"TrustedSubjects", strings.Join(trust.Subjects(), " "), "The OIDC sub claims the role trusts"},
	} {
		awscdk.NewCfnOutput(stack, jsii.String(o.name), &awscdk.CfnOutputProps{
			Value:       jsii.String(o.value),
			Description: jsii.String(o.description),
		})
	}
	return g, nil
}

type permission struct {
	props     *awsiam.PolicyStatementProps
	wildcards []string // the resources ending in a wildcard, as cdk-nag prints them
}

// gitHubPermissions is everything the role may do, statement by statement.
func gitHubPermissions(stack awscdk.Stack, trust GitHubTrust, envs []Environment) []permission {
	var out []permission
	// arn renders the ARN twice: with the stack's tokens for the policy and
	// with CloudFormation's names for cdk-nag's findings.
	type place struct{ account, region, nagAccount, nagRegion string }
	placeOf := func(e Environment) place {
		p := place{*stack.Account(), *stack.Region(), "<AWS::AccountId>", "<AWS::Region>"}
		if e.Account != "" {
			p.account, p.nagAccount = e.Account, e.Account
		}
		if e.Region != "" {
			p.region, p.nagRegion = e.Region, e.Region
		}
		return p
	}
	partition := *stack.Partition()
	arn := func(p place, service, region, resource string) (string, string) {
		r, nr := p.region, p.nagRegion
		if region == "" { // global services (IAM)
			r, nr = "", ""
		}
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", partition, service, r, p.account, resource),
			fmt.Sprintf("arn:<AWS::Partition>:%s:%s:%s:%s", service, nr, p.nagAccount, resource)
	}

	// CDK deploys by assuming the bootstrap roles of each target account and
	// region; the role itself never touches CloudFormation, S3 or ECR.
	var bootstrapRoles []string
	for _, e := range envs {
		p := placeOf(e)
		for _, kind := range []string{"deploy", "file-publishing", "image-publishing", "lookup"} {
			r, _ := arn(p, "iam", "", fmt.Sprintf("role/cdk-%s-%s-role-%s-%s", trust.BootstrapQualifier, kind, p.account, p.region))
			if !slices.Contains(bootstrapRoles, r) {
				bootstrapRoles = append(bootstrapRoles, r)
			}
		}
	}
	out = append(out, permission{props: &awsiam.PolicyStatementProps{
		Sid:       jsii.String("AssumeCdkBootstrapRoles"),
		Actions:   jsii.Strings("sts:AssumeRole"),
		Resources: jsii.Strings(bootstrapRoles...),
	}})

	for _, e := range envs {
		p := placeOf(e)
		sid := sidPart(e.Name)
		cluster, _ := arn(p, "ecs", "r", "cluster/"+e.Family())
		onCluster := &map[string]interface{}{"ArnEquals": map[string]interface{}{"ecs:cluster": cluster}}

		taskDef, nagTaskDef := arn(p, "ecs", "r", "task-definition/"+e.Family()+":*")
		out = append(out, permission{props: &awsiam.PolicyStatementProps{
			Sid:        jsii.String("RunTask" + sid),
			Actions:    jsii.Strings("ecs:RunTask"),
			Resources:  jsii.Strings(taskDef),
			Conditions: onCluster,
		}, wildcards: []string{nagTaskDef}})

		tasks, nagTasks := arn(p, "ecs", "r", "task/"+e.Family()+"/*")
		out = append(out, permission{props: &awsiam.PolicyStatementProps{
			Sid:        jsii.String("WatchAndStopTasks" + sid),
			Actions:    jsii.Strings("ecs:DescribeTasks", "ecs:StopTask"),
			Resources:  jsii.Strings(tasks),
			Conditions: onCluster,
		}, wildcards: []string{nagTasks}})

		taskRole, _ := arn(p, "iam", "", "role/"+e.TaskRoleName())
		execRole, _ := arn(p, "iam", "", "role/"+e.ExecutionRoleName())
		out = append(out, permission{props: &awsiam.PolicyStatementProps{
			Sid:       jsii.String("PassTaskRoles" + sid),
			Actions:   jsii.Strings("iam:PassRole"),
			Resources: jsii.Strings(taskRole, execRole),
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"iam:PassedToService": "ecs-tasks.amazonaws.com"},
			},
		}})

		stackArn, nagStack := arn(p, "cloudformation", "r", "stack/"+e.StackName()+"/*")
		out = append(out, permission{props: &awsiam.PolicyStatementProps{
			Sid:       jsii.String("ReadStackOutputs" + sid),
			Actions:   jsii.Strings("cloudformation:DescribeStacks"),
			Resources: jsii.Strings(stackArn),
		}, wildcards: []string{nagStack}})

		group, _ := arn(p, "logs", "r", "log-group:"+e.logGroupName())
		streams, nagStreams := arn(p, "logs", "r", "log-group:"+e.logGroupName()+":*")
		out = append(out, permission{props: &awsiam.PolicyStatementProps{
			Sid:       jsii.String("ReadJobLogs" + sid),
			Actions:   jsii.Strings("logs:GetLogEvents", "logs:FilterLogEvents"),
			Resources: jsii.Strings(group, streams),
		}, wildcards: []string{nagStreams}})
	}
	return out
}

// sidPart makes an environment name usable in a statement id (alphanumeric only).
func sidPart(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
			if up {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			up = true
		default:
			up = true
		}
	}
	return b.String()
}
