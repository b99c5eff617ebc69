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
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"

	"github.com/tally/uptime/internal/contract"
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
	limit          time.Duration // how long wait waits before it calls the job hung
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
	return startBinary(t, jobBinary, env, args...)
}

// startBinary is startJob with another build of the job.
func startBinary(t *testing.T, binary string, env map[string]string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), done: make(chan struct{}), limit: waitLimit(args)}
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

// waitLimit is how long a job run with args may take before it counts as hung: 30 s, or its
// --timeout and 10 s more when that is longer, up to 3 minutes (a refused --timeout 597h must not
// hold a broken test for weeks).
func waitLimit(args []string) time.Duration {
	limit := 30 * time.Second
	for i, a := range args {
		value, ok := strings.CutPrefix(a, "--timeout=")
		if a == "--timeout" && i+1 < len(args) {
			value, ok = args[i+1], true
		}
		if d, err := time.ParseDuration(value); ok && err == nil {
			limit = min(max(limit, d+10*time.Second), 3*time.Minute)
		}
	}
	return limit
}

// wait waits for the process to end (failing the test after its limit) and parses its output.
func (p *proc) wait(t *testing.T) result {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(p.limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("the job did not exit within %v; stdout:\n%s\nstderr:\n%s", p.limit, &p.stdout, &p.stderr)
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
	if rec["ErrorClass"] != contract.ErrorClass(r.Code) || rec["Version"] == "" || rec["Revision"] == "" {
		t.Errorf("EMF ErrorClass, Version, Revision = %v, %v, %v after exit %d", rec["ErrorClass"], rec["Version"], rec["Revision"], r.Code)
	}
	if sum := r.summary(t); sum["run_kind"] != rec["RunKind"] || sum["version"] != rec["Version"] {
		t.Errorf("the summary's run_kind, version %v, %v differ from the EMF record's %v, %v",
			sum["run_kind"], sum["version"], rec["RunKind"], rec["Version"])
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

// blockLeaderboard holds a SHARE lock on the leaderboard in an open transaction: reads go on,
// the job plans and inserts its contributions, and then cannot take its locked phase's EXCLUSIVE
// lock until release ends the transaction.
func blockLeaderboard(t *testing.T, db *testdb.DB) (release func()) {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("LOCK TABLE leaderboard_leaderboardentry IN SHARE MODE"); err != nil {
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

// waitBlocked polls pg_stat_activity until a session of the job has inserted and is trying for
// its table locks (it has looked at their holders), and returns its pid. It fails at once if p
// exits first.
func waitBlocked(t *testing.T, db *testdb.DB, p *proc) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var pid int
		err := db.QueryRow(`
			SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE '%AccessShareLock%' AND pid <> pg_backend_pid()
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
	t.Fatal("no session of the job tried for its table locks within 15 s")
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

// withRootCert is dbURL verified with TLS (no sslmode=disable) against the roots in file.
func withRootCert(t *testing.T, dbURL, file string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("sslmode")
	q.Set("sslrootcert", file)
	u.RawQuery = q.Encode()
	return u.String()
}

// emptyFile is the path of a new empty file.
func emptyFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
