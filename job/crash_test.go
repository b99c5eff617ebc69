package main

// A bug that crashes the job mid-run, in a build of the job with the crashes of crash_tag.go
// (the image's build has none). A panic on the run's goroutine is a failed run like any other:
// exit 1, rolled back, reported to the log and the alarms. A fatal error of the Go runtime, or a
// panic elsewhere, cannot be recovered and still exits 2: the test pins how to tell that apart.

import (
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tally/uptime/internal/contract"
)

var crashBuild = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(filepath.Dir(jobBinary), "job-crash")
	out, err := exec.Command("go", "build", "-tags", "uptime_crash", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return bin, nil
})

func runCrashing(t *testing.T, db string, crash string) result {
	t.Helper()
	bin, err := crashBuild()
	if err != nil {
		t.Fatalf("build the job with -tags uptime_crash: %v\n%s", err, err.(*exec.ExitError).Stderr)
	}
	return startBinary(t, bin, jobEnv(db, "CRASH", crash)).wait(t)
}

// A panic between the run's work and its commit: exit 1, the panic's message on stderr and in
// the summary, its stack in the log, an EMF failure, nothing written.
func TestPanicMidRunIsAFailedRun(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	before := snapshot(t, db)
	r := runCrashing(t, db.URL, "panic")
	r.expect(t, contract.ExitRuntime)
	r.oneStderrLine(t, "the job panicked", "assignment to entry in nil map")
	rec := r.only(t, func(rec map[string]any) bool { return rec["msg"] == "run panicked" }, "run panicked")
	if stack, _ := rec["stack"].(string); !strings.Contains(stack, "crash_tag.go") || !strings.Contains(stack, "executeOnce") {
		t.Errorf("the panic's record has no stack through crash_tag.go and executeOnce: %v", rec)
	}
	if s := r.summary(t); num(t, s, "exit_code") != contract.ExitRuntime || !strings.Contains(s["error"].(string), "nil map") {
		t.Errorf("summary %v, want exit 1 and the panic's message", s)
	}
	if m := r.metrics(t); m["RunFailed"] != 1.0 || m["ErrorClass"] != "runtime" {
		t.Errorf("EMF %v, want a runtime failure", m)
	}
	unchanged(t, db, before)
	runJob(t, jobEnv(db.URL)).expect(t, contract.ExitOK) // the next run, without the bug, completes
	checkComplete(t, db)
}

// What cannot be recovered: a fatal error of the Go runtime (out of memory, here a stack
// overflow) and a panic on another goroutine exit 2 with the runtime's text on stderr, and with
// no run summary and no EMF record, which is how they differ from a configuration error.
func TestRuntimeCrashesStillExit2(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	before := snapshot(t, db)
	for crash, says := range map[string]string{"fatal": "fatal error: stack overflow", "goroutine": "panic: a panic on another goroutine"} {
		r := runCrashing(t, db.URL, crash)
		r.expect(t, contract.ExitUsage)
		if !strings.Contains(r.Stderr, says) || !strings.Contains(r.Stderr, "goroutine ") {
			t.Errorf("%s: stderr does not say %q with the goroutines' stacks:\n%.2000s", crash, says, r.Stderr)
		}
		if r.logged("run summary") || strings.Contains(r.Stdout, `"_aws"`) {
			t.Errorf("%s: a summary or EMF record after a crash the job cannot recover from?\n%s", crash, r.Stdout)
		}
		unchanged(t, db, before)
	}
}
