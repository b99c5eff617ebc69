package config

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/contract"
)

// effective is what an operator tool prints of Effective: a line per setting ("--flag=value\tsource"),
// or the job's sentence as the job prints it ("uptime: ...") with exit 2.
func effective(env map[string]string, args ...string) (code int, stdout, stderr string) {
	settings, err := Effective(args, env)
	if err != nil {
		return contract.ExitUsage, "", "uptime: " + err.Error() + "\n"
	}
	var out strings.Builder
	for _, s := range settings {
		fmt.Fprintf(&out, "--%s=%s\t%s\n", s.Flag, s.Value, s.Source)
	}
	return contract.ExitOK, out.String(), ""
}

func TestEffective(t *testing.T) {
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
			args: []string{"--points", "3", "--force=false", "--user", "ada@example.com"},
			env:  map[string]string{"UPTIME_POINTS": "2", "UPTIME_FORCE": "true", "UPTIME_VERBOSE": "true", "UPTIME_ENVIRONMENT": "prod"},
			wantOut: []string{"--points=3\tflag", "--force=false\tflag", "--verbose=true\tUPTIME_VERBOSE",
				"--user=ada@example.com\tflag", "--timeout=10m0s\tdefault", "--dry-run=false\tdefault"},
		},
		{name: "misspelt flag", args: []string{"--dryrun"}, wantCode: contract.ExitUsage,
			wantErr: "uptime: unknown flag: --dryrun; see --help\n"},
		{name: "malformed points", args: []string{"--points", "x"}, wantCode: contract.ExitUsage,
			wantErr: `invalid value "x" for flag --points`},
		{name: "malformed date", args: []string{"--from", "2024-13-01"}, wantCode: contract.ExitUsage,
			wantErr: `invalid value "2024-13-01" for flag --from`},
		{name: "from after to", args: []string{"--from", "2024-02-01", "--to", "2024-01-01"}, wantCode: contract.ExitUsage,
			wantErr: "uptime: "},
		{name: "an unknown variable", args: nil, env: map[string]string{"UPTIME_DRYRUN": "true"},
			wantCode: contract.ExitUsage, wantErr: "unknown variable UPTIME_DRYRUN"},
		{name: "help is not a setting", args: []string{"--help"}, wantCode: contract.ExitUsage,
			wantErr: "not settings of a run"},
		{name: "a URL in a flag is not echoed", args: []string{"--user", "postgres://u:pw@h/db"},
			wantCode: contract.ExitUsage, wantErr: "may hold the database password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := effective(tc.env, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.wantCode, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			for _, w := range tc.wantOut {
				if !containsLine(lines, w) {
					t.Errorf("stdout lacks the line %q:\n%s", w, out)
				}
			}
			if settings := settingCount(); tc.wantCode == contract.ExitOK && len(lines) != settings {
				t.Errorf("want one line per setting (%d), got %d:\n%s", settings, len(lines), out)
			}
			if !strings.Contains(errOut, tc.wantErr) || (tc.wantCode != contract.ExitOK && strings.Count(errOut, "\n") != 1) {
				t.Errorf("stderr %q, want one line containing %q", errOut, tc.wantErr)
			}
			if tc.wantCode != contract.ExitOK && out != "" {
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

// settingCount is how many settings the job's flag table has: every flag but --version.
func settingCount() int {
	n := 0
	(&Config{}).flagSet().VisitAll(func(f *flag.Flag) {
		if f.Name != "version" {
			n++
		}
	})
	return n
}
