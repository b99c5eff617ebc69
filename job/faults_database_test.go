package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/tally/uptime/internal/testdb"

	"github.com/tally/uptime/internal/contract"
)

// ---- the database goes away, or is not there yet ----

// sampleSQL is testdata/sample.sql.
func sampleSQL(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "sample.sql"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// retriesLogged counts the job's "retrying the run" records.
func retriesLogged(r result) int {
	n := 0
	for _, rec := range r.Records {
		if rec["msg"] == "transient failure; retrying the run" {
			n++
		}
	}
	return n
}

// The server is stopped while the job is mid-run (after its inserts) and stays down: each
// attempt fails, the job gives up after its retries with exit 1, and once the server is back the
// database is as it was and the next run completes.
func TestDatabaseGoesAway(t *testing.T) {
	t.Parallel()
	cluster := testdb.NewCluster(t)
	for _, mode := range []string{"fast", "immediate"} {
		t.Run("stop -m "+mode, func(t *testing.T) {
			db := cluster.NewDB(t, "tally_"+mode, sampleSQL(t))
			before := snapshot(t, db)
			blockLeaderboard(t, db) // its session dies with the server
			p := startJob(t, jobEnv(db.URL))
			waitBlocked(t, db, p)
			stopped := time.Now()
			cluster.Stop(t, mode)
			r := p.wait(t)
			t.Logf("stop -m %s: the job exited %d %v after the stop, after %d retries", mode, r.Code,
				p.started.Add(r.Elapsed).Sub(stopped).Round(time.Millisecond), retriesLogged(r))
			r.expect(t, contract.ExitRuntime)
			r.oneStderrLine(t)
			insertedThenRolledBack(t, r)
			if n := retriesLogged(r); n != maxAttempts-1 {
				t.Errorf("%d retries logged, want %d", n, maxAttempts-1)
			}
			if m := r.metrics(t); m["RunFailed"] != 1.0 || m["ContributionsCreated"] != 0.0 {
				t.Errorf("EMF %v", m)
			}

			comesBack(t, cluster, db, before)
		})
	}
}

// The server restarts under a running job: its session is ended, and while the server shuts
// down (a smart shutdown waits for other sessions) it refuses new connections with SQLSTATE 57P03,
// as it does while it starts up. The job keeps retrying those refusals as it does a refused
// connection, gives up after its attempts with exit 1, and nothing is written.
func TestDatabaseRestarting(t *testing.T) {
	t.Parallel()
	cluster := testdb.NewCluster(t)
	db := cluster.NewDB(t, "tally", sampleSQL(t))
	before := snapshot(t, db)
	release := blockLeaderboard(t, db)
	admin, err := db.Conn(t.Context()) // a session opened before the shutdown outlives it
	if err != nil {
		t.Fatal(err)
	}
	p := startJob(t, jobEnv(db.URL))
	job := waitBlocked(t, db, p)

	cluster.Signal(t, "stop", "-m", "smart", "-W") // returns at once; the server waits for our sessions
	probe := sqlx.MustOpen("postgres", db.URL)
	defer probe.Close()
	probe.SetMaxIdleConns(0) // every ping is a new session
	for deadline := time.Now().Add(15 * time.Second); ; {
		err := probe.Ping()
		if err != nil && strings.Contains(err.Error(), "shutting down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server still accepts connections during its shutdown: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	if _, err := admin.ExecContext(t.Context(), "SELECT pg_terminate_backend($1)", job); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	t.Logf("the job exited %d after %d retries: %s", r.Code, retriesLogged(r), strings.TrimSpace(r.Stderr))
	r.expect(t, contract.ExitRuntime)
	r.oneStderrLine(t, "shutting down")
	insertedThenRolledBack(t, r)
	if n := retriesLogged(r); n != maxAttempts-1 {
		t.Errorf("%d retries logged, want %d: a server shutting down or starting up is retried", n, maxAttempts-1)
	}

	admin.Close()
	release()
	cluster.Stop(t, "fast")
	comesBack(t, cluster, db, before)
}

// The server is not up when the job starts; it comes up within --db-wait and the run succeeds.
func TestDatabaseNotThereYet(t *testing.T) {
	t.Parallel()
	cluster := testdb.NewCluster(t)
	db := cluster.NewDB(t, "tally", sampleSQL(t))
	before := countContributions(t, db)
	cluster.Stop(t, "fast")

	p := startJob(t, jobEnv(db.URL), "--db-wait", "20s")
	time.Sleep(2 * time.Second) // the fault itself: the server comes up two seconds after the job
	if p.exited() {
		r := p.wait(t)
		t.Fatalf("the job gave up before the server came up: exit %d\n%s", r.Code, r.Stderr)
	}
	cluster.Start(t)
	up := time.Now()
	r := p.wait(t)
	r.expect(t, contract.ExitOK)
	if !r.logged("database not reachable yet; retrying") {
		t.Errorf("the job did not log its connection retries:\n%s", r.Stdout)
	}
	t.Logf("the run ended %v after the server came up, %v after the job started",
		p.started.Add(r.Elapsed).Sub(up).Round(time.Millisecond), r.Elapsed.Round(time.Millisecond))
	db = testdb.Reopen(t, db)
	if countContributions(t, db) == before {
		t.Error("the run created nothing")
	}
	checkComplete(t, db)
}

// comesBack starts the stopped server again and checks what a failed run must leave: the
// database as it was before the run, and a next run that completes the work.
func comesBack(t *testing.T, cluster *testdb.Cluster, db *testdb.DB, before state) {
	t.Helper()
	cluster.Start(t)
	db = testdb.Reopen(t, db)
	unchanged(t, db, before)
	runJob(t, jobEnv(db.URL)).expect(t, contract.ExitOK)
	checkComplete(t, db)
}
