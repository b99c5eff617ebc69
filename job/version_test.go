package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	// As the Dockerfile builds it: the revision stamped with -ldflags, since the context has no .git.
	stamped := filepath.Join(t.TempDir(), "job")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=1.2.3 -X main.revision=0123abcd", "-o", stamped, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, c := range []struct {
		binary, want string
	}{
		{stamped, "uptime-job 1.2.3 (revision 0123abcd)\n"},
		{jobBinary, ""}, // whatever go build recorded: the same words, checked below
	} {
		p := exec.Command(c.binary, "--version")
		p.Env = []string{"UPTIME_POINTS=abc"} // --version wins over any configuration problem
		out, err := p.Output()
		if err != nil {
			t.Fatalf("%s --version: %v", c.binary, err)
		}
		if c.want != "" && string(out) != c.want {
			t.Errorf("--version printed %q, want %q", out, c.want)
		}
		if !strings.HasPrefix(string(out), "uptime-job ") || !strings.Contains(string(out), "(revision ") {
			t.Errorf("--version printed %q", out)
		}
	}

	// The first record of a run, even one refused at once, says which build wrote it.
	p := exec.Command(stamped, "--points", "0")
	p.Env = []string{"DATABASE_URL=postgres://tally@localhost/tally?sslmode=disable"}
	out, _ := p.Output()
	first, _, _ := strings.Cut(string(out), "\n")
	if !strings.Contains(first, `"version":"1.2.3"`) || !strings.Contains(first, `"revision":"0123abcd"`) {
		t.Errorf("first record %s lacks the version and revision", first)
	}
}
