// Package uptime plans and carries out one run of the uptime generator: which user-days lack an
// Uptime contribution, what each new contribution is worth, and the set-based SQL that writes
// them and refreshes the leaderboards inside the caller's transaction.
package uptime

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// DayLayout is how days are written on the command line, in notes and in logs.
const DayLayout = "2006-01-02"

// Options is what the caller asks of one run.
type Options struct {
	Points  int       // points per uptime day, at least 1
	Force   bool      // days no multiplier covers get 1.00 instead of holding their users back
	From    time.Time // first day to fill; zero means each user's first day
	To      time.Time // last day to fill; zero means today
	Users   []string  // e-mail addresses to limit the run to; empty means everyone
	DryRun  bool      // do and report everything, then roll it back (rehearse)
	Verbose bool      // log one record per user who gets contributions
	Now     time.Time // the run's clock: created_at/updated_at, and what "today" is
}

// Today is the UTC calendar day of o.Now.
func (o Options) Today() time.Time { return DayOf(o.Now) }

// Window is the inclusive range of days the run may fill. A zero From means no lower bound
// other than each user's first day.
func (o Options) Window() (from, to time.Time) {
	to = o.To
	if to.IsZero() {
		to = o.Today()
	}
	return o.From, to
}

// Validate reports the first thing wrong with o, in words meant for the person who ran the job.
func (o Options) Validate() error {
	if o.Points < 1 {
		return fmt.Errorf("points must be a whole number of at least 1, not %d", o.Points)
	}
	if o.Now.IsZero() {
		return errors.New("the run has no clock")
	}
	today := o.Today()
	if !o.To.IsZero() && o.To.After(today) {
		return fmt.Errorf("--to %s is after today (%s, UTC): uptime cannot be given for days that have not happened",
			o.To.Format(DayLayout), today.Format(DayLayout))
	}
	from, to := o.Window()
	switch {
	case from.IsZero() || !from.After(to):
	case o.To.IsZero():
		return fmt.Errorf("--from %s is after today (%s, UTC): uptime cannot be given for days that have not happened",
			from.Format(DayLayout), today.Format(DayLayout))
	default:
		return fmt.Errorf("--from %s is after --to %s", from.Format(DayLayout), to.Format(DayLayout))
	}
	return nil
}

// DayOf is the UTC calendar day of t, as 00:00 UTC.
func DayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ParseDay reads a YYYY-MM-DD day as 00:00 UTC.
func ParseDay(s string) (time.Time, error) {
	d, err := time.Parse(DayLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date of the form YYYY-MM-DD", s)
	}
	return d, nil
}

// DataError means the data in the database does not allow the run; nothing was written.
type DataError struct{ msg string }

func (e *DataError) Error() string { return e.msg }

func dataErrorf(format string, args ...any) error {
	return &DataError{msg: fmt.Sprintf(format, args...)}
}

// Multiplier is one row of the Uptime type's global multiplier history.
type Multiplier struct {
	ID        int64     `db:"id"`
	ValidFrom time.Time `db:"valid_from"`
	Value     string    `db:"value"` // numeric, as PostgreSQL writes it
}

// rate is what a new contribution gets from the multiplier in force on its day.
type rate struct {
	validFrom  string // a timestamptz literal; "-infinity" for the --force fallback
	multiplier string
	frozen     int
}

// forcedMultiplier is what --force gives days that no multiplier covers.
const forcedMultiplier = "1.00"

// Tie is two Uptime multipliers valid from the same instant with different values.
type Tie struct{ First, Second Multiplier }

// rates turns the multiplier history (ordered by valid_from, then id) into what each new
// contribution gets. Two multipliers valid from the same instant are one rate if their values are
// equal. If they differ, nothing says which one Django applies: a tie that decides a day up to
// lastDay (the window's last) stops the run; a later one decides no day of this run, so it is
// returned as a warning and tonight goes on (an admin who scheduled next month twice has weeks to
// correct it, and hears of it every night).
func rates(points int, force bool, history []Multiplier, lastDay time.Time) ([]rate, []Tie, error) {
	out := make([]rate, 0, len(history)+1)
	if force {
		out = append(out, rate{validFrom: "-infinity", multiplier: forcedMultiplier, frozen: points})
	}
	var ties []Tie
	var prev *Multiplier
	for _, m := range history {
		if prev != nil && prev.ValidFrom.Equal(m.ValidFrom) {
			err := sameValue(*prev, m)
			switch {
			case err != nil && m.ValidFrom.After(lastDay):
				ties = append(ties, Tie{First: *prev, Second: m})
			case err != nil:
				return nil, nil, err
			}
			continue
		}
		prev = &m
		frozen, err := FrozenPoints(points, m.Value)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, rate{validFrom: m.ValidFrom.UTC().Format(time.RFC3339Nano), multiplier: m.Value, frozen: frozen})
	}
	return out, ties, nil
}

// sameValue refuses two multipliers valid from the same instant with different values.
func sameValue(a, b Multiplier) error {
	x, okA := new(big.Rat).SetString(strings.TrimSpace(a.Value))
	y, okB := new(big.Rat).SetString(strings.TrimSpace(b.Value))
	if okA && okB && x.Cmp(y) == 0 {
		return nil
	}
	return dataErrorf("Uptime multipliers %d (%s) and %d (%s) are both valid from %s: delete or correct one of them "+
		"in Tally's admin, since which one applies is ambiguous", a.ID, a.Value, b.ID, b.Value,
		a.ValidFrom.UTC().Format(time.RFC3339))
}

// FrozenPoints is points × multiplier exactly as Tally's Django model computes it: the product in
// double precision, rounded half to even (Python's round(points * float(multiplier))).
func FrozenPoints(points int, multiplier string) (int, error) {
	m, err := strconv.ParseFloat(strings.TrimSpace(multiplier), 64)
	if err != nil {
		return 0, fmt.Errorf("multiplier %q is not a number", multiplier)
	}
	frozen := math.RoundToEven(float64(points) * m)
	if frozen < 0 || frozen > math.MaxInt32 {
		return 0, dataErrorf("multiplier %s gives %v points for %d, outside what frozen_global_points can hold",
			multiplier, frozen, points)
	}
	return int(frozen), nil
}

// MaxForcedDays bounds what --force gives one user in a run over everyone: ten years of days. A
// plan above it is a mistyped start day far more often than a real backfill (0206-12-07 for
// 2026-12-07 is some 665,000 rows), and a real one can name its user with --user.
const MaxForcedDays = 3660

// ForcedUser is a user a --force plan would give more than MaxForcedDays days.
type ForcedUser struct {
	ID       int64     `db:"user_id"`
	Email    string    `db:"email"`
	Days     int64     `db:"days"`
	FirstDay time.Time `db:"first_day"`
	Over     int64     `db:"over"` // how many users are over the bound, the unnamed ones included
}

// tooManyForcedError refuses a --force plan over everyone that gives users more than
// MaxForcedDays days each; the first few are named, the largest first.
func tooManyForcedError(users []ForcedUser, count int64) error {
	named := make([]string, len(users))
	for i, u := range users {
		named[i] = fmt.Sprintf("user %d (%s) %d days from %s", u.ID, u.Email, u.Days, u.FirstDay.Format(DayLayout))
	}
	shown := strings.Join(named, "; ")
	if count > int64(len(users)) {
		shown += fmt.Sprintf("; and %d more", count-int64(len(users)))
	}
	return dataErrorf("--force would give %d user(s) more than %d days (ten years) each: %s; a start day that far back "+
		"is usually a typo: correct the user's first Uptime contribution in Tally's admin; if it is right, rerun with "+
		"--force --user naming the user", count, MaxForcedDays, shown)
}
