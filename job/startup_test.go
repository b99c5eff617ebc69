package main

// A server that accepts the connection and then says nothing: the job gives it --db-wait, not
// the 15 s of its default startup limit, nor a connect_timeout of an hour.

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tally/uptime/internal/contract"
)

// silentServer accepts connections on loopback, reads whatever comes and never answers.
func silentServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(io.Discard, c) })
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func TestSilentServerGetsDBWait(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, query string }{
		{"startup, default limit", "?sslmode=disable"},
		{"startup, connect_timeout=3600", "?sslmode=disable&connect_timeout=3600"},
		{"SSLRequest, connect_timeout=3600", "?connect_timeout=3600"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dbURL := fmt.Sprintf("postgres://tally:secret@127.0.0.1:%d/tally%s", silentServer(t), c.query)
			r := runJob(t, jobEnv(dbURL, "UPTIME_DB_WAIT", "5s", "UPTIME_TIMEOUT", "25s"))
			t.Logf("exit %d after %.1f s: %s", r.Code, r.Elapsed.Seconds(), r.Stderr)
			r.expect(t, contract.ExitRuntime)
			r.oneStderrLine(t, "connect to the database", "timeout")
			if r.Elapsed < 4*time.Second || r.Elapsed > 8*time.Second {
				t.Errorf("the job gave up after %v, want about --db-wait (5 s)", r.Elapsed)
			}
		})
	}
}
