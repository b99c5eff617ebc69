package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/tally/uptime/internal/contract"
)

// blockedPipe is the write end of a pipe whose buffer is full and whose read end nobody reads:
// any write to it blocks, as stdout does behind a stalled log driver.
func blockedPipe(t *testing.T) *os.File {
	t.Helper()
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "unread"), fds[1]
	t.Cleanup(func() { _ = r.Close() })
	if err := syscall.SetNonblock(w, true); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	filled := 0
	for {
		n, err := syscall.Write(w, chunk)
		if errors.Is(err, syscall.EAGAIN) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		filled += n
	}
	// The job gets an ordinary, blocking pipe.
	if err := syscall.SetNonblock(w, false); err != nil {
		t.Fatal(err)
	}
	t.Logf("pipe buffer filled with %d bytes", filled)
	return os.NewFile(uintptr(w), "stdout")
}

func TestBlockedOutput(t *testing.T) {
	t.Parallel()
	const timeout = 3 * time.Second
	cases := []struct {
		name  string
		block bool // hold a leaderboard row so that the run reaches its deadline
		code  int
	}{
		{"a run that succeeds", false, contract.ExitOK},
		{"a run that reaches its deadline", true, contract.ExitRuntime},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := sampleDB(t)
			if c.block {
				t.Cleanup(blockLeaderboard(t, db))
			}
			out := blockedPipe(t)
			cmd := exec.Command(jobBinary, "--verbose", "--timeout", timeout.String())
			for k, v := range jobEnv(db.URL) {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			cmd.Stdout, cmd.Stderr = out, out
			started := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			_ = out.Close() // the job holds its own copy
			done := make(chan struct{})
			go func() {
				_ = cmd.Wait() // the exit code is checked below
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(timeout + 30*time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("the job was still running %v after it started, with its output blocked", timeout+30*time.Second)
			}
			took := time.Since(started)
			t.Logf("stdout and stderr blocked: exit %d after %.1f s (--timeout %v)", cmd.ProcessState.ExitCode(), took.Seconds(), timeout)
			if code := cmd.ProcessState.ExitCode(); code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
			if took > timeout+shutdownGrace {
				t.Errorf("the job took %v, more than --timeout %v and a few seconds", took, timeout)
			}
			if c.code == contract.ExitOK {
				checkComplete(t, db)
			}
		})
	}
}

// Each write to stderr is one line: every character that could end a line, or move the cursor,
// is escaped; a final newline is kept; quotes and backslashes stay as they are.
func TestOneLineWriter(t *testing.T) {
	for in, want := range map[string]string{
		"plain \"quoted\" \\ text\n":    "plain \"quoted\" \\ text\n",
		"a\nb\r\nc\n":                   `a\nb\r\nc` + "\n",
		"line\u2028separator\u2029x":    `line\u2028separator\u2029x`,
		"\x1b[31mred\t\x00\u0085\n":     `\x1b[31mred\t\x00\u0085` + "\n",
		"bad \xff\xfe UTF-8, ok é ü 日本": `bad \xff\xfe UTF-8, ok é ü 日本`,
	} {
		var b bytes.Buffer
		n, err := oneLineWriter{&b}.Write([]byte(in))
		if err != nil || n != len(in) || b.String() != want {
			t.Errorf("Write(%q) = %d, %v, wrote %q; want %q", in, n, err, b.String(), want)
		}
	}
}
