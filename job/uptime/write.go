package uptime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/tally/uptime/internal/leaderboard"
)

// A real run writes in two steps (docs/architecture.md, "Beside the Django app"). First it inserts
// its planned days like any app save, holding no table lock an app write waits for. Then, in the
// locked phase, it takes EXCLUSIVE locks on the contributions and the leaderboard entries for a
// budget well under a second: it catches up with what the app committed since the scan, keeps one
// Uptime contribution per doubled day, sets the totals and ranks, and the caller commits. If the
// phase does not fit its budget it rolls back to before its locks and the caller tries the run
// again.

// plan is what the read-only part of the run hands to the writing part.
type plan struct {
	result    Result
	scanMaxID int64 // the highest contribution id before the scan
}

// write inserts the planned contributions, then reconciles and refreshes in the locked phase.
func (g Generator) write(ctx context.Context, tx *sqlx.Tx, opts Options, typ uptimeType, p plan) (Result, error) {
	res := p.result
	var mine []idRange
	if res.ContributionsCreated > 0 {
		var err error
		if mine, err = g.insert(ctx, tx, opts, typ.ID, res.ContributionsCreated); err != nil {
			return res, err
		}
		g.Log.InfoContext(ctx, "contributions inserted", "count", res.ContributionsCreated)
	}
	if _, err := tx.ExecContext(ctx, sqlNewPoints); err != nil {
		return res, fmt.Errorf("sum the new days' points: %w", err)
	}
	if err := analyze(ctx, tx, "uptime_new_points"); err != nil {
		return res, err
	}
	// What the locked phase needs, prepared here so that its budget is spent on the tables alone.
	unreferenced, err := unreferencedClause(ctx, tx)
	if err != nil {
		return res, err
	}
	work := lockedWork{opts: opts, typeID: typ.ID, ranges: readAgain(p.scanMaxID, mine), unreferenced: unreferenced}
	for pause := time.Millisecond; ; pause = min(pause*4, lockPause*10) {
		done, err := g.lockedPhase(ctx, tx, work, &res)
		var busy *BusyError
		if !errors.As(err, &busy) || !busy.overran {
			return res, err
		}
		if yielded := g.gaveWay(); yielded != nil {
			return res, yielded // the cancel was the watch's: the whole attempt gives way
		}
		// The step overran its budget: let go of the table locks (the inserts stay) and try the
		// step again shortly; an app session that waits on the inserts' row locks meanwhile makes
		// the watch give way, and the whole run starts again.
		if err := g.releaseLocks(ctx, tx); err != nil {
			return res, err
		}
		g.Log.WarnContext(ctx, "the locked phase did not fit its budget; trying it again", "error", err.Error())
		select {
		case <-ctx.Done():
			return res, err
		// At least as long as the locks were held, so that the saves they queued drain first.
		case <-time.After(rand.N(pause) + done): //nolint:gosec // jitter, not a secret
		}
	}
}

// lockedPhase takes the table locks and does the run's last step under them, within the budget:
// catch up, remove doubled days, set totals and ranks. It returns how long the locks were held.
// lockedWork is what the locked phase works from.
type lockedWork struct {
	opts         Options
	typeID       int64
	ranges       []idRange // the contribution ids to read again (readAgain)
	unreferenced string    // SQL: a contribution nothing refers to (unreferencedClause)
}

func (g Generator) lockedPhase(ctx context.Context, tx *sqlx.Tx, w lockedWork, res *Result) (time.Duration, error) {
	// From here until the caller's commit, the budget bounds what the app waits.
	ph, err := g.lockTables(ctx, tx)
	if err != nil {
		return 0, err
	}
	removed, err := ph.reconcile(ctx, w)
	if err != nil {
		return ph.held(), err
	}
	changes, err := leaderboard.Refresh(ctx, ph, w.opts.Now, sqlPoints, w.typeID)
	if err != nil {
		return ph.held(), ph.explain(err)
	}
	if err := ph.end(ctx, g); err != nil {
		return ph.held(), err
	}
	res.DuplicatesRemoved = removed.all
	res.ContributionsCreated -= removed.ours
	res.EntriesUpdated, res.EntriesCreated, res.RanksChanged = changes.EntriesUpdated, changes.EntriesCreated, changes.RanksChanged
	g.Log.InfoContext(ctx, "leaderboards refreshed", "entries_updated", res.EntriesUpdated,
		"entries_created", res.EntriesCreated, "ranks_changed", res.RanksChanged,
		"duplicates_removed", res.DuplicatesRemoved, "locked_seconds", ph.held().Seconds())
	return ph.held(), nil
}

func (g Generator) pause(p bool) {
	if g.Watch != nil {
		g.Watch.Pause(p)
	}
}

// gaveWay is the error of an attempt whose watch has given way to the app, or nil.
func (g Generator) gaveWay() error {
	if g.Watch == nil {
		return nil
	}
	return g.Watch.Check()
}

// removed counts the doubled days' rows the locked phase deleted, and how many were this run's.
type removed struct {
	all, ours, kept int64
}

// reconcile brings the plan up to date with what the app committed since the scan.
func (ph *lockedPhase) reconcile(ctx context.Context, w lockedWork) (removed, error) {
	lo, hi := rangeColumns(w.ranges)
	if _, err := ph.ExecContext(ctx, sqlCatchUp, lo, hi, w.opts.Now, w.typeID); err != nil {
		return removed{}, ph.explain(fmt.Errorf("catch up with the app: %w", err))
	}
	// Fresh statistics, or the planner guesses thousands of changed users and scans the table.
	if _, err := ph.ExecContext(ctx, "ANALYZE uptime_changed"); err != nil {
		return removed{}, ph.explain(fmt.Errorf("analyze uptime_changed: %w", err))
	}
	if _, err := ph.ExecContext(ctx, sqlDoubledChanged, w.typeID); err != nil {
		return removed{}, ph.explain(fmt.Errorf("find doubled days: %w", err))
	}
	if _, err := ph.ExecContext(ctx, "ANALYZE uptime_doubled"); err != nil {
		return removed{}, ph.explain(fmt.Errorf("analyze uptime_doubled: %w", err))
	}
	var r removed
	dedupe := strings.Replace(sqlDedupe, "/* unreferenced */", w.unreferenced, 1)
	if err := ph.QueryRowContext(ctx, dedupe, w.typeID, w.opts.Now).Scan(&r.all, &r.ours, &r.kept); err != nil {
		return removed{}, ph.explain(fmt.Errorf("remove doubled days: %w", err))
	}
	if r.all > 0 || r.kept > 0 {
		ph.log.WarnContext(ctx, "days with more than one Uptime contribution", "removed", r.all,
			"removed_of_this_run", r.ours, "left_entered_by_people_or_referenced", r.kept)
	}
	if _, err := ph.ExecContext(ctx, "ANALYZE uptime_changed"); err != nil { // the dedupe may have added users
		return removed{}, ph.explain(fmt.Errorf("analyze uptime_changed: %w", err))
	}
	if _, err := ph.ExecContext(ctx, sqlRecount); err != nil {
		return removed{}, ph.explain(fmt.Errorf("recount changed users: %w", err))
	}
	return r, nil
}

// unreferencedClause is SQL true for a contribution (r.id) that no row of another table refers
// to, from the foreign keys that point at the contributions; false when the role cannot read one
// of those tables, so that nothing is deleted that might be evidence of something.
func unreferencedClause(ctx context.Context, tx *sqlx.Tx) (string, error) {
	var refs []struct {
		Check    string `db:"check"`
		Readable bool   `db:"readable"`
	}
	err := tx.SelectContext(ctx, &refs, `
		SELECT format('NOT EXISTS (SELECT 1 FROM %s AS x WHERE x.%I = r.id)', c.conrelid::regclass, a.attname) AS check,
		       has_column_privilege(c.conrelid, a.attnum, 'SELECT') AS readable
		FROM pg_constraint AS c
		JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
		WHERE c.contype = 'f' AND c.confrelid = 'public.contributions_contribution'::regclass
		  AND cardinality(c.conkey) = 1
		ORDER BY 1`)
	if err != nil {
		return "", fmt.Errorf("find what refers to contributions: %w", err)
	}
	checks := []string{"true"}
	for _, r := range refs {
		if !r.Readable {
			return "false", nil
		}
		checks = append(checks, r.Check)
	}
	return strings.Join(checks, " AND "), nil
}

// idRange is an inclusive range of contribution ids.
type idRange struct{ lo, hi int64 }

// readAgain is every id above scanMaxID except the ranges that hold only this run's rows: what
// the locked phase must read to see what the app inserted since the scan.
func readAgain(scanMaxID int64, mine []idRange) []idRange {
	var out []idRange
	next := scanMaxID + 1
	for _, m := range mine {
		if m.lo > next {
			out = append(out, idRange{next, m.lo - 1})
		}
		next = max(next, m.hi+1)
	}
	return append(out, idRange{next, math.MaxInt64})
}

func rangeColumns(rs []idRange) (lo, hi any) {
	var los, his []int64
	for _, r := range rs {
		los, his = append(los, r.lo), append(his, r.hi)
	}
	return pq.Array(los), pq.Array(his)
}
