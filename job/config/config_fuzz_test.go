package config

import (
	"errors"
	"net/mail"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tally/uptime/job/connect"
)

// argSep separates the arguments in FuzzParseConfig's args, and the KEY=VALUE pairs in its env: a
// process's arguments and environment cannot hold a NUL byte, so any other byte can be fuzzed.
const argSep = "\x00"

// FuzzParseConfig: whatever the arguments and the environment, Parse does not panic and
// either returns a configuration the run can use or a usage error (or --help); what the job would
// print of the error is one line and never shows the DATABASE_URL password.
//
//	go test ./job/config -run '^$' -fuzz FuzzParseConfig -fuzztime 60s
func FuzzParseConfig(f *testing.F) {
	const url = "DATABASE_URL=" + testURL
	for _, seed := range []struct{ args, env string }{
		{"", url},
		{"", ""},
		{"--help", ""},
		{"-h\x00--nope", url},
		{"--dry-run\x00--verbose\x00--points\x003\x00--force\x00--from\x002026-01-01\x00--to\x002026-01-31\x00" +
			"--user\x00ada@example.com\x00--user\x00Bob@Example.org\x00--timeout\x0090s\x00--db-wait\x000", url},
		{"-dry-run=false\x00--force=true\x00-points=5\x00--to=2026-06-15\x00--from=2026-06-15\x00" +
			"-user=ada@example.com,bob@example.com\x00--timeout=1h\x00-db-wait=2m30s", url},
		{"", url + "\x00UPTIME_DRY_RUN=true\x00UPTIME_POINTS= 4 \x00UPTIME_USER=ada@example.com, bob@example.com"},
		{"", url + "\x00UPTIME_FROM=2025-12-31\x00UPTIME_TO=2026-06-14\x00UPTIME_TIMEOUT=30s\x00UPTIME_DB_WAIT=0s"},
		{"", url + "\x00UPTIME_ENVIRONMENT=production\x00UPTIME_VERBOSE=1\x00UPTIME_FORCE=TRUE"},
		{"--points\x002", url + "\x00UPTIME_POINTS=lots"},
		{"", "DATABASE_URL=postgresql://u@localhost/tally"},
		// Malformed values of every kind.
		{"--from\x002026-13-01", url},
		{"--from\x002026-02-30", url},
		{"--to\x00yesterday", url},
		{"--from\x002026-01-01T00:00:00Z", url},
		{"--points\x000", url},
		{"--points\x0099999999999999999999", url},
		{"--points", url},
		{"--timeout\x0010", url},
		{"--timeout\x00-5s", url},
		{"--db-wait\x00-1s", url},
		{"--user\x00Bob <bob@x.com>", url},
		{"--user\x00a@b,", url},
		{"--dry-run=maybe", url},
		{"--dryrun", url},
		{"now", url},
		{"--dry-run\x00false", url},
		{"", url + "\x00UPTIME_DRYRUN=true"},
		{"", url + "\x00UPTIME_DRY_RUN="},
		{"", url + "\x00UPTIME_FROM=2026-03-02\x00UPTIME_TO=2026-03-01"},
		{"--from\x002026-03-02\x00--to\x002026-03-01", url},
		{"--to\x002026-06-16", url},
		{"--from\x002026-06-16", url},
		{"", "DATABASE_URL=mysql://tally:" + testPassword + "@db.example/tally"},
		{"", "DATABASE_URL=postgres://tally:" + testPassword + "@db.example:port/tally"},
		{"", "DATABASE_URL=postgres://tally:" + testPassword + "%zz@db.example/tally"},
		{"", "DATABASE_URL=host=db user=tally password=" + testPassword},
		// The password where a message might echo it.
		{"--user\x00" + testPassword, url},
		{testURL, url},
		{"--" + testPassword, url},
		{"--points=" + testPassword, url},
		{"", url + "\x00UPTIME_USER=" + testURL},
		{"", url + "\x00UPTIME_" + testPassword + "=1"},
		{"--user\x00x", "DATABASE_URL=postgres://u:p%40ss%2Fw@h:5432/db"},
		{"--user\x00p%40ss%2Fw", "DATABASE_URL=postgres://u:p%40ss%2Fw@h:5432/db"},
		{"--user\x00p@ss/w", "DATABASE_URL=postgres://u:p%40ss%2Fw@h:5432/db"},
		// Line breaks where a message might echo them.
		{"--no\npe", url},
		{"-\n", url},
		{"--from\x002026\n01-01", url},
		{"", url + "\x00UPTIME_X\nY=1"},
	} {
		f.Add(seed.args, seed.env, int64(0))
	}
	f.Fuzz(func(t *testing.T, argsBlob, envBlob string, nowOffset int64) {
		var args []string
		if argsBlob != "" {
			args = strings.Split(argsBlob, argSep)
		}
		env := map[string]string{}
		for kv := range strings.SplitSeq(envBlob, argSep) {
			if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
				env[k] = v
			}
		}
		// The clock: testNow, moved by up to ±100 years.
		now := testNow.Add(time.Duration(nowOffset%(100*365*24)) * time.Hour)

		cfg, err := Parse(args, env, now)
		if err != nil {
			checkFuzzedError(t, args, env, err)
			return
		}
		if err := cfg.Options.Validate(); err != nil {
			t.Fatalf("Parse(%q) accepted options that do not validate: %v", args, err)
		}
		if want, err := connect.ParseURL(env["DATABASE_URL"]); err != nil || !reflect.DeepEqual(cfg.Target, want) {
			t.Fatalf("parseConfig accepted DATABASE_URL as %v: %v", cfg.Target, err)
		}
		if cfg.Timeout <= 0 || cfg.Timeout > maxTimeout || cfg.DBWait < 0 || cfg.Options.Points < 1 || cfg.Environment == "" || !cfg.Options.Now.Equal(now) {
			t.Fatalf("Parse(%q) accepted %+v", args, cfg)
		}
		for _, u := range cfg.Options.Users {
			if a, err := mail.ParseAddress(u); err != nil || a.Address != u {
				t.Fatalf("parseConfig accepted user %q, which is not a bare e-mail address", u)
			}
		}
		for _, d := range []time.Time{cfg.Options.From, cfg.Options.To} {
			if !d.IsZero() && (d.Location() != time.UTC || d.Hour() != 0 || d.Minute() != 0 || d.Second() != 0 || d.Nanosecond() != 0) {
				t.Fatalf("parseConfig accepted a day that is not 00:00 UTC: %v", d)
			}
		}
		again, err := Parse(args, env, now)
		if err != nil || !reflect.DeepEqual(again, cfg) {
			t.Fatalf("Parse(%q) is not deterministic: %+v then %+v (%v)", args, cfg, again, err)
		}
	})
}

// checkFuzzedError checks what the job makes of a parseConfig error: --help, or a usage error
// whose printed message (scrubbed as run() scrubs it) is one non-empty line without the password.
func checkFuzzedError(t *testing.T, args []string, env map[string]string, err error) {
	t.Helper()
	if errors.Is(err, ErrHelp) {
		return
	}
	var usage *UsageError
	if !errors.As(err, &usage) {
		t.Fatalf("Parse(%q) = %v (%T), want a *UsageError or ErrHelp", args, err, err)
	}
	printed := err.Error()
	if printed == "" || strings.ContainsAny(printed, "\r\n") {
		t.Fatalf("Parse(%q): the message is not one line: %q", args, printed)
	}
	target, perr := connect.ParseURL(env["DATABASE_URL"])
	// A password of one or two characters is in most text; longer ones must never be printed.
	if p := target.Password(); perr == nil && len(p) >= 3 && strings.Contains(printed, p) {
		t.Fatalf("Parse(%q): the message shows the DATABASE_URL password %q: %q", args, p, printed)
	}
}
