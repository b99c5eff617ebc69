package main

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"

	"github.com/tally/uptime/internal/contract"
)

// ---- the lock after a kill -9 ----

// startJobUntilLocked starts the job with --db-wait 0 until a run does not find the lock taken,
// and returns that run and when it was started.
func startJobUntilLocked(t *testing.T, env map[string]string) (result, time.Time, int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for locked := 0; ; locked++ {
		p := startJob(t, env, "--db-wait", "0", "--lock-wait", "0")
		r := p.wait(t)
		if r.Code != contract.ExitLocked {
			return r, p.started, locked
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lock was still taken 30 s later")
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// waitActivity polls until the job's session in db matches cond (SQL over pg_stat_activity) and
// returns its pid; it fails if p exits first.
func waitActivity(t *testing.T, db *testdb.DB, p *proc, cond string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var pid int
		err := db.QueryRow(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()
			AND application_name = $1 AND `+cond+` LIMIT 1`, faultApp).Scan(&pid)
		if err == nil {
			return pid
		}
		if err != sql.ErrNoRows {
			t.Fatal(err)
		}
		if p.exited() {
			r := p.wait(t)
			t.Fatalf("the job exited %d before its session matched %s\nstdout:\n%s\nstderr:\n%s", r.Code, cond, r.Stdout, r.Stderr)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
	t.Fatalf("the job's session never matched %s", cond)
	return 0
}

// After a kill -9 the server would go on running the dead job's statement, holding the run lock:
// the job's session settings make the server notice the vanished client, so the next run gets the
// lock within seconds.
func TestKilledRunFreesTheLock(t *testing.T) {
	t.Parallel()

	t.Run("killed during the backfill's INSERT", func(t *testing.T) {
		t.Parallel()
		db := seededTemplate(t, backfillScale).clone(t)
		before := snapshot(t, db)
		p := startJob(t, faultEnv(t, db))
		waitActivity(t, db, p, `state = 'active' AND query LIKE '%INSERT INTO public.contributions_contribution%'`)
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		if r := p.wait(t); r.Code != -1 {
			t.Fatalf("kill -9: exit %d", r.Code)
		}
		// The first run to get the lock must see the database as it was: probe with a dry run.
		r, started, locked := startJobUntilLocked(t, faultEnv(t, db, "UPTIME_DRY_RUN", "true"))
		r.expect(t, contract.ExitOK)
		took := started.Sub(killed)
		t.Logf("a new run got the lock %v after the kill -9 mid-INSERT (%d earlier attempts exited 4)", took.Round(time.Millisecond), locked)
		if took > 5*time.Second {
			t.Errorf("the next run got the lock only %v after the kill", took)
		}
		waitJobGone(t, db, killed)
		unchanged(t, db, before)
		runJob(t, faultEnv(t, db)).expect(t, contract.ExitOK)
		checkComplete(t, db)
	})

	t.Run("killed while its statement would run for another minute", func(t *testing.T) {
		t.Parallel()
		db := sampleDB(t)
		// The job's first INSERT sleeps for a minute after inserting; later ones do not. A
		// sequence counts because it survives the rollback; the job's search_path has no public.
		mustExec(t, db, `CREATE SEQUENCE slow_inserts`)
		mustExec(t, db, `
			CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
			    IF nextval('public.slow_inserts') = 1 THEN
			        PERFORM pg_sleep(60);
			    END IF;
			    RETURN NULL;
			END $$`)
		mustExec(t, db, `CREATE TRIGGER slow_insert AFTER INSERT ON contributions_contribution
			FOR EACH STATEMENT EXECUTE FUNCTION slow_insert()`)
		before := snapshot(t, db)
		p := startJob(t, faultEnv(t, db))
		waitActivity(t, db, p, `wait_event = 'PgSleep'`)
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		p.wait(t)
		r, started, locked := startJobUntilLocked(t, faultEnv(t, db, "UPTIME_DRY_RUN", "true"))
		r.expect(t, contract.ExitOK)
		took := started.Sub(killed)
		t.Logf("a new run got the lock %v after the kill -9, while the orphaned statement had 60 s to go (%d earlier attempts exited 4)",
			took.Round(time.Millisecond), locked)
		if took > 5*time.Second {
			t.Errorf("the next run got the lock only %v after the kill", took)
		}
		unchanged(t, db, before)
		runJob(t, faultEnv(t, db)).expect(t, contract.ExitOK)
		checkComplete(t, db)
	})
}

// ---- contention ----

// Two runs started together, round after round: exactly one writes, the other exits 4 at once.
func TestContentionRounds(t *testing.T) {
	t.Parallel()
	n := rounds(10, 50)
	wins := map[string]int{}
	for i := 1; i <= n; i++ {
		db := sampleDB(t)
		before := snapshot(t, db)
		release := blockLeaderboard(t, db) // the winner stays mid-run until released
		a, b := startJob(t, jobEnv(db.URL), "--lock-wait", "0"), startJob(t, jobEnv(db.URL), "--lock-wait", "0")
		var loser, winner *proc
		select {
		case <-a.done:
			loser, winner, wins["second started"] = a, b, wins["second started"]+1
		case <-b.done:
			loser, winner, wins["first started"] = b, a, wins["first started"]+1
		case <-time.After(15 * time.Second):
			t.Fatalf("round %d: neither run exited while the other held the lock", i)
		}
		lost := loser.wait(t)
		lost.expect(t, contract.ExitLocked)
		lost.oneStderrLine(t, "another uptime run holds the lock")
		waitBlocked(t, db, winner)
		if n := countContributions(t, db); n != before.Contributions {
			t.Fatalf("round %d: %d contributions visible while the winner is mid-run, want %d", i, n, before.Contributions)
		}
		release()
		won := winner.wait(t)
		won.expect(t, contract.ExitOK)
		created := countContributions(t, db) - before.Contributions
		if created == 0 || float64(created) != num(t, won.summary(t), "contributions_created") {
			t.Fatalf("round %d: %d contributions created, the winner's summary says %v", i, created, won.summary(t)["contributions_created"])
		}
		checkComplete(t, db)
	}
	t.Logf("%d rounds: one run wrote and the other exited 4 in each; winner: %v", n, wins)
}

// A run that meets a row lock on a leaderboard entry (a writer's SELECT ... FOR UPDATE left open)
// never queues behind it for its table lock, so the app's saves are not held; it exits 1 at its
// deadline naming the session, having written nothing.
func TestLeaderboardRowLocked(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	db.Seed(t, testdb.Scale{Users: 20, HistoryFrom: 30, HistoryTo: 3})
	before := snapshot(t, db)

	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var locked, pid int
	// Every user gets new days, so every global entry's total changes: the job must update this row.
	if err := tx.QueryRow(`
		SELECT count(*), pg_backend_pid() FROM (
		    SELECT 1 FROM leaderboard_leaderboardentry
		    WHERE category_id IS NULL AND user_id = (SELECT min(id) FROM users_user)
		    FOR UPDATE) AS l`).Scan(&locked, &pid); err != nil || locked != 1 {
		t.Fatalf("lock the entry: %v (%d rows)", err, locked)
	}

	p := startJob(t, faultEnv(t, db), "--timeout", "3s")
	r := p.wait(t)
	r.expect(t, contract.ExitRuntime)
	r.oneStderrLine(t, "deadline of 3s passed", "rolled back", fmt.Sprintf("pid %d", pid))
	insertedThenRolledBack(t, r)
	t.Logf("with a 3 s deadline the run met the row lock and exited after %v", r.Elapsed.Round(time.Millisecond))
	if r.Elapsed > 3*time.Second+2*time.Second {
		t.Errorf("a 3 s deadline ended the run after %v", r.Elapsed)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	unchanged(t, db, before)
	runJob(t, faultEnv(t, db)).expect(t, contract.ExitOK)
	checkComplete(t, db)
}
