package uptime

import (
	"strings"
	"testing"
	"time"
)

// FuzzWindow: for any clock (in any time zone), days and points, Today is the UTC day of Now,
// Validate accepts exactly the options whose window is a real one, and the window of valid
// options never reaches past today nor starts after it ends. ParseDay round-trips.
//
//	go test ./job/uptime -run '^$' -fuzz FuzzWindow -fuzztime 60s
func FuzzWindow(f *testing.F) {
	june15 := time.Date(2026, 6, 15, 12, 30, 0, 0, time.UTC).Unix()
	for _, s := range []struct {
		now            int64
		nsec           int64
		zoneMinutes    int
		from, to       int // days from today, UTC
		fromSet, toSet bool
		points         int
		zeroNow        bool
		day            string
	}{
		{june15, 0, 0, 0, 0, false, false, 1, false, "2026-06-15"},
		{june15, 0, 0, -30, -1, true, true, 1, false, "2026-01-31"},
		{june15, 0, 0, 0, 0, true, true, 3, false, "2024-02-29"},
		{june15, 0, 0, 1, 0, true, false, 1, false, "2026-02-30"},    // --from after today, no --to
		{june15, 0, 0, -1, 1, true, true, 1, false, "2026-13-01"},    // --to after today
		{june15, 0, 0, -1, -2, true, true, 1, false, "26-01-01"},     // --from after --to
		{june15, 0, 0, 0, 0, false, false, 0, false, "2026-1-1"},     // points 0
		{june15, 0, 0, 0, 0, false, false, -5, false, " 2026-01-01"}, // points < 0
		{0, 0, 0, 0, 0, false, false, 1, true, ""},                   // no clock
		// Late evening west of UTC and early morning east of it: today is the UTC day.
		{time.Date(2026, 6, 15, 23, 59, 59, 0, time.UTC).Unix(), 999_999_999, -7 * 60, 0, 0, false, true, 1, false, "2026-06-16"},
		{time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC).Unix(), 0, 14 * 60, 0, 0, true, true, 1, false, "0000-01-01"},
		{time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC).Unix(), 0, -12 * 60, -1, 0, true, true, 1, false, "9999-12-31"},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), 0, 0, -400, -365, true, true, 1, false, "1969-12-31"},
		{time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC).Unix(), 0, 330, -366, 0, true, true, 1, false, "2028-02-29"},
	} {
		f.Add(s.now, s.nsec, s.zoneMinutes, s.from, s.to, s.fromSet, s.toSet, s.points, s.zeroNow, s.day)
	}
	f.Fuzz(func(t *testing.T, nowSec, nowNsec int64, zoneMinutes, fromOffset, toOffset int,
		fromSet, toSet bool, points int, zeroNow bool, day string) {
		// A clock between the years 1 and 9999 (what a run's clock and a YYYY-MM-DD can be), in a
		// zone up to ±18 h from UTC; days up to ±100,000 days from its UTC day.
		const span = 9997 * 365 * 24 * 3600
		first := time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC).Unix()
		now := time.Unix(first+abs(nowSec%span), abs(nowNsec%1e9)).In(time.FixedZone("fuzz", (zoneMinutes%(18*60))*60))
		if zeroNow {
			now = time.Time{}
		}
		today := DayOf(now)
		o := Options{Points: points, Now: now}
		if fromSet {
			o.From = today.AddDate(0, 0, fromOffset%100_000)
		}
		if toSet {
			o.To = today.AddDate(0, 0, toOffset%100_000)
		}

		// Today is the UTC calendar day of Now.
		if got := o.Today(); !got.Equal(today) || got.Location() != time.UTC || got.After(now) ||
			now.Sub(got) >= 24*time.Hour || got.Format(DayLayout) != now.UTC().Format(DayLayout) || DayOf(got) != got {
			t.Fatalf("Today() = %v for Now %v", got, now)
		}

		// ParseDay reads exactly one form of each day, and gives back 00:00 UTC of it.
		if d, err := ParseDay(day); err == nil {
			if d.Format(DayLayout) != day || DayOf(d) != d {
				t.Fatalf("ParseDay(%q) = %v, which formats as %q", day, d, d.Format(DayLayout))
			}
		} else if strings.ContainsAny(err.Error(), "\r\n") {
			t.Fatalf("ParseDay(%q): the message is not one line: %q", day, err)
		}
		if d, err := ParseDay(today.Format(DayLayout)); err != nil || !d.Equal(today) {
			t.Fatalf("ParseDay(%q) = %v, %v; want %v", today.Format(DayLayout), d, err, today)
		}

		// Validate accepts exactly the options with points, a clock and a real window.
		to := today
		if toSet {
			to = o.To
		}
		valid := points >= 1 && !zeroNow && !to.After(today) && (!fromSet || !o.From.After(to))
		err := o.Validate()
		if (err == nil) != valid {
			t.Fatalf("Validate(%+v) = %v, want valid: %v", o, err, valid)
		}
		if err != nil {
			msg := err.Error()
			if msg == "" || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("Validate: the message is not one line: %q", msg)
			}
			// A --from after today without a --to must not blame a --to that was never given.
			if points >= 1 && !zeroNow && !toSet && fromSet && (strings.Contains(msg, "--to") || !strings.Contains(msg, "after today")) {
				t.Fatalf("Validate: --from %s after today says %q", o.From.Format(DayLayout), msg)
			}
			return
		}
		from, to := o.Window()
		switch {
		case to.After(today):
			t.Fatalf("Window() ends %v, after today %v", to, today)
		case !from.IsZero() && from.After(to):
			t.Fatalf("Window() = %v to %v: it starts after it ends", from, to)
		case !toSet && !to.Equal(today):
			t.Fatalf("Window() ends %v without --to, want today %v", to, today)
		case !fromSet && !from.IsZero():
			t.Fatalf("Window() starts %v without --from", from)
		case DayOf(to) != to || (!from.IsZero() && DayOf(from) != from):
			t.Fatalf("Window() = %v to %v: not 00:00 UTC days", from, to)
		}

	})
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
