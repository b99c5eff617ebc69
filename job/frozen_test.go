package main

// A network path that freezes: no RST, no FIN, every packet dropped from some moment on. The job
// must exit by its deadline plus a few seconds, and the next run (on a path that works) must
// get the lock and succeed within its own deadline.

import (
	"database/sql"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
	"github.com/tally/uptime/job/store"

	"github.com/tally/uptime/internal/contract"
)

// serverAddr is the host:port of dbURL.
func serverAddr(t *testing.T, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestFrozenNetworkPath(t *testing.T) {
	t.Parallel()
	const timeout = 8 * time.Second
	// 3,000 users with a day to fill each: the --verbose list is ~3,000 rows, far more than the
	// socket buffers hold, so a freeze while it streams leaves the server blocked sending.
	tpl := seededTemplate(t, testdb.Scale{Users: 3000, HistoryFrom: 2, HistoryTo: 1})
	ref := tpl.clone(t)
	probe := testdb.NewBlackHole(t, serverAddr(t, ref.URL), 0)
	runJob(t, faultEnv(t, ref, "DATABASE_URL", withPort(t, ref.URL, probe.Port())), "--verbose", "--dry-run").expect(t, contract.ExitOK)
	total := probe.Down()
	t.Logf("a --verbose run receives %d bytes from the server", total)

	for _, m := range []struct {
		name     string
		fraction float64
	}{
		{"early in the run", 0.02},
		{"while the server streams the --verbose rows", 0.5},
		{"near the end", 0.95},
	} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			frozenRun(t, tpl.clone(t), int64(m.fraction*float64(total)), timeout)
		})
	}
}

// frozenRun runs the job through a path that freezes after freezeAt bytes, then the next run
// on a working path, and checks both against their deadlines.
func frozenRun(t *testing.T, db *testdb.DB, freezeAt int64, timeout time.Duration) {
	t.Helper()
	path := testdb.NewBlackHole(t, serverAddr(t, db.URL), freezeAt)
	env := faultEnv(t, db)
	env["DATABASE_URL"] = withPort(t, env["DATABASE_URL"], path.Port())
	p := startJob(t, env, "--verbose", "--timeout", timeout.String())
	select {
	case <-path.Frozen():
	case <-p.done:
		t.Fatalf("the run ended before the path froze: %v", p.wait(t).Stderr)
	}
	time.Sleep(time.Second)
	t.Logf("1 s after the freeze, the run's session on the server: %s", sessionState(t, db))
	r := p.wait(t)
	freezeToExit := p.started.Add(r.Elapsed).Sub(path.FrozeAt())
	t.Logf("froze %.1f s into the run; the job exited %d after %.1f s (%.1f s after the freeze; --timeout %v)",
		r.Elapsed.Seconds()-freezeToExit.Seconds(), r.Code, r.Elapsed.Seconds(), freezeToExit.Seconds(), timeout)
	if r.Code != contract.ExitRuntime {
		t.Errorf("exit %d, want %d", r.Code, contract.ExitRuntime)
	}
	if r.Elapsed > timeout+7*time.Second {
		t.Errorf("the job exited %v after it started, more than --timeout %v and a few seconds", r.Elapsed, timeout)
	}
	t.Logf("when the job exited, the run's session on the server: %s", sessionState(t, db))

	// The next night, on a path that works.
	next := runJob(t, jobEnv(db.URL), "--timeout", "60s")
	next.expect(t, contract.ExitOK)
	waited := 0.0
	for _, rec := range next.Records {
		if rec["msg"] == "took the run lock after waiting" {
			waited = num(t, rec, "waited_seconds")
		}
	}
	t.Logf("the next run got the lock after %.1f s and exited 0 after %.1f s (--timeout 60s)", waited, next.Elapsed.Seconds())
	checkComplete(t, db)
}

// sessionState is the state and wait event of the job's session in db, or "gone".
func sessionState(t *testing.T, db *testdb.DB) string {
	t.Helper()
	var state string
	err := db.QueryRow(`SELECT concat_ws(' / ', state, wait_event) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, faultApp).Scan(&state)
	if err != nil {
		return "gone"
	}
	return state
}

// The next night after a run cut off while the server was sending it rows: the server process is
// blocked in ClientWrite, which no server timeout ends. The job, with its default --lock-wait,
// ends that holder and completes.
func TestNextRunAfterAFreezeMidRows(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	// The stalled run's connection: closed after the black hole (cleanups run last first), since
	// closing waits for its stalled query, which ends only when the proxy drops its connections.
	var pool *sql.DB
	t.Cleanup(func() {
		if pool != nil {
			_ = pool.Close()
		}
	})
	path := testdb.NewBlackHole(t, serverAddr(t, db.URL), 1<<20)
	var err error
	// A run of the job: its application_name (and role) is what lets the next run end it.
	if pool, err = sql.Open("postgres", withPort(t, db.URL, path.Port())+"&application_name="+store.ApplicationName); err != nil {
		t.Fatal(err)
	}
	stalled, err := pool.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"BEGIN", fmt.Sprintf("SELECT pg_try_advisory_xact_lock(%d)", store.LockKey)} {
		if _, err := stalled.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		rows, err := stalled.QueryContext(t.Context(), `SELECT repeat('x', 1000) FROM generate_series(1, 1000000)`)
		if err == nil {
			for rows.Next() {
				continue // until the path freezes
			}
			_ = rows.Close()
		}
	}()
	<-path.Frozen()

	r := runJob(t, jobEnv(db.URL))
	r.expect(t, contract.ExitOK)
	var ended, waited float64
	for _, rec := range r.Records {
		switch rec["msg"] {
		case "ended a stale holder of the run lock":
			ended = num(t, rec, "waiting_on_client_seconds")
		case "took the run lock after waiting":
			waited = num(t, rec, "waited_seconds")
		}
	}
	t.Logf("the next run ended the holder after %.1f s of it waiting on its client, got the lock after %.1f s, exited 0 after %.1f s",
		ended, waited, r.Elapsed.Seconds())
	if ended == 0 || waited == 0 || r.Elapsed > 25*time.Second {
		t.Errorf("ended %v s, waited %v s, run %v", ended, waited, r.Elapsed)
	}
	checkComplete(t, db)
}
