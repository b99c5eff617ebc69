package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/job/uptime"
)

// reporter reports how a run ended: one summary record in the log, the error on stderr, and
// the EMF record the alarms read. Every way a run ends, a usage error and an abandoned rollback
// included, goes through it, so that no run ends unseen by the alarms.
type reporter struct {
	log            *slog.Logger
	stdout, stderr io.Writer
	cfg            config
	started        time.Time
}

// report logs the outcome, writes the EMF record and returns the exit code.
func (r *reporter) report(res uptime.Result, err error, code int) int {
	duration := time.Since(r.started)
	var reason []any
	if err != nil {
		res = uptime.Result{} // everything was rolled back
		// No message carries DATABASE_URL: configuration errors never repeat it, and the store
		// names the server by host, port and database only.
		msg := err.Error()
		r.log.Error("run failed", "exit_code", code, "error", msg)
		fmt.Fprintf(r.stderr, "uptime: %s\n", msg)
		reason = []any{"error", msg} // the summary alone says why the run failed
	} else if len(res.HeldBack) > 0 { // exit 5: committed, and the on-call wants the why in the same places
		msg := heldBackSentence(res.HeldBack)
		fmt.Fprintf(r.stderr, "uptime: %s\n", msg)
		reason = []any{"error", msg}
	}
	dry := r.cfg.Options.DryRun
	fields := append([]any{"exit_code", code, "dry_run", dry, "run_kind", string(r.cfg.RunKind)}, summaryCounts(res, dry)...)
	r.log.Info("run summary", append(append(fields, "duration_seconds", duration.Seconds()), reason...)...)
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
		Failed:      code != exitOK,
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
		"duplicates_removed", res.DuplicatesRemoved,
		"most_days_one_user", res.MostDaysOneUser,
		"users_held_back", len(res.HeldBack),
	}
}
