package uptime

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
)

// now is the run's clock in these tests: 10 March 2026, mid-afternoon UTC.
var now = time.Date(2026, 3, 10, 15, 4, 5, 0, time.UTC)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func day(s string) time.Time { return at(s + "T00:00:00Z") }

// tally is a test database with a Validators category, an Uptime type in it (1 to 10 points)
// and, unless a test adds its own history, no multiplier.
type tally struct {
	*testdb.DB
	validators, uptime int64
}

func newTally(t *testing.T, opts ...testdb.Option) tally {
	t.Helper()
	db := testdb.New(t, opts...)
	validators := db.Category(t, "Validators")
	return tally{DB: db, validators: validators, uptime: db.ContributionType(t, "Uptime", validators, 1, 10)}
}

// withMultiplier gives Uptime 1.00 since long before any test's days.
func (tl tally) withMultiplier(t *testing.T) tally {
	tl.Multiplier(t, tl.uptime, "1.00", at("2020-01-01T00:00:00Z"))
	return tl
}

func (tl tally) uptimeOn(t *testing.T, userID int64, when time.Time) {
	t.Helper()
	tl.Contribution(t, testdb.Contribution{UserID: userID, TypeID: tl.uptime, Points: 1, Frozen: 1, Multiplier: "1.00", Date: when})
}

// run runs the generator in a transaction of its own and commits it unless it failed or was a dry run.
func (tl tally) run(t *testing.T, opts Options) (Result, error) {
	t.Helper()
	if opts.Points == 0 {
		opts.Points = 1
	}
	if opts.Now.IsZero() {
		opts.Now = now
	}
	tx, err := tl.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Generator{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}.Run(context.Background(), tx, opts)
	if err != nil || opts.DryRun {
		tx.Rollback()
		return res, err
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func (tl tally) mustRun(t *testing.T, opts Options) Result {
	t.Helper()
	res, err := tl.run(t, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

// uptimeDays lists a user's Uptime days (UTC) in order.
func (tl tally) uptimeDays(t *testing.T, userID int64) []string {
	t.Helper()
	var days []string
	if err := tl.Select(&days, `
		SELECT to_char(contribution_date AT TIME ZONE 'UTC', 'YYYY-MM-DD')
		FROM contributions_contribution
		WHERE user_id = $1 AND contribution_type_id = $2 AND contribution_date IS NOT NULL
		ORDER BY contribution_date`, userID, tl.uptime); err != nil {
		t.Fatal(err)
	}
	return days
}

// fingerprint is a digest of every row the job may write, updated_at included.
func (tl tally) fingerprint(t *testing.T) string {
	t.Helper()
	var f string
	if err := tl.Get(&f, `
		SELECT md5(coalesce((SELECT string_agg(c::text, '|' ORDER BY id) FROM contributions_contribution c), '') ||
		           coalesce((SELECT string_agg(e::text, '|' ORDER BY id) FROM leaderboard_leaderboardentry e), ''))`); err != nil {
		t.Fatal(err)
	}
	return f
}

func isDataError(err error) bool {
	var data *DataError
	return errors.As(err, &data)
}

func TestNoUptimeTypeIsADataError(t *testing.T) {
	db := testdb.New(t)
	db.ContributionType(t, "uptime", 0, 1, 10) // not exactly "Uptime"
	tl := tally{DB: db}
	_, err := tl.run(t, Options{})
	if !isDataError(err) || !strings.Contains(err.Error(), `"Uptime"`) {
		t.Fatalf("run = %v, want a DataError naming the Uptime type", err)
	}
}

func TestFillsEveryMissingDayFromEachUsersStartDay(t *testing.T) {
	tl := newTally(t).withMultiplier(t)
	ada := tl.User(t, "ada@example.com", "Ada", true)
	undated := tl.User(t, "undated@example.com", "Undated", true)
	none := tl.User(t, "none@example.com", "None", true)
	tl.uptimeOn(t, ada, at("2026-03-04T08:00:00Z"))
	tl.uptimeOn(t, ada, at("2026-03-01T15:30:00Z")) // the earliest, though inserted second
	tl.uptimeOn(t, ada, time.Time{})                // undated: starts nothing, breaks nothing
	tl.uptimeOn(t, undated, time.Time{})
	other := tl.ContributionType(t, "Pull Request", 0, 1, 100)
	tl.Contribution(t, testdb.Contribution{UserID: none, TypeID: other, Points: 5, Frozen: 5, Date: at("2026-03-01T00:00:00Z")})

	res := tl.mustRun(t, Options{})

	want := Result{UsersWithUptime: 1, UsersTouched: 1, ContributionsCreated: 8, DaysSkipped: 2,
		EntriesCreated: 2, RanksChanged: 2, MostDaysOneUser: 8}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	if got := strings.Join(tl.uptimeDays(t, ada), " "); got !=
		"2026-03-01 2026-03-02 2026-03-03 2026-03-04 2026-03-05 2026-03-06 2026-03-07 2026-03-08 2026-03-09 2026-03-10" {
		t.Errorf("ada's uptime days = %s", got)
	}
	if days := tl.uptimeDays(t, undated); len(days) != 0 {
		t.Errorf("a user with only undated uptime got %v", days)
	}
	if days := tl.uptimeDays(t, none); len(days) != 0 {
		t.Errorf("a user without uptime got %v", days)
	}

	var row struct {
		CreatedAt, UpdatedAt, Date time.Time
		Points, Frozen             int
		Multiplier                 string
		Notes                      string
	}
	if err := tl.QueryRow(`
		SELECT created_at, updated_at, contribution_date, points, frozen_global_points, multiplier_at_creation::text, notes
		FROM contributions_contribution
		WHERE user_id = $1 AND contribution_date = '2026-03-02T00:00:00Z'`, ada).
		Scan(&row.CreatedAt, &row.UpdatedAt, &row.Date, &row.Points, &row.Frozen, &row.Multiplier, &row.Notes); err != nil {
		t.Fatal(err)
	}
	if !row.CreatedAt.Equal(now) || !row.UpdatedAt.Equal(now) || !row.Date.Equal(day("2026-03-02")) ||
		row.Points != 1 || row.Frozen != 1 || row.Multiplier != "1.00" || row.Notes != "Auto-generated daily uptime for 2026-03-02" {
		t.Errorf("new contribution = %+v", row)
	}
}

func TestADayIsAUTCCalendarDay(t *testing.T) {
	tl := newTally(t).withMultiplier(t)
	ada := tl.User(t, "ada@example.com", "Ada", true)
	tl.uptimeOn(t, ada, at("2026-03-07T00:00:00Z"))
	// 22:00 on the 8th in New York is 03:00 on the 9th in UTC: the 9th has uptime, the 8th not.
	tl.uptimeOn(t, ada, at("2026-03-08T22:00:00-05:00"))

	// The session's time zone must not matter: in Honolulu (UTC-10) the 7th's midnight UTC is still the 6th.
	if _, err := tl.Exec("ALTER DATABASE " + tl.Name + " SET TimeZone TO 'Pacific/Honolulu'"); err != nil {
		t.Fatal(err)
	}
	tl.DB.DB.Close()
	reopened := testdb.Reopen(t, tl.DB)
	tl.DB = reopened

	res := tl.mustRun(t, Options{To: day("2026-03-09")})

	if res.ContributionsCreated != 1 {
		t.Errorf("created %d, want 1 (the 8th)", res.ContributionsCreated)
	}
	var n int
	if err := tl.Get(&n, `SELECT count(*) FROM contributions_contribution WHERE contribution_date = '2026-03-08T00:00:00Z'`); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the 8th has %d uptime rows at 00:00 UTC, want 1", n)
	}
}

func TestMultiplierInForceAtEachDaysMidnight(t *testing.T) {
	tl := newTally(t)
	tl.Multiplier(t, tl.uptime, "1.00", at("2026-01-01T00:00:00Z"))
	tl.Multiplier(t, tl.uptime, "1.50", at("2026-03-05T12:00:00Z")) // after the 5th's midnight: from the 6th
	tl.Multiplier(t, tl.uptime, "2.50", at("2026-03-08T00:00:00Z")) // exactly the 8th's midnight: from the 8th
	ada := tl.User(t, "ada@example.com", "Ada", true)
	tl.uptimeOn(t, ada, at("2026-03-01T09:00:00Z"))

	tl.mustRun(t, Options{Points: 3})

	rows, err := tl.Query(`
		SELECT to_char(contribution_date, 'YYYY-MM-DD'), multiplier_at_creation::text, frozen_global_points
		FROM contributions_contribution WHERE created_at = $1 ORDER BY contribution_date`, now)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var d, m string
		var frozen int
		if err := rows.Scan(&d, &m, &frozen); err != nil {
			t.Fatal(err)
		}
		got = append(got, d+"="+m+"/"+strconv.Itoa(frozen))
	}
	want := []string{
		"2026-03-02=1.00/3", "2026-03-03=1.00/3", "2026-03-04=1.00/3", "2026-03-05=1.00/3",
		"2026-03-06=1.50/4", "2026-03-07=1.50/4", // 3 × 1.50 = 4.5 → 4
		"2026-03-08=2.50/8", "2026-03-09=2.50/8", "2026-03-10=2.50/8", // 3 × 2.50 = 7.5 → 8
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("days = %v\nwant   %v", got, want)
	}
}

func TestPointsOutsideTheTypesRange(t *testing.T) {
	tl := newTally(t).withMultiplier(t)
	ada := tl.User(t, "ada@example.com", "Ada", true)
	tl.uptimeOn(t, ada, at("2026-03-09T00:00:00Z"))
	_, err := tl.run(t, Options{Points: 11})
	if !isDataError(err) || !strings.Contains(err.Error(), "1 to 10") {
		t.Fatalf("run with 11 points = %v, want a DataError naming the range", err)
	}
	if res := tl.mustRun(t, Options{Points: 10}); res.ContributionsCreated != 1 {
		t.Fatalf("run with 10 points created %d, want 1", res.ContributionsCreated)
	}
}

func TestWindowAndUsers(t *testing.T) {
	tl := newTally(t).withMultiplier(t)
	ada := tl.User(t, "ada@example.com", "Ada", true)
	bob := tl.User(t, "Bob@Example.com", "Bob", true)
	tl.uptimeOn(t, ada, at("2026-03-01T00:00:00Z"))
	tl.uptimeOn(t, bob, at("2026-03-05T00:00:00Z"))

	// The window starts before Bob's first day: Bob's days start at his first day.
	res := tl.mustRun(t, Options{From: day("2026-03-03"), To: day("2026-03-06")})
	if res.ContributionsCreated != 4+1 {
		t.Errorf("window run created %d, want 5 (ada 3rd-6th, bob 6th)", res.ContributionsCreated)
	}
	if got := strings.Join(tl.uptimeDays(t, bob), " "); got != "2026-03-05 2026-03-06" {
		t.Errorf("bob's days = %s", got)
	}

	// Only Bob, named in another case.
	res = tl.mustRun(t, Options{Users: []string{"bob@example.COM"}})
	if res.ContributionsCreated != 4 || res.UsersWithUptime != 1 {
		t.Errorf("bob-only run = %+v, want 4 days for 1 user", res)
	}
	if got := tl.uptimeDays(t, ada); len(got) != 5 {
		t.Errorf("ada was touched by a bob-only run: %v", got)
	}

	_, err := tl.run(t, Options{Users: []string{"ada@example.com", "nobody@example.com"}})
	if !isDataError(err) || !strings.Contains(err.Error(), "nobody@example.com") {
		t.Errorf("unknown user: %v, want a DataError naming nobody@example.com", err)
	}
}

func TestLeaderboardTotals(t *testing.T) {
	tl := newTally(t).withMultiplier(t)
	builders := tl.Category(t, "Builders")
	pr := tl.ContributionType(t, "Pull Request", builders, 1, 100)
	blog := tl.ContributionType(t, "Blog Post", 0, 1, 100) // counts globally only
	ada := tl.User(t, "ada@example.com", "Ada", true)
	idle := tl.User(t, "idle@example.com", "Idle", true) // no uptime: not touched
	tl.uptimeOn(t, ada, at("2026-03-08T00:00:00Z"))
	tl.Contribution(t, testdb.Contribution{UserID: ada, TypeID: pr, Points: 20, Frozen: 30, Date: at("2026-03-01T00:00:00Z")})
	tl.Contribution(t, testdb.Contribution{UserID: ada, TypeID: blog, Points: 7, Frozen: 7})
	tl.Contribution(t, testdb.Contribution{UserID: idle, TypeID: pr, Points: 5, Frozen: 5, Date: at("2026-03-01T00:00:00Z")})
	staleGlobal := tl.Entry(t, ada, 0, 999, sql.NullInt64{})
	tl.Entry(t, idle, 0, 123, sql.NullInt64{}) // stale, but not this run's business

	tl.mustRun(t, Options{})

	type entry struct {
		Category sql.NullInt64
		Total    int
		Rank     sql.NullInt64
	}
	entries := func(user int64) map[int64]entry {
		rows, err := tl.Query(`SELECT category_id, total_points, rank FROM leaderboard_leaderboardentry WHERE user_id = $1`, user)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]entry{}
		for rows.Next() {
			var e entry
			if err := rows.Scan(&e.Category, &e.Total, &e.Rank); err != nil {
				t.Fatal(err)
			}
			if _, dup := out[e.Category.Int64]; dup {
				t.Fatalf("user %d has two entries on board %d", user, e.Category.Int64)
			}
			out[e.Category.Int64] = e
		}
		return out
	}
	ada3 := entries(ada)
	// Uptime: the 8th, 9th and 10th, one point each; Pull Request 30; Blog Post 7.
	if len(ada3) != 3 || ada3[0].Total != 3+30+7 || ada3[tl.validators].Total != 3 || ada3[builders].Total != 30 {
		t.Errorf("ada's entries = %+v, want global 40, validators 3, builders 30", ada3)
	}
	var globalID int64
	if err := tl.Get(&globalID, `SELECT id FROM leaderboard_leaderboardentry WHERE user_id = $1 AND category_id IS NULL`, ada); err != nil {
		t.Fatal(err)
	}
	if globalID != staleGlobal {
		t.Errorf("ada's global entry was replaced (id %d, was %d)", globalID, staleGlobal)
	}
	idle1 := entries(idle)
	if len(idle1) != 1 || idle1[0].Total != 123 {
		t.Errorf("an untouched user's entries changed: %+v", idle1)
	}
	// Every board is re-ranked, untouched users' entries too: idle's 123 is above ada's 40.
	if ada3[0].Rank.Int64 != 2 || idle1[0].Rank.Int64 != 1 {
		t.Errorf("global ranks: ada %v, idle %v; want 2 and 1", ada3[0].Rank, idle1[0].Rank)
	}
}

func TestRanksFollowTheDatabaseCollation(t *testing.T) {
	tl := newTally(t, testdb.WithICULocale("en-US")).withMultiplier(t)
	names := []string{"carol", "Bob", "alice", "Dave"} // C order would be Bob, Dave, alice, carol
	ids := map[string]int64{}
	for _, n := range names {
		ids[n] = tl.User(t, strings.ToLower(n)+"@example.com", n, n != "Dave")
		tl.uptimeOn(t, ids[n], at("2026-03-09T00:00:00Z"))
	}
	// Dave is invisible and has the most points; he gets no rank and takes none.
	tl.uptimeOn(t, ids["Dave"], at("2026-03-08T00:00:00Z"))
	hidden := tl.User(t, "zed@example.com", "Zed", true)
	tl.Entry(t, hidden, 0, 0, sql.NullInt64{Int64: 99, Valid: true})

	tl.mustRun(t, Options{Users: []string{"alice@example.com"}}) // something to create, so boards re-rank
	tl.mustRun(t, Options{})

	rows, err := tl.Query(`
		SELECT coalesce(e.category_id, 0), u.name, e.rank
		FROM leaderboard_leaderboardentry e JOIN users_user u ON u.id = e.user_id
		ORDER BY 1, e.rank NULLS LAST`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var board int64
		var name string
		var rank sql.NullInt64
		if err := rows.Scan(&board, &name, &rank); err != nil {
			t.Fatal(err)
		}
		r := "-"
		if rank.Valid {
			r = strconv.FormatInt(rank.Int64, 10)
		}
		got = append(got, map[bool]string{true: "global", false: "validators"}[board == 0]+":"+r+":"+name)
	}
	want := "global:1:alice global:2:Bob global:3:carol global:4:Zed global:-:Dave " +
		"validators:1:alice validators:2:Bob validators:3:carol validators:-:Dave"
	if strings.Join(got, " ") != want {
		t.Errorf("ranks = %s\nwant    %s", strings.Join(got, " "), want)
	}
}

func TestSecondRunTheSameDayChangesNothing(t *testing.T) {
	tl := newTally(t).withMultiplier(t)
	ada := tl.User(t, "ada@example.com", "Ada", true)
	tl.uptimeOn(t, ada, at("2026-02-01T00:00:00Z"))
	tl.mustRun(t, Options{})
	before := tl.fingerprint(t)

	res := tl.mustRun(t, Options{Now: now.Add(3 * time.Hour)})

	if res.ContributionsCreated != 0 || res.UsersTouched != 0 || res.DaysSkipped != 38 {
		t.Errorf("second run = %+v, want nothing created and 38 days skipped", res)
	}
	if tl.fingerprint(t) != before {
		t.Error("the second run changed rows")
	}
}

func TestDryRunPlansButWritesNothing(t *testing.T) {
	tl := newTally(t).withMultiplier(t)
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		tl.uptimeOn(t, tl.User(t, email, email, true), at("2026-03-01T00:00:00Z"))
	}
	before := tl.fingerprint(t)

	dry := tl.mustRun(t, Options{DryRun: true, Verbose: true})
	if tl.fingerprint(t) != before {
		t.Fatal("the dry run wrote rows")
	}
	wet := tl.mustRun(t, Options{})
	if dry.ContributionsCreated != wet.ContributionsCreated || dry.UsersTouched != wet.UsersTouched ||
		dry.ContributionsCreated != 18 {
		t.Errorf("dry run %+v and real run %+v disagree (want 18 created)", dry, wet)
	}
}

// A dry run reports everything the real run then does, the leaderboard included (entries and
// ranks), and leaves nothing behind even when its caller commits the transaction.
func TestDryRunRehearsesAllOfTheRealRun(t *testing.T) {
	tl := newTally(t).withMultiplier(t)
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		tl.uptimeOn(t, tl.User(t, email, email, true), at("2026-03-01T00:00:00Z"))
	}
	tl.mustRun(t, Options{Now: now.AddDate(0, 0, -10)})
	tl.MustExec(`UPDATE leaderboard_leaderboardentry SET rank = 99`) // stale ranks the run must correct
	before := tl.fingerprint(t)

	tx := tl.MustBegin()
	dry, err := Generator{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}.
		Run(context.Background(), tx, Options{DryRun: true, Points: 1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil { // a caller that forgets it was a dry run
		t.Fatal(err)
	}
	if tl.fingerprint(t) != before {
		t.Fatal("the dry run left rows behind")
	}
	wet := tl.mustRun(t, Options{})
	if dry.EntriesUpdated == 0 || dry.RanksChanged == 0 || dry.ContributionsCreated != 18 || !reflect.DeepEqual(dry, wet) {
		t.Errorf("dry run %+v, real run %+v: want the same, with entries updated and ranks changed", dry, wet)
	}
}
