package uptime

import (
	"context"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
)

// The run must not ask for its locks while a session's deadlock check is near: a session that
// has waited on a lock for longer than the run may close a cycle through is found, by pid.
func TestLongWaiterIsTheSessionWhoseDeadlockCheckIsNear(t *testing.T) {
	if got := waiterAge(time.Second, 250*time.Millisecond); got != 300*time.Millisecond {
		t.Errorf("waiterAge(1 s, 250 ms) = %v, want 300ms", got)
	}
	if got := waiterAge(200*time.Millisecond, 100*time.Millisecond); got != 0 {
		t.Errorf("waiterAge(200 ms, 100 ms) = %v, want 0", got)
	}

	db := testdb.New(t)
	ctx := context.Background()
	holderConn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holderConn.Close()
	if _, err := holderConn.ExecContext(ctx, "BEGIN; LOCK TABLE users_user IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	waiterConn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer waiterConn.Close()
	var waiterPID int
	if err := waiterConn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&waiterPID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := waiterConn.ExecContext(ctx, "SELECT count(*) FROM users_user")
		done <- err
	}()

	tx, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() // a read-only look
	deadline := time.Now().Add(10 * time.Second)
	for {
		w, err := longWaiter(ctx, tx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if w.PID == waiterPID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the waiting session %d was never found (found %+v)", waiterPID, w)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(400 * time.Millisecond)
	if w, err := longWaiter(ctx, tx, 300*time.Millisecond); err != nil || w.PID != waiterPID {
		t.Errorf("a wait of 0.4 s against an age of 0.3 s: found %+v, %v; want pid %d", w, err, waiterPID)
	}
	var version int
	if err := tx.Get(&version, "SELECT current_setting('server_version_num')::int"); err != nil {
		t.Fatal(err)
	}
	if w, err := longWaiter(ctx, tx, time.Minute); err != nil || version >= 140000 && w.PID != 0 {
		t.Errorf("a wait of 0.4 s against an age of a minute: found %+v, %v; want none", w, err)
	}

	if _, err := holderConn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
