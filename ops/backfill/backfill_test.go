package backfill

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/ops/fakeaws"
)

// dryRunCounts are a dry run's counts as the job names them: what it would write.
const dryRunCounts = `"users_with_uptime":3,"users_touched":2,"contributions_would_create":12,"days_skipped":1,` +
	`"leaderboard_entries_would_update":1,"leaderboard_entries_would_create":1,"ranks_would_change":2,` +
	`"duplicates_removed":0,"most_days_one_user":9,"users_held_back":0`

// The README's first step: a dry run in staging shows what a real run would create (issue 20:
// the shell tools looked for contributions_created only, and showed nothing).
func TestStagingDryRunShowsItsCount(t *testing.T) {
	result := filepath.Join(t.TempDir(), "result.json")
	o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0), Running: 1,
		Messages: []string{`{"msg":"run started"}`, summaryRecord(0, true, dryRunCounts, ""), emfRecord}}},
		"staging", "--dry-run", "--result-json", result)
	if o.code != 0 {
		t.Fatalf("exit %d, want 0", o.code)
	}
	if got, want := o.srv.Ops(), []string{"cloudformation.DescribeStacks", "ecs.RunTask", "ecs.DescribeTasks",
		"ecs.DescribeTasks", "logs.GetLogEvents"}; !slices.Equal(got, want) {
		t.Errorf("AWS calls %q, want %q", got, want)
	}
	if got := o.srv.Call("cloudformation.DescribeStacks").Form.Get("StackName"); got != "TallyUptime-staging" {
		t.Errorf("DescribeStacks of %q", got)
	}
	checkRunTask(t, o, []string{"--dry-run"}, "FARGATE_SPOT")
	has(t, "stdout", o.stdout,
		"environment:  staging (stack TallyUptime-staging, task definition "+taskDef+")",
		"exit code:    0: done; also nothing to do, and a dry run\n",
		"logs:         group "+logGroup+", stream "+logStream+"\n",
		"aws logs tail "+logGroup+" --log-stream-names "+logStream+" --since 1d\n",
		consoleLink+"\n",
		"summary:      users_with_uptime=3 users_touched=2 contributions_would_create=12 days_skipped=1 ",
		"dry run:      nothing was written; a real run would create 12 contributions\n")
	if !hasLine(o.stdout, "--dry-run=true flag") || !hasLine(o.stdout, "--verbose=true UPTIME_VERBOSE") {
		t.Errorf("the settings lack their sources:\n%s", o.stdout)
	}
	has(t, "stderr", o.stderr, "backfill: started task "+taskID+"; stop it with: aws ecs stop-task --cluster tally-uptime-staging --task "+taskID+"\n",
		"is RUNNING; still waiting")

	var r map[string]any
	b, err := os.ReadFile(result)
	if err != nil || json.Unmarshal(b, &r) != nil {
		t.Fatalf("--result-json: %v\n%s", err, b)
	}
	summary, _ := r["summary"].(map[string]any)
	if r["task_arn"] != fakeaws.TaskARN || r["exit_code"] != 0.0 || r["status"] != 0.0 || r["log_group"] != logGroup ||
		r["log_stream"] != logStream || r["console_url"] != consoleLink || r["meaning"] == "" ||
		summary["contributions_would_create"] != 12.0 || summary["dry_run"] != true {
		t.Errorf("--result-json wrote:\n%s", b)
	}
}

func TestProdConfirmation(t *testing.T) {
	logs := []string{summaryRecord(0, false, `"users_with_uptime":0,"users_touched":0,"contributions_created":12`, ""), emfRecord}
	t.Run("without a terminal or --yes: refused before any AWS call", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0)}}, "prod", "--dry-run")
		want := "backfill: TallyUptime-prod is production and there is no terminal to confirm on: run this in a terminal and answer the prompt, or pass --yes to confirm.\n"
		if o.code != 2 || o.stderr != want || len(o.srv.Ops()) != 0 {
			t.Errorf("exit %d, AWS calls %q, stderr %q; want 2, none, %q", o.code, o.srv.Ops(), o.stderr, want)
		}
	})
	t.Run("a protected stack is production too", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0), Protected: true}}, "staging")
		if got := o.srv.Ops(); o.code != 2 || !slices.Equal(got, []string{"cloudformation.DescribeStacks"}) {
			t.Errorf("exit %d, AWS calls %q; want 2 after reading the stack only", o.code, got)
		}
		oneSentence(t, o, "TallyUptime-staging is production and there is no terminal to confirm on")
		if !hasLine(o.stdout, "--verbose=true UPTIME_VERBOSE") {
			t.Errorf("the settings to confirm were not printed first:\n%s", o.stdout)
		}
	})
	t.Run("typing the name at the prompt starts the run", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0), Messages: logs}, tty: &terminal{present: true, answer: "prod"}},
			"prod", "--dry-run")
		if o.code != 0 || !slices.Equal(o.tty.asked, []string{"backfill: start this run in prod with the settings above? Type prod to confirm: "}) {
			t.Fatalf("exit %d, asked %q", o.code, o.tty.asked)
		}
		checkRunTask(t, o, []string{"--dry-run"}, "FARGATE_SPOT")
	})
	t.Run("anything else at the prompt starts nothing", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0)}, tty: &terminal{present: true, answer: "y"}}, "prod", "--dry-run")
		if o.code != 1 || slices.Contains(o.srv.Ops(), "ecs.RunTask") {
			t.Errorf("exit %d, calls %q", o.code, o.srv.Ops())
		}
		oneSentence(t, o, "not confirmed: no task was started.")
	})
	for _, args := range [][]string{{"prod", "--yes", "--dry-run"}, {"prod", "--dry-run", "--yes"}} {
		t.Run("--yes proceeds: "+strings.Join(args, " "), func(t *testing.T) {
			o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0), Protected: true, Messages: logs}}, args...)
			if o.code != 0 || !strings.Contains(o.stderr, "backfill: TallyUptime-prod is protected; confirmed with --yes\n") {
				t.Fatalf("exit %d, stderr %q", o.code, o.stderr)
			}
			checkRunTask(t, o, []string{"--dry-run"}, "FARGATE_SPOT") // --yes is the tool's, not the job's
			has(t, "stdout", o.stdout, "summary:      users_with_uptime=0 users_touched=0 contributions_created=12 ")
		})
	}
}

func TestFailedTasks(t *testing.T) {
	t.Run("137: killed, with its meaning; no summary", func(t *testing.T) {
		st := exited(137)
		st.ContainerReason = "OutOfMemoryError: Container killed due to memory usage"
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: st, Messages: []string{`{"msg":"run started"}`}}}, "staging")
		meaning, _ := contract.Explain(137)
		if o.code != 137 || o.stderr != "backfill: started task "+taskID+"; stop it with: aws ecs stop-task --cluster tally-uptime-staging --task "+taskID+"\n" {
			t.Errorf("exit %d, stderr %q; want 137 and nothing more on stderr", o.code, o.stderr)
		}
		has(t, "stdout", o.stdout, "exit code:    137: "+meaning+"\n", "container:    OutOfMemoryError",
			`summary:      no "run summary" record in the log stream`)
		// Not among the latest lines: the whole stream is searched before saying there is none.
		if got := o.srv.Ops(); got[len(got)-1] != "logs.FilterLogEvents" {
			t.Errorf("calls %q: want the stream searched last", got)
		}
	})
	t.Run("3: the job's error sentence", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(3), Messages: []string{`{"level":"INFO","msg":"run started"}`,
			summaryRecord(3, false, `"contributions_created":0`, `"no user has the e-mail address \"nobody\"@invalid.example \u003cx\u003e"`), emfRecord}}},
			"staging", "--user", "nobody@invalid.example")
		if o.code != 3 {
			t.Fatalf("exit %d, want the task's 3", o.code)
		}
		has(t, "stdout", o.stdout, "exit code:    3: the data does not allow the run: no Uptime type,",
			"error:        no user has the e-mail address \"nobody\"@invalid.example <x>\n", consoleLink)
		g := o.srv.Call("logs.GetLogEvents").JSON
		if g["logGroupName"] != logGroup || g["logStreamName"] != logStream || g["startFromHead"] != false {
			t.Errorf("GetLogEvents %v: want the task's stream, latest events", g)
		}
	})
	t.Run("1 without a summary: looked for again, then said", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(1)}}, "staging")
		if o.code != 1 || strings.Count(strings.Join(o.srv.Ops(), " "), "logs.FilterLogEvents") != 3 {
			t.Errorf("exit %d, calls %q; want 1 after three looks", o.code, o.srv.Ops())
		}
		has(t, "stdout", o.stdout, `summary:      no "run summary" record in the log stream (the job did not get that far, or the log is late)`)
	})
	t.Run("failed to start: stopped without an exit code", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: fakeaws.Stopped{StopCode: "TaskFailedToStart",
			StoppedReason: "ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secret from ssm"}}},
			"staging", "--dry-run")
		if o.code != 1 || slices.Contains(o.srv.Ops(), "logs.GetLogEvents") {
			t.Errorf("exit %d, calls %q; want 1 and no log read", o.code, o.srv.Ops())
		}
		has(t, "stdout", o.stdout, "exit code:    none\n", "stream "+logStream)
		has(t, "stderr", o.stderr, "backfill: the job did not run to an exit code (stop code TaskFailedToStart): ResourceInitializationError: unable to pull secrets")
	})
	t.Run("failed to start: RunTask answers a failure, not a task", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{RunFailure: "RESOURCE:FARGATE"}}, "staging")
		if got := o.srv.Ops(); o.code != 1 || !slices.Equal(got, []string{"cloudformation.DescribeStacks", "ecs.RunTask"}) {
			t.Errorf("exit %d, calls %q", o.code, got)
		}
		oneSentence(t, o, "backfill: the task did not start: RESOURCE:FARGATE.")
	})
	t.Run("failed to start: RunTask refused", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{RunError: "User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: ecs:RunTask"}}, "staging")
		if o.code != 1 {
			t.Errorf("exit %d", o.code)
		}
		oneSentence(t, o, "the task did not start: ECS refused RunTask: ")
		has(t, "stderr", o.stderr, "AccessDeniedException", "not authorized to perform: ecs:RunTask")
	})
}

// Ctrl-C while the task runs: 130, and the task keeps running, as the shell tool did; the
// operator is told how to stop it (a stray keystroke does not roll back a long backfill).
func TestInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := runBackfill(t, setup{ctx: ctx, env: map[string]string{"BACKFILL_POLL": "1h"},
		sc: fakeaws.Scenario{Running: 1 << 20, OnDescribe: func(int) { cancel() }}}, "staging", "--dry-run")
	if o.code != 130 {
		t.Fatalf("exit %d, want 130", o.code)
	}
	has(t, "stderr", o.stderr, "backfill: interrupted: task "+taskID+" keeps running; stop it with: aws ecs stop-task --cluster tally-uptime-staging --task "+taskID+"\n")
	if got := o.srv.Ops(); slices.Contains(got, "ecs.StopTask") || got[len(got)-1] != "ecs.DescribeTasks" {
		t.Errorf("calls %q", got)
	}
}

// Ctrl-C before the task starts (here: while the stack is read) starts nothing.
func TestInterruptBeforeTheTask(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := runBackfill(t, setup{ctx: ctx, sc: fakeaws.Scenario{Stopped: exited(0)}}, "staging", "--dry-run")
	if o.code != 130 || slices.Contains(o.srv.Ops(), "ecs.RunTask") {
		t.Errorf("exit %d, calls %q; want 130 and no task", o.code, o.srv.Ops())
	}
	oneSentence(t, o, "backfill: interrupted: no task was started.")
}

func TestWaiting(t *testing.T) {
	t.Run("a failed question is said and asked again", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{DescribeErrors: 2, Running: 1, Stopped: exited(0)}}, "staging", "--verbose")
		if o.code != 0 || strings.Count(o.stderr, "could not ask ECS about task "+taskID) != 2 {
			t.Errorf("exit %d, stderr:\n%s", o.code, o.stderr)
		}
		has(t, "stderr", o.stderr, "ThrottlingException", "is RUNNING; still waiting")
	})
	t.Run("BACKFILL_TIMEOUT passes", func(t *testing.T) {
		o := runBackfill(t, setup{env: map[string]string{"BACKFILL_TIMEOUT": "1s", "BACKFILL_POLL": "200ms"},
			sc: fakeaws.Scenario{Running: 1 << 20}}, "staging")
		if o.code != 1 {
			t.Errorf("exit %d", o.code)
		}
		has(t, "stderr", o.stderr, "had not stopped after 1s (last status RUNNING); it keeps running. Follow it with: aws logs tail "+logGroup+" --follow --log-stream-names "+logStream)
	})
}
