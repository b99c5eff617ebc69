package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// execute runs the generator in the run's transaction and commits it, unless this is a dry run.
func execute(ctx context.Context, cfg config, log *slog.Logger) (uptime.Result, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DBWait, log)
	if err != nil {
		return uptime.Result{}, err
	}
	defer db.Close()
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		res, err := executeOnce(ctx, db, cfg, log)
		if err == nil || attempt == maxAttempts || ctx.Err() != nil || !store.Transient(err) {
			return res, err
		}
		log.WarnContext(ctx, "transient failure; retrying the run", "attempt", attempt, "retry_in", backoff.String(), "error", err)
		select {
		case <-ctx.Done():
			return uptime.Result{}, err
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

func executeOnce(ctx context.Context, db *sqlx.DB, cfg config, log *slog.Logger) (uptime.Result, error) {
	tx, err := store.BeginRunWaiting(ctx, db, store.LockWait{Max: cfg.LockWait, StaleAfter: store.StaleAfter}, log)
	if err != nil {
		return uptime.Result{}, err
	}
	defer tx.Rollback() // after Commit, a no-op
	if err := store.CheckSchema(ctx, tx); err != nil {
		return uptime.Result{}, err
	}
	res, err := uptime.Generator{Log: log}.Run(ctx, tx, cfg.Options)
	if err != nil {
		return uptime.Result{}, err
	}
	if cfg.Options.DryRun {
		return res, nil
	}
	if err := tx.Commit(); err != nil {
		return uptime.Result{}, fmt.Errorf("commit: %w", err)
	}
	return res, nil
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
