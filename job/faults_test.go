package main

// The fault-injection suite: the job is killed, stopped, starved of its database and made to
// contend, at random moments and many times over, and every time the database must be either
// exactly as it was before the run or exactly as one uninterrupted run leaves it.
//
// UPTIME_SOAK=1 runs the long version (more rounds); UPTIME_FAULT_SEED=N replays the random
// moments of an earlier run, whose seed every randomised test logs.

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/tally/uptime/internal/testdb"
)

// backfillScale is a ~200,000-row backfill: 550 users whose only uptime is one day a year ago.
var backfillScale = testdb.Scale{Users: 550, HistoryFrom: 364, HistoryTo: 364}

// faultApp is the application_name of the job's session in these tests, so that a test can find
// the job's backend on the server (and wait for it to end) among its own sessions.
const faultApp = "uptime_fault_job"

// soak reports whether the long, opt-in version of the suite was asked for.
func soak() bool { return os.Getenv("UPTIME_SOAK") == "1" }

// rounds is n, or soakN under UPTIME_SOAK=1.
func rounds(n, soakN int) int {
	if soak() {
		return soakN
	}
	return n
}

// faultRand is the suite's source of random moments, seeded from UPTIME_FAULT_SEED or a fixed
// seed, which it logs so that a failure can be replayed.
func faultRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(20260615)
	if s := os.Getenv("UPTIME_FAULT_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("UPTIME_FAULT_SEED=%q is not a number", s)
		}
		seed = n
	}
	t.Logf("random moments from seed %d (replay with UPTIME_FAULT_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed))
}

// ---- cloned databases ----

// template is a seeded database that tests clone instead of seeding again. It has no open
// connection: PostgreSQL copies a template only while nobody is connected to it.
type template struct {
	name  string
	url   string
	admin *sqlx.DB
}

// seededTemplate seeds a database at scale and closes it, ready to be cloned.
func seededTemplate(t *testing.T, scale testdb.Scale) template {
	t.Helper()
	db := testdb.New(t)
	db.Seed(t, scale)
	if err := db.DB.Close(); err != nil {
		t.Fatal(err)
	}
	admin, err := sqlx.Open("postgres", testdb.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	return template{name: db.Name, url: db.URL, admin: admin}
}

// clone is a new database with the template's contents, dropped when the test ends.
func (tpl template) clone(t *testing.T) *testdb.DB {
	t.Helper()
	name := fmt.Sprintf("uptime_clone_%08x", rand.Uint32())
	if _, err := tpl.admin.Exec(fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tpl.name)); err != nil {
		t.Fatalf("clone %s: %v", tpl.name, err)
	}
	t.Cleanup(func() {
		if _, err := tpl.admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	dbURL := withDatabase(t, tpl.url, name)
	conn, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &testdb.DB{DB: conn, Name: name, URL: dbURL}
}

// faultEnv is the job's environment against db, its session named faultApp.
func faultEnv(t *testing.T, db *testdb.DB, extra ...string) map[string]string {
	t.Helper()
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", faultApp)
	u.RawQuery = q.Encode()
	return jobEnv(u.String(), extra...)
}

// jobBackends is how many sessions the job has open on db's server, in db.
func jobBackends(t *testing.T, db *testdb.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
		faultApp).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitJobGone polls until the server has ended every session of the job in db and returns how
// long that took from since; it fails after 15 s.
func waitJobGone(t *testing.T, db *testdb.DB, since time.Time) time.Duration {
	t.Helper()
	for jobBackends(t, db) > 0 {
		if time.Since(since) > 15*time.Second {
			t.Fatalf("the job's session is still on the server %v after it was stopped", time.Since(since))
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	return time.Since(since)
}

// outcome fingerprints what a run leaves (see testdb.Outcome).
func outcome(t *testing.T, db *testdb.DB) string { return db.Outcome(t) }

// reference is what one clean, uninterrupted run does to a clone of the template.
type reference struct {
	duration time.Duration // the run's wall time: the range of the random moments
	created  int64
	outcome  string
}

func referenceRun(t *testing.T, tpl template) reference {
	t.Helper()
	db := tpl.clone(t)
	before := countContributions(t, db)
	r := runJob(t, faultEnv(t, db))
	r.expect(t, exitOK)
	checkComplete(t, db)
	ref := reference{duration: r.Elapsed, created: countContributions(t, db) - before, outcome: outcome(t, db)}
	if ref.created < 150_000 {
		t.Fatalf("the reference run created %d contributions; the fault rounds need a ~200,000-row backfill", ref.created)
	}
	t.Logf("reference run: %d contributions in %v", ref.created, ref.duration.Round(time.Millisecond))
	return ref
}

// ---- one fault round ----

// roundResult is how one run that met a fault ended.
type roundResult struct {
	finishedFirst bool          // the run had exited before the fault was injected
	code          int           // exit code; -1 when the process died of a signal
	committed     bool          // the database holds the run's complete work
	inserted      bool          // the run had logged its inserts before the fault
	exitAfter     time.Duration // from the signal to the process's exit
	goneAfter     time.Duration // from the signal until the server had ended the job's session
}

// faultRound runs the job on db (whose state is before), sends it sig after delay, and checks
// that the database is then either exactly before or exactly the reference outcome.
func faultRound(t *testing.T, db *testdb.DB, before state, ref reference, delay time.Duration, sig syscall.Signal) roundResult {
	t.Helper()
	p := startJob(t, faultEnv(t, db))
	var res roundResult
	var signalled time.Time
	select {
	case <-p.done:
		res.finishedFirst = true
	case <-time.After(delay): // the random moment of the fault, not synchronisation
		signalled = time.Now()
		if err := p.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	r := p.wait(t)
	res.code = r.Code
	// SIGKILL cannot be caught, so an exit status of the job's own means it had already exited
	// when the signal was sent (an exited child not yet reaped still accepts a signal).
	if sig == syscall.SIGKILL && r.Code != -1 {
		res.finishedFirst = true
	}
	res.inserted = r.logged("contributions inserted")
	if !res.finishedFirst {
		res.exitAfter = p.started.Add(r.Elapsed).Sub(signalled)
		res.goneAfter = waitJobGone(t, db, signalled)
	} else {
		waitJobGone(t, db, time.Now())
	}

	switch after := snapshot(t, db); {
	case after == before:
	case outcome(t, db) == ref.outcome && after.Contributions-before.Contributions == ref.created:
		res.committed = true
	default:
		t.Fatalf("after %s at %v the database is neither as before nor as one complete run leaves it:\n"+
			"before %+v\n after %+v\nexit %d\nstdout:\n%s\nstderr:\n%s", sig, delay, before, after, r.Code, r.Stdout, r.Stderr)
	}
	if res.finishedFirst && (res.code != exitOK || !res.committed) {
		t.Fatalf("the run ended before the fault with exit %d (committed: %v)\nstdout:\n%s\nstderr:\n%s",
			res.code, res.committed, r.Stdout, r.Stderr)
	}
	if sig == syscall.SIGTERM && !res.finishedFirst {
		switch {
		case res.exitAfter > 5*time.Second:
			t.Errorf("exited %v after SIGTERM, want within 5 s", res.exitAfter)
		case res.code == exitOK && !res.committed, res.code != exitOK && res.committed:
			t.Errorf("exit %d after SIGTERM, but committed: %v\nstdout:\n%s\nstderr:\n%s", res.code, res.committed, r.Stdout, r.Stderr)
		case res.code == exitRuntime:
			r.oneStderrLine(t, "stopped by SIGTERM", "rolled back")
		case res.code != exitOK && res.code != -1:
			// -1: the signal came before the job installed its handler, in its first milliseconds.
			t.Errorf("exit %d after SIGTERM, want 1\nstderr:\n%s", res.code, r.Stderr)
		}
	}
	if sig == syscall.SIGKILL && !res.finishedFirst && res.code != -1 {
		t.Errorf("exit %d after kill -9, want death by signal", res.code)
	}
	return res
}

// faultRounds injects sig into n live runs of the backfill, each at a uniformly random moment of
// a clean run's duration, all on one database while the runs roll back (a fresh clone after a run that
// committed first), then checks that a final clean run leaves exactly the reference outcome.
func faultRounds(t *testing.T, sig syscall.Signal, n int) {
	tpl := seededTemplate(t, backfillScale)
	ref := referenceRun(t, tpl)
	rng := faultRand(t)

	db := tpl.clone(t)
	before := snapshot(t, db)
	var rolledBack, afterInsert, committed, finishedFirst, diedOfSignal int
	var maxExit, maxGone time.Duration
	// A moment after the run has exited is not a fault: such rounds are checked and counted, but
	// the rounds go on until n faults have met a live run.
	for i, faults := 1, 0; faults < n; i++ {
		if i > 3*n {
			t.Fatalf("only %d of %d rounds met a live run: the runs are much faster than the reference run", faults, i-1)
		}
		delay := time.Duration(rng.Float64() * float64(ref.duration))
		res := faultRound(t, db, before, ref, delay, sig)
		what := "rolled back"
		if !res.finishedFirst {
			faults++
		}
		switch {
		case res.finishedFirst:
			finishedFirst++
			what = "finished before the fault"
		case res.committed:
			committed++
			what = "had committed"
		default:
			rolledBack++
			if res.inserted {
				afterInsert++
				what = "rolled back after inserting"
			}
		}
		if res.code == -1 && sig == syscall.SIGTERM {
			diedOfSignal++
		}
		maxExit, maxGone = max(maxExit, res.exitAfter), max(maxGone, res.goneAfter)
		t.Logf("round %2d: %s at %5.1f%% of the run (%v): exit %d, %s; exited %v and session gone %v after the signal",
			i, sig, 100*float64(delay)/float64(ref.duration), delay.Round(time.Millisecond), res.code, what,
			res.exitAfter.Round(time.Millisecond), res.goneAfter.Round(time.Millisecond))
		if t.Failed() {
			return
		}
		if res.committed {
			db = tpl.clone(t)
			before = snapshot(t, db)
		}
	}

	r := runJob(t, faultEnv(t, db))
	r.expect(t, exitOK)
	if got := outcome(t, db); got != ref.outcome {
		t.Errorf("after %d faults the next run left a different database than one uninterrupted run", n)
	}
	if created := countContributions(t, db) - before.Contributions; created != ref.created {
		t.Errorf("after %d faults the next run created %d contributions, one uninterrupted run %d", n, created, ref.created)
	}
	checkComplete(t, db)
	t.Logf("%d × %s into live runs: %d rolled back (%d after inserting), %d had committed; %d more runs finished before their fault; %d died before "+
		"handling the signal; slowest exit %v, slowest session end %v after the signal; final run: %d contributions, "+
		"0 missing, 0 duplicated",
		n, sig, rolledBack, afterInsert, committed, finishedFirst, diedOfSignal, maxExit.Round(time.Millisecond),
		maxGone.Round(time.Millisecond), ref.created)
}

// kill -9 and SIGTERM at random moments of a ~200,000-row backfill. The two run one after the
// other, not side by side: each measures the clean run it draws its moments from, and a
// measurement taken while the other was running would not fit the runs it then interrupts.
func TestFaultsAtRandomMoments(t *testing.T) {
	t.Parallel()
	// kill -9 leaves the database exactly as it was, and the next run does exactly what one
	// uninterrupted run does.
	t.Run("kill -9", func(t *testing.T) { faultRounds(t, syscall.SIGKILL, rounds(20, 100)) })
	// SIGTERM: the job exits non-zero within 5 s, having written nothing.
	t.Run("SIGTERM", func(t *testing.T) { faultRounds(t, syscall.SIGTERM, rounds(20, 100)) })
}

// ---- the lock after a kill -9 ----

// startJobUntilLocked starts the job with --db-wait 0 until a run does not find the lock taken,
// and returns that run and when it was started.
func startJobUntilLocked(t *testing.T, env map[string]string) (result, time.Time, int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for locked := 0; ; locked++ {
		p := startJob(t, env, "--db-wait", "0", "--lock-wait", "0")
		r := p.wait(t)
		if r.Code != exitLocked {
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
		r.expect(t, exitOK)
		took := started.Sub(killed)
		t.Logf("a new run got the lock %v after the kill -9 mid-INSERT (%d earlier attempts exited 4)", took.Round(time.Millisecond), locked)
		if took > 5*time.Second {
			t.Errorf("the next run got the lock only %v after the kill", took)
		}
		waitJobGone(t, db, killed)
		unchanged(t, db, before)
		runJob(t, faultEnv(t, db)).expect(t, exitOK)
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
		r.expect(t, exitOK)
		took := started.Sub(killed)
		t.Logf("a new run got the lock %v after the kill -9, while the orphaned statement had 60 s to go (%d earlier attempts exited 4)",
			took.Round(time.Millisecond), locked)
		if took > 5*time.Second {
			t.Errorf("the next run got the lock only %v after the kill", took)
		}
		unchanged(t, db, before)
		runJob(t, faultEnv(t, db)).expect(t, exitOK)
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
		lost.expect(t, exitLocked)
		lost.oneStderrLine(t, "another uptime run holds the lock")
		waitBlocked(t, db, winner)
		if n := countContributions(t, db); n != before.Contributions {
			t.Fatalf("round %d: %d contributions visible while the winner is mid-run, want %d", i, n, before.Contributions)
		}
		release()
		won := winner.wait(t)
		won.expect(t, exitOK)
		created := countContributions(t, db) - before.Contributions
		if created == 0 || float64(created) != num(t, won.summary(t), "contributions_created") {
			t.Fatalf("round %d: %d contributions created, the winner's summary says %v", i, created, won.summary(t)["contributions_created"])
		}
		checkComplete(t, db)
	}
	t.Logf("%d rounds: one run wrote and the other exited 4 in each; winner: %v", n, wins)
}

// A run that meets a row lock on a leaderboard entry (a writer's SELECT ... FOR UPDATE) waits for
// it at its table lock, no longer than its deadline, then exits 1 having written nothing.
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
	var locked int
	// Every user gets new days, so every global entry's total changes: the job must update this row.
	if err := tx.QueryRow(`
		SELECT count(*) FROM (
		    SELECT 1 FROM leaderboard_leaderboardentry
		    WHERE category_id IS NULL AND user_id = (SELECT min(id) FROM users_user)
		    FOR UPDATE) AS l`).Scan(&locked); err != nil || locked != 1 {
		t.Fatalf("lock the entry: %v (%d rows)", err, locked)
	}

	p := startJob(t, faultEnv(t, db), "--timeout", "3s")
	waitActivity(t, db, p, `wait_event_type = 'Lock' AND wait_event = 'relation'`)
	r := p.wait(t)
	r.expect(t, exitRuntime)
	r.oneStderrLine(t, "deadline of 3s passed", "rolled back")
	insertedThenRolledBack(t, r)
	t.Logf("with a 3 s deadline the run met the row lock and exited after %v", r.Elapsed.Round(time.Millisecond))
	if r.Elapsed > 3*time.Second+2*time.Second {
		t.Errorf("a 3 s deadline ended the run after %v", r.Elapsed)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	unchanged(t, db, before)
	runJob(t, faultEnv(t, db)).expect(t, exitOK)
	checkComplete(t, db)
}

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
			r.expect(t, exitRuntime)
			r.oneStderrLine(t)
			insertedThenRolledBack(t, r)
			if n := retriesLogged(r); n != maxAttempts-1 {
				t.Errorf("%d retries logged, want %d", n, maxAttempts-1)
			}
			if m := r.metrics(t); m["RunFailed"] != 1.0 || m["ContributionsCreated"] != 0.0 {
				t.Errorf("EMF %v", m)
			}

			cluster.Start(t)
			db = testdb.Reopen(t, db)
			unchanged(t, db, before)
			runJob(t, jobEnv(db.URL)).expect(t, exitOK)
			checkComplete(t, db)
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
	r.expect(t, exitRuntime)
	r.oneStderrLine(t, "shutting down")
	insertedThenRolledBack(t, r)
	if n := retriesLogged(r); n != maxAttempts-1 {
		t.Errorf("%d retries logged, want %d: a server shutting down or starting up is retried", n, maxAttempts-1)
	}

	admin.Close()
	release()
	cluster.Stop(t, "fast")
	cluster.Start(t)
	db = testdb.Reopen(t, db)
	unchanged(t, db, before)
	runJob(t, jobEnv(db.URL)).expect(t, exitOK)
	checkComplete(t, db)
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
	r.expect(t, exitOK)
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
