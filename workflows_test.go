package uptime

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// listEnvironments is the command the workflows and scripts read the environments from;
// infra/main.go's listEnvironmentsArg.
const listEnvironments = "go run ./infra --list-environments"

// environmentNames runs the command the workflows run and returns the names it prints.
func environmentNames(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "run", "./infra", "--list-environments").Output()
	if err != nil {
		t.Fatalf("%s: %v", listEnvironments, err)
	}
	var names []string
	if err := json.Unmarshal(out, &names); err != nil || len(names) == 0 {
		t.Fatalf("%s printed %q, want a JSON array of names (%v)", listEnvironments, out, err)
	}
	return names
}

// TestEnvironmentsListedOnce checks that no workflow or script names the environments itself
// in a matrix, a choice's options or a loop: each reads them from `go run ./infra
// --list-environments`, so an environment added in infra/environments.go needs no other edit.
func TestEnvironmentsListedOnce(t *testing.T) {
	names := environmentNames(t)
	alt := make([]string, len(names))
	for i, n := range names {
		alt[i] = regexp.QuoteMeta(n)
	}
	name := `(?:` + strings.Join(alt, "|") + `)`
	literal := []*regexp.Regexp{
		// a YAML flow list holding a name: matrix entries, choice options
		regexp.MustCompile(`(?m)^\s*[\w-]+:\s*\[[^\]\n]*\b` + name + `\b[^\]\n]*\]`),
		// a YAML block list item that is a name
		regexp.MustCompile(`(?m)^\s*-\s*["']?` + name + `["']?\s*$`),
		// a shell loop over words that include a name
		regexp.MustCompile(`(?m)^\s*for\s+\w+\s+in\s+[^;\n]*\b` + name + `\b`),
	}
	files, _ := filepath.Glob(".github/workflows/*.yml")
	scripts, _ := filepath.Glob("scripts/*.sh")
	lib, _ := filepath.Glob("scripts/lib/*")
	files = append(append(files, scripts...), lib...)
	if len(files) == 0 {
		t.Fatal("no workflow or script found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range literal {
			for _, m := range re.FindAllString(string(b), -1) {
				t.Errorf("%s names the environments itself: %q; read them from %s", f, strings.TrimSpace(m), listEnvironments)
			}
		}
	}
}

// TestEnvironmentsReadFromInfra checks that each place that needs the environments runs the
// command that prints them, and builds its matrix from that output.
func TestEnvironmentsReadFromInfra(t *testing.T) {
	environmentNames(t) // the command exists and prints a list
	for file, wants := range map[string][]string{
		".github/workflows/ci.yml":       {listEnvironments, "fromJSON(needs.environments.outputs.names)"},
		".github/workflows/deploy.yml":   {listEnvironments, "fromJSON(needs.environments.outputs.names)", "max-parallel: 1", "fail-fast: true", "environment: ${{ matrix.environment }}"},
		".github/workflows/backfill.yml": {listEnvironments},
		"scripts/test.sh":                {listEnvironments},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s does not contain %q", file, want)
			}
		}
	}
}
