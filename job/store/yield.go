package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
)

// The job shares Django's tables with the live app, and the app must not be able to tell it is
// running (docs/architecture.md, "What the app pays"). Outside its short locked phase, whose
// statements have a budget of their own, nothing the job holds may keep an app session waiting:
// a row lock its inserts' foreign-key checks took on a user, the table locks its reads and writes
// hold until commit. A Yielder watches, from a second session, for any client session that waits
// on the run's session, and when one has waited GiveWayAfter it cancels the run's statement, so
// that the run rolls back, lets the app through, and tries again.

// GiveWayAfter is how long an app session may wait on the run, outside the locked phase, before
// the run gives way. With the poll and the rollback it keeps every such wait well under a second.
const GiveWayAfter = 250 * time.Millisecond

// yieldPoll is how often the Yielder looks for sessions waiting on the run.
const yieldPoll = 50 * time.Millisecond

// Blocker is a session the run gave way to, or waited for, as pg_stat_activity shows it: what a
// message names so that an on-call can find it.
type Blocker struct {
	PID             int     `db:"pid"`
	ApplicationName string  `db:"application_name"`
	State           string  `db:"state"`
	Seconds         float64 `db:"seconds"` // how long it has waited (or been in its state)
}

func (b Blocker) String() string {
	return fmt.Sprintf("pid %d (application_name %q, %s for %.1f s)", b.PID, b.ApplicationName, b.State, b.Seconds)
}

// YieldError is an attempt that the run abandoned so that the app could go on: it rolled back,
// and the run tries again after a pause, within its deadline.
type YieldError struct {
	Reason  string  // what the run gave way to, in words
	Blocker Blocker // the session concerned, when there is one
}

func (e *YieldError) Error() string {
	if e.Blocker.PID == 0 {
		return e.Reason
	}
	return e.Reason + ": " + e.Blocker.String()
}

// Yielder cancels the run's statement while an app session waits on it.
type Yielder struct {
	conn    *sql.Conn
	runPID  int
	log     *slog.Logger
	paused  atomic.Bool
	yielded atomic.Pointer[Blocker]
	stop    context.CancelFunc
}

// waitersSQL finds the client session that has waited longest for a lock the run's session
// holds, with how long (pg_locks.waitstart on PostgreSQL 14 and later; the state's age before).
// With $2 (the locked phase), only waits for a row count: waits for the table locks are the
// phase's, bounded by its budget.
const waitersSQL = `
	SELECT a.pid, coalesce(a.application_name, '') AS application_name, coalesce(a.state, '') AS state,
	       extract(epoch FROM clock_timestamp() - coalesce(w.since, a.state_change))::float8 AS seconds
	FROM pg_catalog.pg_stat_activity AS a
	LEFT JOIN LATERAL (
	    SELECT min((to_jsonb(l) ->> 'waitstart')::timestamptz) AS since
	    FROM pg_catalog.pg_locks AS l WHERE l.pid = a.pid AND NOT l.granted) AS w ON true
	WHERE a.wait_event_type = 'Lock' AND a.backend_type = 'client backend' AND a.pid <> $1
	  AND (NOT $2 OR a.wait_event IN ('transactionid', 'tuple'))
	  AND $1 = ANY (pg_catalog.pg_blocking_pids(a.pid))
	ORDER BY seconds DESC
	LIMIT 1`

// StartYielding watches for sessions waiting on the run's transaction tx, on a connection of
// db's own. Stop it with Close.
func StartYielding(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, log *slog.Logger) (*Yielder, error) {
	var runPID int
	if err := tx.GetContext(ctx, &runPID, "SELECT pg_catalog.pg_backend_pid()"); err != nil {
		return nil, fmt.Errorf("find the run's session: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open the watching session: %w", err)
	}
	ctx, stop := context.WithCancel(ctx)
	y := &Yielder{conn: conn, runPID: runPID, log: log, stop: stop}
	go y.watch(ctx)
	return y, nil
}

// Pause stops giving way to sessions waiting for the run's table locks (the locked phase, whose
// budget bounds those waits), or resumes it. Sessions waiting for a row are always given way to.
func (y *Yielder) Pause(paused bool) { y.paused.Store(paused) }

// Yielded returns the session the run gave way to since the last call, and forgets it.
func (y *Yielder) Yielded() (Blocker, bool) {
	b := y.yielded.Swap(nil)
	if b == nil {
		return Blocker{}, false
	}
	return *b, true
}

// Close stops watching. It does not wait: over a frozen network path the last poll may take
// until the connection is given up; the watcher closes its connection when it ends.
func (y *Yielder) Close() { y.stop() }

func (y *Yielder) watch(ctx context.Context) {
	defer y.conn.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(yieldPoll):
		}
		if err := y.check(ctx); err != nil && ctx.Err() == nil {
			y.log.WarnContext(ctx, "cannot look for sessions waiting on the run", "error", err.Error())
		}
	}
}

// check cancels the run's statement when a session has waited on it for GiveWayAfter. It cancels
// again at every poll while one still waits: a cancel that arrives between two statements is lost.
func (y *Yielder) check(ctx context.Context) error {
	pollCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var b Blocker
	err := y.conn.QueryRowContext(pollCtx, waitersSQL, y.runPID, y.paused.Load()).Scan(&b.PID, &b.ApplicationName, &b.State, &b.Seconds)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if b.Seconds < GiveWayAfter.Seconds() {
		return nil
	}
	y.yielded.Store(&b)
	_, err = y.conn.ExecContext(pollCtx, "SELECT pg_catalog.pg_cancel_backend($1)", y.runPID)
	return err
}

// GaveWay turns err, the failure of a statement the Yielder cancelled, into a *YieldError
// naming the session the run gave way to. Any error after a give-way counts: the attempt is
// abandoned either way, and retried.
func (y *Yielder) GaveWay(err error) error {
	if y == nil || err == nil {
		return err
	}
	if b, ok := y.Yielded(); ok {
		return &YieldError{Reason: "gave way to a session that waited on the run", Blocker: b}
	}
	return err
}
