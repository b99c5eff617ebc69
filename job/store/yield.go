package store

import (
	"context"
	"database/sql"
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
	PID             int
	ApplicationName string
	State           string
	Seconds         float64 // how long it has waited (or been in its state)
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
	seen    map[int]time.Time // when a wait was first seen, where pg_locks has no waitstart
}

// waitersSQL finds the client session that has waited longest for a lock the run's session $1
// holds. It reads pg_locks, which every role may read (pg_stat_activity hides other roles' wait
// events), and how long from pg_locks.waitstart (PostgreSQL 14 and later; NULL before, when the
// Yielder counts from when it first saw the wait). With $2 (the locked phase), only waits for a
// row count: waits for the table locks are the phase's, bounded by its budget.
const waitersSQL = `
	SELECT l.pid, coalesce(a.application_name, '') AS application_name, l.locktype,
	       coalesce(extract(epoch FROM clock_timestamp() - (to_jsonb(l) ->> 'waitstart')::timestamptz)::float8, -1) AS seconds
	FROM pg_catalog.pg_locks AS l
	JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
	WHERE NOT l.granted AND l.pid <> $1 AND coalesce(a.backend_type, 'client backend') = 'client backend' -- hidden (NULL) for other roles' sessions
	  AND (NOT $2 OR l.locktype IN ('transactionid', 'tuple'))
	  AND $1 = ANY (pg_catalog.pg_blocking_pids(l.pid))
	ORDER BY seconds DESC`

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
	y := &Yielder{conn: conn, runPID: runPID, log: log, stop: stop, seen: map[int]time.Time{}}
	go y.watch(ctx)
	return y, nil
}

// Pause stops giving way to sessions waiting for the run's table locks (the locked phase, whose
// budget bounds those waits), or resumes it. Sessions waiting for a row are always given way to.
func (y *Yielder) Pause(paused bool) { y.paused.Store(paused) }

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
// again at every poll while one still waits: a cancel that arrives between two statements is lost
// (the run also asks Check between its statements).
func (y *Yielder) check(ctx context.Context) error {
	pollCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	waiters, err := y.waiters(pollCtx)
	if err != nil {
		return err
	}
	for _, b := range waiters {
		if b.Seconds < GiveWayAfter.Seconds() {
			continue
		}
		y.yielded.Store(&b)
		_, err := y.conn.ExecContext(pollCtx, "SELECT pg_catalog.pg_cancel_backend($1)", y.runPID)
		return err
	}
	return nil
}

// waiters lists the sessions waiting on the run, with how long each has waited.
func (y *Yielder) waiters(ctx context.Context) ([]Blocker, error) {
	rows, err := y.conn.QueryContext(ctx, waitersSQL, y.runPID, y.paused.Load())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Blocker
	now, seen := time.Now(), map[int]time.Time{}
	for rows.Next() {
		var b Blocker
		if err := rows.Scan(&b.PID, &b.ApplicationName, &b.State, &b.Seconds); err != nil {
			return nil, err
		}
		first, ok := y.seen[b.PID]
		if !ok {
			first = now
		}
		seen[b.PID] = first
		if b.Seconds < 0 { // no waitstart before PostgreSQL 14
			b.Seconds = now.Sub(first).Seconds()
		}
		b.State = "waiting for a " + b.State + " lock"
		out = append(out, b)
	}
	y.seen = seen
	return out, rows.Err()
}

// Check returns a *YieldError once the run has given way, so that a run between statements (its
// cancel then lost) stops too.
func (y *Yielder) Check() error {
	if b := y.yielded.Load(); b != nil {
		return &YieldError{Reason: "gave way to a session that waited on the run", Blocker: *b}
	}
	return nil
}

// GaveWay turns err, the failure of a statement the Yielder cancelled, into a *YieldError
// naming the session the run gave way to. Any error after a give-way counts: the attempt is
// abandoned either way, and retried.
func (y *Yielder) GaveWay(err error) error {
	if y == nil || err == nil {
		return err
	}
	if yielded := y.Check(); yielded != nil {
		return yielded
	}
	return err
}
