package main

// Surprising or hostile database content: conflicting multipliers, objects planted in public
// to hijack the job's function and operator calls, and a role that may not write.

import (
	"fmt"
	"testing"
)

// Two Uptime multipliers valid from the same instant with different values: the dry run and the
// real run exit 3 with one sentence naming both rows, and nothing is written.
func TestConflictingMultipliers(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	var first, second int64
	var validFrom string
	if err := db.QueryRow(`
		INSERT INTO leaderboard_globalleaderboardmultiplier
		       (created_at, updated_at, contribution_type_id, multiplier_value, valid_from, description, notes)
		SELECT now(), now(), contribution_type_id, 3.00, valid_from, 'a second row for the same moment', ''
		FROM leaderboard_globalleaderboardmultiplier WHERE multiplier_value = 1.50
		RETURNING (SELECT id FROM leaderboard_globalleaderboardmultiplier WHERE multiplier_value = 1.50), id,
		          to_char(valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`).
		Scan(&first, &second, &validFrom); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, db)
	for _, args := range [][]string{{"--dry-run"}, nil} {
		r := runJob(t, jobEnv(db.URL), args...)
		r.expect(t, exitData)
		r.oneStderrLine(t, fmt.Sprintf("%d (1.50)", first), fmt.Sprintf("%d (3.00)", second), validFrom)
		unchanged(t, db, before)
	}
}
