package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/job/config"
	"github.com/tally/uptime/job/store"
	"github.com/tally/uptime/job/uptime"
)

// Transient failures (a serialization failure, a deadlock, a dropped connection) are retried
// this many times in all, inside the run's deadline. A retry is always safe: the run is all or
// nothing, and one that did commit leaves the next attempt nothing to do.
const maxAttempts = 3

// busyPause is the first pause after the run gave way to the app; it doubles up to busyPauseMax.
const (
	busyPause    = 100 * time.Millisecond
	busyPauseMax = 5 * time.Second
)

// panicError is a panic in the run: a bug. It ends the run like any runtime failure (exit 1,
// rolled back by the deferred Rollback and Close the panic unwound through), so that the run is
// reported and the alarms see it; left alone, the Go runtime would exit 2, the code that tells the
// on-call "configuration; retrying will not help", with no summary and no metrics record.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string {
	return fmt.Sprintf("the job panicked (a bug; the stack is in the \"run panicked\" record): %v", e.value)
}

// executeRecovering is execute with a panic on the run's goroutine turned into a *panicError, its
// stack logged. A panic on another goroutine, or a fatal error of the Go runtime (out of memory,
// a stack overflow), cannot be recovered: the process still exits 2 (docs/reliability.md).
func executeRecovering(ctx context.Context, cfg config.Config, log *slog.Logger) (res uptime.Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			p := &panicError{value: v, stack: debug.Stack()}
			log.ErrorContext(ctx, "run panicked", "panic", fmt.Sprint(v), "stack", string(p.stack))
			res, err = uptime.Result{}, p
		}
	}()
	return execute(ctx, cfg, log)
}

// execute runs the generator in the run's transaction and commits it, unless this is a dry run.
// An attempt that gave way to the app is tried again, as often as the deadline allows.
func execute(ctx context.Context, cfg config.Config, log *slog.Logger) (uptime.Result, error) {
	db, err := store.Open(ctx, cfg.Target, cfg.DBWait, log)
	if err != nil {
		return uptime.Result{}, err
	}
	defer db.Close()
	backoff, pause := time.Second, busyPause
	var busy error // why the run last gave way: what kept it, should the deadline pass
	for attempt := 1; ; {
		res, err := executeOnce(ctx, db, cfg, log)
		wait := backoff
		switch {
		case err == nil:
			logUsers(ctx, log, res.Users)
			logHeldBack(ctx, log, res.HeldBack)
			return res, nil
		case ctx.Err() != nil && busy != nil:
			return res, busy
		case ctx.Err() != nil:
			return res, err
		case gaveWay(err):
			busy, wait, pause = err, jitter(pause), min(pause*2, busyPauseMax)
			log.WarnContext(ctx, "gave way to the app; trying again", "retry_in", wait.String(), "reason", err.Error())
		case attempt < maxAttempts && store.Transient(err):
			attempt, backoff = attempt+1, backoff*2
			log.WarnContext(ctx, "transient failure; retrying the run", "attempt", attempt-1, "retry_in", wait.String(), "error", err)
		default:
			return res, err
		}
		select {
		case <-ctx.Done():
			return uptime.Result{}, cmp.Or(busy, err)
		case <-time.After(wait):
		}
	}
}

func executeOnce(ctx context.Context, db *sqlx.DB, cfg config.Config, log *slog.Logger) (uptime.Result, error) {
	tx, err := store.BeginRunWaiting(ctx, db, store.LockWait{Max: cfg.LockWait, StaleAfter: store.StaleAfter}, log)
	if err != nil {
		return uptime.Result{}, err
	}
	defer tx.Rollback() // after Commit, a no-op
	watch, err := store.StartYielding(ctx, db, tx, log)
	if err != nil {
		return uptime.Result{}, err
	}
	defer watch.Close()
	if err := store.CheckSchema(ctx, tx); err != nil {
		return uptime.Result{}, watch.GaveWay(err)
	}
	gen := uptime.Generator{Log: log, Watch: watch, LockedBudget: cfg.LockedBudget}
	res, err := gen.Run(ctx, tx, cfg.Options)
	if err != nil {
		return uptime.Result{}, watch.GaveWay(err)
	}
	beforeCommit()
	if cfg.Options.DryRun {
		return res, nil
	}
	if err := tx.Commit(); err != nil {
		return uptime.Result{}, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

// gaveWay reports an attempt abandoned so that the app could go on.
func gaveWay(err error) bool {
	var yielded *store.YieldError
	var busy *uptime.BusyError
	return errors.As(err, &yielded) || errors.As(err, &busy)
}

// jitter is a random wait of up to d, so that the run does not come back in step with a writer.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter, not a secret
}

// logUsers writes --verbose's records, once the run's transaction has ended: a slow reader of
// the log must never hold the run's locks.
func logUsers(ctx context.Context, log *slog.Logger, users []uptime.UserDays) {
	for _, u := range users {
		log.InfoContext(ctx, "user", "email", u.Email, "new_days", u.Days,
			"first_day", u.FirstDay.Format(uptime.DayLayout), "last_day", u.LastDay.Format(uptime.DayLayout))
	}
}

// logHeldBack names each held-back user, once the run's transaction has ended, with the reason
// as the record's error: the failure mail's log link shows that field.
func logHeldBack(ctx context.Context, log *slog.Logger, users []uptime.HeldUser) {
	for _, u := range users {
		log.WarnContext(ctx, "user held back", "user_id", u.ID, "email", u.Email,
			"start_day", u.StartDay.Format(uptime.DayLayout), "first_uncovered_day", u.FirstUncovered.Format(uptime.DayLayout),
			"uncovered_days", u.UncoveredDays, "error", u.Reason())
	}
}

// beforeCommit runs between the run's work and its commit. It does nothing; the test build
// (tag uptime_crash, crash_tag.go) crashes there, to show how a crash mid-run ends.
var beforeCommit = func() {}

// exitCode maps how the run ended to the documented exit codes. A run that ended without error
// but held users back completed, and still wants a look: exit 5.
func exitCode(ctx context.Context, res uptime.Result, err error) int {
	var usage *config.UsageError
	var data *uptime.DataError
	var schema *store.SchemaError
	var crash *panicError
	switch {
	case err == nil && len(res.HeldBack) > 0:
		return contract.ExitHeldBack
	case err == nil:
		return contract.ExitOK
	case errors.As(err, &crash): // a bug, not the configuration: retrying may well work
		return contract.ExitRuntime
	case ctx.Err() != nil:
		return contract.ExitRuntime
	case errors.Is(err, store.ErrLocked):
		return contract.ExitLocked
	case errors.As(err, &usage):
		return contract.ExitUsage
	case errors.As(err, &data), errors.As(err, &schema):
		return contract.ExitData
	default:
		return contract.ExitRuntime
	}
}

// withCancelCause puts why the run was cancelled (a signal, the deadline) in front of the error that
// the cancellation caused.
func withCancelCause(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	return fmt.Errorf("%w; rolled back (%v)", context.Cause(ctx), err)
}
