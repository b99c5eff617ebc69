// The runs command against fakeaws's CloudWatch Logs Insights (StartQuery, GetQueryResults).
package runs

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tally/uptime/ops/cloud"
	"github.com/tally/uptime/ops/fakeaws"
)

type outcome struct {
	code           int
	stdout, stderr string
	srv            *fakeaws.Server
}

var now = time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)

func runRuns(t *testing.T, sc fakeaws.Scenario, env map[string]string, args ...string) outcome {
	t.Helper()
	srv := fakeaws.Start(t, sc)
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, Deps{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] },
		AWS: func(ctx context.Context) (cloud.API, error) { return cloud.Load(ctx) }, Now: func() time.Time { return now }, Poll: time.Millisecond})
	t.Logf("runs %s → exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return outcome{code, stdout.String(), stderr.String(), srv}
}

// row is one Insights result: the record's time and its whole line.
func row(at, message string) [][2]string {
	return [][2]string{{"@timestamp", at}, {"@message", message}, {"@ptr", "CmAKJgoi"}}
}

func TestRunsListsTheLastRuns(t *testing.T) {
	rows := [][][2]string{
		row("2026-12-04 02:00:45.601", `{"msg":"run summary","version":"v1.4.0","revision":"0123456789abcdef0123","exit_code":0,"dry_run":false,`+
			`"run_kind":"scheduled","users_touched":12,"contributions_created":12,"duration_seconds":41.5234}`),
		row("2026-12-03 15:10:02.010", `{"msg":"run summary","version":"v1.4.0","revision":"0123456789abcdef0123","exit_code":3,"dry_run":false,`+
			`"run_kind":"manual","contributions_created":0,"duration_seconds":2.01,"error":"no Uptime multiplier covers 2026-03-02; add one or run with --force"}`),
		// A dry run's count is what it would create (issue 20: the shell tool showed nothing).
		row("2026-12-03 15:00:01.000", `{"msg":"run summary","version":"v1.4.0","revision":"0123456789abcdef0123","exit_code":0,"dry_run":true,`+
			`"run_kind":"manual","users_touched":4,"contributions_would_create":7,"duration_seconds":1}`),
	}
	o := runRuns(t, fakeaws.Scenario{QueryStatuses: []string{"Running", "Complete"}, QueryRows: rows}, nil, "prod", "5")
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	lines := strings.Split(strings.TrimSpace(o.stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header and three runs, got:\n%s", o.stdout)
	}
	for i, want := range [][]string{
		{"started", "seconds", "exit", "kind", "created", "version", "error"},
		{"2026-12-04 02:00:04 ", " 41.5 ", " 0 ", "scheduled", " 12 ", "v1.4.0", "0123456789ab "},
		{"2026-12-03 15:10:00 ", " 2.0 ", " 3 ", "manual", "no Uptime multiplier covers 2026-03-02; add one or run with --force"},
		{"2026-12-03 15:00:00 ", " true ", "      7 ", "     4 "},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d lacks %q: %s", i+1, w, lines[i])
			}
		}
	}
	calls := o.srv.Calls()
	if got := o.srv.Ops(); len(got) != 3 || got[0] != "logs.StartQuery" {
		t.Fatalf("calls %q, want StartQuery and two looks (Running, Complete)", got)
	}
	start := calls[0].JSON
	q, _ := start["queryString"].(string)
	if start["logGroupName"] != "/tally/uptime/prod" || start["startTime"] != float64(now.Add(-14*24*time.Hour).Unix()) || start["endTime"] != float64(now.Unix()) {
		t.Errorf("StartQuery %v: want /tally/uptime/prod over the last 14 days", start)
	}
	for _, want := range []string{`filter msg = "run summary"`, "sort @timestamp desc", "limit 5", "@message"} {
		if !strings.Contains(q, want) {
			t.Errorf("the query lacks %q:\n%s", want, q)
		}
	}
}

func TestRunsRefusesAndFails(t *testing.T) {
	cases := []struct {
		name     string
		statuses []string
		env      map[string]string
		args     []string
		code     int
		calls    int
		says     string
	}{
		{"help", nil, nil, []string{"prod", "--help"}, 0, 0, "Usage: scripts/runs.sh ENV [N]"},
		{"no environment", nil, nil, nil, 2, 0, "runs: give an environment"},
		{"N not a number", nil, nil, []string{"prod", "ten"}, 2, 0, "runs: N must be a whole number from 1 to 1000, not ten"},
		{"N zero", nil, nil, []string{"prod", "0"}, 2, 0, "N must be a whole number"},
		{"N too many", nil, nil, []string{"prod", "1001"}, 2, 0, "N must be a whole number"},
		{"bad RUNS_DAYS", nil, map[string]string{"RUNS_DAYS": "2w"}, []string{"prod"}, 2, 0, "RUNS_DAYS must be a whole number"},
		{"bad environment", nil, nil, []string{"prod; rm"}, 2, 0, "is not an environment name"},
		{"leading digit", nil, nil, []string{"1prod"}, 2, 0, "is not an environment name"},
		{"query failed", []string{"Running", "Failed"}, nil, []string{"staging"}, 1, 3, "runs: the Logs Insights query on /tally/uptime/staging ended Failed; try again, or raise RUNS_WAIT"},
		{"RUNS_WAIT passes", []string{"Running"}, map[string]string{"RUNS_WAIT": "3"}, []string{"staging"}, 1, 4, "ended Running; try again, or raise RUNS_WAIT"},
		{"no runs", nil, nil, []string{"staging"}, 0, 2, "No run summary in /tally/uptime/staging in the last 14 days."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := runRuns(t, fakeaws.Scenario{QueryStatuses: c.statuses}, c.env, c.args...)
			if o.code != c.code || len(o.srv.Ops()) != c.calls || !strings.Contains(o.stdout+o.stderr, c.says) {
				t.Errorf("exit %d after %d AWS calls, want %d after %d, saying %q:\n%s%s", o.code, len(o.srv.Ops()), c.code, c.calls, c.says, o.stdout, o.stderr)
			}
			if c.code == 2 && strings.Count(strings.TrimSpace(o.stderr), "\n") != 0 {
				t.Errorf("a usage error is one line: %q", o.stderr)
			}
		})
	}
}
