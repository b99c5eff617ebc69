package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/job/store"
	"github.com/tally/uptime/job/uptime"
)

// The job's exit codes, short names for the contract's: the infrastructure's alarms and failure
// mail read the same constants.
const (
	exitOK      = contract.ExitOK
	exitRuntime = contract.ExitRuntime
	exitUsage   = contract.ExitUsage
	exitData    = contract.ExitData
	exitLocked  = contract.ExitLocked
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

// execute runs the generator in the run's transaction and commits it, unless this is a dry run.
// An attempt that gave way to the app is tried again, as often as the deadline allows.
func execute(ctx context.Context, cfg config, log *slog.Logger) (uptime.Result, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DBWait, log)
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

func executeOnce(ctx context.Context, db *sqlx.DB, cfg config, log *slog.Logger) (uptime.Result, error) {
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

// exitCode maps how the run ended to the documented exit codes.
func exitCode(ctx context.Context, err error) int {
	var usage *usageError
	var data *uptime.DataError
	var schema *store.SchemaError
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil:
		return exitRuntime
	case errors.Is(err, store.ErrLocked):
		return exitLocked
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &data), errors.As(err, &schema):
		return exitData
	default:
		return exitRuntime
	}
}

// explain puts why the run was cancelled (a signal, the deadline) in front of the error that
// the cancellation caused.
func explain(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	return fmt.Errorf("%w; rolled back (%v)", context.Cause(ctx), err)
}
