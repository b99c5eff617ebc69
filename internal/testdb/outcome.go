package testdb

import "testing"

// Outcome fingerprints what a run of the job leaves, ignoring what legitimately differs between
// two runs of the same work: ids (sequences advance in rolled-back runs too) and the run's clock.
func (db *DB) Outcome(t testing.TB) string {
	t.Helper()
	var contributions, entries string
	err := db.QueryRow(`
		SELECT (SELECT md5(coalesce(string_agg(concat_ws('|', user_id, contribution_type_id, points, frozen_global_points,
		                                                 multiplier_at_creation, contribution_date, notes), E'\n'
		                                       ORDER BY user_id, contribution_type_id, contribution_date, notes, points), ''))
		        FROM contributions_contribution),
		       (SELECT md5(coalesce(string_agg(concat_ws('|', user_id, coalesce(category_id, 0), total_points, rank), E'\n'
		                                       ORDER BY user_id, category_id NULLS FIRST), ''))
		        FROM leaderboard_leaderboardentry)`).Scan(&contributions, &entries)
	if err != nil {
		t.Fatalf("outcome: %v", err)
	}
	return contributions + "/" + entries
}
