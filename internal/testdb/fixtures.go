package testdb

import (
	"database/sql"
	"testing"
	"time"
)

// The fixtures below insert rows the way Django would: every NOT NULL column given a value.

// fixtureTime is the created_at/updated_at of every fixture row, so that tests can tell the
// job's writes (stamped with the run's clock) from the fixtures.
var fixtureTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// User inserts a user and returns its id.
func (db *DB) User(t testing.TB, email, name string, visible bool) int64 {
	t.Helper()
	return db.insertID(t, `
		INSERT INTO users_user (password, is_superuser, username, first_name, last_name, email, name,
		                        is_staff, is_active, date_joined, visible, created_at, updated_at)
		VALUES ('!', false, $1, '', '', $1, $2, false, true, $3, $4, $3, $3) RETURNING id`,
		email, name, fixtureTime, visible)
}

// Category inserts a contribution category and returns its id.
func (db *DB) Category(t testing.TB, name string) int64 {
	t.Helper()
	return db.insertID(t, `
		INSERT INTO contributions_category (name, slug, description, profile_model, created_at, updated_at)
		VALUES ($1::text, lower(replace($1::text, ' ', '-')), '', '', $2, $2) RETURNING id`, name, fixtureTime)
}

// ContributionType inserts a contribution type; categoryID 0 leaves it without a category.
func (db *DB) ContributionType(t testing.TB, name string, categoryID int64, minPoints, maxPoints int) int64 {
	t.Helper()
	return db.insertID(t, `
		INSERT INTO contributions_contributiontype
		       (name, slug, description, category_id, min_points, max_points, is_default, created_at, updated_at)
		VALUES ($1::text, lower(replace($1::text, ' ', '-')), '', $2, $3, $4, false, $5, $5) RETURNING id`,
		name, nullID(categoryID), minPoints, maxPoints, fixtureTime)
}

// Multiplier inserts a global leaderboard multiplier for a contribution type.
func (db *DB) Multiplier(t testing.TB, typeID int64, value string, validFrom time.Time) int64 {
	t.Helper()
	return db.insertID(t, `
		INSERT INTO leaderboard_globalleaderboardmultiplier
		       (created_at, updated_at, contribution_type_id, multiplier_value, valid_from, description, notes)
		VALUES ($1, $1, $2, $3::numeric, $4, '', '') RETURNING id`,
		fixtureTime, typeID, value, validFrom)
}

// Contribution is a contribution row for Contribution; a zero Date leaves contribution_date NULL.
type Contribution struct {
	UserID, TypeID int64
	Points, Frozen int
	Multiplier     string // numeric text; "" for NULL
	Date           time.Time
	Notes          string
}

// Contribution inserts c and returns its id.
func (db *DB) Contribution(t testing.TB, c Contribution) int64 {
	t.Helper()
	var date, mult any
	if !c.Date.IsZero() {
		date = c.Date
	}
	if c.Multiplier != "" {
		mult = c.Multiplier
	}
	return db.insertID(t, `
		INSERT INTO contributions_contribution
		       (created_at, updated_at, user_id, contribution_type_id, points, frozen_global_points,
		        multiplier_at_creation, contribution_date, notes)
		VALUES ($1, $1, $2, $3, $4, $5, $6::numeric, $7, $8) RETURNING id`,
		fixtureTime, c.UserID, c.TypeID, c.Points, c.Frozen, mult, date, c.Notes)
}

// Entry inserts a leaderboard entry; categoryID 0 is the global board.
func (db *DB) Entry(t testing.TB, userID, categoryID int64, total int, rank sql.NullInt64) int64 {
	t.Helper()
	return db.insertID(t, `
		INSERT INTO leaderboard_leaderboardentry (created_at, updated_at, user_id, category_id, total_points, rank)
		VALUES ($1, $1, $2, $3, $4, $5) RETURNING id`,
		fixtureTime, userID, nullID(categoryID), total, rank)
}

func (db *DB) insertID(t testing.TB, query string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := db.QueryRow(query, args...).Scan(&id); err != nil {
		t.Fatalf("fixture insert: %v", err)
	}
	return id
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
