package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
	"github.com/tally/uptime/job/store"
)

// jobBinary is the job, built once by TestMain; the tests run it as ECS would, as a process.
var jobBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "uptime-job-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	jobBinary = filepath.Join(dir, "job")
	build := exec.Command("go", "build", "-o", jobBinary, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build the job:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---- running the job ----

// proc is one started job process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	started        time.Time
	done           chan struct{} // closed when the process has exited
	code           int
	elapsed        time.Duration
}

// result is how a job process ended and what it wrote.
type result struct {
	Code    int
	Records []map[string]any // stdout, one JSON record per line
	Stdout  string
	Stderr  string
	Elapsed time.Duration
}

// startJob starts the job with exactly env as its environment (nothing inherited).
func startJob(t *testing.T, env map[string]string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(jobBinary, args...), done: make(chan struct{})}
	p.cmd.Env = []string{}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start the job: %v", err)
	}
	go func() {
		err := p.cmd.Wait()
		p.elapsed = time.Since(p.started)
		p.code = p.cmd.ProcessState.ExitCode() // -1 when killed by a signal
		if err != nil && p.code == 0 {
			p.code = -2
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end (failing the test after 30 s) and parses its output.
func (p *proc) wait(t *testing.T) result {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("the job did not exit within 30 s; stdout:\n%s\nstderr:\n%s", &p.stdout, &p.stderr)
	}
	r := result{Code: p.code, Stdout: p.stdout.String(), Stderr: p.stderr.String(), Elapsed: p.elapsed}
	for _, line := range strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stdout line is not JSON: %q", line)
		}
		r.Records = append(r.Records, rec)
	}
	return r
}

// runJob runs the job to its end.
func runJob(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return startJob(t, env, args...).wait(t)
}

// summary is the one "run summary" record.
func (r result) summary(t *testing.T) map[string]any {
	t.Helper()
	return r.only(t, func(rec map[string]any) bool { return rec["msg"] == "run summary" }, "run summary")
}

// metrics checks the one EMF record and returns it.
func (r result) metrics(t *testing.T) map[string]any {
	t.Helper()
	rec := r.only(t, func(rec map[string]any) bool { return rec["_aws"] != nil }, "EMF")
	checkEMF(t, rec, "test")
	if rec["ExitCode"] != float64(r.Code) {
		t.Errorf("EMF ExitCode = %v, but the job exited %d", rec["ExitCode"], r.Code)
	}
	return rec
}

func (r result) only(t *testing.T, match func(map[string]any) bool, what string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, rec := range r.Records {
		if match(rec) {
			found = append(found, rec)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s records, want 1; stdout:\n%s", len(found), what, r.Stdout)
	}
	return found[0]
}

// logged reports whether some record's msg contains s.
func (r result) logged(s string) bool {
	for _, rec := range r.Records {
		if msg, _ := rec["msg"].(string); strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func (r result) expect(t *testing.T, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.Code, code, r.Stdout, r.Stderr)
	}
}

// oneStderrLine checks that stderr is exactly one line and contains each of parts.
func (r result) oneStderrLine(t *testing.T, parts ...string) {
	t.Helper()
	if strings.Count(r.Stderr, "\n") != 1 || !strings.HasSuffix(r.Stderr, "\n") {
		t.Errorf("stderr is not exactly one line: %q", r.Stderr)
	}
	for _, p := range parts {
		if !strings.Contains(r.Stderr, p) {
			t.Errorf("stderr %q does not contain %q", r.Stderr, p)
		}
	}
}

func num(t *testing.T, rec map[string]any, key string) float64 {
	t.Helper()
	v, ok := rec[key].(float64)
	if !ok {
		t.Fatalf("record has no number %s: %v", key, rec)
	}
	return v
}

// jobEnv is the environment of a job run against dbURL.
func jobEnv(dbURL string, extra ...string) map[string]string {
	env := map[string]string{"DATABASE_URL": dbURL, "UPTIME_ENVIRONMENT": "test", "UPTIME_DB_WAIT": "0"}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// ---- databases ----

// sampleDB is a fresh database with testdata/sample.sql loaded: five users with gaps, two
// categories, Uptime (1..5 points) with a multiplier history.
func sampleDB(t *testing.T) *testdb.DB {
	t.Helper()
	db := testdb.New(t)
	sample, err := os.ReadFile(filepath.Join("..", "testdata", "sample.sql"))
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, string(sample))
	return db
}

func mustExec(t *testing.T, db *testdb.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// state is a fingerprint of everything the job may write: row counts and a checksum of every
// column (updated_at included) of contributions and leaderboard entries.
type state struct {
	Contributions, Entries   int64
	ContribSum, EntriesSum   string
	Users, Types, Multiplier int64
}

func snapshot(t *testing.T, db *testdb.DB) state {
	t.Helper()
	var s state
	err := db.QueryRow(`
		SELECT (SELECT count(*) FROM contributions_contribution),
		       (SELECT count(*) FROM leaderboard_leaderboardentry),
		       (SELECT md5(coalesce(string_agg(c::text, '|' ORDER BY id), '')) FROM contributions_contribution AS c),
		       (SELECT md5(coalesce(string_agg(e::text, '|' ORDER BY id), '')) FROM leaderboard_leaderboardentry AS e),
		       (SELECT count(*) FROM users_user),
		       (SELECT count(*) FROM contributions_contributiontype),
		       (SELECT count(*) FROM leaderboard_globalleaderboardmultiplier)`).
		Scan(&s.Contributions, &s.Entries, &s.ContribSum, &s.EntriesSum, &s.Users, &s.Types, &s.Multiplier)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return s
}

func unchanged(t *testing.T, db *testdb.DB, before state) {
	t.Helper()
	if after := snapshot(t, db); after != before {
		t.Errorf("the database changed:\nbefore %+v\n after %+v", before, after)
	}
}

func countContributions(t *testing.T, db *testdb.DB) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow("SELECT count(*) FROM contributions_contribution").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkComplete checks that every user with dated Uptime has exactly one Uptime contribution on
// every UTC day from their first to today.
func checkComplete(t *testing.T, db *testdb.DB) {
	t.Helper()
	var missing, duplicates int64
	err := db.QueryRow(`
		WITH up AS (
		    SELECT c.user_id, (c.contribution_date AT TIME ZONE 'UTC')::date AS day
		    FROM contributions_contribution AS c
		    JOIN contributions_contributiontype AS t ON t.id = c.contribution_type_id AND t.name = 'Uptime'
		    WHERE c.contribution_date IS NOT NULL),
		expected AS (
		    SELECT s.user_id, d::date AS day
		    FROM (SELECT user_id, min(day) AS first FROM up GROUP BY user_id) AS s,
		         generate_series(s.first, (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS d)
		SELECT (SELECT count(*) FROM expected AS e WHERE NOT EXISTS (
		            SELECT 1 FROM up WHERE up.user_id = e.user_id AND up.day = e.day)),
		       (SELECT count(*) FROM (SELECT 1 FROM up GROUP BY user_id, day HAVING count(*) > 1) AS d)`).
		Scan(&missing, &duplicates)
	if err != nil {
		t.Fatal(err)
	}
	if missing != 0 || duplicates != 0 {
		t.Errorf("uptime is not complete: %d missing user-days, %d duplicated", missing, duplicates)
	}
}

// blockLeaderboard holds an ACCESS EXCLUSIVE lock on the leaderboard in an open transaction,
// so that a job blocks after inserting its contributions; release ends the transaction.
func blockLeaderboard(t *testing.T, db *testdb.DB) (release func()) {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("LOCK TABLE leaderboard_leaderboardentry IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	released := false
	release = func() {
		if !released {
			released = true
			_ = tx.Rollback()
		}
	}
	t.Cleanup(release)
	return release
}

// waitBlocked polls pg_stat_activity until a backend of db waits for a lock, and returns its pid.
// It fails at once if p exits first.
func waitBlocked(t *testing.T, db *testdb.DB, p *proc) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var pid int
		err := db.QueryRow(`
			SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
			LIMIT 1`).Scan(&pid)
		if err == nil {
			return pid
		}
		if err != sql.ErrNoRows {
			t.Fatal(err)
		}
		if p != nil && p.exited() {
			r := p.wait(t)
			t.Fatalf("the job exited %d before blocking\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
	t.Fatal("no backend of the job's database blocked on a lock within 15 s")
	return 0
}

// waitGone polls until backend pid has ended.
func waitGone(t *testing.T, db *testdb.DB, pid int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("backend %d still alive 15 s after its client was killed", pid)
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// withDatabase is dbURL naming another database.
func withDatabase(t *testing.T, dbURL, name string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// withPort is dbURL on another port of the same host.
func withPort(t *testing.T, dbURL string, port int) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = fmt.Sprintf("127.0.0.1:%d", port)
	return u.String()
}

// ---- exit 0 ----

func TestHelp(t *testing.T) {
	t.Parallel()
	p := startJob(t, map[string]string{}, "--help")
	<-p.done
	if p.code != exitOK || !strings.Contains(p.stdout.String(), "Exit codes") || p.stderr.Len() != 0 {
		t.Errorf("--help: exit %d, stdout %q, stderr %q", p.code, &p.stdout, &p.stderr)
	}
}

// A real run fills every gap, reports what it did, and a second run the same day changes nothing.
func TestRunThenNothingToDo(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	before := snapshot(t, db)

	r := runJob(t, jobEnv(db.URL), "--verbose")
	r.expect(t, exitOK)
	created := countContributions(t, db) - before.Contributions
	if created == 0 {
		t.Fatal("the sample has gaps, but nothing was created")
	}
	s := r.summary(t)
	if num(t, s, "contributions_created") != float64(created) || num(t, s, "exit_code") != 0 ||
		s["dry_run"] != false || num(t, s, "users_with_uptime") != 4 || num(t, s, "users_touched") != 4 ||
		num(t, s, "days_skipped") == 0 || num(t, s, "leaderboard_entries_created") == 0 {
		t.Errorf("summary %v, but %d contributions were created for 4 users", s, created)
	}
	if _, ok := s["duration_seconds"].(float64); !ok {
		t.Errorf("summary has no duration: %v", s)
	}
	m := r.metrics(t)
	if m["RunSucceeded"] != 1.0 || m["RunFailed"] != 0.0 || m["ContributionsCreated"] != float64(created) ||
		m["UsersProcessed"] != 4.0 || m["DryRun"] != false {
		t.Errorf("EMF %v, want success with %d contributions", m, created)
	}
	users := 0
	for _, rec := range r.Records {
		if rec["msg"] == "user" {
			users++
		}
	}
	if users != 4 {
		t.Errorf("--verbose logged %d user records, want 4", users)
	}
	if r.Stderr != "" {
		t.Errorf("stderr of a successful run: %q", r.Stderr)
	}
	checkComplete(t, db)

	after := snapshot(t, db)
	again := runJob(t, jobEnv(db.URL))
	again.expect(t, exitOK)
	unchanged(t, db, after)
	if num(t, again.summary(t), "contributions_created") != 0 {
		t.Errorf("second run summary: %v", again.summary(t))
	}
	if m := again.metrics(t); m["RunSucceeded"] != 1.0 || m["ContributionsCreated"] != 0.0 {
		t.Errorf("second run EMF: %v", m)
	}
}

// A dry run reports exactly what a real run then creates, and writes nothing.
func TestDryRun(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	before := snapshot(t, db)

	for _, how := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"flag", jobEnv(db.URL), []string{"--dry-run"}},
		{"variable", jobEnv(db.URL, "UPTIME_DRY_RUN", "true"), nil},
	} {
		r := runJob(t, how.env, how.args...)
		r.expect(t, exitOK)
		unchanged(t, db, before)
		s := r.summary(t)
		if s["dry_run"] != true || num(t, s, "contributions_created") == 0 {
			t.Errorf("%s: dry-run summary %v", how.name, s)
		}
		m := r.metrics(t)
		if m["RunSucceeded"] != 0.0 || m["RunFailed"] != 0.0 || m["DryRun"] != true || m["ContributionsCreated"] != 0.0 {
			t.Errorf("%s: dry-run EMF %v", how.name, m)
		}
		if how.name == "variable" {
			planned := num(t, s, "contributions_created")
			runJob(t, jobEnv(db.URL)).expect(t, exitOK)
			if got := countContributions(t, db) - before.Contributions; float64(got) != planned {
				t.Errorf("the dry run planned %v contributions, the real run created %d", planned, got)
			}
		}
	}
}

// ---- exit 1 ----

func TestUnreachableDatabase(t *testing.T) {
	t.Parallel()
	dbURL := fmt.Sprintf("postgres://tally@127.0.0.1:%d/tally?sslmode=disable", closedPort(t))

	t.Run("no wait fails fast", func(t *testing.T) {
		t.Parallel()
		r := runJob(t, jobEnv(dbURL, "UPTIME_DB_WAIT", "0"))
		r.expect(t, exitRuntime)
		r.oneStderrLine(t, "connect to the database")
		if r.Elapsed > 2*time.Second || r.logged("retrying") {
			t.Errorf("--db-wait 0 took %v (retried: %v)", r.Elapsed, r.logged("retrying"))
		}
		if m := r.metrics(t); m["RunFailed"] != 1.0 || m["RunSucceeded"] != 0.0 {
			t.Errorf("EMF %v", m)
		}
	})
	t.Run("retries for db-wait", func(t *testing.T) {
		t.Parallel()
		r := runJob(t, jobEnv(dbURL), "--db-wait", "2s")
		r.expect(t, exitRuntime)
		if !r.logged("retrying") {
			t.Errorf("no retry logged:\n%s", r.Stdout)
		}
		// The job gives up when its next attempt would fall after the wait: between 1.5 and 2 s.
		if r.Elapsed < 1500*time.Millisecond || r.Elapsed > 5*time.Second {
			t.Errorf("--db-wait 2s gave up after %v", r.Elapsed)
		}
		r.oneStderrLine(t, "attempt")
		r.metrics(t)
	})
}

// The job blocks after inserting its contributions (the test holds the leaderboard); the
// deadline, SIGTERM and kill -9 each leave nothing behind.
func TestStoppedMidRun(t *testing.T) {
	t.Parallel()

	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		db := sampleDB(t)
		before := snapshot(t, db)
		release := blockLeaderboard(t, db)
		p := startJob(t, jobEnv(db.URL), "--timeout", "2s")
		waitBlocked(t, db, p)
		r := p.wait(t)
		r.expect(t, exitRuntime)
		if r.Elapsed > 5*time.Second {
			t.Errorf("a 2 s deadline ended the run after %v", r.Elapsed)
		}
		r.oneStderrLine(t, "deadline of 2s passed", "rolled back")
		insertedThenRolledBack(t, r)
		if m := r.metrics(t); m["RunFailed"] != 1.0 || m["ContributionsCreated"] != 0.0 {
			t.Errorf("EMF %v", m)
		}
		release()
		unchanged(t, db, before)
	})

	t.Run("SIGTERM", func(t *testing.T) {
		t.Parallel()
		db := sampleDB(t)
		before := snapshot(t, db)
		release := blockLeaderboard(t, db)
		p := startJob(t, jobEnv(db.URL))
		waitBlocked(t, db, p)
		signalled := time.Now()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		r := p.wait(t)
		r.expect(t, exitRuntime)
		if took := time.Since(signalled); took > 5*time.Second {
			t.Errorf("exited %v after SIGTERM", took)
		}
		r.oneStderrLine(t, "stopped by SIGTERM", "rolled back")
		insertedThenRolledBack(t, r)
		if s := r.summary(t); !strings.Contains(fmt.Sprint(s["error"]), "stopped by SIGTERM") {
			t.Errorf("the run summary does not say why the run stopped: %v", s)
		}
		if m := r.metrics(t); m["RunFailed"] != 1.0 || m["ContributionsCreated"] != 0.0 {
			t.Errorf("EMF %v", m)
		}
		release()
		unchanged(t, db, before)
	})

	t.Run("kill -9", func(t *testing.T) {
		t.Parallel()
		db := sampleDB(t)
		before := snapshot(t, db)
		dry := runJob(t, jobEnv(db.URL), "--dry-run")
		dry.expect(t, exitOK)
		planned := num(t, dry.summary(t), "contributions_created")

		release := blockLeaderboard(t, db)
		p := startJob(t, jobEnv(db.URL))
		backend := waitBlocked(t, db, p)
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		killed := p.wait(t)
		if killed.Code != -1 {
			t.Fatalf("kill -9: exit code %d", killed.Code)
		}
		insertedThenRolledBack(t, killed)
		release()
		waitGone(t, db, backend)
		unchanged(t, db, before)

		r := runJob(t, jobEnv(db.URL))
		r.expect(t, exitOK)
		if got := countContributions(t, db) - before.Contributions; float64(got) != planned {
			t.Errorf("after the kill the next run created %d contributions, one clean run plans %v", got, planned)
		}
		checkComplete(t, db)
	})
}

// insertedThenRolledBack checks that the job had inserted its contributions before it was
// stopped, so that the test proves a rollback rather than a run stopped before writing.
func insertedThenRolledBack(t *testing.T, r result) {
	t.Helper()
	if !r.logged("contributions inserted") {
		t.Errorf("the job was stopped before it inserted anything:\n%s", r.Stdout)
	}
}

// ---- exit 2 ----

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	before := snapshot(t, db)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		mention string
	}{
		{"points 0", jobEnv(db.URL), []string{"--points", "0"}, "at least 1"},
		{"February 30", jobEnv(db.URL), []string{"--from", "2026-02-30"}, "YYYY-MM-DD"},
		{"to tomorrow", jobEnv(db.URL), []string{"--to", tomorrow}, "after today"},
		{"from after to", jobEnv(db.URL), []string{"--from", "2026-03-02", "--to", "2026-03-01"}, "after --to"},
		{"misspelt UPTIME_DRYRUN", jobEnv(db.URL, "UPTIME_DRYRUN", "true"), nil, "UPTIME_DRYRUN"},
		{"unknown flag", jobEnv(db.URL), []string{"--dryrun"}, "unknown flag"},
		{"missing DATABASE_URL", map[string]string{"UPTIME_ENVIRONMENT": "test"}, nil, "DATABASE_URL"},
		{"mysql DATABASE_URL", jobEnv("mysql://root@127.0.0.1/tally"), nil, "DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runJob(t, tt.env, tt.args...)
			r.expect(t, exitUsage)
			r.oneStderrLine(t, tt.mention)
			if m := r.metrics(t); m["RunFailed"] != 1.0 || m["RunSucceeded"] != 0.0 {
				t.Errorf("EMF %v", m)
			}
			unchanged(t, db, before)
		})
	}
}

// ---- exit 3 ----

func TestDataDoesNotAllowTheRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    []string
		args     []string
		mentions []string
	}{
		{
			name:     "no Uptime type",
			setup:    []string{"UPDATE contributions_contributiontype SET name = 'uptime' WHERE name = 'Uptime'"},
			mentions: []string{`"Uptime"`},
		},
		{
			name:     "points above the type's range",
			args:     []string{"--points", "6"},
			mentions: []string{"points 6", "1 to 5"},
		},
		{
			name: "points below the type's range",
			setup: []string{
				"UPDATE contributions_contributiontype SET min_points = 2 WHERE name = 'Uptime'"},
			mentions: []string{"points 1", "2 to 5"},
		},
		{
			name:     "unknown user",
			args:     []string{"--user", "ada@example.com", "--user", "nobody@example.com"},
			mentions: []string{"nobody@example.com"},
		},
		{
			name:     "NOT NULL column without a default",
			setup:    notNullColumn("contributions_contribution", "x"),
			mentions: []string{"contributions_contribution.x", "NOT NULL"},
		},
		{
			name:     "NOT NULL leaderboard column without a default",
			setup:    notNullColumn("leaderboard_leaderboardentry", "season"),
			mentions: []string{"leaderboard_leaderboardentry.season"},
		},
		{
			name:     "missing column",
			setup:    []string{"ALTER TABLE contributions_contribution DROP COLUMN notes"},
			mentions: []string{"contributions_contribution.notes", "missing"},
		},
		{
			name:     "unusable column type",
			setup:    []string{"ALTER TABLE contributions_contribution ALTER COLUMN contribution_date TYPE timestamp without time zone"},
			mentions: []string{"contributions_contribution.contribution_date", "timestamp with time zone"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := sampleDB(t)
			for _, q := range tt.setup {
				mustExec(t, db, q)
			}
			before := snapshot(t, db)
			r := runJob(t, jobEnv(db.URL), tt.args...)
			r.expect(t, exitData)
			r.oneStderrLine(t, tt.mentions...)
			if m := r.metrics(t); m["RunFailed"] != 1.0 || m["ContributionsCreated"] != 0.0 {
				t.Errorf("EMF %v", m)
			}
			unchanged(t, db, before)
		})
	}
}

// notNullColumn adds a column the way a later Django migration would: NOT NULL, no default.
func notNullColumn(table, column string) []string {
	return []string{
		fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s text NULL", table, column),
		fmt.Sprintf("UPDATE %s SET %s = ''", table, column),
		fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL", table, column),
	}
}

// Compatible schema additions do not stop the run.
func TestCompatibleSchemaChanges(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	mustExec(t, db, "ALTER TABLE contributions_contribution ADD COLUMN source text NOT NULL DEFAULT ''")
	mustExec(t, db, "ALTER TABLE contributions_contribution ADD COLUMN reviewed_by bigint NULL")
	mustExec(t, db, "ALTER TABLE leaderboard_leaderboardentry ADD COLUMN season integer NOT NULL DEFAULT 1")
	runJob(t, jobEnv(db.URL)).expect(t, exitOK)
	checkComplete(t, db)
}

// Days no multiplier covers stop the run with both remedies; --force gives them 1.00.
func TestUncoveredDays(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	typ := db.ContributionType(t, "Uptime", db.Category(t, "Validators"), 1, 5)
	db.Multiplier(t, typ, "2.50", today.AddDate(0, 0, -2))
	ada := db.User(t, "ada@example.com", "Ada", true)
	db.Contribution(t, testdb.Contribution{UserID: ada, TypeID: typ, Points: 1, Frozen: 1, Multiplier: "1.00",
		Date: today.AddDate(0, 0, -10), Notes: "first"})
	before := snapshot(t, db)

	r := runJob(t, jobEnv(db.URL))
	r.expect(t, exitData)
	// Days -9 to -3 have no multiplier: seven of them.
	r.oneStderrLine(t, "7 day(s)", today.AddDate(0, 0, -9).Format("2006-01-02"), "more",
		"add a global leaderboard multiplier", "--force")
	unchanged(t, db, before)

	r = runJob(t, jobEnv(db.URL), "--force")
	r.expect(t, exitOK)
	var forced, covered int
	err := db.QueryRow(`
		SELECT count(*) FILTER (WHERE multiplier_at_creation = 1.00 AND frozen_global_points = 1 AND contribution_date < $1),
		       count(*) FILTER (WHERE multiplier_at_creation = 2.50 AND frozen_global_points = 2 AND contribution_date >= $1)
		FROM contributions_contribution WHERE notes LIKE 'Auto-generated%'`, today.AddDate(0, 0, -2)).
		Scan(&forced, &covered)
	if err != nil {
		t.Fatal(err)
	}
	if forced != 7 || covered != 3 {
		t.Errorf("--force: %d days at 1.00 (want 7), %d at 2.50 (want 3)", forced, covered)
	}
	checkComplete(t, db)
}

// ---- exit 4 ----

// holdRunLock takes the job's advisory lock on db in a session of its own.
func holdRunLock(t *testing.T, db *testdb.DB) {
	t.Helper()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(t.Context(), "SELECT pg_advisory_lock($1)", store.LockKey); err != nil {
		t.Fatal(err)
	}
}

func TestLockHeld(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	other := sampleDB(t)
	holdRunLock(t, db)
	before := snapshot(t, db)

	// The holder is an idle session, not a run stalled in its transaction: the job waits
	// --lock-wait for it, and no longer.
	r := runJob(t, jobEnv(db.URL), "--lock-wait", "2s")
	r.expect(t, exitLocked)
	r.oneStderrLine(t, "another uptime run holds the lock")
	if d := num(t, r.summary(t), "duration_seconds"); d < 2 || d >= 4 {
		t.Errorf("the locked-out run took %v s with --lock-wait 2s", d)
	}
	if d := num(t, runJob(t, jobEnv(db.URL), "--lock-wait", "0").summary(t), "duration_seconds"); d >= 1 {
		t.Errorf("with --lock-wait 0 the locked-out run took %v s", d)
	}
	if m := r.metrics(t); m["RunFailed"] != 1.0 {
		t.Errorf("EMF %v", m)
	}
	unchanged(t, db, before)

	// Advisory locks belong to a database: a run on another database of the same server is not
	// blocked, which is why these tests can run in parallel.
	runJob(t, jobEnv(other.URL)).expect(t, exitOK)
}

func TestTwoRunsAtOnce(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	before := snapshot(t, db)
	release := blockLeaderboard(t, db)
	a, b := startJob(t, jobEnv(db.URL), "--lock-wait", "0"), startJob(t, jobEnv(db.URL), "--lock-wait", "0")

	var loser, winner *proc
	select {
	case <-a.done:
		loser, winner = a, b
	case <-b.done:
		loser, winner = b, a
	case <-time.After(15 * time.Second):
		t.Fatal("neither run exited while the other held the lock")
	}
	lost := loser.wait(t)
	lost.expect(t, exitLocked)
	lost.oneStderrLine(t, "another uptime run holds the lock")
	waitBlocked(t, db, winner)
	if n := countContributions(t, db); n != before.Contributions {
		t.Errorf("%d contributions visible before the winner committed, want %d", n, before.Contributions)
	}
	release()
	won := winner.wait(t)
	won.expect(t, exitOK)
	if got := countContributions(t, db) - before.Contributions; float64(got) != num(t, won.summary(t), "contributions_created") || got == 0 {
		t.Errorf("created %d, summary says %v", got, won.summary(t)["contributions_created"])
	}
	checkComplete(t, db)
}

// ---- secrets ----

func TestPasswordNeverPrinted(t *testing.T) {
	t.Parallel()
	// Each password as written in the URL, and decoded: a special character must be
	// percent-encoded in a URL, and either form could reach a message.
	for _, pw := range []struct{ name, raw, decoded string }{
		{"plain", "Sup3rSecretPw", "Sup3rSecretPw"},
		{"percent-encoded", "Sup3r%21Secret%40Pw", "Sup3r!Secret@Pw"},
	} {
		db := sampleDB(t) // one each: two successful runs on one database would contend for the lock
		good := withRawPassword(t, db.URL, pw.raw)
		tests := []struct {
			name string
			env  map[string]string
			args []string
			code int
		}{
			{"successful run", jobEnv(good), []string{"--verbose"}, exitOK},
			{"unreachable port", jobEnv(withPort(t, good, closedPort(t))), nil, exitRuntime},
			{"nonexistent database", jobEnv(withDatabase(t, good, "uptime_no_such_database")), nil, exitRuntime},
			{"usage error", jobEnv(good), []string{"--points", "0"}, exitUsage},
			{"URL as an argument", jobEnv(good), []string{good}, exitUsage},
			{"URL in a variable", jobEnv(good, "UPTIME_USER", good), nil, exitUsage},
			{"URL that does not parse", jobEnv(strings.Replace(good, "127.0.0.1:", "127.0.0.1:x", 1)), nil, exitUsage},
		}
		for _, tt := range tests {
			t.Run(pw.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				r := runJob(t, tt.env, tt.args...)
				r.expect(t, tt.code)
				for name, out := range map[string]string{"stdout": r.Stdout, "stderr": r.Stderr} {
					if strings.Contains(out, pw.raw) || strings.Contains(out, pw.decoded) {
						t.Errorf("the password appears on %s:\n%s", name, out)
					}
				}
			})
		}
	}
}

// withRawPassword is dbURL with raw, exactly as given, as its password.
func withRawPassword(t *testing.T, dbURL, raw string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	user := u.User.Username()
	u.User = nil
	scheme, rest, _ := strings.Cut(u.String(), "://")
	return scheme + "://" + user + ":" + raw + "@" + rest
}

// failFirstInserts makes the first n statements that insert contributions fail with SQLSTATE
// code, as a serialization failure or a deadlock would. A sequence counts the attempts because
// it survives the rollback of the attempt that failed.
func failFirstInserts(t *testing.T, db *testdb.DB, n int, code string) {
	t.Helper()
	mustExec(t, db, `CREATE SEQUENCE forced_failures`)
	mustExec(t, db, fmt.Sprintf(`
		CREATE FUNCTION force_failure() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
		    IF nextval('forced_failures') <= %d THEN
		        RAISE EXCEPTION 'forced failure for a test' USING ERRCODE = '%s';
		    END IF;
		    RETURN NULL;
		END $$`, n, code))
	mustExec(t, db, `CREATE TRIGGER force_failure AFTER INSERT ON contributions_contribution
		FOR EACH STATEMENT EXECUTE FUNCTION force_failure()`)
}

func TestTransientFailuresAreRetried(t *testing.T) {
	cases := []struct {
		name     string
		failures int
		code     string
		wantExit int
		retries  int
	}{
		{"a serialization failure", 1, "40001", exitOK, 1},
		{"a deadlock twice", 2, "40P01", exitOK, 2},
		{"three in a row: the run gives up", 3, "40001", exitRuntime, 2},
		{"not transient: no retry", 1, "22012", exitRuntime, 0}, // division_by_zero
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := sampleDB(t)
			failFirstInserts(t, db, c.failures, c.code)
			before := snapshot(t, db)

			r := runJob(t, jobEnv(db.URL))
			r.expect(t, c.wantExit)
			retries := 0
			for _, rec := range r.Records {
				if rec["msg"] == "transient failure; retrying the run" {
					retries++
				}
			}
			if retries != c.retries {
				t.Errorf("%d retries logged, want %d", retries, c.retries)
			}
			if c.wantExit != exitOK {
				unchanged(t, db, before)
				return
			}
			checkComplete(t, db)
		})
	}
}

// A second SIGTERM while the rollback cannot finish (the job's server process is frozen, so it
// answers neither the cancel nor the rollback) ends the job at once, and it still reports the
// failed run: summary and EMF record.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	before := snapshot(t, db)
	release := blockLeaderboard(t, db)
	p := startJob(t, jobEnv(db.URL))
	backend := waitBlocked(t, db, p)
	if err := syscall.Kill(backend, syscall.SIGSTOP); err != nil {
		t.Skipf("cannot freeze the job's server process %d (the test needs to signal it): %v", backend, err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			_ = syscall.Kill(backend, syscall.SIGCONT)
		}
	}
	t.Cleanup(thaw)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the job must be waiting on its rollback, not still starting it
	if p.exited() {
		t.Fatal("the job exited on the first SIGTERM although its server process was frozen")
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	r.expect(t, exitRuntime)
	if s := r.summary(t); !strings.Contains(fmt.Sprint(s["error"]), "SIGTERM again") {
		t.Errorf("summary %v, want it to say the second SIGTERM ended the run", s)
	}
	if m := r.metrics(t); m["RunFailed"] != 1.0 || m["RunSucceeded"] != 0.0 {
		t.Errorf("EMF %v, want a failed run", m)
	}

	thaw()
	release()
	waitGone(t, db, backend)
	unchanged(t, db, before)
}
