// What an operator meets around a run: --help, refused flags, the prod confirmation, the
// effective settings over the schedule's UPTIME_* defaults, and how a run's end is reported.
package scripts_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/contract"
)

// summaryRecord is a "run summary" record as the job's slog JSON handler writes it.
func summaryRecord(code, created, errorJSON string) string {
	rec := `{"time":"2026-03-02T02:00:04.1Z","level":"INFO","msg":"run summary","version":"1.4.0","revision":"0a1b2c3",` +
		`"exit_code":` + code + `,"dry_run":false,"users_with_uptime":0,"users_touched":0,"contributions_created":` + created +
		`,"days_skipped":0,"leaderboard_entries_updated":0,"leaderboard_entries_created":0,"ranks_changed":0,"duration_seconds":0.42`
	if errorJSON != "" {
		rec += `,"error":` + errorJSON
	}
	return rec + "}"
}

const emfRecord = `{"_aws":{"Timestamp":1772416804100,"CloudWatchMetrics":[]},"Environment":"staging","RunFailed":1}`

func calls(r run) []string {
	got := []string{}
	for _, c := range r.calls {
		got = append(got, strings.Join(c[:min(2, len(c))], " "))
	}
	return got
}

func TestBackfillRefusesBeforeAnyTask(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		stub    stub
		wantErr string
	}{
		{name: "misspelt flag, job built by the script", args: []string{"prod", "--dryrun"}, stub: stub{buildJob: true},
			wantErr: "the job refuses these flags, so no task was started: unknown flag: --dryrun"},
		{name: "malformed points", args: []string{"staging", "--points", "x"}, wantErr: `invalid value "x" for flag --points`},
		{name: "malformed date", args: []string{"staging", "--from", "2024-13-01"}, wantErr: `invalid value "2024-13-01" for flag --from`},
		{name: "points 0", args: []string{"staging", "--points", "0"}, wantErr: "for flag --points: must be a whole number of at least 1"},
		{name: "a stray argument", args: []string{"staging", "--force", "false"}, wantErr: `unexpected argument "false"`},
		{name: "the task's own defaults refuse it", args: []string{"staging", "--to", "2024-01-01"},
			stub: stub{taskEnv: "UPTIME_ENVIRONMENT=staging UPTIME_FROM=2024-02-01"}, wantErr: "the job refuses these flags"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runBackfill(t, tc.stub, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.wantErr) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("exit %d, stderr %q; want 2 and one line containing %q", r.code, r.stderr, tc.wantErr)
			}
			if len(r.call("ecs", "run-task")) > 0 {
				t.Errorf("a task was started: %q", calls(r))
			}
		})
	}
}

func TestBackfillHelpAnywhere(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"prod", "--help"}, {"prod", "--from", "2024-01-01", "-h"}, {"help"}, {"prod", "--dryrun", "-help"}} {
		r := runBackfill(t, stub{protected: true}, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: backfill.sh ENV") || len(r.calls) != 0 {
			t.Errorf("%q: exit %d, %d AWS calls, stdout %q; want usage, exit 0, no AWS call", args, r.code, len(r.calls), r.stdout)
		}
	}
}

func TestBackfillProdConfirmation(t *testing.T) {
	ok := describe("STOPPED", "EssentialContainerExited", "0", "Essential container in task exited", "None")
	logs := summaryRecord("0", "12", "") + `\t` + emfRecord
	t.Run("prod without a terminal or --yes is refused", func(t *testing.T) {
		r := runBackfill(t, stub{describe: ok}, "prod", "--dry-run")
		want := "TallyUptime-prod is production and there is no terminal to confirm on: run this in a terminal and answer the prompt, or pass --yes to confirm."
		if r.code != 2 || strings.TrimSpace(r.stderr) != "backfill.sh: "+want {
			t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, want)
		}
		if len(r.call("ecs", "run-task")) > 0 {
			t.Error("a task was started without confirmation")
		}
		if !hasLine(r.stdout, "--dry-run=true flag") {
			t.Errorf("the settings to confirm were not printed first:\n%s", r.stdout)
		}
	})
	t.Run("a protected stack is prod too", func(t *testing.T) {
		r := runBackfill(t, stub{describe: ok, protected: true}, "staging")
		if r.code != 2 || len(r.call("ecs", "run-task")) > 0 || !strings.Contains(r.stderr, "pass --yes") {
			t.Errorf("exit %d, calls %q, stderr %q; want a refusal", r.code, calls(r), r.stderr)
		}
	})
	t.Run("typing the name at the prompt starts the run", func(t *testing.T) {
		r := runBackfill(t, stub{describe: ok, logLines: logs, tty: "prod\n"}, "prod", "--dry-run")
		if r.code != 0 || !strings.Contains(r.stdout, "start this run in prod with the settings above? Type prod to confirm") {
			t.Fatalf("exit %d, output:\n%s%s", r.code, r.stdout, r.stderr)
		}
		checkRunTask(t, r, []string{"--dry-run"}, "FARGATE_SPOT")
	})
	t.Run("anything else at the prompt starts nothing", func(t *testing.T) {
		r := runBackfill(t, stub{describe: ok, tty: "y\n"}, "prod", "--dry-run")
		if r.code != 1 || !strings.Contains(r.stdout, "not confirmed: no task was started.") || len(r.call("ecs", "run-task")) > 0 {
			t.Errorf("exit %d, calls %q, output:\n%s", r.code, calls(r), r.stdout)
		}
	})
	for _, args := range [][]string{{"prod", "--yes", "--dry-run"}, {"prod", "--dry-run", "--yes"}} {
		t.Run("--yes proceeds: "+strings.Join(args, " "), func(t *testing.T) {
			r := runBackfill(t, stub{describe: ok, logLines: logs}, args...)
			if r.code != 0 || !strings.Contains(r.stderr, "confirmed with --yes") {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			checkRunTask(t, r, []string{"--dry-run"}, "FARGATE_SPOT") // --yes is the script's, not the job's
			if !strings.Contains(r.stdout, "summary:      users_with_uptime=0 users_touched=0 contributions_created=12 ") {
				t.Errorf("no counts:\n%s", r.stdout)
			}
		})
	}
}

func TestBackfillFailedTask(t *testing.T) {
	r := runBackfill(t, stub{
		describe: describe("STOPPED", "EssentialContainerExited", "3", "Essential container in task exited", "None"),
		logLines: `{"level":"INFO","msg":"run started"}\t` +
			summaryRecord("3", "0", `"no user has the e-mail address \"nobody\"@invalid.example \u003cx\u003e"`) + `\t` + emfRecord,
	}, "staging", "--user", "nobody@invalid.example")
	if r.code != 3 {
		t.Fatalf("exit %d, want the task's 3; stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{
		"exit code:    3: the data does not allow the run: no Uptime type,",
		"error:        no user has the e-mail address \"nobody\"@invalid.example <x>\n",
		"summary:      users_with_uptime=0 ",
		"https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Ftally-uptime-staging/log-events/uptime$252Fuptime-job$252F" + taskID,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	g := r.call("logs", "get-log-events")
	if len(g) != 1 || flagValue(t, g[0], "--log-group-name") != "/ecs/tally-uptime-staging" ||
		flagValue(t, g[0], "--log-stream-name") != "uptime/uptime-job/"+taskID || slices.Contains(g[0], "--log-stream-names") {
		t.Errorf("get-log-events calls %q: want one, with the group and the stream name (AWS CLI v2)", g)
	}
}

func TestBackfillKilled(t *testing.T) {
	r := runBackfill(t, stub{describe: describe("STOPPED", "EssentialContainerExited", "137", "Essential container in task exited", "OutOfMemoryError: Container killed due to memory usage")},
		"staging")
	meaning, _ := contract.Explain(137)
	if r.code != 137 || !strings.Contains(r.stdout, "exit code:    137: "+meaning+"\n") ||
		!strings.Contains(r.stdout, `summary:      no "run summary" record`) || !strings.Contains(r.stdout, "container:    OutOfMemoryError") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
}

func TestBackfillOverridesTheScheduleDefaults(t *testing.T) {
	ok := describe("STOPPED", "EssentialContainerExited", "0", "Essential container in task exited", "None")
	r := runBackfill(t, stub{describe: ok,
		taskEnv: "UPTIME_ENVIRONMENT=staging UPTIME_FORCE=true UPTIME_POINTS=2 UPTIME_TIMEOUT=20m0s UPTIME_VERBOSE=true"},
		"staging", "--points", "3", "--force=false", "--timeout", "45m")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"--points=3 flag", "--force=false flag", "--timeout=45m0s flag",
		"--verbose=true UPTIME_VERBOSE", "--db-wait=1m0s default", "flags given:  --points 3 --force=false --timeout 45m"} {
		if !hasLine(r.stdout, want) {
			t.Errorf("the effective settings lack %q:\n%s", want, r.stdout)
		}
	}
	if i, j := strings.Index(r.stdout, "settings:"), strings.Index(r.stdout, "task:"); i < 0 || j < i {
		t.Errorf("the settings are not printed before the run:\n%s", r.stdout)
	}
	checkRunTask(t, r, []string{"--points", "3", "--force=false", "--timeout", "45m"}, "FARGATE_SPOT")
}

// hasLine reports whether out has a line whose words, after any label, are those of want.
func hasLine(out, want string) bool {
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		if strings.HasSuffix(strings.Join(f, " "), strings.Join(strings.Fields(want), " ")) {
			return true
		}
	}
	return false
}
