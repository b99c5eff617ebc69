package uptime

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// codeMap is the "Where the code is" section of docs/architecture.md.
func codeMap(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n## Where the code is\n")
	if !ok {
		t.Fatal("docs/architecture.md has no section \"Where the code is\"")
	}
	section, _, _ := strings.Cut(after, "\n## ")
	return section
}

// TestCodeMapNamesFilesThatExist: every path in the first column of the file tables of
// docs/architecture.md exists (a glob matches something).
func TestCodeMapNamesFilesThatExist(t *testing.T) {
	var named int
	for _, line := range strings.Split(codeMap(t), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cells[1], -1) {
			named++
			if matches, _ := filepath.Glob(strings.TrimSuffix(m[1], "/")); len(matches) == 0 {
				t.Errorf("docs/architecture.md, Where the code is, names %s, which does not exist", m[1])
			}
		}
	}
	if named < 50 {
		t.Fatalf("only %d paths in the tables; did the section move?", named)
	}
}

// TestCodeMapCoversTheRepositoryEdges: every script, every root-level test, every workflow and
// every file beside the RDS bundle is named in the map, by path or by a glob that matches it.
func TestCodeMapCoversTheRepositoryEdges(t *testing.T) {
	section := codeMap(t)
	var patterns []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(section, -1) {
		patterns = append(patterns, strings.TrimSuffix(m[1], "/"))
	}
	covered := func(file string) bool {
		for _, p := range patterns {
			if ok, _ := filepath.Match(p, file); ok || strings.HasPrefix(file, p+"/") {
				return true
			}
		}
		return false
	}
	var files []string
	for _, glob := range []string{"scripts/*", "scripts/lib/*", "*.go", ".github/workflows/*", "job/connect/certs/*"} {
		m, _ := filepath.Glob(glob)
		files = append(files, m...)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		if !covered(f) {
			t.Errorf("docs/architecture.md, Where the code is, does not name %s", f)
		}
	}
	if covered("scripts/no-such-script.sh") {
		t.Error("the coverage check matches a file nobody named")
	}
}
