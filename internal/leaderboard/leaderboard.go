// Package leaderboard is the leaderboard rule, written once: each user has an entry on the
// global board and on the board of every category they have points in, each holding the sum of
// their contributions' frozen_global_points, and every board is ranked by rank.sql. The job
// refreshes the users a run gave new contributions; the test seeding (internal/testdb) refreshes
// every user, so seeded entries are exactly what the job would leave. Both import it from here,
// the floor they stand on.
package leaderboard

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"time"
)

var (
	//go:embed points_table.sql
	sqlPointsTable string
	//go:embed totals.sql
	sqlTotals string
	//go:embed rank.sql
	sqlRank string
)

// Tx is the transaction Refresh runs in: its scratch table is dropped at commit.
type Tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Changes counts what a refresh changed.
type Changes struct {
	EntriesUpdated int64 // entries whose total changed
	EntriesCreated int64 // entries created
	RanksChanged   int64 // entries whose rank changed, on any board
}

// Refresh sets the totals of the users whose points the statement points (run with args) writes
// into leaderboard_points (points_table.sql), then ranks every board.
func Refresh(ctx context.Context, tx Tx, now time.Time, points string, args ...any) (Changes, error) {
	var c Changes
	if _, err := tx.ExecContext(ctx, sqlPointsTable); err != nil {
		return c, fmt.Errorf("create leaderboard_points: %w", err)
	}
	if _, err := tx.ExecContext(ctx, points, args...); err != nil {
		return c, fmt.Errorf("sum the users' points: %w", err)
	}
	// Fresh statistics, so that the totals statement plans for the real number of users.
	if _, err := tx.ExecContext(ctx, "ANALYZE leaderboard_points"); err != nil {
		return c, fmt.Errorf("analyze leaderboard_points: %w", err)
	}
	if err := tx.QueryRowContext(ctx, sqlTotals, now).Scan(&c.EntriesUpdated, &c.EntriesCreated); err != nil {
		return c, fmt.Errorf("refresh leaderboard totals: %w", err)
	}
	res, err := tx.ExecContext(ctx, sqlRank)
	if err == nil {
		c.RanksChanged, err = res.RowsAffected()
	}
	if err != nil {
		return c, fmt.Errorf("re-rank leaderboards: %w", err)
	}
	return c, nil
}
