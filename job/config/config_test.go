package config

import (
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/job/connect"
	"github.com/tally/uptime/job/uptime"
)

// testNow is the clock of the in-process config tests: today is 2026-06-15, UTC.
var testNow = time.Date(2026, 6, 15, 12, 30, 0, 0, time.UTC)

const (
	testPassword = "Sup3rSecretPw"
	testURL      = "postgres://tally:" + testPassword + "@db.example:5432/tally"
)

func day(s string) time.Time {
	d, err := uptime.ParseDay(s)
	if err != nil {
		panic(err)
	}
	return d
}

// withURL is env plus a valid DATABASE_URL.
func withURL(env map[string]string) map[string]string {
	out := map[string]string{"DATABASE_URL": testURL}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// parsedURL is raw read as Parse reads DATABASE_URL.
func parsedURL(raw string) connect.Target {
	t, err := connect.ParseURL(raw)
	if err != nil {
		panic(err)
	}
	return t
}

// defaults is the config of a run given nothing but DATABASE_URL; edit changes it.
func defaultsWith(edit func(*Config)) Config {
	cfg := Config{
		Target:       parsedURL(testURL),
		Environment:  "local",
		Options:      uptime.Options{Points: 1, Now: testNow},
		Timeout:      10 * time.Minute,
		DBWait:       60 * time.Second,
		LockWait:     2 * time.Minute,
		LockedBudget: 500 * time.Millisecond,
		RunKind:      contract.RunManual,
	}
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want Config
	}{
		{name: "defaults", want: defaultsWith(nil)},
		{
			name: "every flag",
			args: []string{"--dry-run", "--verbose", "--points", "3", "--force", "--from", "2026-01-01",
				"--to", "2026-01-31", "--user", "ada@example.com", "--user", "Bob@Example.org",
				"--timeout", "90s", "--db-wait", "0"},
			want: defaultsWith(func(c *Config) {
				c.Options.DryRun, c.Options.Verbose, c.Options.Force = true, true, true
				c.Options.Points = 3
				c.Options.From, c.Options.To = day("2026-01-01"), day("2026-01-31")
				c.Options.Users = []string{"ada@example.com", "Bob@Example.org"}
				c.Timeout, c.DBWait = 90*time.Second, 0
			}),
		},
		{
			name: "flags with = and a single dash",
			args: []string{"-dry-run=false", "--force=true", "-points=5", "--to=2026-06-15", "--from=2026-06-15",
				"-user=ada@example.com,bob@example.com", "--timeout=1h", "-db-wait=2m30s"},
			want: defaultsWith(func(c *Config) {
				c.Options.Force, c.Options.Points = true, 5
				c.Options.From, c.Options.To = day("2026-06-15"), day("2026-06-15")
				c.Options.Users = []string{"ada@example.com", "bob@example.com"}
				c.Timeout, c.DBWait = time.Hour, 150*time.Second
			}),
		},
		{name: "UPTIME_DRY_RUN", env: map[string]string{"UPTIME_DRY_RUN": "true"},
			want: defaultsWith(func(c *Config) { c.Options.DryRun = true })},
		{name: "UPTIME_VERBOSE", env: map[string]string{"UPTIME_VERBOSE": "1"},
			want: defaultsWith(func(c *Config) { c.Options.Verbose = true })},
		{name: "UPTIME_POINTS", env: map[string]string{"UPTIME_POINTS": " 4 "},
			want: defaultsWith(func(c *Config) { c.Options.Points = 4 })},
		{name: "UPTIME_FORCE", env: map[string]string{"UPTIME_FORCE": "TRUE"},
			want: defaultsWith(func(c *Config) { c.Options.Force = true })},
		{name: "UPTIME_FROM", env: map[string]string{"UPTIME_FROM": "2025-12-31"},
			want: defaultsWith(func(c *Config) { c.Options.From = day("2025-12-31") })},
		{name: "UPTIME_TO", env: map[string]string{"UPTIME_TO": "2026-06-14"},
			want: defaultsWith(func(c *Config) { c.Options.To = day("2026-06-14") })},
		{name: "UPTIME_USER comma list", env: map[string]string{"UPTIME_USER": "ada@example.com, bob@example.com,carol@example.com"},
			want: defaultsWith(func(c *Config) {
				c.Options.Users = []string{"ada@example.com", "bob@example.com", "carol@example.com"}
			})},
		{name: "UPTIME_TIMEOUT", env: map[string]string{"UPTIME_TIMEOUT": "30s"},
			want: defaultsWith(func(c *Config) { c.Timeout = 30 * time.Second })},
		{name: "UPTIME_DB_WAIT", env: map[string]string{"UPTIME_DB_WAIT": "0s"},
			want: defaultsWith(func(c *Config) { c.DBWait = 0 })},
		{name: "UPTIME_LOCK_WAIT", env: map[string]string{"UPTIME_LOCK_WAIT": "0"},
			want: defaultsWith(func(c *Config) { c.LockWait = 0 })},
		{name: "--lock-wait", args: []string{"--lock-wait", "30s"},
			want: defaultsWith(func(c *Config) { c.LockWait = 30 * time.Second })},
		{name: "UPTIME_RUN_KIND, as the schedule sets it", env: map[string]string{"UPTIME_RUN_KIND": "scheduled"},
			want: defaultsWith(func(c *Config) { c.RunKind = contract.RunScheduled })},
		{name: "--run-kind wins over UPTIME_RUN_KIND", args: []string{"--run-kind", "manual"},
			env: map[string]string{"UPTIME_RUN_KIND": "scheduled"}, want: defaultsWith(nil)},
		{name: "UPTIME_ENVIRONMENT", env: map[string]string{"UPTIME_ENVIRONMENT": "production"},
			want: defaultsWith(func(c *Config) { c.Environment = "production" })},
		{name: "empty UPTIME_ENVIRONMENT is local", env: map[string]string{"UPTIME_ENVIRONMENT": ""},
			want: defaultsWith(nil)},
		{
			name: "a flag wins over its variable",
			args: []string{"--dry-run=false", "--points", "3", "--user", "bob@example.com", "--timeout", "1m",
				"--from", "2026-02-01", "--to", "2026-02-28", "--db-wait", "5s", "--verbose=false", "--force=false"},
			env: map[string]string{
				"UPTIME_DRY_RUN": "true", "UPTIME_POINTS": "2", "UPTIME_USER": "ada@example.com",
				"UPTIME_TIMEOUT": "30s", "UPTIME_FROM": "2026-01-01", "UPTIME_TO": "2026-01-31",
				"UPTIME_DB_WAIT": "0", "UPTIME_VERBOSE": "true", "UPTIME_FORCE": "true",
			},
			want: defaultsWith(func(c *Config) {
				c.Options.Points = 3
				c.Options.Users = []string{"bob@example.com"}
				c.Options.From, c.Options.To = day("2026-02-01"), day("2026-02-28")
				c.Timeout, c.DBWait = time.Minute, 5*time.Second
			}),
		},
		{
			name: "a flag wins even over a variable that would not parse",
			args: []string{"--points", "2"},
			env:  map[string]string{"UPTIME_POINTS": "lots"},
			want: defaultsWith(func(c *Config) { c.Options.Points = 2 }),
		},
		{
			name: "flags and variables combine",
			args: []string{"--dry-run"},
			env:  map[string]string{"UPTIME_POINTS": "2"},
			want: defaultsWith(func(c *Config) { c.Options.DryRun, c.Options.Points = true, 2 }),
		},
		{name: "postgresql scheme", env: map[string]string{"DATABASE_URL": "postgresql://u@localhost/tally"},
			want: defaultsWith(func(c *Config) { c.Target = parsedURL("postgresql://u@localhost/tally") })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.args, withURL(tt.env), testNow)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestParseConfigHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}, {"--dry-run", "--help"}} {
		// --help works without DATABASE_URL: it is how one learns that DATABASE_URL is needed.
		if _, err := Parse(args, map[string]string{}, testNow); !errors.Is(err, ErrHelp) {
			t.Errorf("Parse(%q) = %v, want ErrHelp", args, err)
		}
	}
	for _, want := range []string{"--dry-run", "--verbose", "--points", "--force", "--from", "--to", "--user",
		"--timeout", "--db-wait", "--lock-wait", "--run-kind", "--version",
		"DATABASE_URL", "UPTIME_ENVIRONMENT", "Exit codes", "Example", "(default 1)", "(default 10m)", "(default manual)"} {
		if !strings.Contains(strings.Join(strings.Fields(helpText), " "), want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
	for _, f := range flagTable {
		line := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(f.name) + `\b.*$`).FindString(helpText)
		if line == "" {
			t.Errorf("--help has no line for --%s", f.name)
		} else if !f.command && !strings.Contains(line, contract.Variable(f.name)) {
			t.Errorf("--help's line for --%s does not name %s: %q", f.name, contract.Variable(f.name), line)
		}
	}
	for _, e := range contract.Exits {
		if !regexp.MustCompile(`(?m)^\s+` + strconv.Itoa(e.Code) + `\s`).MatchString(helpText) {
			t.Errorf("--help does not explain exit code %d", e.Code)
		}
	}
}

// sentenceBreak finds a full stop followed by another sentence.
var sentenceBreak = regexp.MustCompile(`[.!?]\s+[A-Z]`)

func TestParseConfigUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		// mention is a part of the message that tells the user what was wrong.
		mention string
		// bare means env is used as is, without the default DATABASE_URL.
		bare bool
	}{
		{name: "month 13", args: []string{"--from", "2026-13-01"}, mention: "YYYY-MM-DD"},
		{name: "February 30", args: []string{"--from", "2026-02-30"}, mention: "YYYY-MM-DD"},
		{name: "yesterday", args: []string{"--to", "yesterday"}, mention: "YYYY-MM-DD"},
		{name: "slashes", args: []string{"--to", "2026/01/01"}, mention: "YYYY-MM-DD"},
		{name: "date with time", args: []string{"--from", "2026-01-01T00:00:00Z"}, mention: "YYYY-MM-DD"},
		{name: "empty date", args: []string{"--from", ""}, mention: "YYYY-MM-DD"},
		{name: "points 0", args: []string{"--points", "0"}, mention: "at least 1"},
		{name: "points -1", args: []string{"--points", "-1"}, mention: "at least 1"},
		{name: "points 1.5", args: []string{"--points", "1.5"}, mention: "whole number"},
		{name: "points abc", args: []string{"--points", "abc"}, mention: "whole number"},
		{name: "points overflow", args: []string{"--points", "99999999999999999999"}, mention: "whole number"},
		{name: "points missing its value", args: []string{"--points"}, mention: "points"},
		{name: "timeout without unit", args: []string{"--timeout", "10"}, mention: "duration"},
		{name: "negative timeout", args: []string{"--timeout", "-5s"}, mention: "positive"},
		{name: "zero timeout", args: []string{"--timeout", "0"}, mention: "positive"},
		{name: "negative db-wait", args: []string{"--db-wait", "-1s"}, mention: "zero or a positive duration"},
		{name: "db-wait forever", args: []string{"--db-wait", "forever"}, mention: "duration"},
		{name: "bare name for user", args: []string{"--user", "bob"}, mention: `"bob"`},
		{name: "named address for user", args: []string{"--user", "Bob <bob@x.com>"}, mention: "e-mail"},
		{name: "trailing comma in user", args: []string{"--user", "a@b,"}, mention: "e-mail"},
		{name: "empty user", args: []string{"--user", ""}, mention: "e-mail"},
		{name: "maybe for dry-run", args: []string{"--dry-run=maybe"}, mention: "true or false"},
		{name: "yes for force", args: []string{"--force=yes"}, mention: "true or false"},
		{name: "unknown flag", args: []string{"--dryrun"}, mention: "unknown flag"},
		{name: "run kind backfill", args: []string{"--run-kind", "backfill"}, mention: "scheduled or manual"},
		{name: "UPTIME_RUN_KIND nightly", env: map[string]string{"UPTIME_RUN_KIND": "nightly"}, mention: "UPTIME_RUN_KIND"},
		{name: "positional argument", args: []string{"now"}, mention: `"now"`},
		{name: "bool flag with separate value", args: []string{"--dry-run", "false"}, mention: `"false"`},
		{name: "unknown UPTIME_DRYRUN", env: map[string]string{"UPTIME_DRYRUN": "true"}, mention: "UPTIME_DRYRUN"},
		{name: "unknown UPTIME_USERS", env: map[string]string{"UPTIME_USERS": "ada@example.com"}, mention: "UPTIME_USERS"},
		{name: "UPTIME_DRY_RUN maybe", env: map[string]string{"UPTIME_DRY_RUN": "maybe"}, mention: "UPTIME_DRY_RUN"},
		{name: "UPTIME_POINTS abc", env: map[string]string{"UPTIME_POINTS": "abc"}, mention: "UPTIME_POINTS"},
		{name: "UPTIME_USER bare name", env: map[string]string{"UPTIME_USER": "ada@example.com,bob"}, mention: "UPTIME_USER"},
		{name: "UPTIME_TIMEOUT without unit", env: map[string]string{"UPTIME_TIMEOUT": "10"}, mention: "UPTIME_TIMEOUT"},
		{name: "UPTIME_FROM February 30", env: map[string]string{"UPTIME_FROM": "2026-02-30"}, mention: "UPTIME_FROM"},
		{name: "empty UPTIME_DRY_RUN", env: map[string]string{"UPTIME_DRY_RUN": ""}, mention: "UPTIME_DRY_RUN"},
		{name: "missing DATABASE_URL", env: map[string]string{}, bare: true, mention: "DATABASE_URL is not set"},
		{name: "empty DATABASE_URL", env: map[string]string{"DATABASE_URL": ""}, bare: true, mention: "DATABASE_URL"},
		{name: "DATABASE_URL not a URL", env: map[string]string{"DATABASE_URL": "host=db user=tally password=" + testPassword},
			bare: true, mention: "DATABASE_URL"},
		{name: "mysql DATABASE_URL", env: map[string]string{"DATABASE_URL": "mysql://tally:" + testPassword + "@db.example/tally"},
			bare: true, mention: "DATABASE_URL"},
		{name: "DATABASE_URL without host", env: map[string]string{"DATABASE_URL": "postgres:///tally"},
			bare: true, mention: "DATABASE_URL"},
		{name: "DATABASE_URL with a bad port", env: map[string]string{"DATABASE_URL": "postgres://tally:" + testPassword + "@db.example:port/tally"},
			bare: true, mention: "DATABASE_URL"},
		{name: "DATABASE_URL with a bad escape", env: map[string]string{"DATABASE_URL": "postgres://tally:" + testPassword + "%zz@db.example/tally"},
			bare: true, mention: "DATABASE_URL"},
		{name: "PQGO_DEBUG set", env: map[string]string{"PQGO_DEBUG": "1"}, mention: "PQGO_DEBUG"},
		{name: "DATABASE_URL as an argument", args: []string{"--dry-run", testURL}, mention: "argument 2"},
		{name: "a DSN in a variable", env: map[string]string{"UPTIME_USER": "host=db password=x"}, mention: "UPTIME_USER"},
		{name: "negative lock-wait", args: []string{"--lock-wait", "-1s"}, mention: "zero or a positive duration"},
		{name: "from after to", args: []string{"--from", "2026-03-02", "--to", "2026-03-01"}, mention: "2026-03-02"},
		{name: "from after to by variables", env: map[string]string{"UPTIME_FROM": "2026-03-02", "UPTIME_TO": "2026-03-01"}, mention: "after"},
		{name: "to after today", args: []string{"--to", "2026-06-16"}, mention: "after today"},
		{name: "from after today", args: []string{"--from", "2026-06-16"}, mention: "2026-06-16"},
	}
	if len(tests) < 30 {
		t.Fatalf("only %d malformed inputs", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := withURL(tt.env)
			if tt.bare {
				env = tt.env
			}
			_, err := Parse(tt.args, env, testNow)
			var usage *UsageError
			if !errors.As(err, &usage) {
				t.Fatalf("Parse(%q) = %v (%T), want a *UsageError", tt.args, err, err)
			}
			t.Log(usage.Error())
			checkUsageMessage(t, usage.Error(), tt.mention)
		})
	}
}

// checkUsageMessage: one sentence, no newline, no password, and it names what was wrong.
func checkUsageMessage(t *testing.T, msg, mention string) {
	t.Helper()
	switch {
	case msg == "":
		t.Error("empty message")
	case strings.ContainsAny(msg, "\r\n"):
		t.Errorf("message has a line break: %q", msg)
	case sentenceBreak.MatchString(msg):
		t.Errorf("message is more than one sentence: %q", msg)
	case strings.Contains(msg, testPassword):
		t.Errorf("message contains the DATABASE_URL password: %q", msg)
	case !strings.Contains(msg, mention):
		t.Errorf("message %q does not mention %q", msg, mention)
	}
}

// A --from after today without --to must not blame a --to that was never given. The message comes
// from job/uptime (not this package's to fix), so the test skips while the bug is there.
func TestFromAfterTodayMessage(t *testing.T) {
	_, err := Parse([]string{"--from", "2026-06-16"}, withURL(nil), testNow)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "--to") || !strings.Contains(err.Error(), "after today") {
		t.Fatalf("error %q: want it to say --from is after today, without blaming a --to never given", err)
	}
}

func TestFlagErrorsUseTheDoubleDashForm(t *testing.T) {
	for _, args := range [][]string{{"--points", "abc"}, {"-points", "abc"}, {"--nope"}, {"--dry-run=maybe"}} {
		_, err := Parse(args, withURL(nil), testNow)
		if err == nil {
			t.Fatalf("%v: no error", args)
		}
		if !strings.Contains(err.Error(), "--") || regexp.MustCompile(`flag -[a-z]`).MatchString(err.Error()) {
			t.Errorf("%v: %q names the flag with a single dash", args, err)
		}
	}
}
