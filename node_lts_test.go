package uptime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nodeEndOfLife is the Node.js release schedule's "end" of each LTS line (nodejs/Release,
// schedule.json): "v20" 2026-04-30, "v22" 2027-04-30, "v24" 2028-04-30, "v26" 2029-04-30.
// Node 26 became LTS on 2026-10-28; from 27 on every major becomes LTS the October after its
// April release.
var nodeEndOfLife = map[int]string{20: "2026-04-30", 22: "2027-04-30", 24: "2028-04-30", 26: "2029-04-30"}

// TestNodeIsASupportedLTS checks that .nvmrc names an LTS line that has not reached its end of
// life, that package.json's engines ask for it, that the workflows install it from .nvmrc, and
// that nothing silences the warning jsii prints on an end-of-life node.
func TestNodeIsASupportedLTS(t *testing.T) {
	b, err := os.ReadFile(".nvmrc")
	if err != nil {
		t.Fatal(err)
	}
	major, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf(".nvmrc %q is not a major version: %v", b, err)
	}
	end, known := nodeEndOfLife[major]
	if !known {
		t.Fatalf(".nvmrc names Node.js %d, which is not an LTS line of nodeEndOfLife", major)
	}
	if today := time.Now().UTC().Format(time.DateOnly); today > end {
		t.Errorf("Node.js %d (.nvmrc) reached its end of life on %s; move .nvmrc, package.json engines and CI to the current LTS", major, end)
	}

	var pkg struct{ Engines map[string]string }
	if b, err = os.ReadFile("package.json"); err == nil {
		err = json.Unmarshal(b, &pkg)
	}
	if err != nil || pkg.Engines["node"] != ">="+strconv.Itoa(major) {
		t.Errorf("package.json engines.node = %q (%v), want \">=%d\" as .nvmrc says", pkg.Engines["node"], err, major)
	}

	files, _ := filepath.Glob(".github/workflows/*.yml")
	files = append(files, "scripts/test.sh", "scripts/check-infra.sh")
	nodeVersion := regexp.MustCompile(`node-version:\s*\S+`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION") {
			t.Errorf("%s silences jsii's end-of-life warning; it must run on a supported node", f)
		}
		if m := nodeVersion.FindString(string(b)); m != "" {
			t.Errorf("%s pins %s; read the version from .nvmrc (node-version-file)", f, m)
		}
	}
}
