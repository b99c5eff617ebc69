// Command job is the uptime job's container entrypoint: it reads its flags and environment,
// runs the uptime generator in one transaction against DATABASE_URL, logs JSON, reports one
// CloudWatch EMF record, and exits with a code that ECS reports.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
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

// shutdownGrace is how long a cancelled run may take to roll back before the process exits
// anyway; PostgreSQL rolls back a vanished client's transaction by itself.
const shutdownGrace = 10 * time.Second

func main() {
	stdout, stderr := newBoundedWriter(os.Stdout), newBoundedWriter(os.Stderr)
	exitProcess = func(code int) {
		deadline := time.Now().Add(flushLimit)
		stdout.Flush(time.Until(deadline))
		stderr.Flush(time.Until(deadline))
		os.Exit(code)
	}
	exitProcess(run(os.Args[1:], environ(), stdout, stderr))
}

// exitProcess ends the process with code once the output has been written, or has had
// flushLimit to be.
var exitProcess = os.Exit

func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// run is the whole job; it returns the exit code.
func run(args []string, env map[string]string, stdout, stderr io.Writer) int {
	if code, ok := toolMode(args, env, stdout, stderr); ok {
		return code
	}
	started := time.Now()
	b := currentBuild()
	// Every record, the first included, says which build wrote it.
	log := newLogger(stdout).With("version", b.Version, "revision", b.revisionLabel())

	cfg, err := parseConfig(args, env, started.UTC())
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, helpText)
		return exitOK
	}
	if errors.Is(err, errVersion) {
		fmt.Fprintln(stdout, b)
		return exitOK
	}
	if err != nil {
		return finish(log, stdout, stderr, cfg, started, uptime.Result{}, err, exitUsage)
	}

	// If the rollback outlives its grace, the process exits from runContext's goroutine; it still
	// reports the failed run first, so the alarms see it.
	abandon := func(reason error) {
		finish(log, stdout, stderr, cfg, started, uptime.Result{}, reason, exitRuntime)
	}
	ctx, stop := runContext(cfg.Timeout, abandon)
	defer stop()
	log.InfoContext(ctx, "run started", "environment", cfg.Environment, "dry_run", cfg.Options.DryRun,
		"points", cfg.Options.Points, "force", cfg.Options.Force, "users", len(cfg.Options.Users),
		"from", dayOrEmpty(cfg.Options.From), "to", dayOrEmpty(cfg.Options.To), "timeout", cfg.Timeout.String())
	res, err := execute(ctx, cfg, log)
	return finish(log, stdout, stderr, cfg, started, res, explain(ctx, err), exitCode(ctx, err))
}

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

// finish logs the outcome, writes the EMF record and returns the exit code.
func finish(log *slog.Logger, stdout, stderr io.Writer, cfg config, started time.Time,
	res uptime.Result, err error, code int) int {
	duration := time.Since(started)
	var reason []any
	if err != nil {
		res = uptime.Result{} // everything was rolled back
		// No message carries DATABASE_URL: configuration errors never repeat it, and the store
		// names the server by host, port and database only.
		msg := err.Error()
		log.Error("run failed", "exit_code", code, "error", msg)
		fmt.Fprintf(stderr, "uptime: %s\n", msg)
		reason = []any{"error", msg} // the summary alone says why the run failed
	}
	dry := cfg.Options.DryRun
	fields := append([]any{"exit_code", code, "dry_run", dry, "run_kind", string(cfg.RunKind)}, summaryCounts(res, dry)...)
	log.Info("run summary", append(append(fields, "duration_seconds", duration.Seconds()), reason...)...)
	created := res.ContributionsCreated
	if dry {
		created = 0
	}
	b := currentBuild()
	m := runMetrics{
		Environment: cfg.Environment,
		RunKind:     cfg.RunKind,
		Version:     b.Version,
		Revision:    b.revisionLabel(),
		Succeeded:   code == exitOK && !dry,
		Failed:      code != exitOK,
		DryRun:      dry,
		ExitCode:    code,
		Duration:    duration,
		Created:     created,
		Users:       res.UsersWithUptime,
	}
	if err := writeEMF(stdout, m, time.Now()); err != nil {
		fmt.Fprintf(stderr, "uptime: write metrics: %v\n", err)
	}
	return code
}

// summaryCounts are the run's counts for its summary record. A dry run wrote nothing, so its
// counts of writes are named for what a real run would do ("contributions_would_create"),
// never as if they had happened.
func summaryCounts(res uptime.Result, dry bool) []any {
	write := func(did, would string) string {
		if dry {
			return would
		}
		return did
	}
	return []any{
		"users_with_uptime", res.UsersWithUptime,
		"users_touched", res.UsersTouched,
		write("contributions_created", "contributions_would_create"), res.ContributionsCreated,
		"days_skipped", res.DaysSkipped,
		write("leaderboard_entries_updated", "leaderboard_entries_would_update"), res.EntriesUpdated,
		write("leaderboard_entries_created", "leaderboard_entries_would_create"), res.EntriesCreated,
		write("ranks_changed", "ranks_would_change"), res.RanksChanged,
	}
}

// runContext is cancelled by SIGTERM or SIGINT (ECS stops a task with SIGTERM) and by the
// run's deadline, with the reason as its cause. Once cancelled, the run has shutdownGrace to
// roll back; a second signal or the end of the grace ends the process at once, after abandon
// has reported the run.
func runContext(timeout time.Duration, abandon func(reason error)) (context.Context, func()) {
	base, cancel := context.WithCancelCause(context.Background())
	ctx, cancelTimeout := context.WithTimeoutCause(base, timeout,
		fmt.Errorf("the run's deadline of %s passed", timeout))
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-signals:
			cancel(fmt.Errorf("stopped by %s", signalName(sig)))
		case <-ctx.Done():
		case <-done:
			return
		}
		var reason error
		select {
		case <-done:
			return
		case sig := <-signals:
			reason = fmt.Errorf("%w; %s again, so the job exits without waiting for the rollback (the server rolls back a vanished client's transaction)",
				context.Cause(ctx), signalName(sig))
		case <-time.After(shutdownGrace):
			reason = fmt.Errorf("%w; the rollback did not finish within %s, so the job exits (the server rolls back a vanished client's transaction)",
				context.Cause(ctx), shutdownGrace)
		}
		abandon(reason)
		exitProcess(exitRuntime)
	}()
	return ctx, func() {
		close(done)
		signal.Stop(signals)
		cancelTimeout()
		cancel(nil)
	}
}

// signalName is the name an operator knows a signal by: ECS "sends SIGTERM", not "terminated".
func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return sig.String()
}

// newLogger writes JSON records to w.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil))
}

func dayOrEmpty(d time.Time) string {
	if d.IsZero() {
		return ""
	}
	return d.Format(uptime.DayLayout)
}
