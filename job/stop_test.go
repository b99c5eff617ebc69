package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tally/uptime/internal/contract"
)

// ---- exit 1 ----

func TestUnreachableDatabase(t *testing.T) {
	t.Parallel()
	dbURL := fmt.Sprintf("postgres://tally@127.0.0.1:%d/tally?sslmode=disable", closedPort(t))

	t.Run("no wait fails fast", func(t *testing.T) {
		t.Parallel()
		r := runJob(t, jobEnv(dbURL, "UPTIME_DB_WAIT", "0"))
		r.expect(t, contract.ExitRuntime)
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
		r.expect(t, contract.ExitRuntime)
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
		r.expect(t, contract.ExitRuntime)
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
		r.expect(t, contract.ExitRuntime)
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
		dry.expect(t, contract.ExitOK)
		planned := num(t, dry.summary(t), "contributions_would_create")

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
		r.expect(t, contract.ExitOK)
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
	// Between its looks at the lock holders the job runs no statement: give it time to send the
	// next one to the frozen process, so that the first SIGTERM finds it waiting on the server.
	time.Sleep(300 * time.Millisecond)
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
	r.expect(t, contract.ExitRuntime)
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
