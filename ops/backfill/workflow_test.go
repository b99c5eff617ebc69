package backfill

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tally/uptime/ops/fakeaws"
)

// The backfill workflow's summary is the tool's --result-json read by the workflow's own jq
// program: run that program, as the workflow file holds it, on what the tool wrote.
func TestWorkflowReadsTheResult(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is missing (GitHub's runners have it)")
	}
	yml, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "backfill.yml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)jq -r '\n(.*?)\n\s*' backfill-result\.json`).FindSubmatch(yml)
	if m == nil {
		t.Fatal("backfill.yml no longer reads backfill-result.json with jq -r '...'")
	}
	summarize := func(result string) string {
		t.Helper()
		out, err := exec.Command("jq", "-r", string(m[1]), result).CombinedOutput()
		if err != nil {
			t.Fatalf("the workflow's jq on %s: %v\n%s", result, err, out)
		}
		return string(out)
	}

	dry := filepath.Join(t.TempDir(), "dry.json")
	runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0),
		Messages: []string{summaryRecord(0, true, dryRunCounts, `"a | pipe"`)}}}, "staging", "--dry-run", "--result-json", dry)
	has(t, "the job summary", summarize(dry), "Exit code 0: done; also nothing to do, and a dry run\n",
		"| contributions_would_create | 12 |\n", "| error | a \\| pipe |\n", "Task: `"+fakeaws.TaskARN+"`",
		"Log: group `"+logGroup+"`, stream `"+logStream+"`", "[Open the log stream in the CloudWatch console]("+consoleLink+")")

	failed := filepath.Join(t.TempDir(), "failed.json")
	runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: fakeaws.Stopped{StopCode: "TaskFailedToStart", StoppedReason: "CannotPullContainerError"}}},
		"staging", "--result-json", failed)
	out := summarize(failed)
	has(t, "the job summary", out, "Not run to an exit code: the job did not run to an exit code (stop code TaskFailedToStart): CannotPullContainerError.",
		"No run summary record in the log")

	refused := filepath.Join(t.TempDir(), "refused.json")
	runBackfill(t, setup{}, "prod", "--result-json", refused)
	if out := summarize(refused); !strings.Contains(out, "pass --yes to confirm") || strings.Contains(out, "Task:") {
		t.Errorf("a refused run's summary:\n%s", out)
	}
}
