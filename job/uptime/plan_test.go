package uptime

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFrozenPointsRoundsLikeDjango(t *testing.T) {
	cases := []struct {
		points     int
		multiplier string
		want       int
	}{
		{3, "1.50", 4},   // 4.5 → 4: half to even
		{3, "2.50", 8},   // 7.5 → 8
		{1, "2.50", 2},   // 2.5 → 2
		{1, "0.50", 0},   // 0.5 → 0
		{5, "1.30", 6},   // 6.5 → 6
		{1, "1.00", 1},   // no rounding
		{10, "1.15", 12}, // 11.5 → 12
		{15, "4.10", 61}, // 61.49999999999999 in double precision: 61, where decimal arithmetic gives 62
		{30, "2.05", 61}, // likewise
		{2, "1.25", 2},   // 2.5 → 2
		{7, "0.00", 0},
		{4, "1.125", 4}, // 4.5 → 4
	}
	for _, c := range cases {
		got, err := FrozenPoints(c.points, c.multiplier)
		if err != nil {
			t.Fatalf("FrozenPoints(%d, %s): %v", c.points, c.multiplier, err)
		}
		if got != c.want {
			t.Errorf("FrozenPoints(%d, %s) = %d, want %d", c.points, c.multiplier, got, c.want)
		}
	}
}

func TestFrozenPointsRefusesWhatTheColumnCannotHold(t *testing.T) {
	for _, m := range []string{"-1.00", "99999999999.00"} {
		_, err := FrozenPoints(1, m)
		var data *DataError
		if !errors.As(err, &data) {
			t.Errorf("FrozenPoints(1, %s) error = %v, want a DataError", m, err)
		}
	}
	if _, err := FrozenPoints(1, "abc"); err == nil {
		t.Error("FrozenPoints(1, abc) succeeded")
	}
}

func TestRates(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feb := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	history := []Multiplier{
		{ID: 1, ValidFrom: jan, Value: "1.00"},
		{ID: 2, ValidFrom: feb, Value: "2.5"},
		{ID: 3, ValidFrom: feb, Value: "2.50"}, // same instant, same value: one rate
	}
	got, _, err := rates(3, false, history, feb)
	if err != nil {
		t.Fatal(err)
	}
	want := []rate{
		{validFrom: "2026-01-01T00:00:00Z", multiplier: "1.00", frozen: 3},
		{validFrom: "2026-02-01T12:00:00Z", multiplier: "2.5", frozen: 8},
	}
	if len(got) != len(want) {
		t.Fatalf("rates = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("rate %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	forced, _, err := rates(2, true, history, feb)
	if err != nil {
		t.Fatal(err)
	}
	if first := forced[0]; first.validFrom != "-infinity" || first.multiplier != "1.00" || first.frozen != 2 {
		t.Errorf("with --force the first rate = %+v, want 1.00 from -infinity worth 2", first)
	}
}

// Two multipliers valid from the same instant with different values stop the run, naming both.
func TestRatesRefuseConflictingMultipliers(t *testing.T) {
	feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	history := []Multiplier{{ID: 7, ValidFrom: feb, Value: "1.50"}, {ID: 9, ValidFrom: feb, Value: "2.50"}}
	_, _, err := rates(1, true, history, feb) // the tie decides the window's last day
	var dataErr *DataError
	if !errors.As(err, &dataErr) {
		t.Fatalf("rates = %v, want a DataError", err)
	}
	for _, part := range []string{"7 (1.50)", "9 (2.50)", "2026-02-01T00:00:00Z"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("%q does not name %q", err, part)
		}
	}
}

func TestValidate(t *testing.T) {
	now := time.Date(2026, 3, 10, 23, 59, 0, 0, time.UTC)
	day := func(s string) time.Time { d, _ := ParseDay(s); return d }
	cases := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"defaults", Options{Points: 1, Now: now}, ""},
		{"window", Options{Points: 1, Now: now, From: day("2026-03-01"), To: day("2026-03-10")}, ""},
		{"one day", Options{Points: 1, Now: now, From: day("2026-03-05"), To: day("2026-03-05")}, ""},
		{"from today", Options{Points: 1, Now: now, From: day("2026-03-10")}, ""},
		{"zero points", Options{Points: 0, Now: now}, "points"},
		{"to tomorrow", Options{Points: 1, Now: now, To: day("2026-03-11")}, "after today"},
		{"from after to", Options{Points: 1, Now: now, From: day("2026-03-05"), To: day("2026-03-04")}, "after --to"},
		{"from tomorrow", Options{Points: 1, Now: now, From: day("2026-03-11")}, "--from 2026-03-11 is after today"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.opts.Validate()
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, c.wantErr)
			}
		})
	}
}

func TestTodayIsTheUTCDay(t *testing.T) {
	// 23:30 in New York on 9 March is already 10 March in UTC.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database")
	}
	o := Options{Now: time.Date(2026, 3, 9, 23, 30, 0, 0, ny)}
	if got := o.Today().Format(DayLayout); got != "2026-03-10" {
		t.Errorf("Today() = %s, want 2026-03-10", got)
	}
}

// A tie after the window's last day decides no day of the run: it comes back as a warning, both
// rows named, and the run's rates are those before it.
func TestRatesWarnOfATieAfterTheWindow(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	next := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	history := []Multiplier{{ID: 1, ValidFrom: jan, Value: "1.00"},
		{ID: 7, ValidFrom: next, Value: "1.50"}, {ID: 9, ValidFrom: next, Value: "2.50"}}
	got, ties, err := rates(1, false, history, time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("rates = %v, want the run to go on", err)
	}
	if len(ties) != 1 || ties[0].First.ID != 7 || ties[0].Second.ID != 9 {
		t.Errorf("ties = %+v, want multipliers 7 and 9", ties)
	}
	if len(got) != 2 || got[0].multiplier != "1.00" {
		t.Errorf("rates = %+v", got)
	}
	// The same tie on the window's last day decides it.
	if _, _, err := rates(1, false, history, next); err == nil {
		t.Error("a tie at the window's last day was accepted")
	}
}

func TestTooManyForcedErrorNamesUsersAndRemedies(t *testing.T) {
	users := []ForcedUser{{ID: 42, Email: "ada@example.com", Days: 664743, FirstDay: time.Date(206, 12, 7, 0, 0, 0, 0, time.UTC)}}
	msg := tooManyForcedError(users, 3).Error()
	for _, want := range []string{"3 user(s)", "3660", "user 42 (ada@example.com) 664743 days from 0206-12-07", "and 2 more",
		"Tally's admin", "--force --user"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}
