package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	// Time zone names are checked against Go's embedded copy of the IANA
	// database, so validation does not depend on the machine's tzdata.
	_ "time/tzdata"

	"github.com/tally/uptime/internal/contract"
)

var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// Validate rejects a configuration that would synthesize but not deploy or
// not run, with one sentence per violation (errors.Join). Call it on the
// result of WithDefaults; NewStacks (main.go) does, for every environment,
// before checkDeployerValues. The context's own rules are validate_context.go's,
// the network's validate_network.go's.
func (e Environment) Validate() error {
	var problems []string
	for _, check := range []func() []string{e.identityProblems, e.scheduleProblems, e.taskProblems, e.networkProblems} {
		problems = append(problems, check()...)
	}
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = fmt.Errorf("environment %q: %s", e.Name, p)
	}
	return errors.Join(errs...)
}

func (e Environment) identityProblems() []string {
	var p []string
	if err := contract.CheckEnvironmentName(e.Name); err != nil {
		p = append(p, err.Error())
	}
	for _, a := range e.AlarmEmails {
		if !emailPattern.MatchString(a) {
			p = append(p, fmt.Sprintf("alarm e-mail %q is not an address", a))
		}
	}
	if len(e.DatabaseURLParameter) == 0 || e.DatabaseURLParameter[0] != '/' {
		p = append(p, fmt.Sprintf("database URL parameter %q must be a path starting with /", e.DatabaseURLParameter))
	}
	if e.Job.Points < 0 {
		p = append(p, "job points must be 1 or more (or 0 for the job's default)")
	}
	return p
}

// scheduleProblems applies EventBridge Scheduler's rules for
// ScheduleExpression and ScheduleExpressionTimezone (scheduleexpr.go).
func (e Environment) scheduleProblems() []string {
	var p []string
	if err := checkScheduleExpression(e.Schedule); err != nil {
		p = append(p, fmt.Sprintf("schedule %q: %v", e.Schedule, err))
	} else if !runsDaily(e.Schedule) {
		p = append(p, fmt.Sprintf("schedule %q does not run every day; the missed-run alarm pages after two days without a run, "+
			"so give one that does, e.g. cron(0 2 * * ? *) or rate(12 hours)", e.Schedule))
	}
	switch e.TimeZone {
	case "":
		p = append(p, "the time zone is empty; give an IANA name such as UTC or Europe/Berlin")
	case "Local":
		// Go's "Local" is whatever zone the synthesizing machine has; the
		// Scheduler knows no zone by that name.
		p = append(p, `time zone "Local" is this machine's zone, not an IANA name; give one such as UTC or Europe/Berlin`)
	default:
		if _, err := time.LoadLocation(e.TimeZone); err != nil {
			p = append(p, fmt.Sprintf("time zone %q is not an IANA time zone name such as UTC or Europe/Berlin", e.TimeZone))
		}
	}
	return p
}

// fargateMemory is the Linux column of the ECS Developer Guide's "Task CPU and
// memory" table for Fargate: per CPU value, the memory range in MiB and its
// step. ARM64 on Fargate is Linux only, and every Linux size is offered for
// it; the 8 and 16 vCPU sizes need platform version 1.4.0 or later, which
// LATEST is.
var fargateMemory = map[int]struct{ min, max, step int }{
	256:   {512, 2048, 0}, // 512, 1024 or 2048 only
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

// fargateSizeProblem is nil for a valid Fargate (Linux) CPU/memory pair.
func fargateSizeProblem(cpu, memory int) error {
	m, ok := fargateMemory[cpu]
	if !ok {
		return fmt.Errorf("CPU %d is not a Fargate size; use 256, 512, 1024, 2048, 4096, 8192 or 16384 units", cpu)
	}
	if cpu == 256 {
		if memory != 512 && memory != 1024 && memory != 2048 {
			return fmt.Errorf("memory %d MiB does not fit 256 CPU units; Fargate allows 512, 1024 or 2048 MiB", memory)
		}
		return nil
	}
	if memory < m.min || memory > m.max || (memory-m.min)%m.step != 0 {
		return fmt.Errorf("memory %d MiB does not fit %d CPU units; Fargate allows %d-%d MiB in steps of %d",
			memory, cpu, m.min, m.max, m.step)
	}
	return nil
}

func (e Environment) taskProblems() []string {
	if err := fargateSizeProblem(e.CPU, e.MemoryMiB); err != nil {
		return []string{err.Error()}
	}
	return nil
}

// reservedDomains are the names RFC 2606 and RFC 6761 set aside for examples
// and tests: mail to them is never delivered.
var reservedDomains = []string{"example", "test", "invalid", "localhost", "example.com", "example.net", "example.org"}

// reservedDomain reports whether the address's domain is, or is under, a reserved name.
func reservedDomain(address string) bool {
	_, domain, _ := strings.Cut(strings.ToLower(address), "@")
	domain = strings.TrimSuffix(domain, ".")
	for _, r := range reservedDomains {
		if domain == r || strings.HasSuffix(domain, "."+r) {
			return true
		}
	}
	return false
}

// checkDeployerValues refuses placeholders and database paths wider than the
// database, whether they came from the context or from environments.go. Apart from
// Validate because the tests' own environments use example.com-style addresses.
func (e Environment) checkDeployerValues() error {
	for _, a := range e.AlarmEmails {
		if reservedDomain(a) {
			return fmt.Errorf("environment %q: alarm e-mail %q is in a reserved example domain that never receives mail; give a real address", e.Name, a)
		}
	}
	return e.checkDatabaseCIDR()
}
