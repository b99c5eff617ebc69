package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tally/uptime/internal/contract"
)

// shutdownGrace is how long a cancelled run may take to roll back before the process exits
// anyway; PostgreSQL rolls back a vanished client's transaction by itself.
const shutdownGrace = 10 * time.Second

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
		exitProcess(contract.ExitRuntime)
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
