package main

import (
	"strings"
	"testing"

	"github.com/tally/uptime/internal/contract"
)

// Whatever the shape of DATABASE_URL, and wherever it was put by mistake, nothing the job prints
// depends on the password: the same run with another password of the same shape prints the same
// stderr, and a password long enough to search for is nowhere in the output.
func TestOutputNeverDependsOnThePassword(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	closed := withPort(t, db.URL, closedPort(t))
	host := strings.TrimPrefix(strings.SplitN(db.URL, "/", 4)[2], "postgres@")
	cases := []struct {
		name string
		env  func(pw string) map[string]string
		args func(pw string) []string
		code int
	}{
		{"unreachable, 1-character password", urlEnv(withRawPassword(t, closed, "PW")), noArgs, contract.ExitRuntime},
		{"sslmode=require", urlEnv("postgres://tally:PW@db.example.com/tally?sslmode=require"), noArgs, contract.ExitUsage},
		{"unencoded / in the password", urlEnv("postgres://tally:PW/x@db.example.com/tally"), noArgs, contract.ExitUsage},
		{"password starting with /", urlEnv("postgres://tally:/PW@db.example.com/tally"), noArgs, contract.ExitUsage},
		{"unencoded ? and #", urlEnv("postgres://tally:1?PW#@db.example.com/tally"), noArgs, contract.ExitUsage},
		{"password in the query, off loopback without TLS", urlEnv("postgres://tally@db.example.com/tally?sslmode=disable&password=PW"), noArgs, contract.ExitUsage},
		{"key=value DSN", urlEnv("host=db.example.com user=tally password=PW"), noArgs, contract.ExitUsage},
		{"URL as an argument", urlEnv(db.URL), func(pw string) []string {
			return []string{withRawPassword(t, db.URL, pw)}
		}, contract.ExitUsage},
		{"URL in --user", urlEnv(withRawPassword(t, db.URL, "PW")), func(pw string) []string {
			return []string{"--user", "postgres://u:" + pw + "@" + host + "/x"}
		}, contract.ExitUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var stderr []string
			for _, pw := range []string{"q", "Z", "Yh7Kp2Lw9Qx"} {
				r := runJob(t, c.env(pw), c.args(pw)...)
				r.expect(t, c.code)
				if len(pw) >= 3 && (strings.Contains(r.Stdout, pw) || strings.Contains(r.Stderr, pw)) {
					t.Errorf("password %q printed:\n%s%s", pw, r.Stdout, r.Stderr)
				}
				stderr = append(stderr, r.Stderr)
			}
			t.Logf("%s", stderr[0])
			if stderr[0] != stderr[1] || stderr[1] != stderr[2] {
				t.Errorf("stderr depends on the password:\n%s\n%s\n%s", stderr[0], stderr[1], stderr[2])
			}
		})
	}
}

// urlEnv is the job's environment with DATABASE_URL from template, PW replaced by the password.
func urlEnv(template string) func(string) map[string]string {
	return func(pw string) map[string]string { return jobEnv(strings.ReplaceAll(template, "PW", pw)) }
}

func noArgs(string) []string { return nil }
