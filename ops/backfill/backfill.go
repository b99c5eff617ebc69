// Package backfill is the operator tool's backfill command: one run of the uptime job, now, in
// an environment's ECS cluster, with the flags given; it waits for the task to stop and exits
// with the job's exit code. Usage says what an operator sees.
package backfill

import (
	"context"
	"fmt"
	"io"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/job/config"
	"github.com/tally/uptime/ops/cli"
	"github.com/tally/uptime/ops/cloud"
)

// Deps are what a backfill talks to; main wires the real ones, tests their stand-ins.
type Deps struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// AWS connects; it is called only once the arguments and flags passed their checks.
	AWS      func(context.Context) (cloud.API, error)
	Terminal Terminal
	// Effective is the job's flag check (config.Effective when nil).
	Effective func([]string, map[string]string) ([]config.Setting, error)
}

// Run runs the command with args (after "backfill") and returns the tool's exit status. ctx
// ends on Ctrl-C: the tool then exits 130 and leaves a started task running.
func Run(ctx context.Context, args []string, d Deps) int {
	if d.Effective == nil {
		d.Effective = config.Effective
	}
	o, help, err := parseArgs(args, d.Getenv)
	if help {
		fmt.Fprint(d.Stdout, Usage())
		return 0
	}
	r := &result{Environment: o.env, Flags: append([]string{}, o.flags...)}
	if err == nil {
		err = run(ctx, d, o, r)
	}
	// Ctrl-C before a task started cuts an AWS call short: that is the interrupt, not the
	// call's error (once a task runs, wait says how to stop it).
	if err != nil && ctx.Err() != nil && r.TaskARN == "" {
		err = cli.Errorf(130, "interrupted: no task was started.")
	}
	code := cli.Exit(d.Stderr, "backfill", err)
	if o.resultJSON != "" {
		r.Status = code
		if err != nil {
			r.Message = err.Error()
		}
		if werr := r.write(o.resultJSON); werr != nil {
			fmt.Fprintf(d.Stderr, "backfill: %v\n", werr)
		}
	}
	return code
}

// run is the workflow: nothing reaches AWS before the flags pass the job's own check, and no
// task starts before the settings are shown and, for production, confirmed.
func run(ctx context.Context, d Deps, o options, r *result) error {
	// A typo fails here, before any AWS call; the check is repeated with the task's defaults.
	if _, err := checkFlags(d.Effective, o.flags, map[string]string{}); err != nil {
		return err
	}
	// Production without --yes and without a terminal is refused before any AWS call too; a
	// protected stack of another name is known only once it is read (confirm).
	if o.env == "prod" && !o.yes && !d.Terminal.Available() {
		return noTerminal(contract.StackName(o.env))
	}
	api, err := d.AWS(ctx)
	if err != nil {
		return cli.Errorf(2, "%v", err)
	}
	t, err := readTarget(ctx, api, o)
	if err != nil {
		return err
	}
	r.Stack, r.Cluster, r.LogGroup = t.stack, t.cluster, t.logGroup
	settings, err := checkFlags(d.Effective, o.flags, t.jobEnviron)
	if err != nil {
		return err
	}
	printSettings(d.Stdout, o, t, settings)
	if err := confirm(ctx, d, o, t); err != nil {
		return err
	}
	w := &watch{Deps: d, api: api, t: t, o: o, r: r}
	if err := w.start(ctx); err != nil {
		return err
	}
	task, err := w.wait(ctx)
	if err != nil {
		return err
	}
	return w.report(ctx, task)
}
