// Command job is the uptime job's container entrypoint: it reads its flags and environment,
// runs the uptime generator in one transaction against DATABASE_URL, logs JSON, reports one
// CloudWatch EMF record, and exits with a code that ECS reports.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tally/uptime/job/connect"
	"github.com/tally/uptime/job/uptime"
)

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

// run is the whole job; it returns the exit code. Its steps: a tool mode answers and exits;
// otherwise the configuration is read (help, version and usage errors end there), then the run
// executes under its deadline and signals and is reported.
func run(args []string, env map[string]string, stdout, stderr io.Writer) int {
	stderr = oneLineWriter{stderr} // server text in an error must not start a line of its own
	if code, ok := toolMode(args, env, stdout, stderr); ok {
		return code
	}
	r := newReporter(stdout, stderr)
	if code, done := configure(r, args, env); done {
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

// configure reads the flags and the environment into r.cfg. done is true when the job ends
// here: it printed its help or version, or the configuration was refused (and reported, so the
// alarms see a run that could not start).
func configure(r *reporter, args []string, env map[string]string) (code int, done bool) {
	cfg, err := parseConfig(args, env, r.started.UTC())
	r.cfg = cfg
	switch {
	case errors.Is(err, errHelp):
		fmt.Fprint(r.stdout, helpText)
		return exitOK, true
	case errors.Is(err, errVersion):
		fmt.Fprintln(r.stdout, currentBuild())
		return exitOK, true
	case err != nil:
		return r.report(uptime.Result{}, err, exitUsage), true
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
	abandon := func(reason error) { r.report(uptime.Result{}, reason, exitRuntime) }
	ctx, stop := runContext(cfg.Timeout, abandon)
	defer stop()
	r.log.InfoContext(ctx, "run started", "environment", cfg.Environment, "dry_run", cfg.Options.DryRun,
		"points", cfg.Options.Points, "force", cfg.Options.Force, "users", len(cfg.Options.Users),
		"from", dayOrEmpty(cfg.Options.From), "to", dayOrEmpty(cfg.Options.To), "timeout", cfg.Timeout.String())
	res, err := executeRecovering(ctx, cfg, r.log)
	return r.report(res, explain(ctx, err), exitCode(ctx, res, err))
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
