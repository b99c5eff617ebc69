package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/job/uptime"
)

// flagSpec is one of the job's flags. The table below is the only description of the flags:
// the flag set that parses them, the UPTIME_ variables that stand in for them, --check-flags'
// listing and --help are all made from it, so they cannot disagree.
type flagSpec struct {
	name string
	arg  string // the argument's placeholder in --help; "" for a switch
	help string
	bind func(*config) flag.Value
	// command marks a flag that makes the job print and exit rather than set up a run: it has no
	// variable, since a variable would make every run print instead of run.
	command bool
}

// flagVersion is the one command among the flags; it is no setting, so contract does not name it.
const flagVersion = "version"

var flagTable = []flagSpec{
	{name: contract.FlagDryRun, help: "compute and report what would be created; write nothing",
		bind: func(c *config) flag.Value { return (*boolValue)(&c.Options.DryRun) }},
	{name: contract.FlagVerbose, help: "log one record per user who gets new contributions",
		bind: func(c *config) flag.Value { return (*boolValue)(&c.Options.Verbose) }},
	{name: contract.FlagPoints, arg: "N", help: "points per uptime day: a whole number >= 1 within the Uptime type's min/max points",
		bind: func(c *config) flag.Value { return (*pointsValue)(&c.Options.Points) }},
	{name: contract.FlagForce, help: "use multiplier 1.00 for days no Uptime multiplier covers, whose users are " +
		"otherwise held back (exit 5); refused when one user would get more than " + strconv.Itoa(uptime.MaxForcedDays) +
		" days, unless --user names them",
		bind: func(c *config) flag.Value { return (*boolValue)(&c.Options.Force) }},
	{name: contract.FlagFrom, arg: "YYYY-MM-DD", help: "fill only days on or after this one (never before a user's first day)",
		bind: func(c *config) flag.Value { return (*dayValue)(&c.Options.From) }},
	{name: contract.FlagTo, arg: "YYYY-MM-DD", help: "fill only days on or before this one (not after today, UTC)",
		bind: func(c *config) flag.Value { return (*dayValue)(&c.Options.To) }},
	{name: contract.FlagUser, arg: "EMAIL", help: "only this user (compared case-insensitively; an address that matches several users is refused); " +
		"repeat the flag, or separate addresses with commas in the variable",
		bind: func(c *config) flag.Value { return (*emailsValue)(&c.Options.Users) }},
	{name: contract.FlagTimeout, arg: "DURATION", help: "deadline for the whole run (at most 596h)",
		bind: func(c *config) flag.Value { return &durationValue{d: &c.Timeout, max: maxTimeout} }},
	{name: contract.FlagDBWait, arg: "DURATION", help: "how long to keep retrying the first connection",
		bind: func(c *config) flag.Value { return &durationValue{d: &c.DBWait, zeroOK: true} }},
	{name: contract.FlagLockWait, arg: "DURATION", help: fmt.Sprintf("how long to wait for another run to finish "+
		"(0 exits %d at once); a run stalled on its client for 15 s is ended instead of waited for", contract.ExitLocked),
		bind: func(c *config) flag.Value { return &durationValue{d: &c.LockWait, zeroOK: true} }},
	{name: contract.FlagLockedBudget, arg: "DURATION", help: "how long the run may hold the table locks that " +
		"Django's saves wait for (its last step: totals and ranks); past it the run lets go and tries again within --timeout",
		bind: func(c *config) flag.Value { return &durationValue{d: &c.LockedBudget} }},
	{name: contract.FlagRunKind, arg: "KIND", help: fmt.Sprintf("%s (the nightly schedule sets it) or %s: "+
		"the duration alarm watches %s runs only", contract.RunScheduled, contract.RunManual, contract.RunScheduled),
		bind: func(c *config) flag.Value { return &c.RunKind }},
	{name: flagVersion, command: true, help: "print the version and VCS revision",
		bind: func(c *config) flag.Value { return (*boolValue)(&c.showVersion) }},
}

// newFlagSet binds every flag of the table to cfg. Its usage output is discarded: --help is
// written from the table instead, with the variables and the exit codes the flag package
// knows nothing of.
func newFlagSet(cfg *config) *flag.FlagSet {
	fs := flag.NewFlagSet("uptime", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, f := range flagTable {
		fs.Var(f.bind(cfg), f.name, f.help)
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

// defaultText is a flag's default as --help shows it, or "" for a switch, which is off.
func defaultText(f flagSpec) string {
	if f.arg == "" {
		return ""
	}
	cfg := defaultConfig(nil, time.Time{})
	v := f.bind(&cfg)
	if _, isDuration := v.(*durationValue); isDuration {
		return shortDuration(v.String())
	}
	return v.String()
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
