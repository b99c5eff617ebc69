package main

import (
	"github.com/tally/uptime/internal/contract"
	"slices"
	"strings"

	"github.com/tally/uptime/job/connect"
)

// Messages about a bad flag or variable quote its value, which helps with a typo but would print
// a connection string pasted into the wrong place, password and all. So the job first looks for
// values that may hold the database password and refuses them without quoting anything.

// refuseSecretValues returns a usage error, quoting nothing, when an argument or an UPTIME_
// variable may hold the database password, or when the environment would make the driver print it.
func refuseSecretValues(args []string, env map[string]string) error {
	if env["PQGO_DEBUG"] != "" {
		return usagef("PQGO_DEBUG is set, which makes the PostgreSQL driver print the password and every message; unset it")
	}
	password := ""
	if t, err := connect.ParseURL(env[contract.DatabaseURLVariable]); err == nil {
		password = t.Password()
	}
	for i, arg := range args {
		if maySpill(arg, password) {
			return usagef("argument %d may hold the database password, so it is not shown: give the database URL in %s only; see --help", i+1, contract.DatabaseURLVariable)
		}
	}
	names := make([]string, 0, len(env))
	for name := range env {
		if strings.HasPrefix(name, contract.VariablePrefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if maySpill(name, password) {
			return usagef("the name of an %s variable may hold the database password, so it is not shown: give the database URL in %s only", contract.VariablePrefix, contract.DatabaseURLVariable)
		}
		if maySpill(env[name], password) {
			return usagef("%s may hold the database password, so its value is not shown: give the database URL in %s only", oneLine(name), contract.DatabaseURLVariable)
		}
	}
	return nil
}

// maySpill reports a value that looks like a connection string or contains the password. A
// password of one or two characters is found in most text, so for it only equality counts.
func maySpill(value, password string) bool {
	v := strings.ToLower(value)
	if strings.Contains(v, "://") || strings.Contains(v, "password") {
		return true
	}
	if password == "" {
		return false
	}
	if value == password || strings.HasSuffix(value, "="+password) {
		return true
	}
	return len(password) >= 3 && strings.Contains(value, password)
}
