package contract

import (
	"regexp"
	"strings"
	"testing"
)

func TestVariableIsUpperSnakeOfTheFlag(t *testing.T) {
	for flag, want := range map[string]string{FlagDryRun: "UPTIME_DRY_RUN", FlagDBWait: "UPTIME_DB_WAIT", FlagPoints: "UPTIME_POINTS"} {
		if got := Variable(flag); got != want {
			t.Errorf("Variable(%q) = %q, want %q", flag, got, want)
		}
	}
}

func TestExitsAreOrderedAndComplete(t *testing.T) {
	last := -1
	sentence := regexp.MustCompile(`^[a-z].*[a-z0-9)]$`)
	for _, e := range Exits {
		if e.Code <= last {
			t.Errorf("exit %d listed after %d", e.Code, last)
		}
		last = e.Code
		if !sentence.MatchString(e.Meaning) {
			t.Errorf("exit %d: meaning %q should be one lower-case clause without a final stop (it is quoted in sentences)", e.Code, e.Meaning)
		}
		if (e.Code == ExitOK) != (e.Class == "") {
			t.Errorf("exit %d: class %q; only success has none", e.Code, e.Class)
		}
		if e.Signal != (e.Code > 128) {
			t.Errorf("exit %d: Signal = %v", e.Code, e.Signal)
		}
	}
	for _, code := range []int{ExitOK, ExitRuntime, ExitUsage, ExitData, ExitLocked, ExitHeldBack} {
		if m, _ := Explain(code); m == "not one of the job's exit codes" {
			t.Errorf("the job's own exit %d has no meaning", code)
		}
	}
}

// Exit 5 fires the failure mail (non-zero) but counts for the missed-run alarm: the other users
// were filled, so one bad row gives one kind of alert, not two.
func TestHeldBackIsACompletedFailure(t *testing.T) {
	if !Completed(ExitHeldBack) || !Completed(ExitOK) {
		t.Error("exits 0 and 5 should count as completed runs")
	}
	for _, code := range []int{ExitRuntime, ExitUsage, ExitData, ExitLocked, 137, 143, 200} {
		if Completed(code) {
			t.Errorf("exit %d counts as a completed run", code)
		}
	}
	if ErrorClass(ExitHeldBack) == "" {
		t.Error("exit 5 has no error class: the failure views would not show it")
	}
}

func TestExplainOutsideTheTable(t *testing.T) {
	cases := map[int]string{
		139: "killed by signal 11",
		6:   "not one of the job's exit codes",
		255: "not one of the job's exit codes",
		192: "killed by signal 64",
	}
	for code, want := range cases {
		if got, ok := Explain(code); !ok || got != want {
			t.Errorf("Explain(%d) = %q, %v; want %q", code, got, ok, want)
		}
	}
	if _, ok := Explain(256); ok {
		t.Error("Explain(256) accepted a code no process can exit with")
	}
	if got := ErrorClass(139); got != "runtime" {
		t.Errorf("ErrorClass(139) = %q, want runtime", got)
	}
}

// What an operator reads for each of the job's own codes: its own meaning, from the table.
func TestExplainTheJobsCodes(t *testing.T) {
	seen := map[string]int{}
	for _, code := range []int{ExitOK, ExitRuntime, ExitUsage, ExitData, ExitLocked, ExitHeldBack} {
		meaning, ok := Explain(code)
		if !ok || meaning == "" || strings.Contains(meaning, "not one of") {
			t.Errorf("exit code %d: got %q, want its meaning from Exits", code, meaning)
		}
		if prev, dup := seen[meaning]; dup {
			t.Errorf("exit codes %d and %d have the same meaning %q", prev, code, meaning)
		}
		seen[meaning] = code
	}
	if m, _ := Explain(ExitData); !strings.Contains(m, "an unknown --user") || !strings.Contains(m, "nothing was written") {
		t.Errorf("3: %q", m)
	}
	if m, _ := Explain(137); !strings.Contains(m, "out of memory") {
		t.Errorf("137: %q", m)
	}
}
