package main

// The fault-injection suite: the job is killed, stopped, starved of its database and made to
// contend, at random moments and many times over, and every time the database must be either
// exactly as it was before the run or exactly as one uninterrupted run leaves it.
//
// UPTIME_SOAK=1 runs the long version (more rounds); UPTIME_FAULT_SEED=N replays the random
// moments of an earlier run, whose seed every randomised test logs.

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/tally/uptime/internal/testdb"

	"github.com/tally/uptime/internal/contract"
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
	r.expect(t, contract.ExitOK)
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
	if res.finishedFirst && (res.code != contract.ExitOK || !res.committed) {
		t.Fatalf("the run ended before the fault with exit %d (committed: %v)\nstdout:\n%s\nstderr:\n%s",
			res.code, res.committed, r.Stdout, r.Stderr)
	}
	if sig == syscall.SIGTERM && !res.finishedFirst {
		switch {
		case res.exitAfter > 5*time.Second:
			t.Errorf("exited %v after SIGTERM, want within 5 s", res.exitAfter)
		case res.code == contract.ExitOK && !res.committed, res.code != contract.ExitOK && res.committed:
			t.Errorf("exit %d after SIGTERM, but committed: %v\nstdout:\n%s\nstderr:\n%s", res.code, res.committed, r.Stdout, r.Stderr)
		case res.code == contract.ExitRuntime:
			r.oneStderrLine(t, "stopped by SIGTERM", "rolled back")
		case res.code != contract.ExitOK && res.code != -1:
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
	r.expect(t, contract.ExitOK)
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
