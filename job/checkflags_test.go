package main

import (
	"bytes"
	"flag"
	"strconv"
	"strings"
	"testing"
)

func runTool(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, env, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCheckFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantOut  []string // lines of stdout
		wantErr  string
	}{
		{
			name: "flags over variables over defaults, without DATABASE_URL",
			args: []string{"--check-flags", "--points", "3", "--force=false", "--user", "ada@example.com"},
			env:  map[string]string{"UPTIME_POINTS": "2", "UPTIME_FORCE": "true", "UPTIME_VERBOSE": "true", "UPTIME_ENVIRONMENT": "prod"},
			wantOut: []string{"--points=3\tflag", "--force=false\tflag", "--verbose=true\tUPTIME_VERBOSE",
				"--user=ada@example.com\tflag", "--timeout=10m0s\tdefault", "--dry-run=false\tdefault"},
		},
		{name: "misspelt flag", args: []string{"--check-flags", "--dryrun"}, wantCode: exitUsage,
			wantErr: "uptime: unknown flag: --dryrun; see --help\n"},
		{name: "malformed points", args: []string{"--check-flags", "--points", "x"}, wantCode: exitUsage,
			wantErr: `invalid value "x" for flag --points`},
		{name: "malformed date", args: []string{"--check-flags", "--from", "2024-13-01"}, wantCode: exitUsage,
			wantErr: `invalid value "2024-13-01" for flag --from`},
		{name: "from after to", args: []string{"--check-flags", "--from", "2024-02-01", "--to", "2024-01-01"}, wantCode: exitUsage,
			wantErr: "uptime: "},
		{name: "an unknown variable", args: []string{"--check-flags"}, env: map[string]string{"UPTIME_DRYRUN": "true"},
			wantCode: exitUsage, wantErr: "unknown variable UPTIME_DRYRUN"},
		{name: "help is not a setting", args: []string{"--check-flags", "--help"}, wantCode: exitUsage,
			wantErr: "not settings of a run"},
		{name: "a URL in a flag is not echoed", args: []string{"--check-flags", "--user", "postgres://u:pw@h/db"},
			wantCode: exitUsage, wantErr: "may hold the database password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runTool(t, tc.env, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.wantCode, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			for _, w := range tc.wantOut {
				if !containsLine(lines, w) {
					t.Errorf("stdout lacks the line %q:\n%s", w, out)
				}
			}
			if settings := settingCount(); tc.wantCode == exitOK && len(lines) != settings {
				t.Errorf("want one line per setting (%d), got %d:\n%s", settings, len(lines), out)
			}
			if !strings.Contains(errOut, tc.wantErr) || (tc.wantCode != exitOK && strings.Count(errOut, "\n") != 1) {
				t.Errorf("stderr %q, want one line containing %q", errOut, tc.wantErr)
			}
			if tc.wantCode != exitOK && out != "" {
				t.Errorf("a refused check printed settings:\n%s", out)
			}
			if strings.Contains(out+errOut, "pw@") {
				t.Errorf("the output repeats the URL: %q %q", out, errOut)
			}
		})
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func TestExplainExit(t *testing.T) {
	seen := map[string]int{}
	for _, code := range []int{exitOK, exitRuntime, exitUsage, exitData, exitLocked, exitHeldBack} {
		c, out, errOut := runTool(t, nil, "--explain-exit", strconv.Itoa(code))
		meaning := strings.TrimSpace(out)
		if c != exitOK || meaning == "" || strings.Contains(meaning, "not one of") {
			t.Errorf("exit code %d: got %q (exit %d, stderr %q), want its meaning from contract.Exits", code, out, c, errOut)
		}
		if prev, dup := seen[meaning]; dup {
			t.Errorf("exit codes %d and %d have the same meaning %q", prev, code, meaning)
		}
		seen[meaning] = code
	}
	if _, out, _ := runTool(t, nil, "--explain-exit", "3"); !strings.Contains(out, "an unknown --user") || !strings.Contains(out, "nothing was written") {
		t.Errorf("exit 3's continuation lines are not joined: %q", out)
	}
	if _, out, _ := runTool(t, nil, "--explain-exit", "137"); !strings.Contains(out, "out of memory") {
		t.Errorf("137: %q", out)
	}
	if _, out, _ := runTool(t, nil, "--explain-exit", "9"); strings.TrimSpace(out) != "not one of the job's exit codes" {
		t.Errorf("9: %q", out)
	}
	for _, bad := range [][]string{{"--explain-exit"}, {"--explain-exit", "x"}, {"--explain-exit", "256"}, {"--explain-exit", "1", "2"}} {
		if c, _, errOut := runTool(t, nil, bad...); c != exitUsage || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a sentence", bad, c, errOut)
		}
	}
}

// settingCount is how many settings the job's flag table has: every flag but --version.
func settingCount() int {
	n := 0
	newFlagSet(&config{}).VisitAll(func(f *flag.Flag) {
		if f.Name != "version" {
			n++
		}
	})
	return n
}
