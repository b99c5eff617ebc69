// Tests of scripts/runs.sh against a stand-in `aws` on PATH that records each
// call and answers only the exact queries the script asks, the way AWS CLI v2's
// text output would (tab-separated columns, null as "None").
package scripts_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

const runsResultsQuery = "results[].[[?field=='started'].value | [0], [?field=='duration_seconds'].value | [0], " +
	"[?field=='exit_code'].value | [0], [?field=='run_kind'].value | [0], [?field=='dry_run'].value | [0], " +
	"[?field=='contributions_created'].value | [0], [?field=='users_touched'].value | [0], " +
	"[?field=='version'].value | [0], [?field=='revision'].value | [0], [?field=='error'].value | [0]]"

const runsStub = stubPreamble + `if [[ $output != text ]]; then echo "stand-in aws: unexpected --output $output" >&2; exit 252; fi
case "$1 $2 $query" in
"logs start-query queryId") echo 9f1c-query ;;
"logs get-query-results status")
	n=$(cat "$STUB_LOG/polls" 2>/dev/null || echo 0); echo $((n + 1)) >"$STUB_LOG/polls"
	if ((n < 1)); then echo Running; else echo "$STUB_STATUS"; fi ;;
"logs get-query-results $STUB_Q_RESULTS") printf '%b' "$STUB_ROWS" ;;
*) printf 'stand-in aws: unexpected call: %s\n' "$*" >&2; exit 252 ;;
esac
`

type runsRun struct {
	code           int
	stdout, stderr string
	calls          [][]string
}

func runRuns(t *testing.T, status, rows string, args ...string) runsRun {
	t.Helper()
	dir := t.TempDir()
	bin, log := filepath.Join(dir, "bin"), filepath.Join(dir, "calls")
	for _, d := range []string{bin, log} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "aws"), []byte(runsStub), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{"runs.sh"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"STUB_LOG="+log, "STUB_STATUS="+status, "STUB_ROWS="+rows, "STUB_Q_RESULTS="+runsResultsQuery, "RUNS_DAYS=", "RUNS_WAIT=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := runsRun{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(log, "[0-9]*"))
	sort.Strings(files)
	for _, f := range files {
		b, _ := os.ReadFile(f)
		r.calls = append(r.calls, strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"))
	}
	if strings.Contains(r.stderr, "stand-in aws: unexpected") {
		t.Errorf("runs.sh asked the stand-in something it does not answer:\n%s", r.stderr)
	}
	return r
}

func argAfter(argv []string, flag string) string {
	for i, a := range argv {
		if a == flag && i+1 < len(argv) {
			return argv[i+1]
		}
	}
	return ""
}

func TestRunsListsTheLastRuns(t *testing.T) {
	rows := `2026-12-04 02:00:04.101\t41.5234\t0\tscheduled\tfalse\t12\t12\tv1.4.0\t0123456789abcdef0123\tNone\n` +
		`2026-12-03 15:10:00.000\t2.01\t3\tmanual\tfalse\t0\t0\tv1.4.0\t0123456789abcdef0123\tno Uptime multiplier covers 2026-03-02; add one or run with --force\n`
	before := time.Now().Unix()
	r := runRuns(t, "Complete", rows, "prod", "5")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	t.Logf("scripts/runs.sh prod 5:\n%s", r.stdout)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and two runs, got:\n%s", r.stdout)
	}
	for i, want := range [][]string{
		{"started", "seconds", "exit", "kind", "created", "version", "error"},
		{"2026-12-04 02:00:04 ", " 41.5 ", " 0 ", "scheduled", " 12 ", "v1.4.0", "0123456789ab "},
		{"2026-12-03 15:10:00 ", " 2.0 ", " 3 ", "manual", "no Uptime multiplier covers 2026-03-02; add one or run with --force"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d lacks %q: %s", i+1, w, lines[i])
			}
		}
	}
	if strings.Contains(r.stdout, "None") {
		t.Errorf("a missing field shows as None:\n%s", r.stdout)
	}
	start := r.calls[0]
	if start[0] != "logs" || start[1] != "start-query" || argAfter(start, "--log-group-name") != "/tally/uptime/prod" {
		t.Fatalf("first call %q, want logs start-query on /tally/uptime/prod", start)
	}
	q := argAfter(start, "--query-string")
	for _, want := range []string{`filter msg = "run summary"`, "sort @timestamp desc", "limit 5", "duration_seconds"} {
		if !strings.Contains(q, want) {
			t.Errorf("the query lacks %q:\n%s", want, q)
		}
	}
	from, _ := strconv.ParseInt(argAfter(start, "--start-time"), 10, 64)
	if d := before - 14*86400 - from; d < -5 || d > 5 {
		t.Errorf("--start-time %d is not 14 days ago", from)
	}
	if len(r.calls) != 4 { // start, poll (Running), poll (Complete), results
		t.Errorf("%d calls, want 4: %q", len(r.calls), r.calls)
	}
}

func TestRunsRefusesAndFails(t *testing.T) {
	cases := []struct {
		name, status string
		args         []string
		code, calls  int
		says         string
	}{
		{"help", "Complete", []string{"prod", "--help"}, 0, 0, "Usage: runs.sh ENV [N]"},
		{"no environment", "Complete", nil, 2, 0, "give an environment"},
		{"N not a number", "Complete", []string{"prod", "ten"}, 2, 0, "N must be a whole number"},
		{"N zero", "Complete", []string{"prod", "0"}, 2, 0, "N must be a whole number"},
		{"bad environment", "Complete", []string{"prod; rm"}, 2, 0, "not an environment name"},
		{"query failed", "Failed", []string{"staging"}, 1, 3, "ended Failed"},
		{"no runs", "Complete", []string{"staging"}, 0, 4, "No run summary in /tally/uptime/staging"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runRuns(t, c.status, "", c.args...)
			if r.code != c.code || len(r.calls) != c.calls || !strings.Contains(r.stdout+r.stderr, c.says) {
				t.Errorf("exit %d after %d AWS calls, want %d after %d, saying %q:\n%s%s",
					r.code, len(r.calls), c.code, c.calls, c.says, r.stdout, r.stderr)
			}
		})
	}
}
