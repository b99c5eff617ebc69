package main

// One user's bad data never stops everyone's night (issue 18): users whose missing days no
// multiplier covers are held back (exit 5), a multiplier tie after the window is a warning, and
// --force is bounded per user.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"

	"github.com/tally/uptime/internal/contract"
)

// heldBackDB has Ada, whose start day lies before the only multiplier, and Bob, who is covered.
func heldBackDB(t *testing.T, adaStart time.Time) (db *testdb.DB, ada, bob int64) {
	t.Helper()
	db = testdb.New(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	typ := db.ContributionType(t, "Uptime", db.Category(t, "Validators"), 1, 5)
	db.Multiplier(t, typ, "2.50", today.AddDate(0, 0, -2))
	ada = db.User(t, "ada@example.com", "Ada", true)
	bob = db.User(t, "bob@example.com", "Bob", true)
	db.Contribution(t, testdb.Contribution{UserID: ada, TypeID: typ, Points: 1, Frozen: 1, Multiplier: "1.00",
		Date: adaStart, Notes: "first"})
	db.Contribution(t, testdb.Contribution{UserID: bob, TypeID: typ, Points: 1, Frozen: 1, Multiplier: "2.50",
		Date: today.AddDate(0, 0, -1), Notes: "first"})
	return db, ada, bob
}

func userRows(t *testing.T, db *testdb.DB, user int64) (n int64) {
	t.Helper()
	if err := db.QueryRow(`SELECT count(*) FROM contributions_contribution WHERE user_id = $1`, user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Days no multiplier covers hold their user back, named in the log; every other user is filled;
// the run exits 5, counts for the missed-run alarm and fails for the mail. --force gives the days 1.00.
func TestUncoveredDaysHoldTheUserBack(t *testing.T) {
	t.Parallel()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	db, ada, bob := heldBackDB(t, today.AddDate(0, 0, -10))

	r := runJob(t, jobEnv(db.URL))
	r.expect(t, contract.ExitHeldBack)
	r.oneStderrLine(t, "1 user(s) held back", fmt.Sprintf("%d (ada@example.com)", ada), "named in the log")
	rec := r.only(t, func(rec map[string]any) bool { return rec["msg"] == "user held back" }, "user held back")
	firstUncovered := today.AddDate(0, 0, -9).Format("2006-01-02")
	if rec["user_id"] != float64(ada) || rec["email"] != "ada@example.com" || rec["level"] != "WARN" ||
		rec["start_day"] != today.AddDate(0, 0, -10).Format("2006-01-02") || rec["first_uncovered_day"] != firstUncovered ||
		!strings.Contains(fmt.Sprint(rec["error"]), "add a multiplier valid from "+firstUncovered) {
		t.Errorf("held-back record %v", rec)
	}
	if m := r.metrics(t); m["RunSucceeded"] != 1.0 || m["RunFailed"] != 1.0 || m["UsersHeldBack"] != 1.0 ||
		m["ContributionsCreated"] != 1.0 || m["ErrorClass"] != "held_back" {
		t.Errorf("EMF %v, want a completed run that needs a look", m)
	}
	if sum := r.summary(t); sum["users_held_back"] != 1.0 || !strings.Contains(fmt.Sprint(sum["error"]), "held back") {
		t.Errorf("summary %v", sum)
	}
	if userRows(t, db, ada) != 1 || userRows(t, db, bob) != 2 {
		t.Errorf("ada has %d rows (want 1, held back), bob %d (want 2)", userRows(t, db, ada), userRows(t, db, bob))
	}

	r = runJob(t, jobEnv(db.URL), "--force")
	r.expect(t, contract.ExitOK)
	var forced, covered int
	err := db.QueryRow(`
		SELECT count(*) FILTER (WHERE multiplier_at_creation = 1.00 AND frozen_global_points = 1 AND contribution_date < $1),
		       count(*) FILTER (WHERE multiplier_at_creation = 2.50 AND frozen_global_points = 2 AND contribution_date >= $1)
		FROM contributions_contribution WHERE notes LIKE 'Auto-generated%' AND user_id = $2`, today.AddDate(0, 0, -2), ada).
		Scan(&forced, &covered)
	if err != nil {
		t.Fatal(err)
	}
	if forced != 7 || covered != 3 {
		t.Errorf("--force: %d days at 1.00 (want 7), %d at 2.50 (want 3)", forced, covered)
	}
	checkComplete(t, db)
}

// The typo of issue 18, a start day of 0206-12-07: the nightly run holds that user back and
// fills the others; --force over everyone is refused (exit 3) naming the user and the row count,
// and its dry run with --user naming the user shows the count.
func TestAMistypedStartDay(t *testing.T) {
	t.Parallel()
	db, ada, bob := heldBackDB(t, time.Date(206, 12, 7, 0, 0, 0, 0, time.UTC))

	r := runJob(t, jobEnv(db.URL))
	r.expect(t, contract.ExitHeldBack)
	t.Logf("the nightly run holding the typo back took %v", r.Elapsed)
	r.oneStderrLine(t, fmt.Sprintf("%d (ada@example.com)", ada))
	rec := r.only(t, func(rec map[string]any) bool { return rec["msg"] == "user held back" }, "user held back")
	if rec["start_day"] != "0206-12-07" || rec["first_uncovered_day"] != "0206-12-08" {
		t.Errorf("held-back record %v", rec)
	}
	if userRows(t, db, ada) != 1 || userRows(t, db, bob) != 2 {
		t.Errorf("ada has %d rows (want 1), bob %d (want 2)", userRows(t, db, ada), userRows(t, db, bob))
	}

	before := snapshot(t, db)
	r = runJob(t, jobEnv(db.URL), "--force")
	r.expect(t, contract.ExitData)
	t.Logf("--force over everyone, refused, took %v: %s", r.Elapsed, r.Stderr)
	r.oneStderrLine(t, "more than 3660 days", fmt.Sprintf("user %d (ada@example.com) 664", ada), "0206-12-08", "--force --user")
	unchanged(t, db, before)

	r = runJob(t, jobEnv(db.URL), "--force", "--dry-run", "--user", "ada@example.com")
	r.expect(t, contract.ExitOK)
	t.Logf("--force --dry-run --user took %v", r.Elapsed)
	if most := num(t, r.summary(t), "most_days_one_user"); most < 664000 {
		t.Errorf("the dry run shows %v days for one user, want the typo's 664,000-odd", most)
	}
	unchanged(t, db, before)
}

// Two multipliers with the same valid_from after today decide no day of tonight's run: a warning
// names both, and the run fills as usual.
func TestAFutureMultiplierTie(t *testing.T) {
	t.Parallel()
	db, _, bob := heldBackDB(t, time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1))
	typ := int64(0)
	if err := db.QueryRow(`SELECT id FROM contributions_contributiontype WHERE name = 'Uptime'`).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	next := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 7)
	first := db.Multiplier(t, typ, "1.50", next)
	second := db.Multiplier(t, typ, "3.00", next)

	r := runJob(t, jobEnv(db.URL))
	r.expect(t, contract.ExitOK)
	rec := r.only(t, func(rec map[string]any) bool {
		return strings.Contains(fmt.Sprint(rec["msg"]), "valid from the same moment")
	},
		"tie warning")
	if rec["level"] != "WARN" || rec["multiplier_id"] != float64(first) || rec["other_multiplier_id"] != float64(second) {
		t.Errorf("tie warning %v, want multipliers %d and %d", rec, first, second)
	}
	if userRows(t, db, bob) != 2 {
		t.Errorf("bob has %d rows, want 2", userRows(t, db, bob))
	}
}
