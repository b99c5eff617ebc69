package main

// Kept, not replaced by a time of day: EventBridge Scheduler takes any cron, rate or at
// expression, an operator may want one (twice a night, a DST-aware zone's quarter hour), and a
// typo found here is a synth error instead of a CreateSchedule failure halfway through a
// deploy. What the rest of the stack assumes is checked too: the missed-run alarm expects a
// run every day (runsDaily).
//
// EventBridge Scheduler's schedule expressions, checked at synth time rather
// than by CreateSchedule at deploy time. The rules are the Scheduler User
// Guide's ("Schedule types on EventBridge Scheduler") and API reference's:
//   - at(yyyy-mm-ddThh:mm:ss), rate(value unit), cron(fields);
//   - "A cron expression consists of six fields separated by white spaces:
//     (minutes hours day_of_month month day_of_week year)";
//   - "A rate expression consists of a value as a positive integer, and a unit
//     with the following options: minute | minutes | hour | hours | day | days",
//     singular for a value of 1 and plural above;
//   - cron's field table: minutes 0-59 (, - * /), hours 0-23 (, - * /),
//     day-of-month 1-31 (, - * ? / L W), month 1-12 or JAN-DEC (, - * /),
//     day-of-week 1-7 or SUN-SAT (, - * ? L #), year 1970-2199 (, - * /);
//   - "You can't specify the Day-of-month and Day-of-week fields in the same
//     cron expression. If you specify a value or a * (asterisk) in one of the
//     fields, you must use a ? (question mark) in the other."

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

type cronField struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
	extra    string   // wildcards beyond , - *
	noStep   bool     // the / wildcard is not in the field's list
}

var cronFields = []cronField{
	{name: "minutes", min: 0, max: 59},
	{name: "hours", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31, extra: "?LW"},
	{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day-of-week", min: 1, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}, extra: "?L#", noStep: true},
	{name: "year", min: 1970, max: 2199},
}

var (
	ratePattern = regexp.MustCompile(`^rate\((\d+) (minutes?|hours?|days?)\)$`)
	atPattern   = regexp.MustCompile(`^at\((.*)\)$`)
	cronPattern = regexp.MustCompile(`^cron\((.*)\)$`)
)

// checkScheduleExpression returns one sentence saying what is wrong, or nil.
func checkScheduleExpression(expr string) error {
	if m := cronPattern.FindStringSubmatch(expr); m != nil {
		return checkCron(m[1])
	}
	if m := ratePattern.FindStringSubmatch(expr); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			return errors.New("a rate needs a positive whole number, e.g. rate(12 hours)")
		}
		if plural := strings.HasSuffix(m[2], "s"); plural != (n > 1) {
			return errors.New("a rate of 1 takes a singular unit and more than 1 a plural one, e.g. rate(1 day) or rate(2 days)")
		}
		return nil
	}
	if m := atPattern.FindStringSubmatch(expr); m != nil {
		if _, err := time.Parse("2006-01-02T15:04:05", m[1]); err != nil {
			return errors.New("a one-time schedule is at(yyyy-mm-ddThh:mm:ss), e.g. at(2027-01-31T02:00:00)")
		}
		return nil
	}
	return errors.New("not an EventBridge Scheduler expression; use cron(minutes hours day-of-month month day-of-week year), " +
		"rate(value unit) or at(yyyy-mm-ddThh:mm:ss), e.g. cron(0 2 * * ? *)")
}

// runsDaily reports whether a valid expression starts a run at least once every calendar day:
// the missed-run alarm fires after two days without a successful run, so a weekly, monthly or
// one-time schedule would page on its quiet days. In cron, any minutes and hours fire daily;
// the days, month and year must not narrow it.
func runsDaily(expr string) bool {
	if m := cronPattern.FindStringSubmatch(expr); m != nil {
		f := strings.Fields(m[1])
		wild := func(s string) bool { return s == "*" || s == "?" }
		return len(f) == 6 && wild(f[2]) && wild(f[4]) && f[3] == "*" && f[5] == "*"
	}
	if m := ratePattern.FindStringSubmatch(expr); m != nil {
		n, _ := strconv.Atoi(m[1])
		perDay := map[byte]int{'m': 24 * 60, 'h': 24, 'd': 1}[m[2][0]]
		return n <= perDay
	}
	return false
}

func checkCron(body string) error {
	fields := strings.Fields(body)
	if len(fields) != len(cronFields) {
		return fmt.Errorf("a Scheduler cron expression has 6 fields (minutes hours day-of-month month day-of-week year), "+
			"not %d; e.g. cron(0 2 * * ? *)", len(fields))
	}
	for i, f := range cronFields {
		if err := f.check(fields[i]); err != nil {
			return fmt.Errorf("cron field %s %q: %v", f.name, fields[i], err)
		}
	}
	if (fields[2] == "?") == (fields[4] == "?") {
		return errors.New("exactly one of day-of-month and day-of-week must be ?, e.g. cron(0 2 * * ? *) or cron(0 2 ? * MON *)")
	}
	return nil
}

func (f cronField) check(s string) error {
	if s == "?" || s == "L" {
		if !strings.Contains(f.extra, s) {
			return fmt.Errorf("%s is not allowed in this field", s)
		}
		return nil
	}
	if strings.Contains(s, "#") {
		// "If you use the '#' character, you can define only one expression
		// in the day-of-week field."
		day, nth, ok := strings.Cut(s, "#")
		if !strings.Contains(f.extra, "#") || !ok || strings.Contains(s, ",") {
			return errors.New("# is allowed only as a single day-of-week#n, e.g. 3#2")
		}
		if n, err := strconv.Atoi(nth); err != nil || n < 1 || n > 5 || f.value(day) != nil {
			return errors.New("# takes a day of the week and a week 1-5, e.g. 3#2")
		}
		return nil
	}
	for _, item := range strings.Split(s, ",") {
		if err := f.checkItem(item); err != nil {
			return err
		}
	}
	return nil
}

// checkItem checks one comma-separated part: *, a value, a range, an
// increment, or the field's L/W forms.
func (f cronField) checkItem(item string) error {
	if base, step, isStep := strings.Cut(item, "/"); isStep {
		if f.noStep {
			return errors.New("the / wildcard is not allowed in this field")
		}
		if n, err := strconv.Atoi(step); err != nil || n < 1 || n > f.max {
			return fmt.Errorf("increment %q must be a whole number from 1 to %d", step, f.max)
		}
		if base == "*" {
			return nil
		}
		item = base
	}
	if item == "*" {
		return nil
	}
	if from, to, isRange := strings.Cut(item, "-"); isRange {
		if err := f.value(from); err != nil {
			return err
		}
		return f.value(to)
	}
	if v, ok := strings.CutSuffix(item, "W"); ok && strings.Contains(f.extra, "W") {
		return f.value(v) // nW: the weekday nearest day n
	}
	if v, ok := strings.CutSuffix(item, "L"); ok && f.name == "day-of-week" {
		return f.value(v) // nL: the month's last day n of the week
	}
	return f.value(item)
}

func (f cronField) value(s string) error {
	if slices.Contains(f.names, strings.ToUpper(s)) {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < f.min || n > f.max {
		if len(f.names) > 0 {
			return fmt.Errorf("%q is not %d-%d or %s-%s", s, f.min, f.max, f.names[0], f.names[len(f.names)-1])
		}
		return fmt.Errorf("%q is not %d-%d", s, f.min, f.max)
	}
	return nil
}
