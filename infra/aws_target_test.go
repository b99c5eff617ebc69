package main

// scripts/aws-target.sh names the roles the workflows assume; they must be
// the roles the GitHub trust stacks create.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/contract"
)

func TestAwsTargetScriptNamesTheStacksRoles(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is missing; scripts/aws-target.sh needs it (GitHub's runners have it)")
	}
	envs := jsonOf(exampleContextObject(t)[ContextEnvironments])
	run := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join("..", "scripts", "aws-target.sh"), args...)
		cmd.Env = append(os.Environ(), "CDK_ENVIRONMENTS="+envs)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for env, account := range exampleAccounts {
		out, err := run(env, "deploy")
		eq(t, env+" deploy", []any{out, err}, []any{"region=eu-west-1\nrole=arn:aws:iam::" + account + ":role/" +
			Environment{Name: env}.GitHubRoleName() + "\n", nil})
		out, err = run(env, "diff")
		eq(t, env+" diff", []any{out, err}, []any{"region=eu-west-1\nrole=arn:aws:iam::" + account + ":role/" + contract.GitHubDiffRoleName + "\n", nil})
	}
	for _, args := range [][]string{{"qa", "deploy"}, {"prod", "admin"}, {"Prod", "deploy"}, {"prod"}} {
		out, err := run(args...)
		if err == nil || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.HasPrefix(out, "aws-target: ") {
			t.Errorf("%v: %v, %q; want exit 2 with one sentence", args, err, out)
		}
	}
}
