// The operator tool as an on-call meets it: through the documented entry points
// (scripts/backfill.sh, scripts/runs.sh, scripts/aws-target.sh), built on first use, against
// fakeaws on loopback, with real signals and a real terminal.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tally/uptime/ops/fakeaws"
)

// cache is one XDG_CACHE_HOME for the whole package: the first entry point run builds the tool
// there, as an operator's first run does.
var (
	cacheOnce sync.Once
	cacheDir  string
)

func cache(t *testing.T) string {
	cacheOnce.Do(func() {
		var err error
		if cacheDir, err = os.MkdirTemp("", "ops-cache-"); err != nil {
			t.Fatal(err)
		}
	})
	return cacheDir
}

// scriptEnv is the entry points' environment: a cache of their own for the tool, but Go's
// build cache where it is (its default follows XDG_CACHE_HOME, and a cold one recompiles the
// standard library and the SDK: minutes on two cores).
func scriptEnv(t *testing.T, env []string) []string {
	t.Helper()
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	return append(os.Environ(), append([]string{"XDG_CACHE_HOME=" + cache(t), "GOCACHE=" + strings.TrimSpace(string(gocache)),
		"USER=oncall"}, env...)...)
}

// command is scripts/NAME.sh ARGS from the repository root.
func command(t *testing.T, name string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "scripts", name+".sh"), args...)
	cmd.Dir = root
	cmd.Env = scriptEnv(t, env)
	return cmd
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cacheDir != "" {
		_ = os.RemoveAll(cacheDir)
	}
	os.Exit(code)
}

type ran struct {
	code           int
	stdout, stderr string
}

// script runs scripts/NAME.sh from the repository root, with stdin empty (no terminal).
func script(t *testing.T, name string, env []string, args ...string) ran {
	t.Helper()
	cmd := command(t, name, env, args...)
	// The transcript interleaves the two as a terminal shows them.
	var stdout, stderr, both bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, &both), io.MultiWriter(&stderr, &both)
	err := cmd.Run()
	r := ran{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("$ scripts/%s.sh %s\n%s[exit %d]", name, strings.Join(args, " "), both.String(), r.code)
	return r
}

func TestEntryPoints(t *testing.T) {
	again := script(t, "backfill", nil, "--help")
	if again.code != 0 || !strings.HasPrefix(again.stdout, "Usage: scripts/backfill.sh ENV") || again.stderr != "" {
		t.Errorf("exit %d, stderr %q; want the usage, and nothing on stderr off a terminal", again.code, again.stderr)
	}
	target := script(t, "aws-target", []string{`CDK_ENVIRONMENTS={"prod":{"account":"222222222222","region":"eu-central-1"}}`}, "prod", "deploy")
	if target.stdout != "region=eu-central-1\nrole=arn:aws:iam::222222222222:role/tally-uptime-github-prod\n" || target.code != 0 {
		t.Errorf("aws-target: exit %d, %q", target.code, target.stdout)
	}
	if r := script(t, "backfill", nil); r.code != 2 || !strings.Contains(r.stderr, "no environment given") {
		t.Errorf("no environment: exit %d, %q", r.code, r.stderr)
	}
}

// The first run on a terminal says it is building, before the build (util-linux script gives
// it a pseudo-terminal); later runs say nothing.
func TestFirstRunSaysItBuilds(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("util-linux script is needed for a terminal")
	}
	env := scriptEnv(t, []string{"XDG_CACHE_HOME=" + t.TempDir()}) // a cache of its own: nothing built yet
	runs := command(t, "runs", nil).Path
	for i, want := range []string{"building the operator tool (the first run compiles for ~30 s)…\r\nUsage: scripts/runs.sh ENV [N]", "Usage: scripts/runs.sh"} {
		cmd := exec.Command("script", "-qec", runs+" --help", "/dev/null")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), want) {
			t.Errorf("run %d: %v, output %q; want it to start with %q", i+1, err, out, want)
		}
	}
}

func TestCommands(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{{nil, 2, "Usage: go run ./ops COMMAND"}, {[]string{"help"}, 0, "Usage: go run ./ops COMMAND"},
		{[]string{"stop"}, 2, `ops: unknown command "stop"`}, {[]string{"target", "--help"}, 0, "Usage: scripts/aws-target.sh"}} {
		var out bytes.Buffer
		if code := run(context.Background(), c.args, &out, &out); code != c.code || !strings.HasPrefix(out.String(), c.out) {
			t.Errorf("ops %q: exit %d, %q; want %d, %q", c.args, code, out.String(), c.code, c.out)
		}
	}
}

func outputs() [][2]string {
	return [][2]string{
		{"AssignPublicIp", "ENABLED"}, {"CapacityProvider", "FARGATE_SPOT"}, {"ClusterName", "tally-uptime-staging"},
		{"ContainerName", "uptime-job"}, {"JobEnvironment", "UPTIME_ENVIRONMENT=staging UPTIME_VERBOSE=true"},
		{"LogGroupName", "/tally/uptime/staging"}, {"LogStreamPrefix", "uptime"}, {"SecurityGroupId", "sg-0a1b2c3d4e5f60718"},
		{"SubnetIds", "subnet-0aaa1111bbbb2222c,subnet-0ddd3333eeee4444f"},
		{"TaskDefinitionArn", "arn:aws:ecs:eu-west-1:123456789012:task-definition/TallyUptimestagingTask:7"},
	}
}

func code(c int) *int { return &c }

// The closing note's transcript: a staging dry run, prod refused without a terminal, a failed run.
func TestOnCallTranscript(t *testing.T) {
	dry := `{"time":"2026-12-07T19:40:02.5Z","level":"INFO","msg":"run summary","version":"1.4.0","revision":"0a1b2c3","exit_code":0,` +
		`"dry_run":true,"run_kind":"manual","users_with_uptime":3,"users_touched":2,"contributions_would_create":12,"days_skipped":1,` +
		`"leaderboard_entries_would_update":1,"leaderboard_entries_would_create":1,"ranks_would_change":2,"duplicates_removed":0,` +
		`"most_days_one_user":9,"users_held_back":0,"duration_seconds":2.41}`
	t.Run("staging dry run", func(t *testing.T) {
		result := filepath.Join(t.TempDir(), "result.json")
		fakeaws.Start(t, fakeaws.Scenario{Outputs: outputs(), Running: 2, Stopped: fakeaws.Stopped{StopCode: "EssentialContainerExited",
			StoppedReason: "Essential container in task exited", ExitCode: code(0)}, Messages: []string{dry}})
		r := script(t, "backfill", []string{"BACKFILL_POLL=10ms"}, "staging", "--dry-run", "--result-json", result)
		if r.code != 0 || !strings.Contains(r.stdout, "contributions_would_create=12") || !strings.Contains(r.stdout, "would create 12 contributions") {
			t.Errorf("exit %d; want 0 and the count", r.code)
		}
		b, _ := os.ReadFile(result)
		var res struct{ Summary map[string]any }
		if json.Unmarshal(b, &res) != nil || res.Summary["contributions_would_create"] != 12.0 {
			t.Errorf("--result-json:\n%s", b)
		}
		t.Logf("%s:\n%s", result, b)
	})
	t.Run("prod without a terminal", func(t *testing.T) {
		srv := fakeaws.Start(t, fakeaws.Scenario{Outputs: outputs()})
		r := script(t, "backfill", nil, "prod", "--from", "2026-11-01", "--to", "2026-11-30")
		if r.code != 2 || len(srv.Ops()) != 0 || !strings.Contains(r.stderr, "pass --yes to confirm") {
			t.Errorf("exit %d after %q", r.code, srv.Ops())
		}
	})
	t.Run("a failed run", func(t *testing.T) {
		fakeaws.Start(t, fakeaws.Scenario{Outputs: outputs(), Running: 1, Stopped: fakeaws.Stopped{StopCode: "EssentialContainerExited",
			StoppedReason: "Essential container in task exited", ExitCode: code(137),
			ContainerReason: "OutOfMemoryError: Container killed due to memory usage"}, Messages: []string{`{"level":"INFO","msg":"run started"}`}})
		r := script(t, "backfill", []string{"BACKFILL_POLL=10ms"}, "staging", "--from", "2024-01-01")
		if r.code != 137 || !strings.Contains(r.stdout, "exit code:    137: killed by SIGKILL") {
			t.Errorf("exit %d; want 137 with its meaning", r.code)
		}
	})
}
