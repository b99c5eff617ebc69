package testdb

import "testing"

// Outcome fingerprints what a run of the job leaves, ignoring what legitimately differs between
// two runs of the same work: ids (sequences advance in rolled-back runs too) and the run's clock.
func (db *DB) Outcome(t testing.TB) string {
	t.Helper()
	var contributions, entries string
	// Digested one user at a time: one string of every row passes PostgreSQL's 1 GB limit at the
	// benchmark's 36.5M rows.
	err := db.QueryRow(`
		SELECT (SELECT md5(coalesce(string_agg(h, E'\n' ORDER BY user_id), ''))
		        FROM (SELECT user_id,
		                     md5(string_agg(concat_ws('|', user_id, contribution_type_id, points, frozen_global_points,
		                                              multiplier_at_creation, contribution_date, notes), E'\n'
		                                    ORDER BY contribution_type_id, contribution_date, notes, points)) AS h
		              FROM contributions_contribution
		              GROUP BY user_id) AS u),
		       (SELECT md5(coalesce(string_agg(concat_ws('|', user_id, coalesce(category_id, 0), total_points, rank), E'\n'
		                                       ORDER BY user_id, category_id NULLS FIRST), ''))
		        FROM leaderboard_leaderboardentry)`).Scan(&contributions, &entries)
	if err != nil {
		t.Fatalf("outcome: %v", err)
	}
	return contributions + "/" + entries
}
