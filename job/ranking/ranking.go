// Package ranking is the leaderboard ranking rule, written once: the job runs it after every
// refresh of the totals, and the test seeding (internal/testdb) runs it to leave entries as the
// job would. It is a package of its own because job/uptime's tests import internal/testdb.
package ranking

import (
	"context"
	"database/sql"
	_ "embed"
)

// SQL ranks every board afresh; rank.sql says how.
//
//go:embed rank.sql
var SQL string

// Execer is what Rank runs on: a database, a connection or a transaction.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Rank ranks every board (global and each category) and returns how many entries' ranks changed.
func Rank(ctx context.Context, db Execer) (int64, error) {
	res, err := db.ExecContext(ctx, SQL)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
