package uptime

import (
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/tally/uptime/internal/testdb"
)

// The scan must find every hole exactly, whatever the history's length: a day missing where
// another is doubled leaves as many rows as days in the span (a row count alone misses it), and
// the days on either side of a 128-day block's edge and of the 64-day halves it is OR-ed in
// (scan.sql) are holes like any other.
func TestHolesAreFoundExactly(t *testing.T) {
	tl := newTally(t).withMultiplier(t)
	ada := tl.User(t, "ada@example.com", "Ada", true)
	bob := tl.User(t, "bob@example.com", "Bob", true)

	// Ada: 2026-02-20 to 2026-03-01, ten rows for ten days, 02-24 twice and 02-26 not at all.
	for d := day("2026-02-20"); !d.After(day("2026-03-01")); d = d.AddDate(0, 0, 1) {
		if !d.Equal(day("2026-02-26")) {
			tl.uptimeOn(t, ada, d)
		}
	}
	// The second row of 02-24 is a generated one: the run keeps one row a day and removes it.
	tl.Contribution(t, testdb.Contribution{UserID: ada, TypeID: tl.uptime, Points: 1, Frozen: 1, Multiplier: "1.00",
		Date: day("2026-02-24").Add(9 * time.Hour), Notes: "Auto-generated daily uptime for 2026-02-24"})

	// Bob: every day from 2022-01-01 to 2026-02-27 (eleven 128-day blocks and parts of two more)
	// but for holes on both sides of each half block's edge and one more, each offset by a
	// doubled day.
	first, last := day("2022-01-01"), day("2026-02-27")
	epoch := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	holes := map[string]bool{"2023-07-04": true}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		if n := (d.Unix() - epoch.Unix()) / 86400; n%64 == 0 || n%64 == 63 {
			holes[d.Format(DayLayout)] = true
		}
	}
	if _, err := tl.Exec(`
		INSERT INTO contributions_contribution (created_at, updated_at, user_id, contribution_type_id, points,
		                                        frozen_global_points, multiplier_at_creation, contribution_date, notes)
		SELECT now(), now(), $1::bigint, $2::bigint, 1, 1, 1.00, d, ''
		FROM generate_series($3::timestamptz, $4::timestamptz, interval '1 day') AS d
		WHERE to_char(d AT TIME ZONE 'UTC', 'YYYY-MM-DD') <> ALL ($5::text[])
		UNION ALL -- as many doubled days as holes: the row count is the span's
		SELECT now(), now(), $1::bigint, $2::bigint, 1, 1, 1.00, d + interval '3 hours', ''
		FROM generate_series($3::timestamptz, $4::timestamptz, interval '1 day') AS d
		WHERE to_char(d AT TIME ZONE 'UTC', 'YYYY-MM-DD') <> ALL ($5::text[]) -- a second row, not a hole's first
		LIMIT (SELECT count(*) FROM generate_series($3::timestamptz, $4::timestamptz, interval '1 day'))`,
		bob, tl.uptime, first, last, pq.Array(keys(holes))); err != nil {
		t.Fatal(err)
	}
	var bobRows int
	if err := tl.Get(&bobRows, `SELECT count(*) FROM contributions_contribution WHERE user_id = $1`, bob); err != nil {
		t.Fatal(err)
	}
	if span := int(last.Sub(first).Hours()/24) + 1; bobRows != span || len(holes) < 6 {
		t.Fatalf("bob has %d rows for a span of %d days and %d holes; the test means rows = span", bobRows, span, len(holes))
	}

	res := tl.mustRun(t, Options{})

	if res.DuplicatesRemoved != 1 {
		t.Errorf("removed %d doubled rows, want 1 (ada's generated second row of 02-24)", res.DuplicatesRemoved)
	}
	tail := int(now.Sub(day("2026-02-28")).Hours()/24) + 1 // bob's days after his last: 02-28 to today
	if want := int64(1 + 9 + len(holes) + tail); res.ContributionsCreated != want {
		t.Errorf("created %d contributions, want %d (ada 1 hole + 9 days, bob %d holes + %d days)",
			res.ContributionsCreated, want, len(holes), tail)
	}
	for _, u := range []struct {
		id    int64
		first time.Time
	}{{ada, day("2026-02-20")}, {bob, first}} {
		seen := map[string]bool{}
		for _, d := range tl.uptimeDays(t, u.id) {
			seen[d] = true
		}
		for d := u.first; !d.After(DayOf(now)); d = d.AddDate(0, 0, 1) {
			if !seen[d.Format(DayLayout)] {
				t.Errorf("user %d has no Uptime on %s after the run", u.id, d.Format(DayLayout))
			}
		}
		if want := int(DayOf(now).Sub(u.first).Hours()/24) + 1; len(seen) != want {
			t.Errorf("user %d has Uptime on %d days, want %d", u.id, len(seen), want)
		}
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
