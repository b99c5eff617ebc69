package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/job/config"
	"github.com/tally/uptime/job/connect"
	"github.com/tally/uptime/job/uptime"
)

// run is the whole job; it returns the exit code. Its steps: the configuration is read (help, version and usage errors end there), then the run
// executes under its deadline and signals and is reported.
func run(args []string, env map[string]string, stdout, stderr io.Writer) int {
	stderr = oneLineWriter{stderr} // server text in an error must not start a line of its own
	r := newReporter(stdout, stderr)
	if code, done := readConfig(r, args, env); done {
		return code
	}
	return runUnderDeadline(r)
}

// newReporter starts the run's clock and its log.
func newReporter(stdout, stderr io.Writer) *reporter {
	b := currentBuild()
	return &reporter{
		// Every record, the first included, says which build wrote it.
		log:     newLogger(stdout).With("version", b.Version, "revision", b.revisionLabel()),
		stdout:  stdout,
		stderr:  stderr,
		started: time.Now(),
	}
}

// readConfig reads the flags and the environment into r.cfg. done is true when the job ends
// here: it printed its help or version, or the configuration was refused (and reported, so the
// alarms see a run that could not start).
func readConfig(r *reporter, args []string, env map[string]string) (code int, done bool) {
	cfg, err := config.Parse(args, env, r.started.UTC())
	r.cfg = cfg
	switch {
	case errors.Is(err, config.ErrHelp):
		fmt.Fprint(r.stdout, config.Help())
		return contract.ExitOK, true
	case errors.Is(err, config.ErrVersion):
		fmt.Fprintln(r.stdout, currentBuild())
		return contract.ExitOK, true
	case err != nil:
		return r.report(uptime.Result{}, err, contract.ExitUsage), true
	}
	for _, name := range connect.RootVariables {
		if env[name] != "" { // set by someone who expected it to count, or hoped it would
			r.log.Warn("variable ignored: the system's root certificates are read from fixed paths", "variable", name)
		}
	}
	return 0, false
}

// runUnderDeadline executes the configured run, cancelled by its deadline or a signal, and
// reports it.
func runUnderDeadline(r *reporter) int {
	cfg := r.cfg
	// If the rollback outlives its grace, the process exits from runContext's goroutine; it still
	// reports the failed run first, so the alarms see it.
	abandon := func(reason error) { r.report(uptime.Result{}, reason, contract.ExitRuntime) }
	ctx, stop := runContext(cfg.Timeout, abandon)
	defer stop()
	r.log.InfoContext(ctx, "run started", "environment", cfg.Environment, "dry_run", cfg.Options.DryRun,
		"points", cfg.Options.Points, "force", cfg.Options.Force, "users", len(cfg.Options.Users),
		"from", dayOrEmpty(cfg.Options.From), "to", dayOrEmpty(cfg.Options.To), "timeout", cfg.Timeout.String())
	res, err := executeRecovering(ctx, cfg, r.log)
	return r.report(res, withCancelCause(ctx, err), exitCode(ctx, res, err))
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
