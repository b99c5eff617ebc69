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

	"github.com/tally/uptime/internal/contract"
)

// GitHub's OIDC issuer and the audience aws-actions/configure-aws-credentials asks for.
const (
	GitHubOIDCHost     = "token.actions.githubusercontent.com"
	GitHubOIDCAudience = "sts.amazonaws.com"
	// GitHubStackPrefix + account id is the trust stack of one account.
	GitHubStackPrefix         = "TallyUptime-github-"
	DefaultGitHubBranch       = "main"
	DefaultBootstrapQualifier = "hnb659fds" // CDK's default; `cdk bootstrap --qualifier` changes it
)

// GitHubTrust is what one account trusts GitHub Actions with: one
// repository, and a role per environment hosted in the account.
type GitHubTrust struct {
	// Repository is "owner/name", exactly; no wildcards.
	Repository string
	// OwnerID and RepositoryID are GitHub's numeric ids of the owner and the repository. With
	// them the roles trust GitHub's immutable subject (repo:OWNER@OWNER_ID/NAME@REPO_ID:...),
	// which a repository created or renamed on or after 2026-07-15 gets; without them, the name form.
	OwnerID, RepositoryID string
	// Branch whose pushes may run `cdk diff` (with pull requests). Default "main".
	Branch string
	// Account and Region pin the stack; IAM is global, the region only hosts the stack.
	Account string
	Region  string
	// Environments hosted in Account, after WithDefaults.
	Environments []Environment
	// ExistingProviderARN imports the account's GitHub OIDC provider instead
	// of creating one: an account can hold only one provider per URL.
	ExistingProviderARN string
	// BootstrapQualifier of the CDK bootstrap roles the workflows assume. Default "hnb659fds".
	BootstrapQualifier string
}

var (
	gitHubBranchPattern = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,200}$`)
	qualifierPattern    = regexp.MustCompile(`^[a-z0-9]{1,10}$`)
)

// GitHubTrusts groups the environments by account: one trust per account
// that hosts an environment, in the order the environments come.
func GitHubTrusts(repository string, envs []Environment) ([]GitHubTrust, error) {
	var out []GitHubTrust
	for _, e := range envs {
		if e.Account == "" || e.Region == "" {
			return nil, fmt.Errorf("context %s needs the account and region of every environment (environments.%s): "+
				"the GitHub trust is created in each environment's account", ContextGitHubRepository, e.Name)
		}
		// The trust boundary (docs/deploy.md): a role that may assume an account's CDK deploy
		// role can deploy every stack of that account, so an environment's role keeps to its own
		// environment only when no other environment lives in its account.
		if i := slices.IndexFunc(out, func(t GitHubTrust) bool { return t.Account == e.Account }); i >= 0 {
			return nil, fmt.Errorf("environments %s and %s share account %s; with %s each environment needs an account of its own, "+
				"because a GitHub role that may deploy to an account can deploy every stack in it (docs/deploy.md, \"The trust boundary\")",
				out[i].Environments[0].Name, e.Name, e.Account, ContextGitHubRepository)
		}
		out = append(out, GitHubTrust{Repository: repository, Account: e.Account, Region: e.Region,
			Environments: []Environment{e}, ExistingProviderARN: e.GitHubOIDCProviderARN})
	}
	return out, nil
}

// WithDefaults fills the branch and the qualifier.
func (g GitHubTrust) WithDefaults() GitHubTrust {
	if g.Branch == "" {
		g.Branch = DefaultGitHubBranch
	}
	if g.BootstrapQualifier == "" {
		g.BootstrapQualifier = DefaultBootstrapQualifier
	}
	return g
}

// Validate refuses anything that would widen the trust: wildcards, a repository
// that is not owner/name, a provider that is not GitHub's or not this account's.
// The repository, its ids and the provider follow the context's rules
// (validate_context.go); the account is the one environment's, which the context checked.
func (g GitHubTrust) Validate() error {
	if err := checkGitHubRepository(g.Repository); err != nil {
		return err
	}
	if !gitHubBranchPattern.MatchString(g.Branch) || strings.Contains(g.Branch, "..") {
		return fmt.Errorf("github: branch %q is not a plain branch name (no wildcards)", g.Branch)
	}
	if len(g.Environments) != 1 {
		return fmt.Errorf("github: account %s hosts %d environments; the trust needs exactly one (docs/deploy.md, \"The trust boundary\")",
			g.Account, len(g.Environments))
	}
	if err := checkGitHubIDs(g.OwnerID, g.RepositoryID); err != nil {
		return err
	}
	e := g.Environments[0]
	if e.Account != g.Account || e.GitHubRoleName() == contract.GitHubDiffRoleName {
		return fmt.Errorf("github: environment %q cannot have a role in account %s", e.Name, g.Account)
	}
	if p := g.ExistingProviderARN; p != "" {
		if err := checkGitHubProvider(ContextEnvironments+"."+e.Name, p, g.Account); err != nil {
			return err
		}
	}
	if !qualifierPattern.MatchString(g.BootstrapQualifier) {
		return fmt.Errorf("github: bootstrap qualifier %q is not 1-10 lower-case letters or digits", g.BootstrapQualifier)
	}
	return nil
}

// StackName is the trust stack of the account.
func (g GitHubTrust) StackName() string { return GitHubStackPrefix + g.Account }

// subjectRepo is the repository part of GitHub's default subject: "repo:OWNER/NAME", or with the
// ids "repo:OWNER@OWNER_ID/NAME@REPO_ID" (GitHub Docs, OpenID Connect, "Immutable subject claims":
// "The immutable ID is appended to each name with an @ delimiter").
func (g GitHubTrust) subjectRepo() string {
	if g.OwnerID == "" {
		return "repo:" + g.Repository
	}
	owner, name, _ := strings.Cut(g.Repository, "/")
	return fmt.Sprintf("repo:%s@%s/%s@%s", owner, g.OwnerID, name, g.RepositoryID)
}

// EnvironmentSubject is the OIDC "sub" claim of a job bound to the GitHub environment.
func (g GitHubTrust) EnvironmentSubject(e Environment) string {
	return g.subjectRepo() + ":environment:" + e.Name
}

// DiffSubjects are the claims of the read-only `cdk diff` job: pull requests
// of this repository and pushes to the branch, in GitHub's default format.
func (g GitHubTrust) DiffSubjects() []string {
	return []string{g.subjectRepo() + ":pull_request", g.subjectRepo() + ":ref:refs/heads/" + g.Branch}
}

// GitHubStack is one account's GitHub OIDC provider (or its import), one role
// per environment of the account, and the read-only diff role.
type GitHubStack struct {
	awscdk.Stack
	Trust       GitHubTrust
	ProviderArn *string
	Roles       map[string]awsiam.Role // by environment name
	DiffRole    awsiam.Role
}

// NewGitHubStack builds the trust stack of one account.
func NewGitHubStack(scope constructs.Construct, trust GitHubTrust) (*GitHubStack, error) {
	trust = trust.WithDefaults()
	if err := trust.Validate(); err != nil {
		return nil, err
	}
	stack := awscdk.NewStack(scope, jsii.String(trust.StackName()), &awscdk.StackProps{
		StackName:   jsii.String(trust.StackName()),
		Description: jsii.String("tally-uptime: the GitHub Actions OIDC trust and the roles its workflows deploy, run and diff with"),
		Env:         &awscdk.Environment{Account: jsii.String(trust.Account), Region: jsii.String(trust.Region)},
		// Deployed with the administrator's own credentials, not through the CDK bootstrap
		// roles: the bootstrap execution policy denies every change to these roles and the
		// provider, so no workflow can widen its own trust.
		Synthesizer: awscdk.NewCliCredentialsStackSynthesizer(&awscdk.CliCredentialsStackSynthesizerProps{
			Qualifier: jsii.String(trust.BootstrapQualifier),
		}),
	})
	awscdk.Tags_Of(stack).Add(jsii.String("project"), jsii.String("tally-uptime"), nil)
	if trust.OwnerID == "" {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("tally-uptime:githubNameSubjects"), jsii.String(fmt.Sprintf(
			"No %s and %s in the CDK context: the roles trust %s subjects, which a repository created or renamed on GitHub "+
				"on or after 2026-07-15 no longer sends (its subjects carry numeric ids); give both, from gh api repos/%s --jq '.owner.id, .id'.",
			ContextGitHubOwnerID, ContextGitHubRepositoryID, trust.subjectRepo(), trust.Repository)), nil)
	}
	g := &GitHubStack{Stack: stack, Trust: trust, Roles: map[string]awsiam.Role{}}

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

	outputs := [][3]string{{"OidcProviderArn", *g.ProviderArn, "GitHub's OIDC provider in this account"}}
	for _, e := range trust.Environments {
		sid := sidPart(e.Name)
		g.Roles[e.Name] = g.newRole(sid+"Role", e.GitHubRoleName(), []string{trust.EnvironmentSubject(e)},
			fmt.Sprintf("GitHub Actions of %s, environment %s: deploy TallyUptime-%s, run and watch its task", trust.Repository, e.Name, e.Name),
			environmentPermissions(stack, trust.BootstrapQualifier, e))
		outputs = append(outputs, [3]string{sid + "RoleArn", *g.Roles[e.Name].RoleArn(), "The role of the GitHub environment " + e.Name})
	}
	g.DiffRole = g.newRole("DiffRole", contract.GitHubDiffRoleName, trust.DiffSubjects(),
		fmt.Sprintf("GitHub Actions of %s, pull requests and %s: cdk diff through the read-only CDK lookup role", trust.Repository, trust.Branch),
		diffPermissions(stack, trust))
	outputs = append(outputs, [3]string{"DiffRoleArn", *g.DiffRole.RoleArn(), "The role of the cdk diff job"})

	for _, o := range outputs {
		awscdk.NewCfnOutput(stack, jsii.String(o[0]), &awscdk.CfnOutputProps{Value: jsii.String(o[1]), Description: jsii.String(o[2])})
	}
	return g, nil
}

// newRole is a GitHub OIDC role trusted by exactly the given subjects, with
// exactly the given statements.
func (g *GitHubStack) newRole(id, name string, subjects []string, description string, perms []permission) awsiam.Role {
	subs := make([]interface{}, len(subjects))
	for i, s := range subjects {
		subs[i] = s
	}
	role := awsiam.NewRole(g.Stack, jsii.String(id), &awsiam.RoleProps{
		RoleName:    jsii.String(name),
		Description: jsii.String(description),
		AssumedBy: awsiam.NewWebIdentityPrincipal(g.ProviderArn, &map[string]interface{}{
			// StringEquals, not StringLike: a subject is matched whole.
			"StringEquals": map[string]interface{}{GitHubOIDCHost + ":aud": GitHubOIDCAudience, GitHubOIDCHost + ":sub": subs},
		}),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	var applies []interface{}
	for _, p := range perms {
		role.AddToPolicy(awsiam.NewPolicyStatement(p.props))
		for _, w := range p.wildcards {
			applies = append(applies, "Resource::"+w)
		}
	}
	if len(applies) > 0 {
		exempt(role, nagException{rule: "AwsSolutions-IAM5", withChildren: true, appliesTo: applies,
			reason: "Every action is named and every resource is this environment's own: the task ids, the task " +
				"definition revisions, the log streams and the stack id are only known at run time, so those ARNs end in a " +
				"wildcard under a fixed family, cluster, log group or stack name; RunTask, DescribeTasks and StopTask are " +
				"further held to the environment's cluster by an ecs:cluster condition."})
	}
	return role
}
