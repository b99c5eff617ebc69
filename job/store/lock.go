package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// StaleAfter is how long a holder of the run lock may wait on its own client (idle in its
// transaction, or blocked sending rows to or reading from the job) before the next run takes it
// for a run whose job is gone or cut off by a frozen network path, and ends it. A live run never
// waits on itself that long: it sends its next statement within milliseconds, and its output
// cannot block it (the job drops output nobody reads).
const StaleAfter = 15 * time.Second

// pathSettings are the run session's defences against a network path that freezes without a
// reset: the server probes an idle connection after 15 s and gives up after 3 probes 5 s apart,
// and aborts the connection when data it sent stays unacknowledged for 15 s (tcp_user_timeout).
// idle_in_transaction_session_timeout (StaleAfter) ends a session left idle by a vanished job.
var pathSettings = map[string]string{
	"tcp_keepalives_idle":     "15",
	"tcp_keepalives_interval": "5",
	"tcp_keepalives_count":    "3",
	"tcp_user_timeout":        "15000",
}

// lockPoll is how often a waiting run tries the lock again.
const lockPoll = 500 * time.Millisecond

// LockWait is how a run waits for the run lock.
type LockWait struct {
	Max        time.Duration // how long to wait for another run to finish; 0 gives up at once
	StaleAfter time.Duration // end a holder that waited on its client this long
}

// BeginRunWaiting is BeginRun that waits up to w.Max for the run lock, trying it in a new
// transaction each time (so that the run's snapshot is not older than its lock), and ends a
// holder that has been waiting on its own client for w.StaleAfter. It returns ErrLocked when the
// lock is still held after w.Max.
func BeginRunWaiting(ctx context.Context, db *sqlx.DB, w LockWait, log *slog.Logger) (*sqlx.Tx, error) {
	start := time.Now()
	giveUp := start.Add(w.Max)
	waiting := map[holderKey]time.Time{}
	for attempt := 1; ; attempt++ {
		tx, err := BeginRun(ctx, db)
		if err == nil && attempt > 1 {
			log.InfoContext(ctx, "took the run lock after waiting", "waited_seconds", time.Since(start).Seconds())
		}
		if !errors.Is(err, ErrLocked) || !time.Now().Before(giveUp) {
			return tx, err
		}
		if err := endStaleHolder(ctx, db, w.StaleAfter, waiting, log); err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ErrLocked
		case <-time.After(min(lockPoll, time.Until(giveUp))):
		}
	}
}

// holder is the session that holds the run lock, as pg_stat_activity shows it.
type holder struct {
	PID          int     `db:"pid"`
	State        string  `db:"state"`
	WaitEvent    string  `db:"wait_event"`
	XactStart    float64 `db:"xact_start"` // epoch seconds; 0 outside a transaction
	StateSeconds float64 `db:"state_seconds"`
}

// holderKey tells one transaction of one session from the next.
type holderKey struct {
	pid       int
	xactStart float64
}

// waitingOnClient reports a holder inside a transaction that waits for its client: the only way
// the job holds the lock is pg_try_advisory_xact_lock, so such a holder is a run stalled on its job.
func (h holder) waitingOnClient() bool {
	return h.XactStart != 0 && (slices.Contains([]string{"idle in transaction", "idle in transaction (aborted)"}, h.State) ||
		h.WaitEvent == "ClientRead" || h.WaitEvent == "ClientWrite")
}

// clock_timestamp, not now(): now() is the start of the caller's transaction.
const holderSQL = `
	SELECT a.pid, coalesce(a.state, '') AS state, coalesce(a.wait_event, '') AS wait_event,
	       coalesce(extract(epoch FROM a.xact_start)::float8, 0) AS xact_start,
	       coalesce(extract(epoch FROM clock_timestamp() - a.state_change)::float8, 0) AS state_seconds
	FROM pg_catalog.pg_locks AS l
	JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
	WHERE l.locktype = 'advisory' AND l.granted
	  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
	  AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1`

// endStaleHolder looks at the lock's holder and terminates it once it has waited on its client
// for staleAfter: seen continuously by this run's polls, or idle in its transaction that long.
func endStaleHolder(ctx context.Context, db *sqlx.DB, staleAfter time.Duration, waiting map[holderKey]time.Time, log *slog.Logger) error {
	var h holder
	err := db.GetContext(ctx, &h, holderSQL, LockKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // released since the last try
	}
	if err != nil {
		return fmt.Errorf("look up the holder of the run lock: %w", err)
	}
	key := holderKey{h.PID, h.XactStart}
	if !h.waitingOnClient() {
		delete(waiting, key)
		return nil
	}
	first, ok := waiting[key]
	if ok && first.IsZero() {
		return nil // a holder that is not a run: waited for, never ended
	}
	if !ok {
		first = time.Now()
		waiting[key] = first
	}
	stalled := time.Since(first)
	if h.State != "active" {
		stalled = max(stalled, time.Duration(h.StateSeconds*float64(time.Second)))
	}
	if stalled < staleAfter {
		return nil
	}
	var ended []bool
	if err := db.SelectContext(ctx, &ended, terminateRunSQL, h.PID, h.XactStart); err != nil {
		log.WarnContext(ctx, "cannot end the stale holder of the run lock; waiting", "pid", h.PID, "error", err)
		return nil
	}
	if len(ended) == 0 {
		// Someone holds the lock by hand (psql after BEGIN, a manual-commit client): never end a
		// person's session and lose their work; wait for it up to --lock-wait.
		log.WarnContext(ctx, "the run lock is held by a session that is not a run of this job; waiting for it",
			"pid", h.PID, "state", h.State, "wait_event", h.WaitEvent)
		waiting[key] = time.Time{} // say so once per holder transaction
		return nil
	}
	log.WarnContext(ctx, "ended a stale holder of the run lock", "pid", h.PID, "state", h.State,
		"wait_event", h.WaitEvent, "waiting_on_client_seconds", stalled.Seconds(), "ended", ended[0])
	delete(waiting, key)
	return nil
}

// terminateRunSQL ends the holder only if it is, in the same statement, still the same
// transaction of a client session of this job: this run's application_name and role. A
// person's session, even one logged in as the job's role, is never ended.
const terminateRunSQL = `
	SELECT pg_catalog.pg_terminate_backend(a.pid)
	FROM pg_catalog.pg_stat_activity AS a
	WHERE a.pid = $1 AND coalesce(extract(epoch FROM a.xact_start)::float8, 0) = $2
	  AND a.backend_type = 'client backend'
	  AND a.usename = current_user
	  AND a.application_name = pg_catalog.current_setting('application_name')`
