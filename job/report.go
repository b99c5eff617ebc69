package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/job/config"
	"github.com/tally/uptime/job/uptime"
)

// reporter reports how a run ended: one summary record in the log, the error on stderr, and
// the EMF record the alarms read. Every way a run ends, a usage error and an abandoned rollback
// included, goes through it, so that no run ends unseen by the alarms.
type reporter struct {
	log            *slog.Logger
	stdout, stderr io.Writer
	cfg            config.Config
	started        time.Time
}

// report logs the outcome, writes the EMF record and returns the exit code.
func (r *reporter) report(res uptime.Result, err error, code int) int {
	duration := time.Since(r.started)
	var reason string // the summary alone says why the run failed
	if err != nil {
		res = uptime.Result{} // everything was rolled back
		// No message carries DATABASE_URL: configuration errors never repeat it, and the store
		// names the server by host, port and database only.
		msg := err.Error()
		r.log.Error("run failed", "exit_code", code, "error", msg)
		fmt.Fprintf(r.stderr, "uptime: %s\n", msg)
		reason = msg
	} else if len(res.HeldBack) > 0 { // exit 5: committed, and the on-call wants the why in the same places
		reason = heldBackSentence(res.HeldBack)
		fmt.Fprintf(r.stderr, "uptime: %s\n", reason)
	}
	summary := contract.Summary{ExitCode: code, DryRun: r.cfg.Options.DryRun, RunKind: r.cfg.RunKind,
		DurationSeconds: duration.Seconds(), Error: reason, Counts: counts(res)}
	r.log.Info(contract.SummaryMessage, contract.SummaryFields(summary)...)
	if err := writeEMF(r.stdout, r.metrics(res, code, duration), time.Now()); err != nil {
		fmt.Fprintf(r.stderr, "uptime: write metrics: %v\n", err)
	}
	return code
}

// metrics are the run's figures for CloudWatch. A dry run created nothing, whatever it counted.
func (r *reporter) metrics(res uptime.Result, code int, duration time.Duration) runMetrics {
	dry := r.cfg.Options.DryRun
	created, duplicates, heldBack := res.ContributionsCreated, res.DuplicatesRemoved, int64(len(res.HeldBack))
	if dry {
		created, duplicates, heldBack = 0, 0, 0
	}
	b := currentBuild()
	return runMetrics{
		Environment: r.cfg.Environment,
		RunKind:     r.cfg.RunKind,
		Version:     b.Version,
		Revision:    b.revisionLabel(),
		Succeeded:   contract.Completed(code) && !dry,
		Failed:      code != contract.ExitOK,
		DryRun:      dry,
		ExitCode:    code,
		Duration:    duration,
		Created:     created,
		Users:       res.UsersWithUptime,
		Duplicates:  duplicates,
		HeldBack:    heldBack,
	}
}

// heldBackSentence says how many users were held back and names the first few; the log names
// each ("user held back").
func heldBackSentence(users []uptime.HeldUser) string {
	const shown = 5
	names := make([]string, 0, shown)
	for _, u := range users[:min(len(users), shown)] {
		names = append(names, fmt.Sprintf("%d (%s)", u.ID, u.Email))
	}
	more := ""
	if len(users) > shown {
		more = fmt.Sprintf(" and %d more", len(users)-shown)
	}
	return fmt.Sprintf("completed, %d user(s) held back, named in the log (\"user held back\" records): %s%s; "+
		"some of their missing days have no Uptime multiplier in force, so they got nothing this run",
		len(users), strings.Join(names, ", "), more)
}

// counts are the run's counts for its summary record.
func counts(res uptime.Result) contract.Counts {
	return contract.Counts{
		UsersWithUptime:      res.UsersWithUptime,
		UsersTouched:         res.UsersTouched,
		ContributionsCreated: res.ContributionsCreated,
		DaysSkipped:          res.DaysSkipped,
		EntriesUpdated:       res.EntriesUpdated,
		EntriesCreated:       res.EntriesCreated,
		RanksChanged:         res.RanksChanged,
		DuplicatesRemoved:    res.DuplicatesRemoved,
		MostDaysOneUser:      res.MostDaysOneUser,
		UsersHeldBack:        int64(len(res.HeldBack)),
	}
}
