package uptime

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/contract"
)

func readText(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lintClaims is which tools the README's description of scripts/lint.sh calls pinned: those
// named in a clause (separated by ';') that says "pinned".
func lintClaims(readme string) map[string]bool {
	claimed := map[string]bool{}
	for _, line := range strings.Split(readme, "\n") {
		_, desc, ok := strings.Cut(line, "`lint.sh`")
		if !ok {
			continue
		}
		for _, clause := range strings.Split(desc, ";") {
			if !strings.Contains(clause, "pinned") {
				continue
			}
			for _, tool := range []string{"golangci-lint", "shellcheck", "actionlint"} {
				if strings.Contains(clause, tool) {
					claimed[tool] = true
				}
			}
		}
	}
	return claimed
}

// TestReadmeSaysWhichLintToolsArePinned: the README calls a lint tool pinned exactly when
// scripts/lint.sh pins its version.
func TestReadmeSaysWhichLintToolsArePinned(t *testing.T) {
	readme, lint := readText(t, "README.md"), readText(t, "scripts/lint.sh")
	claimed := lintClaims(readme)
	for tool, variable := range map[string]string{
		"golangci-lint": "GOLANGCI_LINT_VERSION", "actionlint": "ACTIONLINT_VERSION", "shellcheck": "SHELLCHECK_VERSION",
	} {
		pinned := regexp.MustCompile(`(?m)^` + variable + `=`).MatchString(lint)
		if claimed[tool] != pinned {
			t.Errorf("README.md calls %s pinned: %v; scripts/lint.sh pins it (%s): %v", tool, claimed[tool], variable, pinned)
		}
	}
	if old := lintClaims("| `scripts/` | `lint.sh` (golangci-lint, shellcheck, actionlint at pinned versions) |"); !old["shellcheck"] {
		t.Error("lintClaims misses a claim that shellcheck is pinned")
	}
}

// TestSecretsAreStoredFromAFile: every `aws ssm put-parameter` the documents show reads the
// database URL from a file (`--value file://...`), never from the command line, where it would
// land in shell history and the process list.
func TestSecretsAreStoredFromAFile(t *testing.T) {
	docs, _ := filepath.Glob("docs/*.md")
	docs = append(docs, "README.md")
	seen := 0
	for _, name := range docs {
		text := strings.ReplaceAll(readText(t, name), "\\\n", " ")
		for _, line := range strings.Split(text, "\n") {
			if !strings.Contains(line, "put-parameter") || !strings.Contains(line, "--value") {
				continue
			}
			seen++
			if !regexp.MustCompile(`--value\s+file://`).MatchString(line) {
				t.Errorf("%s stores a parameter from the command line: %s", name, strings.TrimSpace(line))
			}
		}
	}
	if seen < 3 {
		t.Errorf("found %d put-parameter commands with --value; want the README's, deploy.md's and the runbook's", seen)
	}
}

// costSection is docs/deploy.md's "Monthly cost" section.
func costSection(t *testing.T) string {
	t.Helper()
	_, after, ok := strings.Cut(readText(t, "docs/deploy.md"), "\n## Monthly cost\n")
	if !ok {
		t.Fatal("docs/deploy.md has no section \"Monthly cost\"")
	}
	section, _, _ := strings.Cut(after, "\n## ")
	return section
}

// TestCostTablePricesTheTaskAsDeployed: the Fargate lines price the task infra/ defines (ARM64,
// its default CPU and memory), Spot at the ARM rate, and the metrics line counts the contract's
// metrics.
func TestCostTablePricesTheTaskAsDeployed(t *testing.T) {
	cost := costSection(t)
	task, config := readText(t, "infra/task.go"), readText(t, "infra/config.go")
	if !strings.Contains(task, "CpuArchitecture_ARM64()") || !strings.Contains(cost, "Linux/ARM64") {
		t.Fatal("infra/task.go and docs/deploy.md do not agree the task is ARM64")
	}
	constant := func(name string) float64 {
		m := regexp.MustCompile(`(?m)^\s*` + name + `\s*=\s*(\d+)`).FindStringSubmatch(config)
		if m == nil {
			t.Fatalf("infra/config.go has no %s", name)
		}
		return parseFloat(t, m[1])
	}
	vcpu, gb := constant("DefaultCPU")/1024, constant("DefaultMemoryMiB")/1024
	line := regexp.MustCompile(`(?m)^\| Fargate, Linux/ARM64, on-demand \| \$([0-9.]+) per vCPU-hour, \$([0-9.]+) per GB-hour \| .*= \$([0-9.]+)/h`).FindStringSubmatch(cost)
	if line == nil {
		t.Fatal("docs/deploy.md: no on-demand ARM64 line of the form `$A per vCPU-hour, $B per GB-hour | ... = $H/h`")
	}
	hourly := vcpu*parseFloat(t, line[1]) + gb*parseFloat(t, line[2])
	if got := parseFloat(t, line[3]); got < hourly*0.999 || got > hourly*1.001 {
		t.Errorf("the ARM64 line says $%s/h; %.2f vCPU × $%s + %.2f GB × $%s is $%.6f/h", line[3], vcpu, line[1], gb, line[2], hourly)
	}
	spot := regexp.MustCompile(`(?m)^\| — or Fargate Spot.*$`).FindString(cost)
	if !strings.Contains(spot, "$"+line[3]+"/h") {
		t.Errorf("the Spot line does not start from the ARM64 rate $%s/h: %s", line[3], spot)
	}
}

// TestCostTableCountsTheContractsMetrics: the metrics line and the advice to drop three metrics
// count what internal/contract/metrics.go publishes.
func TestCostTableCountsTheContractsMetrics(t *testing.T) {
	cost := costSection(t)
	perEnvironment := len(contract.RunMetrics)
	series := perEnvironment + 2*len(contract.RunKindMetrics) // RunKind scheduled and manual
	for _, want := range []string{
		fmt.Sprintf("%d series (the %d of `contract.RunMetrics`", series, perEnvironment),
		fmt.Sprintf("3 of the %d metrics by `Environment`", perEnvironment),
	} {
		if !strings.Contains(cost, want) {
			t.Errorf("docs/deploy.md's cost section does not say %q", want)
		}
	}
	for _, m := range []string{"ContributionsCreated", "UsersProcessed", "RunFailed"} {
		found := false
		for _, c := range contract.RunMetrics {
			found = found || c.Name == m
		}
		if !found || !strings.Contains(cost, "`"+m+"`") {
			t.Errorf("the cost advice drops %s, which the contract does not publish or the advice does not name", m)
		}
	}
}

// TestReliabilityStatesTheStopTimeout: docs/reliability.md gives the stop timeout infra/task.go sets.
func TestReliabilityStatesTheStopTimeout(t *testing.T) {
	m := regexp.MustCompile(`StopTimeout:\s*awscdk\.Duration_Seconds\(jsii\.Number\((\d+)\)\)`).FindStringSubmatch(readText(t, "infra/task.go"))
	if m == nil {
		t.Fatal("infra/task.go sets no StopTimeout in seconds")
	}
	rel := readText(t, "docs/reliability.md")
	_, stop, _ := strings.Cut(rel, "ECS's stop timeout")
	stop, _, _ = strings.Cut(stop, "\n- ")
	if !strings.Contains(stop, "sets "+m[1]+" s") {
		t.Errorf("docs/reliability.md's stop timeout does not say the task sets %s s: %q", m[1], stop)
	}
}

func parseFloat(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
