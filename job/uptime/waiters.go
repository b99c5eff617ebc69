package uptime

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// PostgreSQL looks for a deadlock once per lock wait, deadlock_timeout after the wait began, and
// the session that looks is the one it cancels. The run's lock requests wait less than
// deadlock_timeout so that, in a cycle the run closes, the run's lock_timeout ends its wait first.
// That holds only for waits younger than the run's: an app session that had waited on another
// for most of deadlock_timeout when the run's request closed a cycle through it looks first and
// is cancelled (seen in CI: an app insert waiting 0.8 s behind two other app sessions, the last
// of them waiting on the run's rows). So the run asks for its locks only while no session has
// waited longer than deadlock_timeout, less the longest its two requests wait, less a margin
// for the scheduler: any cycle it closes then ends with its own lock_timeout.
const waiterMargin = 200 * time.Millisecond

// longWaiterSQL finds a session of this database whose lock wait is older than $1 seconds. waitstart is PostgreSQL
// 14's; on 13, which cannot tell, every waiter counts. waitstart is briefly NULL at a wait's start.
const longWaiterSQL = `
	SELECT ` + holderColumns + `, 'waiting for a lock' AS state
	FROM pg_catalog.pg_locks AS l
	JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
	WHERE NOT l.granted AND l.pid <> pg_catalog.pg_backend_pid()
	  -- only this database's sessions can wait on the run's tables and rows
	  AND a.datid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
	  AND CASE WHEN to_jsonb(l) ? 'waitstart'
	           THEN coalesce((to_jsonb(l) ->> 'waitstart')::timestamptz, clock_timestamp())
	           ELSE '-infinity' END < clock_timestamp() - make_interval(secs => $1)
	LIMIT 1`

// waiterAge is the oldest wait the run may close a cycle through: deadlock_timeout less both
// requests' wait (wait each) and waiterMargin, never below zero.
func waiterAge(deadlock, wait time.Duration) time.Duration {
	return max(deadlock-2*wait-waiterMargin, 0)
}

// longWaiter returns a session whose lock wait is older than age; a zero holder when there is none.
func longWaiter(ctx context.Context, tx *sqlx.Tx, age time.Duration) (holder, error) {
	var h holder
	err := tx.GetContext(ctx, &h, longWaiterSQL, age.Seconds())
	if errors.Is(err, sql.ErrNoRows) {
		return holder{}, nil
	}
	if err != nil {
		return holder{}, fmt.Errorf("look for sessions waiting on locks: %w", err)
	}
	return h, nil
}

// inTheWay tells whether the run may ask for its locks now: not while a session in a long
// transaction holds a conflicting lock, nor while a session's deadlock check is near (oldest). It
// returns the session concerned, named should the run give up, and a short holder the request
// will outwait when it may ask.
func inTheWay(ctx context.Context, tx *sqlx.Tx, oldest time.Duration) (holder, bool, error) {
	h, err := conflictingHolder(ctx, tx)
	if err != nil || h.long() {
		return h, false, err
	}
	w, err := longWaiter(ctx, tx, oldest)
	if err != nil {
		return h, false, err
	}
	if w.PID != 0 {
		return w, false, nil
	}
	return h, true, nil
}
