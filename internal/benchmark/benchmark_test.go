// Package benchmark measures the job binary at Tally's scale against a floor: each case seeds a
// database, then runs the job on one copy of it and a hand-written SQL equivalent (floor.sql) on
// another, checks that both leave exactly the same data, and reports both times, their ratio,
// the job's peak RSS, the peak private memory of each one's server process and the number of
// SQL statements the job sent. scripts/bench.sh runs it and prints the table.
package benchmark

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
)

var jobBinary string

// baselineBinary, from BENCH_BASELINE (scripts/bench.sh builds it from a git revision), is a
// second job measured on its own copy of each seed, between the job and the floor: a change's
// before and after on the same data, back to back. Empty: none.
var baselineBinary = os.Getenv("BENCH_BASELINE")

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "uptime-bench")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	jobBinary = filepath.Join(dir, "job")
	build := exec.Command("go", "build", "-o", jobBinary, "github.com/tally/uptime/job")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build the job:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// A case's opt-in: the largest cases take minutes to seed and to run.
const (
	always = ""
	large  = "BENCH_LARGE" // the 50,000-user backfill (18M rows)
	huge   = "BENCH_HUGE"  // the 100,000-user nightly run (36.5M rows)
)

var cases = []struct {
	name  string
	scale testdb.Scale
	optIn string // the variable that must be set for the case to run; always for none
	floor string // the hand-written SQL it is measured against
}{
	// A full backfill: each user's only uptime is 364 days ago, so the job writes 364 days each.
	{"backfill/users=2000/days=365", testdb.Scale{Users: 2_000, HistoryFrom: 364, HistoryTo: 364}, always, floorSQL},
	{"backfill/users=10000/days=365", testdb.Scale{Users: 10_000, HistoryFrom: 364, HistoryTo: 364}, always, floorSQL},
	{"backfill/users=50000/days=365", testdb.Scale{Users: 50_000, HistoryFrom: 364, HistoryTo: 364}, large, floorSQL},
	// The nightly case: every day up to yesterday is there; the job writes today. Its floor is
	// one grouped pass and the days after each user's last (floor_nightly.sql).
	{"nightly/users=10000/history=1y", testdb.Scale{Users: 10_000, HistoryFrom: 365, HistoryTo: 1}, always, floorNightlySQL},
	{"nightly/users=10000/history=3y", testdb.Scale{Users: 10_000, HistoryFrom: 3 * 365, HistoryTo: 1}, always, floorNightlySQL},
	{"nightly/users=100000/history=1y", testdb.Scale{Users: 100_000, HistoryFrom: 365, HistoryTo: 1}, huge, floorNightlySQL},
	// Gaps: a year with 10% of the past days missing at random, and today.
	{"gaps/users=10000/history=1y/missing=10%", testdb.Scale{Users: 10_000, HistoryFrom: 365, HistoryTo: 1, GapRate: 0.10}, always, floorSQL},
}

// run is what one run of the job, or of the floor, did and cost.
type run struct {
	rows      int64
	wall      time.Duration
	backendMB float64 // peak RssAnon of its server process; -1 when it could not be read
	outcome   string
}

func BenchmarkJob(b *testing.B) {
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.optIn != always && os.Getenv(c.optIn) == "" {
				b.Skipf("opt-in: set %s=1", c.optIn)
			}
			b.StopTimer()
			seeded := testdb.New(b)
			seeded.Seed(b, c.scale)
			if err := seeded.DB.Close(); err != nil { // a database is copied only while nobody is connected
				b.Fatal(err)
			}
			var job, floor, baseline run
			var statements, rssKB int64
			var jobBackend, floorBackend float64
			for range b.N {
				j, n, kB := measureJob(b, seeded, jobBinary)
				if baselineBinary != "" {
					base, _, _ := measureJob(b, seeded, baselineBinary)
					if base.rows != j.rows || base.outcome != j.outcome {
						b.Fatalf("the job and the baseline left different data: %d and %d rows", j.rows, base.rows)
					}
					baseline.wall += base.wall
					baseline.backendMB = max(baseline.backendMB, base.backendMB)
				}
				f := measureFloor(b, seeded, c.floor)
				if j.rows != f.rows || j.outcome != f.outcome {
					b.Fatalf("the job and the floor left different data: %d and %d rows", j.rows, f.rows)
				}
				job.rows, job.wall = job.rows+j.rows, job.wall+j.wall
				floor.wall += f.wall
				statements += n
				rssKB = max(rssKB, kB)
				jobBackend, floorBackend = max(jobBackend, j.backendMB), max(floorBackend, f.backendMB)
			}
			b.ReportMetric(float64(job.rows)/float64(b.N), "rows")
			b.ReportMetric(float64(job.rows)/job.wall.Seconds(), "rows/s")
			b.ReportMetric(job.wall.Seconds()/float64(b.N), "job-s")
			b.ReportMetric(floor.wall.Seconds()/float64(b.N), "floor-s")
			b.ReportMetric(job.wall.Seconds()/floor.wall.Seconds(), "ratio")
			b.ReportMetric(float64(rssKB)/1024, "peak-RSS-MB")
			b.ReportMetric(jobBackend, "backend-MB")
			b.ReportMetric(floorBackend, "floor-backend-MB")
			b.ReportMetric(float64(statements)/float64(b.N), "statements")
			if baselineBinary != "" {
				b.ReportMetric(baseline.wall.Seconds()/float64(b.N), "baseline-s")
				b.ReportMetric(baseline.wall.Seconds()/floor.wall.Seconds(), "baseline-ratio")
				b.ReportMetric(baseline.backendMB, "baseline-backend-MB")
			}
		})
	}
}

// benchApp is the application_name of the job's session, by which the benchmark finds its server
// process.
const benchApp = "uptime_bench"

// measureJob runs a job binary on a fresh copy of seeded; the benchmark's timer runs only
// around the job. It returns the run, the statements it sent and the job's peak RSS in kB.
func measureJob(b *testing.B, seeded *testdb.DB, binary string) (run, int64, int64) {
	b.Helper()
	db := seeded.Clone(b)
	checkpoint(b, db)
	before := contributions(b, db)
	countStatements := statementCounter(b, db)
	mem := sampleBackend(func() (int, bool) {
		var pid int
		err := db.Get(&pid, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, benchApp)
		return pid, err == nil
	})

	b.StartTimer()
	start := time.Now()
	rssKB := runJob(b, binary, jobURL(b, db.URL))
	wall := time.Since(start)
	b.StopTimer()

	r := run{wall: wall, backendMB: mem.Stop()}
	r.rows = contributions(b, db) - before
	r.outcome = db.Outcome(b)
	return r, countStatements(), rssKB
}

func jobURL(b *testing.B, dbURL string) string {
	b.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", benchApp)
	u.RawQuery = q.Encode()
	return u.String()
}

// runJob runs the job and returns its peak RSS in kB. Its locked phase gets a budget of 10 s
// instead of 0.5 s: on the shared two-core machine the phase of a 10,000-user run often takes
// longer than 0.5 s, and the run then lets go and tries again until it fits, which measures the
// neighbours and the retry policy rather than the work.
func runJob(b *testing.B, binary, dbURL string) int64 {
	b.Helper()
	cmd := exec.Command(binary, "--timeout", "60m", "--locked-budget", "10s")
	cmd.Env = []string{"DATABASE_URL=" + dbURL, "UPTIME_ENVIRONMENT=bench"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("job: %v\n%s", err, out.String())
	}
	usage, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if usage == nil {
		return 0
	}
	return usage.Maxrss // kilobytes on Linux
}

// checkpoint writes out what earlier work left dirty, so that neither measured run pays for it.
func checkpoint(b *testing.B, db *testdb.DB) {
	b.Helper()
	if _, err := db.Exec("CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
}

func contributions(b *testing.B, db *testdb.DB) int64 {
	b.Helper()
	var n int64
	if err := db.Get(&n, `SELECT count(*) FROM contributions_contribution`); err != nil {
		b.Fatal(err)
	}
	return n
}

// statementCounter resets pg_stat_statements and returns a function that counts the statements
// run in this database since, or -1 when the server does not load pg_stat_statements.
func statementCounter(b *testing.B, db *testdb.DB) func() int64 {
	b.Helper()
	if _, err := db.Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		return func() int64 { return -1 }
	}
	if _, err := db.Exec("SELECT pg_stat_statements_reset()"); err != nil {
		return func() int64 { return -1 }
	}
	return func() int64 {
		var n int64
		err := db.Get(&n, `
			SELECT coalesce(sum(calls), 0)
			FROM pg_stat_statements
			WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
			  AND query NOT LIKE '%pg_stat_statements%'
			  -- the foreign-key checks PostgreSQL runs itself are not statements the job sent
			  AND query NOT LIKE '%FROM ONLY %FOR KEY SHARE OF x'
			  -- nor are the benchmark's own counts
			  AND query NOT LIKE 'SELECT count(*) FROM contributions_contribution'
			  AND query NOT LIKE 'SELECT pid FROM pg_stat_activity%'`)
		if err != nil {
			return -1
		}
		logTopStatements(b, db)
		return n
	}
}

// logTopStatements logs, with BENCH_TOP=N, the job's N statements that took the server longest
// in all: where a case's time goes, statement by statement.
func logTopStatements(b *testing.B, db *testdb.DB) {
	top, err := strconv.Atoi(os.Getenv("BENCH_TOP"))
	if err != nil || top <= 0 {
		return
	}
	var rows []struct {
		Calls int64   `db:"calls"`
		MS    float64 `db:"ms"`
		Query string  `db:"query"`
	}
	if err := db.Select(&rows, `
		SELECT calls, round(total_exec_time::numeric, 1)::float8 AS ms, left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS query
		FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT $1`, top); err != nil {
		b.Logf("top statements: %v", err)
		return
	}
	for _, r := range rows {
		b.Logf("%8.1f ms %4d× %s", r.MS, r.Calls, r.Query)
	}
}
