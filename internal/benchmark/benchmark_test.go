// Package benchmark measures the job binary at Tally's scale: each case seeds a fresh database,
// runs the job once, and reports rows written, rows/s, the job's peak RSS and the number of
// SQL statements the run sent. scripts/bench.sh runs it and prints the table.
package benchmark

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
)

var jobBinary string

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

var cases = []struct {
	name  string
	scale testdb.Scale
	large bool // opt-in: BENCH_LARGE=1
}{
	// A full backfill: each user's only uptime is 364 days ago, so the job writes 364 days each.
	{"backfill/users=1000/days=365", testdb.Scale{Users: 1_000, HistoryFrom: 364, HistoryTo: 364}, false},
	{"backfill/users=10000/days=365", testdb.Scale{Users: 10_000, HistoryFrom: 364, HistoryTo: 364}, false},
	{"backfill/users=50000/days=365", testdb.Scale{Users: 50_000, HistoryFrom: 364, HistoryTo: 364}, true},
	// The nightly case: every day up to yesterday is there; the job writes today.
	{"nightly/users=10000/history=1y", testdb.Scale{Users: 10_000, HistoryFrom: 365, HistoryTo: 1}, false},
	{"nightly/users=10000/history=3y", testdb.Scale{Users: 10_000, HistoryFrom: 3 * 365, HistoryTo: 1}, false},
	// Gaps: a year with 10% of the past days missing at random, and today.
	{"gaps/users=10000/history=1y/missing=10%", testdb.Scale{Users: 10_000, HistoryFrom: 365, HistoryTo: 1, GapRate: 0.10}, false},
}

func BenchmarkJob(b *testing.B) {
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.large && os.Getenv("BENCH_LARGE") == "" {
				b.Skip("opt-in: set BENCH_LARGE=1")
			}
			var rows, statements, rssKB int64
			var wall time.Duration
			for range b.N {
				b.StopTimer()
				db := testdb.New(b)
				db.Seed(b, c.scale)
				rowsBefore := contributions(b, db)
				countStatements := statementCounter(b, db)
				b.StartTimer()

				start := time.Now()
				run := runJob(b, db.URL)
				wall += time.Since(start)

				b.StopTimer()
				rows += contributions(b, db) - rowsBefore
				statements += countStatements()
				rssKB = max(rssKB, run.maxRSSKB)
			}
			b.ReportMetric(float64(rows)/float64(b.N), "rows")
			b.ReportMetric(float64(rows)/wall.Seconds(), "rows/s")
			b.ReportMetric(float64(rssKB)/1024, "peak-RSS-MB")
			b.ReportMetric(float64(statements)/float64(b.N), "statements")
		})
	}
}

type jobRun struct{ maxRSSKB int64 }

func runJob(b *testing.B, url string) jobRun {
	b.Helper()
	cmd := exec.Command(jobBinary, "--timeout", "30m")
	cmd.Env = []string{"DATABASE_URL=" + url, "UPTIME_ENVIRONMENT=bench"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("job: %v\n%s", err, out.String())
	}
	usage, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if usage == nil {
		return jobRun{}
	}
	return jobRun{maxRSSKB: usage.Maxrss} // kilobytes on Linux
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
			  -- the foreign-key checks PostgreSQL runs itself at commit are not statements the job sent
			  AND query NOT LIKE '%FROM ONLY %FOR KEY SHARE OF x'`)
		if err != nil {
			return -1
		}
		return n
	}
}
