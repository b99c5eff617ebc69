package benchmark

import (
	_ "embed"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
)

var (
	// The floor of every case but the nightly ones: one pass, then every missing day, holes
	// included.
	floorSQL = floorBackfillPlan + floorWrite
	// The nightly floor: one grouped pass, then the days after each user's last (issue 21).
	floorNightlySQL = floorNightlyPlan + floorWrite

	//go:embed floor.sql
	floorBackfillPlan string
	//go:embed floor_nightly.sql
	floorNightlyPlan string
	// The floors' common end: the insert, the totals and the ranks.
	//go:embed floor_write.sql
	floorWrite string
)

// floorStatements are a floor's statements without their comment lines.
func floorStatements(floor string) []string {
	var out []string
	for _, s := range strings.Split(floor, ";\n") {
		var lines []string
		for _, line := range strings.Split(s, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
				lines = append(lines, line)
			}
		}
		if len(lines) > 0 {
			out = append(out, strings.Join(lines, "\n"))
		}
	}
	return out
}

// measureFloor runs the floor's SQL in one transaction on a fresh copy of seeded and commits.
func measureFloor(b *testing.B, seeded *testdb.DB, floor string) run {
	b.Helper()
	db := seeded.Clone(b)
	checkpoint(b, db)
	before := contributions(b, db)
	ctx := b.Context()
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var pid int
	if err := conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		b.Fatal(err)
	}
	mem := sampleBackend(func() (int, bool) { return pid, true })

	start := time.Now()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	var r run
	now, points := time.Now(), 1
	for i, stmt := range floorStatements(floor) {
		var args []any // each statement takes the parameters it mentions, in order
		for j, a := range []any{now, points} {
			if strings.Contains(stmt, fmt.Sprintf("$%d", j+1)) {
				args = append(args, a)
			}
		}
		if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
			b.Fatalf("floor statement %d: %v", i+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatalf("floor commit: %v", err)
	}
	r.wall = time.Since(start)
	r.backendMB = mem.Stop()
	r.rows = contributions(b, db) - before
	r.outcome = db.Outcome(b)
	return r
}
