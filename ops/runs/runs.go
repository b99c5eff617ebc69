// Package runs is the operator tool's runs command: the last runs of the job in an
// environment, newest first, from the job's "run summary" records (CloudWatch Logs Insights),
// each read by contract.ParseSummary, the one reader of that record.
package runs

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/ops/cli"
	"github.com/tally/uptime/ops/cloud"
)

// Usage is the runs command's --help.
const Usage = `Usage: scripts/runs.sh ENV [N]
       (the same as: go run ./ops runs ENV [N])

Lists the last N runs (default 10, at most 1000) of the job in the log group
/tally/uptime/ENV: start (UTC), duration in seconds, exit code, run kind
(scheduled or manual), dry run, contributions created (a dry run's: would
create), users touched, the job's version and revision, and the error sentence
of a failed run.

  runs.sh prod
  runs.sh staging 30

Environment:
  AWS_PROFILE, AWS_REGION   which account and region (the AWS CLI's usual rules)
  RUNS_DAYS                 how far back to look, in days (default 14)
  RUNS_WAIT                 how long to wait for the query, in seconds (default 60)
`

// Deps are what the command talks to.
type Deps struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	AWS            func(context.Context) (cloud.API, error)
	Now            func() time.Time
	Poll           time.Duration // between two looks at the query (default 1s)
}

type options struct {
	env               string
	count, days, wait int
}

var upTo1000 = regexp.MustCompile(`^[1-9][0-9]{0,3}$`)

func parse(args []string, getenv func(string) string) (o options, err error) {
	if len(args) < 1 || len(args) > 2 {
		return o, cli.Errorf(2, "give an environment and, optionally, how many runs; see --help")
	}
	o.env = args[0]
	if err := contract.CheckEnvironmentName(o.env); err != nil {
		return o, cli.Errorf(2, "%v", err)
	}
	count := "10"
	if len(args) == 2 {
		count = args[1]
	}
	for _, v := range []struct {
		name, value, def string
		to               *int
	}{{"N", count, "10", &o.count}, {"RUNS_DAYS", getenv("RUNS_DAYS"), "14", &o.days}, {"RUNS_WAIT", getenv("RUNS_WAIT"), "60", &o.wait}} {
		if v.value == "" {
			v.value = v.def
		}
		n, convErr := strconv.Atoi(v.value)
		if !upTo1000.MatchString(v.value) || convErr != nil || n > 1000 {
			return o, cli.Errorf(2, "%s must be a whole number from 1 to 1000, not %s", v.name, v.value)
		}
		*v.to = n
	}
	return o, nil
}

// Run runs the command with args (after "runs") and returns the tool's exit status.
func Run(ctx context.Context, args []string, d Deps) int {
	for _, a := range args {
		if a == "-h" || a == "--help" {
			fmt.Fprint(d.Stdout, Usage)
			return 0
		}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Poll == 0 {
		d.Poll = time.Second
	}
	o, err := parse(args, d.Getenv)
	if err == nil {
		err = list(ctx, d, o)
	}
	return cli.Exit(d.Stderr, "runs", err)
}

// list runs the query and prints its rows.
func list(ctx context.Context, d Deps, o options) error {
	api, err := d.AWS(ctx)
	if err != nil {
		return cli.Errorf(2, "%v", err)
	}
	group := contract.LogGroupName(o.env)
	// The record's whole line comes back, for ParseSummary: the fields a dry run names
	// differently are read the one way the job writes them.
	query := fmt.Sprintf("filter msg = %q\n| fields @timestamp, @message\n| sort @timestamp desc\n| limit %d", contract.SummaryMessage, o.count)
	now := d.Now()
	id, err := api.StartQuery(ctx, group, query, now.Add(-time.Duration(o.days)*24*time.Hour), now)
	if err != nil {
		return cli.Errorf(1, "could not start the Logs Insights query on %s: %v", group, err)
	}
	rows, err := results(ctx, d, api, id, o.wait)
	if err != nil {
		return cli.Errorf(1, "the Logs Insights query on %s %v", group, err)
	}
	if len(rows) == 0 {
		fmt.Fprintf(d.Stdout, "No run summary in %s in the last %d days.\n", group, o.days)
		return nil
	}
	printRows(d, rows)
	return nil
}

// results waits for the query, looking once per Poll, up to wait looks.
func results(ctx context.Context, d Deps, api cloud.API, id string, wait int) ([]map[string]string, error) {
	status := "Scheduled"
	for i := 0; i < wait; i++ {
		s, rows, err := api.QueryResults(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("could not be read: %w", err)
		}
		if status = s; status != "Scheduled" && status != "Running" {
			if status != "Complete" {
				break
			}
			return rows, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("was not waited for: %w", ctx.Err())
		case <-time.After(d.Poll):
		}
	}
	return nil, fmt.Errorf("ended %s; try again, or raise RUNS_WAIT", status)
}

const format = "%-23s %9s %4s %-9s %-5s %7s %6s %-12s %-12s %s\n"

func printRows(d Deps, rows []map[string]string) {
	fmt.Fprintf(d.Stdout, format, "started", "seconds", "exit", "kind", "dry", "created", "users", "version", "revision", "error")
	for _, row := range rows {
		s, ok, err := contract.ParseSummary([]byte(row["@message"]))
		if !ok || err != nil {
			fmt.Fprintf(d.Stderr, "runs: a record that is not the job's run summary (%v): %.200s\n", err, row["@message"])
			continue
		}
		started := row["@timestamp"]
		if at, err := time.Parse("2006-01-02 15:04:05.000", started); err == nil {
			// The summary is the run's last record; its time less the duration is the start.
			started = at.Add(-time.Duration(s.DurationSeconds * float64(time.Second))).Format(time.DateTime)
		}
		revision := s.Revision[:min(12, len(s.Revision))]
		fmt.Fprintf(d.Stdout, format, started, strconv.FormatFloat(s.DurationSeconds, 'f', 1, 64), strconv.Itoa(s.ExitCode), s.RunKind,
			strconv.FormatBool(s.DryRun), strconv.FormatInt(s.ContributionsCreated, 10), strconv.FormatInt(s.UsersTouched, 10),
			s.Version, revision, s.Error)
	}
}
