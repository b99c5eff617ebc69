package main

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/job/connect"
	"github.com/tally/uptime/job/uptime"
)

// config is everything one run is told, from flags and the environment.
type config struct {
	DatabaseURL string
	Target      connect.Target // DatabaseURL, parsed
	Environment string
	Options     uptime.Options
	Timeout     time.Duration
	DBWait      time.Duration
	LockWait    time.Duration
	// LockedBudget is how long the run may hold its table locks before it lets go and tries again.
	LockedBudget time.Duration
	RunKind      runKind
	showVersion  bool
}

// runKind says who started the run: the schedule, or a person (a backfill, a
// run by hand). It is a dimension of the duration metric, so that a wide
// backfill's long run does not trip the alarm meant for slow nights.
type runKind string

const (
	runScheduled runKind = contract.RunScheduled
	runManual    runKind = contract.RunManual
)

func (k *runKind) String() string { return string(valueOr(k)) }
func (k *runKind) Set(s string) error {
	switch v := runKind(strings.TrimSpace(s)); v {
	case runScheduled, runManual:
		*k = v
		return nil
	}
	return fmt.Errorf("must be %s or %s", runScheduled, runManual)
}

// usageError is a mistake in how the job was invoked: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// errHelp means --help was asked for; errVersion, --version.
var (
	errHelp    = errors.New("help requested")
	errVersion = errors.New("version requested")
)

// parseConfig reads flags, then fills every flag not given from its UPTIME_ variable, so a flag
// always wins, and checks DATABASE_URL. now is the run's clock.
func parseConfig(args []string, env map[string]string, now time.Time) (config, error) {
	cfg, err := parseSettings(args, env, now)
	if err != nil {
		return cfg, err
	}
	cfg.Target, err = connect.ParseURL(cfg.DatabaseURL)
	if err != nil {
		return cfg, &usageError{msg: err.Error()}
	}
	// The roots the server is verified against are configuration too: a missing or empty
	// sslrootcert file is refused before the run, not found by its connection.
	if err := cfg.Target.CheckRoots(); err != nil {
		return cfg, &usageError{msg: err.Error()}
	}
	return cfg, nil
}

// parseSettings is parseConfig without DATABASE_URL's check: everything --check-flags checks.
func parseSettings(args []string, env map[string]string, now time.Time) (config, error) {
	cfg := defaultConfig(env, now)
	if err := refuseSecretValues(args, env); err != nil {
		return cfg, err
	}
	fs := newFlagSet(&cfg)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, errHelp
		}
		return cfg, usagef("%s; see --help", oneLine(flagMessage(err)))
	}
	if cfg.showVersion {
		return cfg, errVersion
	}
	if fs.NArg() > 0 {
		return cfg, usagef("unexpected argument %q: the job takes flags only; see --help", fs.Arg(0))
	}
	if err := applyEnv(fs, env); err != nil {
		return cfg, err
	}
	if err := cfg.Options.Validate(); err != nil {
		return cfg, &usageError{msg: err.Error()}
	}
	return cfg, nil
}

// defaultEnvironment is the Environment dimension of a run that was not told its environment:
// one on a developer's machine.
const defaultEnvironment = "local"

// defaultConfig is a run's configuration before its flags and UPTIME_ variables are applied.
func defaultConfig(env map[string]string, now time.Time) config {
	cfg := config{
		DatabaseURL:  env[contract.DatabaseURLVariable],
		Environment:  env[contract.EnvironmentVariable],
		Options:      uptime.Options{Points: 1, Now: now},
		Timeout:      10 * time.Minute,
		DBWait:       60 * time.Second,
		LockWait:     2 * time.Minute,
		LockedBudget: uptime.DefaultLockedBudget,
		RunKind:      runManual,
	}
	if cfg.Environment == "" {
		cfg.Environment = defaultEnvironment
	}
	return cfg
}

// flagMessage rewords the flag package's errors in the --double-dash form the docs use.
func flagMessage(err error) string {
	msg := strings.Replace(err.Error(), "flag provided but not defined", "unknown flag", 1)
	msg = strings.Replace(msg, "flag: -", "flag: --", 1)
	msg = strings.Replace(msg, "for flag -", "for flag --", 1)
	return strings.Replace(msg, "unknown flag -", "unknown flag --", 1)
}

// oneLine escapes what cannot be printed as is (a line break in an argument or a variable's name,
// which the flag package and the unknown-variable message echo unquoted), so that the message stays
// one line.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// applyEnv sets each flag that was not given from its variable, and refuses UPTIME_ variables
// that match no flag: a misspelt UPTIME_DRYRUN=true must not start a real run.
func applyEnv(fs *flag.FlagSet, env map[string]string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	known := knownVariables()
	var err error
	fs.VisitAll(func(f *flag.Flag) { // in the order of the names, so the first error is always the same one
		name := contract.Variable(f.Name)
		value, ok := env[name]
		if !known[name] || !ok || given[f.Name] || err != nil {
			return // a command has no variable: it would make every run print instead of run
		}
		if setErr := fs.Set(f.Name, value); setErr != nil {
			err = usagef("invalid %s %q: %v", name, value, setErr)
		}
	})
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if strings.HasPrefix(name, contract.VariablePrefix) && !known[name] {
			return usagef("unknown variable %s: the job reads %s", oneLine(name), strings.Join(slices.Sorted(maps.Keys(known)), ", "))
		}
	}
	return nil
}

type boolValue bool

func (b *boolValue) IsBoolFlag() bool { return true }
func (b *boolValue) String() string   { return strconv.FormatBool(bool(b != nil && *b)) }
func (b *boolValue) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("must be true or false")
	}
	*b = boolValue(v)
	return nil
}

type pointsValue int

func (p *pointsValue) String() string { return strconv.Itoa(int(valueOr(p))) }
func (p *pointsValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 {
		return errors.New("must be a whole number of at least 1")
	}
	*p = pointsValue(n)
	return nil
}

type dayValue time.Time

func (d *dayValue) String() string {
	if d == nil || time.Time(*d).IsZero() {
		return ""
	}
	return time.Time(*d).Format(uptime.DayLayout)
}
func (d *dayValue) Set(s string) error {
	day, err := uptime.ParseDay(strings.TrimSpace(s))
	if err != nil {
		return errors.New("must be a date of the form YYYY-MM-DD")
	}
	*d = dayValue(day)
	return nil
}

type durationValue struct {
	d      *time.Duration
	zeroOK bool
	max    time.Duration // 0: no bound
}

// maxTimeout bounds --timeout: the run's session gets what remains of it as statement_timeout,
// a number of milliseconds PostgreSQL keeps in an int (at most 2147483647 ms, 596.5 h). A longer
// one was accepted and then failed every run on its first statement.
const maxTimeout = 596 * time.Hour

func (v *durationValue) String() string {
	if v == nil || v.d == nil {
		return ""
	}
	return v.d.String()
}
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		return errors.New("must be a duration such as 90s, 10m or 1h")
	case d < 0 && v.zeroOK:
		return errors.New("must be zero or a positive duration")
	case d < 0 || d == 0 && !v.zeroOK:
		return errors.New("must be a positive duration")
	case v.max > 0 && d > v.max:
		return fmt.Errorf("must be at most %s, the longest statement_timeout PostgreSQL takes", shortDuration(v.max.String()))
	}
	*v.d = d
	return nil
}

type emailsValue []string

func (e *emailsValue) String() string { return strings.Join(valueOr(e), ",") }

// Set adds one address, or several separated by commas (the form the variable takes).
func (e *emailsValue) Set(s string) error {
	for part := range strings.SplitSeq(s, ",") {
		addr, err := mail.ParseAddress(strings.TrimSpace(part))
		if err != nil || addr.Name != "" || addr.Address != strings.TrimSpace(part) {
			return fmt.Errorf("%q is not an e-mail address", strings.TrimSpace(part))
		}
		*e = append(*e, addr.Address)
	}
	return nil
}

func valueOr[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
