package testdb

import (
	"context"
	"testing"
	"time"

	"github.com/tally/uptime/internal/leaderboard"
)

// Scale describes a synthetic Tally for benchmarks and fault tests: Users users, each with an
// Uptime contribution on every day from HistoryFrom days ago to HistoryTo days ago (0 is
// today), except a random GapRate share of those days; five Pull Request contributions each;
// a multiplier history; and leaderboard entries, ranked, as earlier runs would have left them.
type Scale struct {
	Users       int
	HistoryFrom int     // first day of history, in days before today (UTC)
	HistoryTo   int     // last day of history, in days before today (UTC)
	GapRate     float64 // share of history days left without uptime, 0 to 1
}

// Seed fills the database with s and refreshes the planner's statistics, as autovacuum would.
// Days are UTC days whatever the session's time zone.
func (db *DB) Seed(t testing.TB, s Scale) {
	t.Helper()
	steps := []struct {
		name  string
		query string
		args  []any
	}{
		{"categories", `
			INSERT INTO contributions_category (name, slug, description, profile_model, created_at, updated_at)
			VALUES ('Validators', 'validators', '', '', now(), now()), ('Builders', 'builders', '', '', now(), now())`, nil},
		{"types", `
			INSERT INTO contributions_contributiontype
			       (name, slug, description, category_id, min_points, max_points, is_default, created_at, updated_at)
			SELECT t.name, lower(replace(t.name, ' ', '-')), '', c.id, 1, 100, false, now(), now()
			FROM (VALUES ('Uptime', 'validators'), ('Pull Request', 'builders')) AS t (name, slug)
			JOIN contributions_category c ON c.slug = t.slug`, nil},
		{"multipliers", `
			INSERT INTO leaderboard_globalleaderboardmultiplier
			       (created_at, updated_at, contribution_type_id, multiplier_value, valid_from, description, notes)
			SELECT now(), now(), t.id, m.value, ((now() AT TIME ZONE 'UTC')::date - m.days_ago)::timestamp AT TIME ZONE 'UTC', '', ''
			FROM (VALUES (1.00, 5000), (1.50, 400), (2.50, 100), (1.25, 10)) AS m (value, days_ago)
			CROSS JOIN contributions_contributiontype t`, nil},
		{"users", `
			INSERT INTO users_user (password, is_superuser, username, first_name, last_name, email, name,
			                        is_staff, is_active, date_joined, visible, created_at, updated_at)
			SELECT '!', false, 'user' || i, '', '', 'user' || i || '@example.com', 'User ' || i,
			       false, true, now(), i % 10 <> 0, now(), now()
			FROM generate_series(1, $1) AS i`, []any{s.Users}},
		{"uptime history", `
			INSERT INTO contributions_contribution
			       (created_at, updated_at, user_id, contribution_type_id, points, frozen_global_points,
			        multiplier_at_creation, contribution_date, notes)
			SELECT now(), now(), u.id, t.id, 1, 1, 1.00, ((now() AT TIME ZONE 'UTC')::date - d)::timestamp AT TIME ZONE 'UTC',
			       'Auto-generated daily uptime for ' || to_char((now() AT TIME ZONE 'UTC')::date - d, 'YYYY-MM-DD')
			FROM users_user u
			CROSS JOIN generate_series($1::int, $2::int, -1) AS d
			JOIN contributions_contributiontype t ON t.name = 'Uptime'
			WHERE d = $1 OR random() >= $3
			ORDER BY u.id, d DESC`, []any{s.HistoryFrom, s.HistoryTo, s.GapRate}},
		{"other contributions", `
			INSERT INTO contributions_contribution
			       (created_at, updated_at, user_id, contribution_type_id, points, frozen_global_points,
			        multiplier_at_creation, contribution_date, notes)
			SELECT now(), now(), u.id, t.id, 10, 10, 1.00, ((now() AT TIME ZONE 'UTC')::date - k * 7)::timestamp AT TIME ZONE 'UTC', 'PR'
			FROM users_user u
			CROSS JOIN generate_series(1, 5) AS k
			JOIN contributions_contributiontype t ON t.name = 'Pull Request'`, nil},
	}
	for _, step := range steps {
		if _, err := db.Exec(step.query, step.args...); err != nil {
			t.Fatalf("seed %s: %v", step.name, err)
		}
	}
	db.seedLeaderboard(t)
	if _, err := db.Exec("VACUUM ANALYZE"); err != nil {
		t.Fatalf("seed: vacuum analyze: %v", err)
	}
}

// seedLeaderboard gives every user the entries and ranks the job would leave, by the job's own
// rule (job/leaderboard): the points are every contribution's, not only a run's.
func (db *DB) seedLeaderboard(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("seed leaderboard: %v", err)
	}
	defer tx.Rollback()
	if _, err := leaderboard.Refresh(ctx, tx, time.Now(), `
		INSERT INTO leaderboard_points (user_id, type_id, points)
		SELECT user_id, contribution_type_id, sum(frozen_global_points)
		FROM contributions_contribution
		GROUP BY user_id, contribution_type_id`); err != nil {
		t.Fatalf("seed leaderboard: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("seed leaderboard: %v", err)
	}
}
