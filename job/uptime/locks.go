package uptime

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The job shares contributions_contribution and leaderboard_leaderboardentry with the Django app,
// which writes them while the job runs. A real run takes EXCLUSIVE locks on both
// (docs/architecture.md, "Beside the Django app"): the contributions before it reads them, so that
// the missing days and the totals it computes cannot go stale before it commits; the entries
// after its inserts, so that it never waits on an entry's row lock that a writer holds. Plain
// SELECTs still run; writers wait.

// lockRetryPause is the longest pause between two attempts at a table lock. While the job is not
// queued for the lock, the writers queued behind its request go ahead.
const lockRetryPause = 100 * time.Millisecond

// Each attempt at a lock waits for a multiple of the server's deadlock_timeout. A lock request
// queues ahead of later writers, so a long wait would stall the app.
const (
	// Before the contributions lock the job holds nothing a writer needs, so it cannot be in a
	// deadlock; waiting past deadlock_timeout lets its deadlock check cancel an autovacuum of the
	// table, which would otherwise keep the lock from the job for as long as the vacuum runs.
	contributionsWait = 2.0
	// Holding the contributions, the job gives up on the entries before its own deadlock check
	// could run, so that it is the one to let go of a cycle it is part of.
	entriesWait = 0.5
)

// lockTable takes an EXCLUSIVE lock on table, attempt after attempt inside a savepoint (a timed-out
// attempt must not abort the run's transaction), until it has it or ctx ends. Each attempt waits
// at most waitFactor × deadlock_timeout.
func (g Generator) lockTable(ctx context.Context, tx *sqlx.Tx, table string, waitFactor float64) error {
	var deadlockMS float64
	var lockTimeout string
	if err := tx.QueryRowxContext(ctx, `
		SELECT extract(epoch FROM current_setting('deadlock_timeout')::interval) * 1000, current_setting('lock_timeout')`).
		Scan(&deadlockMS, &lockTimeout); err != nil {
		return fmt.Errorf("lock %s: read the lock settings: %w", table, err)
	}
	wait := strconv.Itoa(max(int(deadlockMS*waitFactor), 10))
	started := time.Now()
	for attempt := 1; ; attempt++ {
		err := tryLock(ctx, tx, table, wait)
		if err == nil {
			g.Log.InfoContext(ctx, "table locked", "table", table, "attempts", attempt,
				"waited_seconds", time.Since(started).Seconds())
			return setLockTimeout(ctx, tx, lockTimeout)
		}
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "55P03" { // lock_not_available
			return fmt.Errorf("lock %s: %w", table, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lock %s: gave up after %d attempts: %w", table, attempt, err)
		case <-time.After(rand.N(lockRetryPause) + time.Millisecond): //nolint:gosec // jitter, not a secret
		}
	}
}

func tryLock(ctx context.Context, tx *sqlx.Tx, table, wait string) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT uptime_lock"); err != nil {
		return err
	}
	err := setLockTimeout(ctx, tx, wait)
	if err == nil {
		// The table name is one of the job's own constants, never input.
		_, err = tx.ExecContext(ctx, "LOCK TABLE public."+table+" IN EXCLUSIVE MODE")
	}
	if err != nil {
		if _, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT uptime_lock"); rbErr != nil {
			return fmt.Errorf("roll back to the savepoint after %v: %w", err, rbErr)
		}
		return err
	}
	// Released, the savepoint hands its lock to the transaction.
	_, err = tx.ExecContext(ctx, "RELEASE SAVEPOINT uptime_lock")
	return err
}

func setLockTimeout(ctx context.Context, tx *sqlx.Tx, value string) error {
	if _, err := tx.ExecContext(ctx, "SELECT set_config('lock_timeout', $1, true)", value); err != nil {
		return fmt.Errorf("set lock_timeout: %w", err)
	}
	return nil
}
