package uptime

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The locked phase holds an ACCESS EXCLUSIVE lock on contributions_contribution and an EXCLUSIVE
// lock on leaderboard_leaderboardentry, so that what it reads cannot go stale before the commit:
// the app's writes to either table wait, and so do its reads of the contributions (lockStatements
// says why); reads of the entries do not. Three rules keep those waits short:
//   - the run asks for the locks only when no session in a long transaction holds a conflicting
//     one (pg_locks), so that it never queues, and with it every write behind it, after a long
//     holder; it does outwait the saves in flight, which no run that stops writes can avoid;
//   - each request waits at most lockAttempt, far below deadlock_timeout, and only while no
//     session's deadlock check is near (waiters.go), so that where the run and the app wait on
//     each other the run gives up first and PostgreSQL never picks a victim;
//   - once the locks are held, every statement runs within what is left of the budget
//     (LockedBudget): past it, the phase rolls back to before its locks and is tried again.

// DefaultLockedBudget is how long the locked phase may hold its locks unless the run says
// otherwise: with the time a new request waits, an app write waits well under a second.
const DefaultLockedBudget = 500 * time.Millisecond

// lockAttempt is the longest one request for the locks waits, unless half of deadlock_timeout is
// shorter: long enough to outwait a save in flight, short enough that the saves queued behind
// the request stay well under the app's one-second bound.
const lockAttempt = 250 * time.Millisecond

// lockPause is the longest pause between two looks at the locks' holders.
const lockPause = 100 * time.Millisecond

// BusyError means the app kept the run from finishing its locked phase this time: nothing of the
// attempt is kept, and the caller may try the run again. Holder names the session concerned.
type BusyError struct {
	Reason  string
	Holder  string
	overran bool // the locked phase overran its budget: it may be tried again on its own
}

func (e *BusyError) Error() string {
	if e.Holder == "" {
		return e.Reason
	}
	return e.Reason + ": " + e.Holder
}

// lockedPhase is the run's transaction while it holds its table locks.
type lockedPhase struct {
	tx      *sqlx.Tx
	log     *slog.Logger
	budget  time.Duration
	started time.Time
	// runTimeout is the run's own statement_timeout, restored when the phase ends.
	runTimeout string
}

// lockTables asks for both locks whenever no session in a long transaction holds a conflicting
// one, each time for lockAttempt at most, until it holds them; it gives up only when ctx ends,
// with a BusyError naming the last session in the way. Saves already in flight are outwaited;
// saves that arrive meanwhile wait behind the request, for lockAttempt at most.
func (g Generator) lockTables(ctx context.Context, tx *sqlx.Tx) (*lockedPhase, error) {
	ph := &lockedPhase{tx: tx, log: g.Log, budget: g.LockedBudget}
	if ph.budget <= 0 {
		ph.budget = DefaultLockedBudget
	}
	var deadlockMS float64
	if err := tx.QueryRowxContext(ctx, `
		SELECT extract(epoch FROM current_setting('deadlock_timeout')::interval) * 1000, current_setting('statement_timeout')`).
		Scan(&deadlockMS, &ph.runTimeout); err != nil {
		return nil, fmt.Errorf("read the lock settings: %w", err)
	}
	waitMS := max(min(int(lockAttempt.Milliseconds()), int(deadlockMS/2)), 1)
	wait := strconv.Itoa(waitMS)
	oldest := waiterAge(time.Duration(deadlockMS)*time.Millisecond, time.Duration(waitMS)*time.Millisecond)
	started, pause, last := time.Now(), time.Millisecond, holder{}
	for attempt := 1; ; attempt++ {
		if err := g.gaveWay(); err != nil {
			return nil, err // between attempts the run runs no statement a cancel could stop
		}
		h, ask, err := inTheWay(ctx, tx, oldest)
		if err != nil && ctx.Err() == nil {
			return nil, err
		}
		if ask {
			if err := g.tryLocks(ctx, tx, wait); err == nil {
				ph.started = time.Now()
				g.Log.InfoContext(ctx, "tables locked", "attempts", attempt, "waited_seconds", time.Since(started).Seconds())
				return ph, nil
			} else if !isCode(err, "55P03") && ctx.Err() == nil { // lock_not_available: look again
				return nil, fmt.Errorf("lock the contributions and the leaderboard: %w", err)
			}
		}
		if h.PID != 0 {
			last = h
		}
		select {
		case <-ctx.Done():
			return nil, &BusyError{Reason: fmt.Sprintf("could not lock the contributions and the leaderboard in %d attempts over %.1f s",
				attempt, time.Since(started).Seconds()), Holder: last.String()}
		case <-time.After(rand.N(pause) + time.Millisecond): //nolint:gosec // jitter, not a secret
		}
		pause = min(pause*2, lockPause)
	}
}

// A request queued behind a holder holds every save on the site for as long as the holder goes
// on. The run queues behind an app save in flight (busy, and in a transaction younger than
// longHolder), never behind one left open (idle in its transaction for longIdle) or a long one
// (a batch, a VACUUM, an index build): it looks again later.
const (
	longHolder = 2 * time.Second
	longIdle   = 200 * time.Millisecond
)

// holder is a session holding a lock the run needs.
type holder struct {
	PID             int     `db:"pid"`
	ApplicationName string  `db:"application_name"`
	State           string  `db:"state"`
	Seconds         float64 `db:"seconds"`       // the age of its transaction
	StateSeconds    float64 `db:"state_seconds"` // how long it has been in its state
}

func (h holder) long() bool {
	return h.Seconds >= longHolder.Seconds() ||
		strings.HasPrefix(h.State, "idle in transaction") && h.StateSeconds >= longIdle.Seconds()
}

func (h holder) String() string {
	if h.PID == 0 {
		return ""
	}
	return fmt.Sprintf("pid %d (application_name %q, %s, in a transaction for %.1f s)", h.PID, h.ApplicationName, h.State, h.Seconds)
}

// holderColumns are a holder's columns, from pg_stat_activity joined as a; state is the caller's.
const holderColumns = `a.pid, coalesce(a.application_name, '') AS application_name,
	coalesce(extract(epoch FROM clock_timestamp() - a.xact_start)::float8, 0) AS seconds,
	coalesce(extract(epoch FROM clock_timestamp() - a.state_change)::float8, 0) AS state_seconds`

// conflictingHolderSQL finds another session holding a lock the locked phase would wait for (any
// on the contributions, any but ACCESS SHARE on the entries), the one in the oldest transaction first.
const conflictingHolderSQL = `
	SELECT ` + holderColumns + `,
	       coalesce(a.state, a.backend_type, 'state hidden from the job''s role') AS state
	FROM pg_catalog.pg_locks AS l
	JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
	WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_catalog.pg_backend_pid()
	  AND (l.relation = 'public.contributions_contribution'::regclass
	       OR l.relation = 'public.leaderboard_leaderboardentry'::regclass AND l.mode <> 'AccessShareLock')
	  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
	ORDER BY a.xact_start NULLS LAST
	LIMIT 1`

// conflictingHolder returns the holder in the oldest transaction; a zero holder when there is none.
func conflictingHolder(ctx context.Context, tx *sqlx.Tx) (holder, error) {
	var h holder
	err := tx.GetContext(ctx, &h, conflictingHolderSQL)
	if errors.Is(err, sql.ErrNoRows) {
		return holder{}, nil
	}
	if err != nil {
		return holder{}, fmt.Errorf("look for the holders of the table locks: %w", err)
	}
	return h, nil
}

// tryLocks asks for both locks, waiting at most wait milliseconds, inside a savepoint: a request
// that timed out must not abort the run's transaction.
func (g Generator) tryLocks(ctx context.Context, tx *sqlx.Tx, wait string) error {
	g.pause(true)
	if err := lockOnce(ctx, tx, wait); err != nil {
		g.pause(false)
		return err
	}
	return nil
}

// lockStatements are the locked phase's locks. The contributions are locked against reads too
// (ACCESS EXCLUSIVE): a transaction that read them before the commit and writes after it would act
// on rows the run has changed since, such as the collector of a user delete that read the user's
// contributions and then deletes the user, or a form that asked exists() for a day and then
// inserts it. Such a transaction finishes before the lock is granted, or reads after the commit.
// Page reads wait for the locked phase too, within its budget. The entries stay readable.
var lockStatements = []string{
	"LOCK TABLE public.contributions_contribution IN ACCESS EXCLUSIVE MODE",
	"LOCK TABLE public.leaderboard_leaderboardentry IN EXCLUSIVE MODE",
}

func lockOnce(ctx context.Context, tx *sqlx.Tx, wait string) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT uptime_locked"); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "SELECT set_config('lock_timeout', $1, true)", wait)
	// Always in this order: contributions, then entries, as the app's saves take them.
	for _, lock := range lockStatements {
		if err == nil {
			_, err = tx.ExecContext(ctx, lock)
		}
	}
	if err != nil {
		// Rolled back and released, so that attempts do not pile up savepoints.
		if _, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT uptime_locked; RELEASE SAVEPOINT uptime_locked"); rbErr != nil {
			return fmt.Errorf("roll back to the savepoint after %v: %w", err, rbErr)
		}
		return err
	}
	// The savepoint stays: rolling back to it lets go of the locks and of the locked phase's work.
	return nil
}

// releaseLocks ends a locked phase that overran its budget: back to before its locks, the
// inserts kept.
func (g Generator) releaseLocks(ctx context.Context, tx *sqlx.Tx) error {
	for _, q := range []string{"ROLLBACK TO SAVEPOINT uptime_locked", "RELEASE SAVEPOINT uptime_locked"} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("let go of the table locks: %w", err)
		}
	}
	g.pause(false)
	return nil
}

// ExecContext runs one statement of the locked phase within what is left of its budget.
func (ph *lockedPhase) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := ph.limit(ctx); err != nil {
		return nil, err
	}
	return ph.tx.ExecContext(ctx, query, args...)
}

// QueryRowContext is ExecContext for a statement that returns one row. Should setting the limit
// fail, so does the statement, on the same broken or aborted transaction, and the row says why.
func (ph *lockedPhase) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	_ = ph.limit(ctx)
	return ph.tx.QueryRowContext(ctx, query, args...)
}

// limit gives the next statement what is left of the budget as its statement and lock timeouts.
func (ph *lockedPhase) limit(ctx context.Context) error {
	left := max(ph.budget-ph.held(), time.Millisecond)
	ms := strconv.FormatInt(left.Milliseconds()+1, 10)
	_, err := ph.tx.ExecContext(ctx, "SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $1, true)", ms)
	return err
}

func (ph *lockedPhase) held() time.Duration { return time.Since(ph.started) }

// explain turns a statement stopped by the budget into a BusyError; any other error is the
// run's. Either way the caller rolls the attempt back, which lets go of the locks.
func (ph *lockedPhase) explain(err error) error {
	if !isCode(err, "57014") && !isCode(err, "55P03") { // query_canceled (the budget), lock_not_available
		return err
	}
	return &BusyError{Reason: fmt.Sprintf("the locked phase did not fit its budget of %v (%v)", ph.budget, err), overran: true}
}

// end checks that no session waits for a row the run holds, then puts the run's own timeouts
// back; the caller commits next. A session waiting for a row (a user's delete, or select_for_update,
// meeting the key-share locks of the run's inserts) would go on after the commit into the run's
// new rows: a delete's deferred foreign-key check would then fail the app's transaction. So the run
// gives way instead, and comes back once the app is done.
func (ph *lockedPhase) end(ctx context.Context, g Generator) error {
	if err := g.gaveWay(); err != nil {
		return err
	}
	var h holder
	err := ph.tx.GetContext(ctx, &h, rowWaiterSQL)
	switch {
	case err == nil:
		return &BusyError{Reason: "a session waits for a row the run's inserts refer to", Holder: h.String()}
	case !errors.Is(err, sql.ErrNoRows):
		return ph.explain(fmt.Errorf("look for sessions waiting on the run: %w", err))
	}
	if _, err := ph.tx.ExecContext(ctx, "SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', '0', true)",
		ph.runTimeout); err != nil {
		return fmt.Errorf("end the locked phase: %w", err)
	}
	return nil
}

// rowWaiterSQL finds a client session waiting for a row lock (not a table lock) the run holds.
// It reads pg_locks, which every role may read: pg_stat_activity hides other roles' waits.
const rowWaiterSQL = `
	SELECT ` + holderColumns + `, 'waiting for a ' || l.locktype || ' lock' AS state
	FROM pg_catalog.pg_locks AS l
	JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
	WHERE NOT l.granted AND l.locktype IN ('transactionid', 'tuple') AND coalesce(a.backend_type, 'client backend') = 'client backend'
	  AND pg_catalog.pg_backend_pid() = ANY (pg_catalog.pg_blocking_pids(l.pid))
	LIMIT 1`

func isCode(err error, code string) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && string(pqErr.Code) == code
}
