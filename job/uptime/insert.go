package uptime

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
)

// insertChunkRows is about how many rows one INSERT statement writes. Each new row queues two
// foreign-key checks in the server process until its statement ends, about 50 bytes a row; in
// chunks of this size that queue stays near 2.5 MB however large the backfill, and the extra
// statements cost about a millisecond each.
const insertChunkRows = 50_000

// progressEvery is how often a long insert logs how far it has got.
const progressEvery = 10 * time.Second

// insert writes the planned contributions in chunks inside the run's transaction, so the run
// stays all-or-nothing while the server's memory stays bounded. The foreign keys are Django's
// DEFERRABLE INITIALLY DEFERRED ones: left deferred, every row's checks would queue until the
// commit, 180 MB of server memory at 3.6M rows. Made immediate, each chunk's checks run, and
// their queue is freed, as its statement ends; the checks are the same ones. Each check locks the
// user's row in KEY SHARE mode: a user row the app has locked (an e-mail change, a delete) makes
// the insert wait, for insertLockWait at most, and the run then tries again later. It returns
// the id ranges that hold this run's rows alone.
func (g Generator) insert(ctx context.Context, tx *sqlx.Tx, opts Options, typeID, planned int64) ([]idRange, error) {
	if _, err := tx.ExecContext(ctx, "SET CONSTRAINTS ALL IMMEDIATE"); err != nil {
		return nil, fmt.Errorf("make the constraints immediate: %w", err)
	}
	// A savepoint, so that after a lock wait that timed out the run can still ask who held it.
	if _, err := tx.ExecContext(ctx, "SELECT set_config('lock_timeout', $1, true)", insertLockWait); err != nil {
		return nil, fmt.Errorf("set lock_timeout: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT uptime_insert"); err != nil {
		return nil, fmt.Errorf("insert contributions: %w", err)
	}
	var pages int64
	if err := tx.GetContext(ctx, &pages,
		`SELECT pg_relation_size('uptime_missing') / current_setting('block_size')::bigint`); err != nil {
		return nil, fmt.Errorf("size the insert: %w", err)
	}
	step := chunkPages(pages, planned)
	var written int64
	var mine []idRange
	lastLog := time.Now()
	for first := int64(0); first < pages; first += step {
		next := first + step
		if next >= pages {
			next = math.MaxUint32 // the last chunk takes whatever follows, should the size have been stale
		}
		var n, lo, hi int64
		err := tx.QueryRowContext(ctx, sqlInsert, opts.Now, typeID, opts.Points, tid(first), tid(next)).Scan(&n, &lo, &hi)
		if err != nil {
			return nil, insertError(ctx, tx, written, planned, err)
		}
		written += n
		if n > 0 && hi-lo+1 == n { // no app row took an id in between
			mine = append(mine, idRange{lo, hi})
		}
		if time.Since(lastLog) >= progressEvery {
			g.Log.InfoContext(ctx, "inserting contributions", "written", written, "planned", planned)
			lastLog = time.Now()
		}
	}
	if written != planned {
		return nil, fmt.Errorf("insert contributions: wrote %d rows, planned %d", written, planned)
	}
	return mine, nil
}

// insertLockWait is the longest an insert waits for a row the app has locked: well below
// deadlock_timeout, so that the run, not the app, is the one to give up.
const insertLockWait = "250"

// insertError says what an insert that failed ran into. A row lock held too long, or a user
// deleted since the plan, means the app is busy with that user: the run tries again later.
func insertError(ctx context.Context, tx *sqlx.Tx, written, planned int64, err error) error {
	switch {
	case isCode(err, "55P03"):
		return &BusyError{Reason: "a user the new contributions refer to stayed locked by another session",
			Holder: rowLocker(ctx, tx).String()}
	case isCode(err, "23503"):
		return &BusyError{Reason: "a user was deleted while the run inserted their days"}
	}
	return fmt.Errorf("insert contributions (%d of %d written): %w", written, planned, err)
}

// rowLocker names the session most likely to hold the row lock an insert waited for: the one in
// the oldest transaction that locks or writes rows of users_user.
func rowLocker(ctx context.Context, tx *sqlx.Tx) holder {
	var h holder
	if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT uptime_insert"); err != nil {
		return h
	}
	_ = tx.GetContext(ctx, &h, `
		SELECT `+holderColumns+`, coalesce(a.state, 'locking users') AS state
		FROM pg_catalog.pg_locks AS l
		JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
		WHERE l.locktype = 'relation' AND l.relation = 'public.users_user'::regclass AND l.granted
		  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
		  AND l.mode IN ('RowShareLock', 'RowExclusiveLock') AND l.pid <> pg_catalog.pg_backend_pid()
		ORDER BY a.xact_start NULLS LAST
		LIMIT 1`)
	return h
}

// chunkPages is how many pages of uptime_missing hold about insertChunkRows planned rows.
func chunkPages(pages, planned int64) int64 {
	if planned <= 0 {
		return max(pages, 1)
	}
	return max(insertChunkRows*pages/planned, 1)
}

// tid is the address of the first row slot on page: ctid >= tid(p) AND ctid < tid(q) selects
// exactly the rows on pages p to q-1.
func tid(page int64) string { return fmt.Sprintf("(%d,0)", page) }
