package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/tally/uptime/ops/fakeaws"
)

// Ctrl-C, the real signal, while the task runs: exit 130, the task left running (no StopTask),
// and the command that stops it.
func TestCtrlC(t *testing.T) {
	var (
		mu  sync.Mutex
		cmd *exec.Cmd
	)
	srv := fakeaws.Start(t, fakeaws.Scenario{Outputs: outputs(), Running: 1 << 20, OnDescribe: func(n int) {
		mu.Lock()
		defer mu.Unlock()
		if n == 2 {
			_ = cmd.Process.Signal(os.Interrupt)
		}
	}})
	mu.Lock()
	cmd = command(t, "backfill", []string{"BACKFILL_POLL=50ms"}, "staging", "--dry-run")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	mu.Unlock()
	err := cmd.Wait()
	t.Logf("$ scripts/backfill.sh staging --dry-run   (Ctrl-C)\n%s", out.String())
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("%v; want exit 130", err)
	}
	want := "backfill: interrupted: task " + taskID + " keeps running; stop it with: aws ecs stop-task --cluster tally-uptime-staging --task " + taskID + "\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Errorf("output ends otherwise; want %q", want)
	}
	for _, op := range srv.Ops() {
		if op == "ecs.StopTask" {
			t.Error("the task was stopped")
		}
	}
}

const taskID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

// The prompt on a real terminal (util-linux script gives the run a pseudo-terminal): typing the
// environment's name starts the run; anything else starts nothing.
func TestPromptOnATerminal(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("util-linux script is needed for a terminal")
	}
	for _, c := range []struct {
		typed string
		code  int
		says  string
	}{{"prod\n", 0, "exit code:    0: done"}, {"yes\n", 1, "backfill: not confirmed: no task was started."}} {
		srv := fakeaws.Start(t, fakeaws.Scenario{Outputs: outputs(), Stopped: fakeaws.Stopped{StopCode: "EssentialContainerExited", ExitCode: code(0)}})
		cmd := command(t, "backfill", []string{"BACKFILL_POLL=10ms"})
		cmd = exec.Command("script", "-qec", cmd.Path+" prod --dry-run", "/dev/null")
		cmd.Env = scriptEnv(t, []string{"BACKFILL_POLL=10ms"})
		cmd.Stdin = strings.NewReader(c.typed)
		out, err := cmd.CombinedOutput()
		t.Logf("$ scripts/backfill.sh prod --dry-run   (typing %q)\n%s", c.typed, out)
		var ee *exec.ExitError
		got := 0
		if errors.As(err, &ee) {
			got = ee.ExitCode()
		}
		started := false
		for _, op := range srv.Ops() {
			started = started || op == "ecs.RunTask"
		}
		if got != c.code || !strings.Contains(string(out), "start this run in prod with the settings above? Type prod to confirm: ") ||
			!strings.Contains(string(out), c.says) || started != (c.code == 0) {
			t.Errorf("typing %q: exit %d, task started %v; want %d saying %q", c.typed, got, started, c.code, c.says)
		}
	}
}
