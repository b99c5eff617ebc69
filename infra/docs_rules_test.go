package main

// The documents that state the deploy-time rules stay true to the tests: every test the rules
// table of docs/architecture.md names exists, and docs/deploy.md says what only a person can do
// (the trust boundary, the bootstrap repository's growth).

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section is the text of a "## title" section of a document, up to the next "## ".
func section(doc, title string) string {
	_, after, _ := strings.Cut(doc, "\n## "+title+"\n")
	body, _, _ := strings.Cut(after, "\n## ")
	return body
}

func TestDeployTimeRulesNameTestsThatExist(t *testing.T) {
	rules := section(readDoc(t, "architecture.md"), "Deploy-time rules we check")
	named := regexp.MustCompile("`(Test[A-Za-z0-9]+)`").FindAllStringSubmatch(rules, -1)
	if len(named) < 20 {
		t.Fatalf("%d tests named in the rules table; the section moved?", len(named))
	}
	var sources strings.Builder
	for _, glob := range []string{"infra/*_test.go", "*_test.go"} {
		files, _ := filepath.Glob(filepath.Join(repoRoot(), glob))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sources.Write(b)
		}
	}
	for _, m := range named {
		if !strings.Contains(sources.String(), "func "+m[1]+"(t *testing.T)") {
			t.Errorf("docs/architecture.md names %s, which no test file has", m[1])
		}
	}
}

// cdk bootstrap's asset repository has no lifecycle rule; the cost table says so and how to add one.
func TestDeployDocsSayTheRepositoryGrows(t *testing.T) {
	deploy := readDoc(t, "deploy.md")
	var ecr string
	for _, line := range strings.Split(section(deploy, "Monthly cost"), "\n") {
		if strings.HasPrefix(line, "| ECR storage") {
			ecr = line
		}
	}
	if !strings.Contains(ecr, "never expires images") {
		t.Errorf("docs/deploy.md's ECR cost line does not say the bootstrap repository never expires images: %q", ecr)
	}
	for _, want := range []string{"aws ecr put-lifecycle-policy", `"countType":"imageCountMoreThan"`, "### The trust boundary"} {
		if !strings.Contains(deploy, want) {
			t.Errorf("docs/deploy.md lacks %q", want)
		}
	}
}
