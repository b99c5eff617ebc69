package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/tally/uptime/internal/contract"
)

// Two modes for the tools that start the job elsewhere (scripts/backfill.sh): they answer from
// this binary's own rules, so a flag refused here is exactly a flag the task would refuse, and
// they need no DATABASE_URL and open no connection.
const (
	checkFlagsArg  = "--check-flags"  // then the job's flags: check them, print the effective settings
	explainExitArg = "--explain-exit" // then an exit code: print what it means
)

// toolMode runs one of the modes above when args start with it; ok is false otherwise.
func toolMode(args []string, env map[string]string, stdout, stderr io.Writer) (code int, ok bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch args[0] {
	case checkFlagsArg:
		return checkFlags(args[1:], env, stdout, stderr), true
	case explainExitArg:
		if len(args) != 2 {
			fmt.Fprintf(stderr, "uptime: %s takes one exit code, e.g. %s 3\n", explainExitArg, explainExitArg)
			return exitUsage, true
		}
		meaning, err := explainExit(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "uptime: %v\n", err)
			return exitUsage, true
		}
		fmt.Fprintln(stdout, meaning)
		return exitOK, true
	}
	return 0, false
}

// checkFlags parses args and the UPTIME_ variables of env as a run would, then prints one line
// per setting: the flag with its effective value and where the value came from (the flag, its
// variable, or the job's default). A usage error is the run's own sentence, with exit 2.
func checkFlags(args []string, env map[string]string, stdout, stderr io.Writer) int {
	cfg, err := parseSettings(args, env, time.Now().UTC())
	if errors.Is(err, errHelp) || errors.Is(err, errVersion) {
		err = usagef("--help and --version print and exit: they are not settings of a run")
	}
	if err != nil {
		fmt.Fprintf(stderr, "uptime: %s\n", err)
		return exitUsage
	}
	given := map[string]bool{}
	scratch := newFlagSet(&config{})
	if scratch.Parse(args) == nil {
		scratch.Visit(func(f *flag.Flag) { given[f.Name] = true })
	}
	known := knownVariables()
	newFlagSet(&cfg).VisitAll(func(f *flag.Flag) {
		variable := contract.Variable(f.Name)
		if !known[variable] {
			return // a command, not a setting
		}
		source := "default"
		if given[f.Name] {
			source = "flag"
		} else if _, ok := env[variable]; ok {
			source = variable
		}
		fmt.Fprintf(stdout, "--%s=%s\t%s\n", f.Name, f.Value.String(), source)
	})
	return exitOK
}

// explainExit is the meaning of an exit code as an operator sees it in ECS: the job's own codes
// and the codes a signal leaves, from the contract the failure mail also reads.
func explainExit(arg string) (string, error) {
	code, err := strconv.Atoi(arg)
	meaning, ok := contract.Explain(code)
	if err != nil || !ok {
		return "", usagef("%q is not an exit code (0 to 255)", oneLine(arg))
	}
	return meaning, nil
}
