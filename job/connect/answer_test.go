package connect_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// A man in the middle answers the SSLRequest with 'S' and, in the same packet, plaintext
// messages (AuthenticationOk, ReadyForQuery) that a client buffering past the answer would take
// for the server's once TLS is up (CVE-2021-23222 in libpq). lib/pq reads exactly one byte, and so
// does the job's record of the answer: the rest goes to the TLS handshake, which fails.
func TestBytesAfterTheAnswerGoToTheHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var received bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		request := make([]byte, len(sslRequest))
		if _, err := io.ReadFull(c, request); err != nil {
			return
		}
		_, _ = c.Write([]byte("SR\x00\x00\x00\x08\x00\x00\x00\x00Z\x00\x00\x00\x05I"))
		mu.Lock()
		defer mu.Unlock()
		_, _ = io.Copy(&received, c)
	})
	const password = "Tr0ub4dor&3-horse"
	url := fmt.Sprintf("postgres://tally:%s@%s/tally", password, ln.Addr())
	_, err = Open(context.Background(), url, 0, quiet)
	t.Logf("Open: %v", err)
	ln.Close()
	wg.Wait()
	if err == nil {
		t.Fatal("Open succeeded on injected plaintext")
	}
	t.Logf("the man in the middle received %d bytes after the SSLRequest", received.Len())
	if bytes.Contains(received.Bytes(), []byte("tally")) || bytes.Contains(received.Bytes(), []byte(password)) {
		t.Errorf("the startup message or the password went out: %q", received.Bytes())
	}
}
