package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
)

// lockHolder takes the run lock in a session of its own, inside a transaction (as a run does)
// or for the session, and leaves the session idle; it returns the session's pid and a probe
// that reports whether the session is still alive.
func lockHolder(t *testing.T, db *testdb.DB, inTransaction bool) (pid int, alive func() bool) {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	take := "SELECT pg_advisory_lock($1)"
	if inTransaction {
		// As a run does, under the job's application_name: a run is what a waiting run may end.
		for _, q := range []string{"SET application_name = '" + ApplicationName + "'", "BEGIN"} {
			if _, err := conn.ExecContext(context.Background(), q); err != nil {
				t.Fatal(err)
			}
		}
		take = "SELECT pg_advisory_xact_lock($1)"
	}
	if _, err := conn.ExecContext(context.Background(), take, LockKey); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid, func() bool { return conn.PingContext(context.Background()) == nil }
}

func TestLockWaitEndsAStaleHolder(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	_, alive := lockHolder(t, db, true) // a run whose job went silent inside its transaction
	conn, err := openURL(context.Background(), db.URL, 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	tx, err := BeginRunWaiting(context.Background(), conn, LockWait{Max: 20 * time.Second, StaleAfter: time.Second}, quiet)
	if err != nil {
		t.Fatalf("BeginRunWaiting = %v, want the lock once the stale holder is ended", err)
	}
	tx.Rollback()
	took := time.Since(start)
	t.Logf("got the lock %.1f s after it started waiting (stale after 1 s)", took.Seconds())
	if took < time.Second || took > 5*time.Second {
		t.Errorf("took %v, want a little over the 1 s stale limit", took)
	}
	if alive() {
		t.Error("the stale holder's session is still alive")
	}
}

func TestLockWaitSparesALiveHolder(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, db *testdb.DB) func() bool
	}{
		{"a session-level lock of an idle session", func(t *testing.T, db *testdb.DB) func() bool {
			_, alive := lockHolder(t, db, false)
			return alive
		}},
		{"a run busy with a statement", func(t *testing.T, db *testdb.DB) func() bool {
			conn, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_xact_lock($1), pg_sleep(4)", LockKey)
			}()
			t.Cleanup(func() { <-done; conn.Close() })
			time.Sleep(300 * time.Millisecond) // let it take the lock
			return func() bool { <-done; return conn.PingContext(context.Background()) == nil }
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t)
			alive := c.setup(t, db)
			conn, err := openURL(context.Background(), db.URL, 0, quiet)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			_, err = BeginRunWaiting(context.Background(), conn, LockWait{Max: 2 * time.Second, StaleAfter: 500 * time.Millisecond}, quiet)
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("BeginRunWaiting = %v, want ErrLocked after the wait", err)
			}
			if took := time.Since(start); took < 2*time.Second || took > 4*time.Second {
				t.Errorf("gave up after %v, want the 2 s wait", took)
			}
			if !alive() {
				t.Error("a live holder was ended")
			}
		})
	}
}

func TestLockWaitGetsTheLockWhenReleased(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_lock($1)", LockKey); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(time.Second, func() {
		_, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", LockKey)
	})
	run, err := openURL(context.Background(), db.URL, 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	tx, err := BeginRunWaiting(context.Background(), run, LockWait{Max: 10 * time.Second, StaleAfter: time.Minute}, quiet)
	if err != nil {
		t.Fatalf("BeginRunWaiting = %v after the holder let go", err)
	}
	tx.Rollback()
}
