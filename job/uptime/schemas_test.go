package uptime

import (
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
)

// jobTables are the tables the job reads and writes, parents first.
var jobTables = []string{"users_user", "contributions_category", "contributions_contributiontype",
	"leaderboard_globalleaderboardmultiplier", "contributions_contribution", "leaderboard_leaderboardentry"}

// writtenRows is every contribution and entry, in the columns both schemas have, in a stable order.
const writtenRows = `
	SELECT (SELECT string_agg(concat_ws(',', id, user_id, contribution_type_id, points, frozen_global_points,
	                multiplier_at_creation, contribution_date, notes, created_at, updated_at), '|' ORDER BY id)
	        FROM contributions_contribution)
	    || '#' ||
	       (SELECT string_agg(concat_ws(',', id, user_id, category_id, total_points, rank, created_at, updated_at), '|' ORDER BY id)
	        FROM leaderboard_leaderboardentry)`

// The job writes the same rows on a database the app's migrations built (dropped columns, the
// app's other tables and columns) as on the hand-written end state testdata/schema.sql, for the
// same data.
func TestSameRowsOnTheMigratedAndTheHandWrittenSchema(t *testing.T) {
	migrated := testdb.New(t)
	migrated.Seed(t, testdb.Scale{Users: 60, HistoryFrom: 90, HistoryTo: 2, GapRate: 0.1})
	handWritten := testdb.New(t, testdb.WithHandWrittenSchema())
	testdb.CopyRows(t, migrated, handWritten, jobTables...)

	var rows [2]string
	clock := time.Now() // the seed's days are relative to today
	for i, db := range []*testdb.DB{migrated, handWritten} {
		res := tally{DB: db}.mustRun(t, Options{Now: clock})
		if res.ContributionsCreated == 0 {
			t.Fatal("the run created nothing, so this proves nothing")
		}
		if err := db.Get(&rows[i], writtenRows); err != nil {
			t.Fatal(err)
		}
	}
	if rows[0] != rows[1] {
		t.Error("the job wrote different rows on the migrated schema than on testdata/schema.sql")
	}
}
