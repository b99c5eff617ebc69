package backfill

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/ops/cli"
	"github.com/tally/uptime/ops/cloud"
)

// report prints how the task ended and what the job said, and returns the job's exit code as
// the tool's (a *cli.Error without a message: the lines above are the explanation).
func (w *watch) report(ctx context.Context, task cloud.Task) error {
	out := w.Stdout
	w.r.LastStatus, w.r.StopCode, w.r.StoppedReason, w.r.ContainerReason = task.LastStatus, task.StopCode, task.StoppedReason, task.ContainerReason
	fmt.Fprintf(out, "task:         %s\n", w.arn)
	fmt.Fprintf(out, "stopped:      %s (%s): %s\n", task.LastStatus, task.StopCode, task.StoppedReason)
	if task.ContainerReason != "" {
		fmt.Fprintf(out, "container:    %s\n", task.ContainerReason)
	}
	fmt.Fprintf(out, "logs:         group %s, stream %s\n", w.t.logGroup, w.stream)
	fmt.Fprintf(out, "              aws logs tail %s --log-stream-names %s --since 1d\n", w.t.logGroup, w.stream)
	if w.r.ConsoleURL != "" {
		fmt.Fprintf(out, "              %s\n", w.r.ConsoleURL)
	}
	if task.ExitCode == nil {
		fmt.Fprintf(out, "exit code:    none\n")
		reason := task.StoppedReason
		if task.ContainerReason != "" {
			reason += "; " + task.ContainerReason
		}
		return cli.Errorf(1, "the job did not run to an exit code (stop code %s): %s.", task.StopCode, reason)
	}
	code := *task.ExitCode
	meaning, _ := contract.Explain(code)
	w.r.ExitCode, w.r.Meaning = task.ExitCode, meaning
	fmt.Fprintf(out, "exit code:    %d: %s\n", code, meaning)
	w.reportSummary(ctx, code)
	if code == 0 {
		return nil
	}
	return &cli.Error{Code: code} // said above: the exit code and its meaning
}

// summaryPattern finds the job's run summary with a filter, when it is not among the stream's
// latest lines.
var summaryPattern = fmt.Sprintf(`{ $.msg = %q }`, contract.SummaryMessage)

// lastSummary is the job's last run summary record in the stream. The summary and the EMF
// record are the job's last two lines, so the stream's latest messages hold it; a filter over
// the whole stream is the fallback for a run whose last lines were something else.
func (w *watch) lastSummary(ctx context.Context) (contract.Summary, bool) {
	msgs, err := w.api.LatestMessages(ctx, w.t.logGroup, w.stream, 50)
	if err != nil {
		w.say("could not read the log stream: %v", err)
		return contract.Summary{}, false
	}
	s, found := parseLast(w, msgs)
	if !found {
		if msgs, err = w.api.FilterMessages(ctx, w.t.logGroup, w.stream, summaryPattern); err != nil {
			w.say("could not search the log stream: %v", err)
			return contract.Summary{}, false
		}
		s, found = parseLast(w, msgs)
	}
	return s, found
}

func parseLast(w *watch, msgs []string) (last contract.Summary, found bool) {
	for _, m := range msgs {
		s, ok, err := contract.ParseSummary([]byte(m))
		if err != nil {
			w.say("%v", err)
			continue
		}
		if ok {
			last, found = s, true
		}
	}
	return last, found
}

func (w *watch) reportSummary(ctx context.Context, code int) {
	out := w.Stdout
	s, found := w.lastSummary(ctx)
	// The job writes its summary before any exit of its own (0-5), but the log driver may
	// deliver it after ECS reports the task stopped: look again, a few polls later.
	for try := 1; !found && code <= contract.ExitHeldBack && try < 3; try++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.o.poll):
		}
		s, found = w.lastSummary(ctx)
	}
	if !found {
		fmt.Fprintf(out, "summary:      no %q record in the log stream (the job did not get that far, or the log is late)\n", contract.SummaryMessage)
		return
	}
	w.r.Summary = &s
	if s.Error != "" {
		fmt.Fprintf(out, "error:        %s\n", s.Error)
	}
	fmt.Fprintf(out, "summary:      %s dry_run=%t duration_seconds=%g\n", s.Counts.Line(s.DryRun), s.DryRun, s.DurationSeconds)
	if s.DryRun {
		// The count the README's first step is for, in words: the record's own name for it is
		// contributions_would_create, which a reader of contributions_created never sees.
		fmt.Fprintf(out, "dry run:      nothing was written; a real run would create %d contributions\n", s.ContributionsCreated)
	}
}

// consoleURL links the log stream in the CloudWatch console (the aws partition only). The
// console's fragment escapes each path part twice, with $ for %.
func consoleURL(taskARN, group, stream string) string {
	parts := strings.Split(taskARN, ":")
	if len(parts) < 4 || parts[1] != "aws" {
		return ""
	}
	region := parts[3]
	esc := func(s string) string { return strings.ReplaceAll(urlComponent(s), "%", "$25") }
	return fmt.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#logsV2:log-groups/log-group/%s/log-events/%s",
		region, region, esc(group), esc(stream))
}

// urlComponent percent-encodes every byte but A-Z a-z 0-9 - _ . ~ (RFC 3986's unreserved).
func urlComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
