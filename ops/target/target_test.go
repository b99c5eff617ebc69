package target

import (
	"bytes"
	"strings"
	"testing"
)

const environments = `{"staging":{"account":"111111111111","region":"eu-west-1"},"prod":{"account":"222222222222","region":"eu-central-1","schedule":"cron(0 2 * * ? *)"},` +
	`"qa":{"account":"333333333333"},"bad-account":{"account":"12345","region":"eu-west-1"},"bad-region":{"account":"444444444444","region":"Europe"},` +
	`"numeric":{"account":111111111111,"region":"eu-west-1"}}`

func run(vars string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Run(args, func(k string) string { return map[string]string{"CDK_ENVIRONMENTS": vars}[k] }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestTargetPrintsRegionAndRole(t *testing.T) {
	for _, c := range []struct{ env, kind, want string }{
		{"staging", "deploy", "region=eu-west-1\nrole=arn:aws:iam::111111111111:role/tally-uptime-github-staging\n"},
		{"prod", "deploy", "region=eu-central-1\nrole=arn:aws:iam::222222222222:role/tally-uptime-github-prod\n"},
		{"prod", "diff", "region=eu-central-1\nrole=arn:aws:iam::222222222222:role/tally-uptime-github-diff\n"},
	} {
		code, out, errOut := run(environments, c.env, c.kind)
		if code != 0 || out != c.want || errOut != "" {
			t.Errorf("%s %s: exit %d, %q, %q; want %q", c.env, c.kind, code, out, errOut, c.want)
		}
	}
}

func TestTargetRefuses(t *testing.T) {
	for _, c := range []struct {
		vars string
		args []string
		says string
	}{
		{environments, []string{"prod"}, "usage: scripts/aws-target.sh ENV deploy|diff"},
		{environments, []string{"prod", "admin"}, `the role kind must be deploy or diff, not "admin".`},
		{environments, []string{"Prod", "deploy"}, `"Prod" is not an environment name`},
		{environments, []string{"1prod", "deploy"}, `"1prod" is not an environment name`},
		{environments, []string{"dev", "deploy"}, `CDK_ENVIRONMENTS has no "dev" entry with an account and a region.`},
		{environments, []string{"qa", "deploy"}, `CDK_ENVIRONMENTS has no "qa" entry with an account and a region.`},
		{environments, []string{"numeric", "deploy"}, `CDK_ENVIRONMENTS has no "numeric" entry`},
		{environments, []string{"bad-account", "deploy"}, "is not a 12-digit account id."},
		{environments, []string{"bad-region", "diff"}, "is not an AWS region."},
		{"", []string{"prod", "deploy"}, "the repository variable CDK_ENVIRONMENTS is empty"},
		{"[1,2]", []string{"prod", "deploy"}, "CDK_ENVIRONMENTS is not a JSON object of environments"},
	} {
		code, out, errOut := run(c.vars, c.args...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, "aws-target: ") || !strings.Contains(errOut, c.says) ||
			strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and one sentence saying %q", c.args, code, out, errOut, c.says)
		}
	}
}
