package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/job/uptime"
)

// flagSpec is one of the job's flags. The table below is the only description of the flags:
// the flag set that parses them, the UPTIME_ variables that stand in for them, Effective's
// listing and --help are all made from it, so they cannot disagree.
type flagSpec struct {
	name string
	arg  string // the argument's placeholder in --help; "" for a switch
	help string
	bind func(*Config) flag.Value
	// command marks a flag that makes the job print and exit rather than set up a run: it has no
	// variable, since a variable would make every run print instead of run.
	command bool
}

// flagVersion is the one command among the flags; it is no setting, so contract does not name it.
const flagVersion = "version"

// maxTimeout bounds --timeout: the run's session gets what remains of it as statement_timeout,
// a number of milliseconds PostgreSQL keeps in an int (at most 2147483647 ms, 596.5 h). A longer
// one was accepted and then failed every run on its first statement.
const maxTimeout = 596 * time.Hour

var flagTable = []flagSpec{
	{name: contract.FlagDryRun, help: "do and report everything a run does (contributions, duplicates, totals, ranks), " +
		"then roll it all back: nothing is written; the app's saves wait on its last step as on a real run's",
		bind: func(c *Config) flag.Value { return switchValue(&c.Options.DryRun) }},
	{name: contract.FlagVerbose, help: "log one record per user who gets new contributions",
		bind: func(c *Config) flag.Value { return switchValue(&c.Options.Verbose) }},
	{name: contract.FlagPoints, arg: "N", help: "points per uptime day: a whole number >= 1 within the Uptime type's min/max points",
		bind: func(c *Config) flag.Value { return pointsValue(&c.Options.Points) }},
	{name: contract.FlagForce, help: "use multiplier 1.00 for days no Uptime multiplier covers, whose users are " +
		"otherwise held back (exit 5); refused when one user would get more than " + strconv.Itoa(uptime.MaxForcedDays) +
		" days, unless --user names them",
		bind: func(c *Config) flag.Value { return switchValue(&c.Options.Force) }},
	{name: contract.FlagFrom, arg: "YYYY-MM-DD", help: "fill only days on or after this one (never before a user's first day)",
		bind: func(c *Config) flag.Value { return dayValue(&c.Options.From) }},
	{name: contract.FlagTo, arg: "YYYY-MM-DD", help: "fill only days on or before this one (not after today, UTC)",
		bind: func(c *Config) flag.Value { return dayValue(&c.Options.To) }},
	{name: contract.FlagUser, arg: "EMAIL", help: "only this user (compared case-insensitively; an address that matches several users is refused); " +
		"repeat the flag, or separate addresses with commas in the variable",
		bind: func(c *Config) flag.Value { return emailsValue(&c.Options.Users) }},
	{name: contract.FlagTimeout, arg: "DURATION", help: "deadline for the whole run (at most 596h)",
		bind: func(c *Config) flag.Value { return durationValue(&c.Timeout, false, maxTimeout) }},
	{name: contract.FlagDBWait, arg: "DURATION", help: "how long to keep retrying the first connection",
		bind: func(c *Config) flag.Value { return durationValue(&c.DBWait, true, 0) }},
	{name: contract.FlagLockWait, arg: "DURATION", help: fmt.Sprintf("how long to wait for another run to finish "+
		"(0 exits %d at once); a run stalled on its client for 15 s is ended instead of waited for", contract.ExitLocked),
		bind: func(c *Config) flag.Value { return durationValue(&c.LockWait, true, 0) }},
	{name: contract.FlagLockedBudget, arg: "DURATION", help: "how long the run may hold the table locks that " +
		"Django's saves wait for (its last step: totals and ranks); past it the run lets go and tries again within --timeout",
		bind: func(c *Config) flag.Value { return durationValue(&c.LockedBudget, false, 0) }},
	{name: contract.FlagRunKind, arg: "KIND", help: fmt.Sprintf("%s (the nightly schedule sets it) or %s: "+
		"the duration alarm watches %s runs only", contract.RunScheduled, contract.RunManual, contract.RunScheduled),
		bind: func(c *Config) flag.Value { return runKindValue(&c.RunKind) }},
	{name: flagVersion, command: true, help: "print the version and VCS revision",
		bind: func(c *Config) flag.Value { return switchValue(&c.showVersion) }},
}

// flagSet binds every flag of the table to c; each flag's DefValue is c's value when bound, so a
// flag set of the defaults gives --help its defaults. Its usage output is discarded: --help is
// written from the table instead, with the variables and exit codes the flag package knows nothing of.
func (c *Config) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("uptime", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, f := range flagTable {
		fs.Var(f.bind(c), f.name, f.help)
	}
	return fs
}

// settings are the flags a run is configured by: the table without its commands.
func settings() []flagSpec {
	var out []flagSpec
	for _, f := range flagTable {
		if !f.command {
			out = append(out, f)
		}
	}
	return out
}

// knownVariables are the UPTIME_ variables the job reads; any other is refused as a likely typo.
func knownVariables() map[string]bool {
	known := map[string]bool{contract.EnvironmentVariable: true}
	for _, f := range settings() {
		known[contract.Variable(f.name)] = true
	}
	return known
}

// value is a flag bound to one field of Config: set parses the text into the field, with the
// sentence a person reads when it cannot; show prints the field, for the defaults in --help and
// the effective settings. One type for every flag, so each flag is its two functions.
type value[T any] struct {
	p      *T
	set    func(p *T, s string) error
	show   func(T) string
	isBool bool
}

func (v value[T]) String() string {
	if v.p == nil { // the flag package's zero-value probe
		return ""
	}
	return v.show(*v.p)
}

func (v value[T]) Set(s string) error { return v.set(v.p, strings.TrimSpace(s)) }
func (v value[T]) IsBoolFlag() bool   { return v.isBool }

func switchValue(p *bool) value[bool] {
	return value[bool]{p: p, isBool: true, show: strconv.FormatBool, set: func(p *bool, s string) error {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("must be true or false")
		}
		*p = b
		return nil
	}}
}

func pointsValue(p *int) value[int] {
	return value[int]{p: p, show: strconv.Itoa, set: func(p *int, s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return errors.New("must be a whole number of at least 1")
		}
		*p = n // Options.Validate refuses one below 1, from the flag and the variable alike
		return nil
	}}
}

func dayValue(p *time.Time) value[time.Time] {
	show := func(d time.Time) string {
		if d.IsZero() {
			return ""
		}
		return d.Format(uptime.DayLayout)
	}
	return value[time.Time]{p: p, show: show, set: func(p *time.Time, s string) error {
		day, err := uptime.ParseDay(s)
		switch {
		case err != nil && dayShape.MatchString(s): // 2026-02-30
			return errors.New("is not a day of the calendar: must be a date that exists, as YYYY-MM-DD")
		case err != nil:
			return errors.New("must be a date of the form YYYY-MM-DD")
		}
		*p = day
		return nil
	}}
}

// dayShape is a date's form; a date of that form that does not parse names a day the month lacks
// (or a month 13), which deserves its own sentence.
var dayShape = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

func durationValue(p *time.Duration, zeroOK bool, longest time.Duration) value[time.Duration] {
	return value[time.Duration]{p: p, show: time.Duration.String, set: func(p *time.Duration, s string) error {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			return errors.New("must be a duration such as 90s, 10m or 1h")
		case d < 0 && zeroOK:
			return errors.New("must be zero or a positive duration")
		case d < 0 || d == 0 && !zeroOK:
			return errors.New("must be a positive duration")
		case longest > 0 && d > longest:
			return fmt.Errorf("must be at most %s, the longest statement_timeout PostgreSQL takes", shortDuration(longest.String()))
		}
		*p = d
		return nil
	}}
}

// emailsValue adds one address, or several separated by commas (the form the variable takes).
func emailsValue(p *[]string) value[[]string] {
	show := func(list []string) string { return strings.Join(list, ",") }
	return value[[]string]{p: p, show: show, set: func(p *[]string, s string) error {
		for part := range strings.SplitSeq(s, ",") {
			addr, err := mail.ParseAddress(strings.TrimSpace(part))
			if err != nil || addr.Name != "" || addr.Address != strings.TrimSpace(part) {
				return fmt.Errorf("%q is not an e-mail address", strings.TrimSpace(part))
			}
			*p = append(*p, addr.Address)
		}
		return nil
	}}
}

func runKindValue(p *string) value[string] {
	return value[string]{p: p, show: func(s string) string { return s }, set: func(p *string, s string) error {
		if s != contract.RunScheduled && s != contract.RunManual {
			return fmt.Errorf("must be %s or %s", contract.RunScheduled, contract.RunManual)
		}
		*p = s
		return nil
	}}
}

// shortDuration drops the zero units Duration.String keeps: 10m0s reads as 10m, 1h0m0s as 1h.
func shortDuration(s string) string {
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
