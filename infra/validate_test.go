package main

import (
	"errors"
	"strings"
	"testing"
)

// violations splits Validate's joined error into its sentences.
func violations(err error) []string {
	if err == nil {
		return nil
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []string
		for _, e := range joined.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

func TestValidateGivesOneSentencePerViolation(t *testing.T) {
	ok := Environment{Name: "qa", AlarmEmails: []string{"x@y.example"}}
	cases := map[string]struct {
		mutate func(e *Environment)
		want   string
	}{
		"five-field cron":         {func(e *Environment) { e.Schedule = "cron(0 2 * * *)" }, "has 6 fields"},
		"Unix cron":               {func(e *Environment) { e.Schedule = "0 2 * * *" }, "not an EventBridge Scheduler expression"},
		"both days given":         {func(e *Environment) { e.Schedule = "cron(0 2 1 * MON *)" }, "exactly one of day-of-month and day-of-week"},
		"both days ?":             {func(e *Environment) { e.Schedule = "cron(0 2 ? * ? *)" }, "exactly one of day-of-month and day-of-week"},
		"hour 24":                 {func(e *Environment) { e.Schedule = "cron(0 24 * * ? *)" }, `field hours "24"`},
		"? in minutes":            {func(e *Environment) { e.Schedule = "cron(? 2 * * ? *)" }, "? is not allowed"},
		"bad month name":          {func(e *Environment) { e.Schedule = "cron(0 2 * JANUARY ? *)" }, "JAN-DEC"},
		"year 2200":               {func(e *Environment) { e.Schedule = "cron(0 2 * * ? 2200)" }, `field year "2200"`},
		"step in day-of-week":     {func(e *Environment) { e.Schedule = "cron(0 2 ? * 1/2 *)" }, "/ wildcard is not allowed"},
		"two # days":              {func(e *Environment) { e.Schedule = "cron(0 2 ? * 3#1,6#3 *)" }, "single day-of-week#n"},
		"rate 0":                  {func(e *Environment) { e.Schedule = "rate(0 days)" }, "positive whole number"},
		"rate 1 hours":            {func(e *Environment) { e.Schedule = "rate(1 hours)" }, "singular"},
		"rate 5 hour":             {func(e *Environment) { e.Schedule = "rate(5 hour)" }, "plural"},
		"rate in weeks":           {func(e *Environment) { e.Schedule = "rate(1 week)" }, "not an EventBridge Scheduler expression"},
		"at without seconds":      {func(e *Environment) { e.Schedule = "at(2027-01-31T02:00)" }, "at(yyyy-mm-ddThh:mm:ss)"},
		"Local time zone":         {func(e *Environment) { e.TimeZone = "Local" }, `"Local" is this machine's zone`},
		"unknown time zone":       {func(e *Environment) { e.TimeZone = "Mars/Olympus" }, "not an IANA time zone name"},
		"CPU 300":                 {func(e *Environment) { e.CPU = 300 }, "CPU 300 is not a Fargate size"},
		"0.25 vCPU with 1.5 GB":   {func(e *Environment) { e.MemoryMiB = 1536 }, "Fargate allows 512, 1024 or 2048 MiB"},
		"1 vCPU with 512 MiB":     {func(e *Environment) { e.CPU, e.MemoryMiB = 1024, 512 }, "2048-8192 MiB in steps of 1024"},
		"8 vCPU in a 1 GB step":   {func(e *Environment) { e.CPU, e.MemoryMiB = 8192, 17408 }, "steps of 4096"},
		"16 vCPU in a 4 GB step":  {func(e *Environment) { e.CPU, e.MemoryMiB = 16384, 36864 }, "steps of 8192"},
		"Spot in the new VPC":     {func(e *Environment) { e.Spot = true }, "Spot needs an existing VPC"},
		"subnets without a VPC":   {func(e *Environment) { e.Network.SubnetIDs = []string{"subnet-1"} }, "need the VPC id too"},
		"VPC without its subnets": {func(e *Environment) { e.Network.VpcID = "vpc-1" }, "needs its private subnet ids"},
	}
	for name, c := range cases {
		e := ok
		c.mutate(&e)
		got := violations(e.WithDefaults().Validate())
		if len(got) != 1 || !strings.Contains(got[0], c.want) {
			t.Errorf("%s: got %q, want one sentence containing %q", name, got, c.want)
			continue
		}
		if !strings.HasPrefix(got[0], `environment "qa": `) || strings.Contains(got[0], "\n") {
			t.Errorf("%s: %q does not name the environment in one line", name, got[0])
		}
	}

	several := ok
	several.Schedule, several.TimeZone, several.CPU, several.Spot = "cron(0 2 * * *)", "Local", 300, true
	if got := violations(several.WithDefaults().Validate()); len(got) != 4 {
		t.Errorf("four violations gave %d sentences: %q", len(got), got)
	}
}

func TestScheduleExpressionsSchedulerAccepts(t *testing.T) {
	for _, expr := range []string{
		DefaultSchedule, "cron(0 1 * * ? *)", "cron(30 3 ? * MON-FRI *)", "cron(0/15 * * * ? *)",
		"cron(0 2 L * ? *)", "cron(0 2 15W * ? *)", "cron(0 2 ? * 6L *)", "cron(0 2 ? * 3#2 *)",
		"cron(0 2 1,15 JAN,JUL ? 2027-2030)", "cron(5 */2 * * ? *)", "rate(1 day)", "rate(12 hours)",
		"rate(1 minute)", "at(2027-01-31T02:00:00)",
	} {
		if err := checkScheduleExpression(expr); err != nil {
			t.Errorf("%s refused: %v", expr, err)
		}
	}
}

func TestFargateSizesOfTheTable(t *testing.T) {
	valid := map[int][]int{
		256:   {512, 1024, 2048},
		512:   {1024, 2048, 3072, 4096},
		1024:  {2048, 5120, 8192},
		2048:  {4096, 9216, 16384},
		4096:  {8192, 20480, 30720},
		8192:  {16384, 20480, 61440},
		16384: {32768, 40960, 122880},
	}
	for cpu, mems := range valid {
		for _, mem := range mems {
			if err := fargateSizeProblem(cpu, mem); err != nil {
				t.Errorf("%d/%d refused: %v", cpu, mem, err)
			}
		}
	}
	for _, bad := range [][2]int{{256, 4096}, {512, 512}, {512, 5120}, {4096, 31744}, {8192, 65536}, {16384, 131072}, {128, 512}} {
		if fargateSizeProblem(bad[0], bad[1]) == nil {
			t.Errorf("%d/%d accepted", bad[0], bad[1])
		}
	}
}

// TestPlaceholdersRefused: the reserved example domains, and database paths
// wider than a database, never reach a template.
func TestPlaceholdersRefused(t *testing.T) {
	for _, addr := range []string{"uptime-alerts@tally.example", "a@example.com", "a@mail.example.org", "a@example.net",
		"a@x.test", "a@x.invalid", "a@localhost", "A@EXAMPLE.COM", "a@example.com."} {
		e := Environment{Name: "qa", AlarmEmails: []string{"ok@acme-corp.io", addr}}
		err := e.checkDeployerValues()
		if err == nil || !strings.Contains(err.Error(), "reserved example domain") {
			t.Errorf("%s: %v", addr, err)
		}
	}
	for _, addr := range []string{"oncall@acme-corp.io", "a@example.community", "a@notexample.com", "a@testing.io"} {
		if err := (Environment{Name: "qa", AlarmEmails: []string{addr}}).checkDeployerValues(); err != nil {
			t.Errorf("%s refused: %v", addr, err)
		}
	}
	for cidr, want := range map[string]string{
		"0.0.0.0/0":       "wider than /16",
		"10.0.0.0/8":      "wider than /16",
		"52.95.110.7/24":  "host bits",
		"52.95.110.7":     "not an IPv4 CIDR",
		"2001:db8::/64":   "not an IPv4 CIDR",
		"52.95.110.7/32":  "",
		"10.20.0.0/16":    "",
		"172.31.5.128/25": "",
	} {
		err := (Environment{Name: "qa", Network: Network{DatabaseCIDR: cidr}}).checkDeployerValues()
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("databaseCidr %s: %v, want %q", cidr, err, want)
		}
	}
	// Through NewStacks, as the app builds them.
	if _, err := NewStacks(nil, []Environment{{Name: "qa", AlarmEmails: []string{"a@tally.example"}}}); err == nil {
		t.Error("NewStacks accepted a reserved domain")
	}
}

// The missed-run alarm pages after two days without a run: a valid expression that skips days
// is refused, one that runs daily or more often is not.
func TestScheduleRunsEveryDay(t *testing.T) {
	for expr, daily := range map[string]bool{
		DefaultSchedule: true, "cron(0/15 * * * ? *)": true, "cron(5 */2 ? * * *)": true, "cron(0 1,13 * * ? *)": true,
		"rate(1 day)": true, "rate(12 hours)": true, "rate(24 hours)": true, "rate(90 minutes)": true,
		"cron(30 3 ? * MON-FRI *)": false, "cron(0 2 L * ? *)": false, "cron(0 2 * JAN ? *)": false, "cron(0 2 * * ? 2027)": false,
		"rate(2 days)": false, "rate(25 hours)": false, "rate(1441 minutes)": false, "at(2027-01-31T02:00:00)": false,
	} {
		e := Environment{Name: "qa", AlarmEmails: []string{"x@y.example"}, Schedule: expr}
		got := violations(e.WithDefaults().Validate())
		if daily != (len(got) == 0) || (!daily && (len(got) != 1 || !strings.Contains(got[0], "does not run every day"))) {
			t.Errorf("%s: %q, want daily=%v", expr, got, daily)
		}
	}
}
