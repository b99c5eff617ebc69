package uptime

import (
	"os"
	"regexp"
	"testing"
)

// TestDependabotCoversEveryPin checks that each file that pins dependencies has its ecosystem in
// .github/dependabot.yml, so no pin is left to age unnoticed.
func TestDependabotCoversEveryPin(t *testing.T) {
	b, err := os.ReadFile(".github/dependabot.yml")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*-\s*package-ecosystem:\s*"?([a-z-]+)"?`).FindAllStringSubmatch(string(b), -1) {
		covered[m[1]] = true
	}
	for file, ecosystem := range map[string]string{
		"go.mod":            "gomod",
		"package.json":      "npm",
		".github/workflows": "github-actions",
		"Dockerfile":        "docker",
	} {
		if _, err := os.Stat(file); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if !covered[ecosystem] {
			t.Errorf("%s pins dependencies but .github/dependabot.yml has no %q entry", file, ecosystem)
		}
	}
}
