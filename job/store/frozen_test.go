package store

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/tally/uptime/internal/testdb"
)

// A run whose network path froze while the server was sending it rows: the server is blocked
// writing (ClientWrite), where statement_timeout and idle_in_transaction_session_timeout do not
// apply. The next run must get the lock within StaleAfter and a little, not after the minutes the
// kernel takes to give up.
func TestLockWaitEndsAHolderStuckSending(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	// Closed after the black hole (cleanups run last first): sql.DB.Close waits for the stalled
	// query, which ends only when the proxy drops its connections.
	var stalled *sqlx.DB
	t.Cleanup(func() {
		if stalled != nil {
			stalled.Close()
		}
	})
	serverHost := u.Host
	path := testdb.NewBlackHole(t, u.Host, 1<<20) // freezes after 1 MiB of rows
	u.Host = fmt.Sprintf("127.0.0.1:%d", path.Port())
	u.RawQuery = "sslmode=disable&application_name=stuck_run"

	// The stalled run: the job's own session set-up, then a statement whose rows fill every buffer.
	stalled, err = openURL(context.Background(), u.String(), 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := BeginRun(context.Background(), stalled)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		rows, err := tx.Query(`SELECT repeat('x', 1000) FROM generate_series(1, 1000000)`)
		if err == nil {
			for rows.Next() {
				continue // read until the path freezes and the read fails
			}
			rows.Close()
		}
	}()
	<-path.Frozen()
	frozen := time.Now()
	var pid int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := db.QueryRow(`SELECT pid FROM pg_stat_activity WHERE application_name = 'stuck_run' AND wait_event = 'ClientWrite'`).Scan(&pid)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stalled run's server process never blocked sending (ClientWrite)")
		}
	}
	t.Logf("%.1f s after the freeze the holder (pid %d) is blocked in ClientWrite", time.Since(frozen).Seconds(), pid)

	// The next run of the same job: its application_name and role identify the holder as a run.
	u.Host = serverHost
	next, err := openURL(context.Background(), u.String(), 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	waitFrom := time.Now()
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	got, err := BeginRunWaiting(context.Background(), next, LockWait{Max: time.Minute, StaleAfter: StaleAfter}, log)
	if err != nil {
		t.Fatalf("the next run did not get the lock: %v", err)
	}
	got.Rollback()
	waited := time.Since(waitFrom)
	t.Logf("the next run got the lock %.1f s after it started waiting (%.1f s after the freeze)", waited.Seconds(), time.Since(frozen).Seconds())
	t.Logf("the waiting run logged:\n%s", logged.String())
	if waited > StaleAfter+5*time.Second {
		t.Errorf("waited %v for a holder stuck sending, want about %v", waited, StaleAfter)
	}
}
