// Package config is what one run of the job is told: its flags, their UPTIME_ variables, the
// environment's DATABASE_URL, and the checks that refuse a bad value before anything connects.
// The job's main reads a run's configuration from it; the operator tools check a backfill's flags
// with it (Effective), so a flag refused by one is refused by the other.
package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/job/connect"
	"github.com/tally/uptime/job/uptime"
)

// Config is everything one run is told, from flags and the environment.
type Config struct {
	// Target is DATABASE_URL, parsed once, here.
	Target      connect.Target
	Environment string
	Options     uptime.Options
	Timeout     time.Duration
	DBWait      time.Duration
	LockWait    time.Duration
	// LockedBudget is how long the run may hold its table locks before it lets go and tries again.
	LockedBudget time.Duration
	// RunKind says who started the run (contract.RunScheduled or RunManual): a dimension of the
	// duration metric, so that a wide backfill does not trip the alarm meant for slow nights.
	RunKind     string
	showVersion bool
}

// UsageError is a mistake in how the job was invoked: exit 2. Its message quotes no value that
// could hold the database password (secrets.go).
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &UsageError{msg: oneLine(fmt.Sprintf(format, args...))}
}

// ErrHelp means --help was asked for; ErrVersion, --version.
var (
	ErrHelp    = errors.New("help requested")
	ErrVersion = errors.New("version requested")
)

// DefaultEnvironment is the Environment dimension of a run that was not told its environment:
// one on a developer's machine.
const DefaultEnvironment = "local"

// Parse reads flags, then fills every flag not given from its UPTIME_ variable, so a flag always
// wins, and checks DATABASE_URL. now is the run's clock.
func Parse(args []string, env map[string]string, now time.Time) (Config, error) {
	target, urlErr := connect.ParseURL(env[contract.DatabaseURLVariable])
	cfg, err := parseSettings(args, env, target.Password(), now)
	if err != nil {
		return cfg, err
	}
	if urlErr != nil {
		return cfg, &UsageError{msg: urlErr.Error()}
	}
	cfg.Target = target
	// The roots the server is verified against are configuration too: a missing or empty
	// sslrootcert file is refused before the run, not found by its connection.
	if err := target.CheckRoots(); err != nil {
		return cfg, &UsageError{msg: err.Error()}
	}
	return cfg, nil
}

// Setting is one flag of a run with its effective value and where the value came from: "flag",
// the flag's UPTIME_ variable, or "default".
type Setting struct{ Flag, Value, Source string }

// Effective is every setting a run given args and env's UPTIME_ variables would have, without
// DATABASE_URL: what the operator tools show before they start a task. A refusal is the run's own
// sentence.
func Effective(args []string, env map[string]string) ([]Setting, error) {
	cfg, err := parseSettings(args, env, "", time.Now().UTC())
	if errors.Is(err, ErrHelp) || errors.Is(err, ErrVersion) {
		err = usagef("--help and --version print and exit: they are not settings of a run")
	}
	if err != nil {
		return nil, err
	}
	given := map[string]bool{}
	scratch := (&Config{}).flagSet()
	if scratch.Parse(args) == nil {
		scratch.Visit(func(f *flag.Flag) { given[f.Name] = true })
	}
	fs := cfg.flagSet()
	var out []Setting
	for _, spec := range settings() {
		variable, source := contract.Variable(spec.name), "default"
		if given[spec.name] {
			source = "flag"
		} else if _, ok := env[variable]; ok {
			source = variable
		}
		out = append(out, Setting{Flag: spec.name, Value: fs.Lookup(spec.name).Value.String(), Source: source})
	}
	return out, nil
}

// parseSettings is Parse without DATABASE_URL's check. password, when known, is never quoted.
func parseSettings(args []string, env map[string]string, password string, now time.Time) (Config, error) {
	cfg := defaults(env, now)
	if err := refuseSecretValues(args, env, password); err != nil {
		return cfg, err
	}
	fs := cfg.flagSet()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, ErrHelp
		}
		return cfg, usagef("%s; see --help", flagMessage(err))
	}
	if cfg.showVersion {
		return cfg, ErrVersion
	}
	if fs.NArg() > 0 {
		return cfg, usagef("unexpected argument %q: the job takes flags only; see --help", fs.Arg(0))
	}
	if err := applyEnv(fs, env); err != nil {
		return cfg, err
	}
	if err := cfg.Options.Validate(); err != nil {
		return cfg, &UsageError{msg: err.Error()}
	}
	return cfg, nil
}

// defaults is a run's configuration before its flags and UPTIME_ variables are applied: the
// values --help shows, through each flag's DefValue.
func defaults(env map[string]string, now time.Time) Config {
	return Config{
		Environment:  cmp.Or(env[contract.EnvironmentVariable], DefaultEnvironment),
		Options:      uptime.Options{Points: 1, Now: now},
		Timeout:      10 * time.Minute,
		DBWait:       60 * time.Second,
		LockWait:     2 * time.Minute,
		LockedBudget: uptime.DefaultLockedBudget,
		RunKind:      contract.RunManual,
	}
}

// flagMessage rewords the flag package's errors in the --double-dash form the docs use.
func flagMessage(err error) string {
	msg := strings.Replace(err.Error(), "flag provided but not defined", "unknown flag", 1)
	for _, single := range []string{"flag: -", "for flag -", "unknown flag -", "for -"} {
		msg = strings.Replace(msg, single, single+"-", 1)
	}
	return msg
}

// oneLine escapes what cannot be printed as is (a line break in an argument or a variable's name,
// which the flag package and the unknown-variable message echo unquoted), so that the message
// stays one line.
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
	for _, spec := range settings() { // in the table's order, so the first error is always the same one
		name := contract.Variable(spec.name)
		value, ok := env[name]
		if !ok || given[spec.name] {
			continue
		}
		if err := fs.Set(spec.name, value); err != nil {
			return usagef("invalid %s %q: %v", name, value, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if strings.HasPrefix(name, contract.VariablePrefix) && !known[name] {
			return usagef("unknown variable %s: the job reads %s", name, strings.Join(slices.Sorted(maps.Keys(known)), ", "))
		}
	}
	return nil
}
