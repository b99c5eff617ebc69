package main

// The rules of the deployer's CDK context: an "environments" entry is complete and names
// things that can exist; the GitHub repository and its ids are what GitHub would send. The
// trust stacks (github.go) check the same GitHub values with the same functions.

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
)

var (
	accountPattern        = regexp.MustCompile(`^\d{12}$`)
	regionPattern         = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
	gitHubRepoPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$`)
	gitHubIDPattern       = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)
	gitHubProviderPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):oidc-provider/` + regexp.QuoteMeta(GitHubOIDCHost) + `$`)
)

// check applies the context's rules: the GitHub keys, then each environment entry by name.
func (c DeployContext) check() error {
	if err := c.checkGitHub(); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(c.Environments)) {
		if err := c.Environments[name].check(ContextEnvironments + "." + name); err != nil {
			return err
		}
	}
	return nil
}

// checkGitHub: the repository is owner/name, and its ids come both or neither, beside it.
func (c DeployContext) checkGitHub() error {
	if c.GitHubRepository != "" {
		if err := checkGitHubRepository(c.GitHubRepository); err != nil {
			return err
		}
	}
	if err := checkGitHubIDs(c.GitHubOwnerID, c.GitHubRepositoryID); err != nil {
		return err
	}
	if c.GitHubOwnerID != "" && c.GitHubRepository == "" {
		return fmt.Errorf("context %s and %s need %s, the repository they are the ids of", ContextGitHubOwnerID, ContextGitHubRepositoryID, ContextGitHubRepository)
	}
	return nil
}

// checkGitHubRepository refuses anything but one exact repository: a wildcard would widen the trust.
func checkGitHubRepository(repository string) error {
	if !gitHubRepoPattern.MatchString(repository) {
		return fmt.Errorf("context %s %q is not owner/name as on GitHub (no wildcards)", ContextGitHubRepository, repository)
	}
	return nil
}

// checkGitHubIDs: each is GitHub's numeric id, and the two go together.
func checkGitHubIDs(ownerID, repositoryID string) error {
	for _, id := range [...][2]string{{ContextGitHubOwnerID, ownerID}, {ContextGitHubRepositoryID, repositoryID}} {
		if id[1] != "" && !gitHubIDPattern.MatchString(id[1]) {
			return fmt.Errorf("context %s %q is not GitHub's numeric id (gh api repos/OWNER/NAME --jq '.owner.id, .id' prints both)", id[0], id[1])
		}
	}
	if (ownerID == "") != (repositoryID == "") {
		return fmt.Errorf("context %s and %s go together: GitHub's immutable OIDC subject names both", ContextGitHubOwnerID, ContextGitHubRepositoryID)
	}
	return nil
}

// checkGitHubProvider: an imported provider is GitHub's, in the environment's own account
// (IAM allows one provider per URL in an account, and a role trusts its own account's).
func checkGitHubProvider(key, arn, account string) error {
	m := gitHubProviderPattern.FindStringSubmatch(arn)
	if m == nil {
		return fmt.Errorf("context %s.githubOidcProviderArn %q is not the ARN of a %s OIDC provider", key, arn, GitHubOIDCHost)
	}
	if m[1] != account {
		return fmt.Errorf("context %s.githubOidcProviderArn %q is not in the environment's account %s", key, arn, account)
	}
	return nil
}

// check refuses an environment entry that is incomplete or names something
// that cannot exist. key is "environments.<name>".
func (e EnvironmentContext) check(key string) error {
	switch {
	case e.Account == "":
		return fmt.Errorf("context %s has no account: its stack is pinned to that AWS account, and with %s its GitHub role is created there", key, ContextGitHubRepository)
	case !accountPattern.MatchString(e.Account):
		return fmt.Errorf("context %s.account %q is not a 12-digit AWS account id", key, e.Account)
	case e.Region == "":
		return fmt.Errorf("context %s has no region: its stack is pinned to that region, and the GitHub role may assume only that region's CDK bootstrap roles", key)
	case !regionPattern.MatchString(e.Region):
		return fmt.Errorf("context %s.region %q is not an AWS region like eu-west-1", key, e.Region)
	case len(e.AlarmEmails) == 0:
		return fmt.Errorf("context %s.alarmEmails is empty; name at least one address, or failures go unnoticed", key)
	}
	if e.GitHubOIDCProviderARN != "" {
		if err := checkGitHubProvider(key, e.GitHubOIDCProviderARN, e.Account); err != nil {
			return err
		}
	}
	return e.checkNetwork(key)
}
