package backfill

import (
	"context"
	"fmt"
	"os/user"
	"regexp"
	"strings"
	"time"

	"github.com/tally/uptime/ops/cli"
	"github.com/tally/uptime/ops/cloud"
)

// watch is one started task, from RunTask to its report.
type watch struct {
	Deps
	api    cloud.API
	t      target
	o      options
	r      *result
	arn    string
	id     string
	stream string
}

func (w *watch) say(format string, args ...any) {
	fmt.Fprintf(w.Stderr, "backfill: "+format+"\n", args...)
}

var notStartedBy = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// startedBy names who started the task, as ECS shows it: backfill-<user>.
func (w *watch) startedBy() string {
	who := w.Getenv("USER")
	if who == "" {
		if u, err := user.Current(); err == nil {
			who = u.Username
		}
	}
	if who == "" {
		who = "unknown"
	}
	who = notStartedBy.ReplaceAllString(who, "_")
	return "backfill-" + who[:min(len(who), 100)]
}

// start starts the task and says how to stop it. The call is not cut short by Ctrl-C: a task
// ECS started must be known, to be named in the stop command.
func (w *watch) start(ctx context.Context) error {
	started, err := w.api.RunTask(context.WithoutCancel(ctx), cloud.TaskSpec{
		Cluster: w.t.cluster, TaskDefinition: w.t.taskDef, Container: w.t.container, Command: w.o.flags,
		Subnets: w.t.subnets, SecurityGroup: w.t.group, AssignPublicIP: w.t.publicIP,
		CapacityProvider: w.t.capacity, StartedBy: w.startedBy(),
	})
	if err != nil {
		return cli.Errorf(1, "the task did not start: ECS refused RunTask: %v", err)
	}
	if started.TaskARN == "" {
		reason := started.Failure
		if reason == "" {
			reason = "ECS returned no task and no reason"
		}
		return cli.Errorf(1, "the task did not start: %s.", reason)
	}
	w.arn = started.TaskARN
	w.id = w.arn[strings.LastIndex(w.arn, "/")+1:]
	w.stream = w.t.stream(w.id)
	w.r.TaskARN, w.r.LogStream, w.r.ConsoleURL = w.arn, w.stream, consoleURL(w.arn, w.t.logGroup, w.stream)
	w.say("started task %s; stop it with: %s", w.id, w.stopCommand())
	return nil
}

func (w *watch) stopCommand() string {
	return fmt.Sprintf("aws ecs stop-task --cluster %s --task %s", w.t.cluster, w.id)
}

// interrupted is how Ctrl-C ends the tool once a task runs: the task keeps running (a long
// backfill is not rolled back by a stray keystroke), and the operator is told how to stop it.
func (w *watch) interrupted() error {
	return cli.Errorf(130, "interrupted: task %s keeps running; stop it with: %s", w.id, w.stopCommand())
}

// wait asks ECS every BACKFILL_POLL until the task stopped or BACKFILL_TIMEOUT passed. A
// failed question (throttling, the network) is said and asked again: the task runs on.
func (w *watch) wait(ctx context.Context) (cloud.Task, error) {
	deadline := time.Now().Add(w.o.timeout)
	status := ""
	for {
		task, err := w.api.DescribeTask(ctx, w.t.cluster, w.arn, w.t.container)
		switch {
		case ctx.Err() != nil:
			return cloud.Task{}, w.interrupted()
		case err != nil:
			w.say("could not ask ECS about task %s: %v; still waiting", w.id, err)
		case task.LastStatus == "STOPPED":
			return task, nil
		case task.LastStatus != status:
			status = task.LastStatus
			w.say("task %s is %s; still waiting", w.id, status)
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			if status == "" {
				status = "unknown"
			}
			return cloud.Task{}, cli.Errorf(1, "task %s had not stopped after %s (last status %s); it keeps running. Follow it with: aws logs tail %s --follow --log-stream-names %s",
				w.id, w.o.timeout, status, w.t.logGroup, w.stream)
		}
		select {
		case <-ctx.Done():
			return cloud.Task{}, w.interrupted()
		case <-time.After(min(w.o.poll, remaining)):
		}
	}
}
