// Package target is the operator tool's target command: where one environment lives and which
// role of its account's GitHub trust stack a workflow job assumes there, from the CDK context
// JSON in CDK_ENVIRONMENTS (the repository variable of that name, docs/deploy.md). It prints
// GitHub step outputs and makes no AWS call.
package target

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/ops/cli"
)

var (
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
	region    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
)

// Usage is the target command's --help.
const Usage = `Usage: scripts/aws-target.sh ENV deploy|diff >>"$GITHUB_OUTPUT"
       (the same as: go run ./ops target ENV deploy|diff)

Prints the region of ENV and the role a workflow job assumes there, read from
the CDK context JSON in CDK_ENVIRONMENTS (docs/deploy.md):
  region=<the environment's region>
  role=arn:aws:iam::<account>:role/tally-uptime-github-<ENV>   (deploy: its deploy and backfills)
  role=arn:aws:iam::<account>:role/tally-uptime-github-diff    (diff: read-only cdk diff)

Exit status: 0, or 2 with one sentence on stderr when the arguments or the
variable are wrong.
`

// Run runs the command with args (after "target") and returns the tool's exit status.
func Run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Fprint(stdout, Usage)
		return 0
	}
	out, err := lines(args, getenv("CDK_ENVIRONMENTS"))
	if err == nil {
		fmt.Fprint(stdout, out)
	}
	return cli.Exit(stderr, "aws-target", err)
}

func lines(args []string, environments string) (string, error) {
	if len(args) != 2 {
		return "", cli.Errorf(2, "usage: scripts/aws-target.sh ENV deploy|diff")
	}
	env, kind := args[0], args[1]
	if err := contract.CheckEnvironmentName(env); err != nil {
		return "", cli.Errorf(2, "%v.", err)
	}
	role := ""
	switch kind {
	case "deploy":
		role = contract.GitHubRoleName(env)
	case "diff":
		role = contract.GitHubDiffRoleName
	default:
		return "", cli.Errorf(2, "the role kind must be deploy or diff, not %q.", kind)
	}
	if environments == "" {
		return "", cli.Errorf(2, "the repository variable CDK_ENVIRONMENTS is empty; docs/deploy.md says what it holds.")
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(environments), &all); err != nil {
		return "", cli.Errorf(2, "CDK_ENVIRONMENTS is not a JSON object of environments: %v.", err)
	}
	var entry struct {
		Account *string `json:"account"`
		Region  *string `json:"region"`
	}
	// An entry whose account or region is missing or not a string is no entry at all.
	if raw, ok := all[env]; !ok || json.Unmarshal(raw, &entry) != nil || entry.Account == nil || entry.Region == nil {
		return "", cli.Errorf(2, "CDK_ENVIRONMENTS has no %q entry with an account and a region.", env)
	}
	if !accountID.MatchString(*entry.Account) {
		return "", cli.Errorf(2, "the account of %q in CDK_ENVIRONMENTS is not a 12-digit account id.", env)
	}
	if !region.MatchString(*entry.Region) {
		return "", cli.Errorf(2, "the region of %q in CDK_ENVIRONMENTS is not an AWS region.", env)
	}
	// IAM role ARNs in the aws partition only (GovCloud and China are not covered).
	return fmt.Sprintf("region=%s\nrole=arn:aws:iam::%s:role/%s\n", *entry.Region, *entry.Account, role), nil
}
