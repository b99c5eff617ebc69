package uptime

// One user's bad data never stops everyone's night (issue 18): the generator's side.

import (
	"strconv"
	"strings"
	"testing"
)

// A user whose missing days are not all covered by a multiplier is held back: nothing is written
// for them, their leaderboard entry is left alone, and every other user is filled. --force gives
// the uncovered days 1.00.
func TestDaysWithoutAMultiplierHoldTheUserBack(t *testing.T) {
	tl := newTally(t)
	tl.Multiplier(t, tl.uptime, "2.00", at("2026-03-05T00:00:00Z"))
	ada := tl.User(t, "ada@example.com", "Ada", true)
	bob := tl.User(t, "bob@example.com", "Bob", true)
	tl.uptimeOn(t, ada, at("2026-03-01T09:00:00Z"))
	tl.uptimeOn(t, bob, at("2026-03-06T09:00:00Z"))

	res := tl.mustRun(t, Options{})
	want := []HeldUser{{ID: ada, Email: "ada@example.com", StartDay: day("2026-03-01"), FirstUncovered: day("2026-03-02"), UncoveredDays: 3}}
	if len(res.HeldBack) != 1 || res.HeldBack[0].ID != ada || res.HeldBack[0].UncoveredDays != 3 ||
		!res.HeldBack[0].StartDay.Equal(want[0].StartDay) || !res.HeldBack[0].FirstUncovered.Equal(want[0].FirstUncovered) ||
		res.HeldBack[0].Email != want[0].Email {
		t.Errorf("held back = %+v, want %+v", res.HeldBack, want)
	}
	if res.UsersWithUptime != 1 || res.ContributionsCreated != 4 {
		t.Errorf("result = %+v, want bob's 4 days", res)
	}
	if got := tl.uptimeDays(t, ada); len(got) != 1 {
		t.Errorf("ada was held back but got %v", got)
	}
	if got := tl.uptimeDays(t, bob); len(got) != 5 {
		t.Errorf("bob got %v, want his 5 days", got)
	}
	var adaEntries int
	if err := tl.Get(&adaEntries, `SELECT count(*) FROM leaderboard_leaderboardentry WHERE user_id = $1`, ada); err != nil {
		t.Fatal(err)
	}
	if adaEntries != 0 { // the refresh left her alone: no entry before, none after
		t.Errorf("ada, held back, has %d leaderboard entries", adaEntries)
	}
	for _, part := range []string{"user " + strconv.FormatInt(ada, 10) + " (ada@example.com)", "from 2026-03-02",
		"start day 2026-03-01", "Tally's admin", "add a multiplier valid from 2026-03-02"} {
		if !strings.Contains(res.HeldBack[0].Reason(), part) {
			t.Errorf("reason %q lacks %q", res.HeldBack[0].Reason(), part)
		}
	}

	res = tl.mustRun(t, Options{Force: true})
	if res.ContributionsCreated != 9 || res.HeldBack != nil {
		t.Errorf("with --force = %+v, want ada's 9 days and nobody held back", res)
	}
	var forced int
	if err := tl.Get(&forced, `SELECT count(*) FROM contributions_contribution
		WHERE created_at = $1 AND multiplier_at_creation = 1.00 AND frozen_global_points = 1 AND contribution_date < '2026-03-05'`, now); err != nil {
		t.Fatal(err)
	}
	if forced != 3 {
		t.Errorf("%d uncovered days got multiplier 1.00, want 3", forced)
	}
}

// The typo of issue 18: one start day in the year 206. The user is held back, the others are
// filled; --force over everyone is refused with the user and their row count, and --force --user
// naming them is allowed (a dry run here: 664,000 rows is the point of the bound).
func TestAMistypedStartDayHoldsOneUserBack(t *testing.T) {
	tl := newTally(t)
	tl.Multiplier(t, tl.uptime, "1.00", at("2020-01-01T00:00:00Z"))
	typo := tl.User(t, "typo@example.com", "Typo", true)
	ada := tl.User(t, "ada@example.com", "Ada", true)
	tl.uptimeOn(t, typo, at("0206-12-07T00:00:00Z"))
	tl.uptimeOn(t, typo, at("2026-03-01T00:00:00Z"))
	tl.uptimeOn(t, ada, at("2026-03-08T00:00:00Z"))
	before := tl.fingerprint(t)

	dry := tl.mustRun(t, Options{DryRun: true})
	if len(dry.HeldBack) != 1 || dry.HeldBack[0].ID != typo || dry.HeldBack[0].StartDay.Format(DayLayout) != "0206-12-07" ||
		dry.HeldBack[0].FirstUncovered.Format(DayLayout) != "0206-12-08" {
		t.Fatalf("held back = %+v, want typo from 0206-12-08", dry.HeldBack)
	}
	if tl.fingerprint(t) != before {
		t.Fatal("a dry run wrote something")
	}
	res := tl.mustRun(t, Options{})
	if res.ContributionsCreated != 2 || len(res.HeldBack) != 1 {
		t.Errorf("run = %+v, want ada's 2 days and typo held back", res)
	}
	if got := tl.uptimeDays(t, typo); len(got) != 2 {
		t.Errorf("typo got %d days, want none added", len(got))
	}

	before = tl.fingerprint(t)
	_, err := tl.run(t, Options{Force: true, DryRun: true})
	if !isDataError(err) || !strings.Contains(err.Error(), "(typo@example.com) 664") || !strings.Contains(err.Error(), "0206-12-08") {
		t.Fatalf("--force over everyone = %v, want a DataError naming typo and the row count", err)
	}
	if _, err := tl.run(t, Options{Force: true}); !isDataError(err) || tl.fingerprint(t) != before {
		t.Fatalf("a real --force run = %v, or it wrote something", err)
	}
	named, err := tl.run(t, Options{Force: true, DryRun: true, Users: []string{"typo@example.com"}})
	if err != nil || named.MostDaysOneUser < 664000 || named.HeldBack != nil {
		t.Fatalf("--force --user typo = %+v, %v; want the dry run to show the row count", named, err)
	}
}

// Two multipliers tied a week after the window decide none of its days: the run fills as usual.
// The same tie inside the window stops it.
func TestAFutureMultiplierTieDoesNotStopTonight(t *testing.T) {
	tl := newTally(t).withMultiplier(t)
	tl.Multiplier(t, tl.uptime, "1.50", at("2026-03-17T00:00:00Z"))
	tl.Multiplier(t, tl.uptime, "2.50", at("2026-03-17T00:00:00Z"))
	ada := tl.User(t, "ada@example.com", "Ada", true)
	tl.uptimeOn(t, ada, at("2026-03-08T00:00:00Z"))
	if res := tl.mustRun(t, Options{}); res.ContributionsCreated != 2 {
		t.Errorf("created %d, want 2", res.ContributionsCreated)
	}
	later := now.AddDate(0, 0, 8)
	if _, err := tl.run(t, Options{Now: later}); !isDataError(err) || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("a run whose window reaches the tie = %v, want a DataError", err)
	}
}
