package connect_test

// A server that cannot take the connection yet: a postmaster that cannot fork answers the
// SSLRequest with an ErrorResponse. The job says so, retries within its wait, and sends nothing
// but SSLRequests meanwhile.

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// errorResponse is a protocol 3 ErrorResponse with severity FATAL.
func errorResponse(code, msg string) []byte {
	var fields []byte
	for _, f := range [][2]string{{"S", "FATAL"}, {"V", "FATAL"}, {"C", code}, {"M", msg}} {
		fields = append(append(append(fields, f[0]...), f[1]...), 0)
	}
	fields = append(fields, 0)
	out := []byte{'E', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(4+len(fields))) //nolint:gosec // a few hundred bytes
	return append(out, fields...)
}

func TestErrorInsteadOfTLSIsRetried(t *testing.T) {
	if !inNetns(t) {
		return
	}
	const forked = "could not fork new process for connection: Resource temporarily unavailable"
	s := serveFake(t, &fakeServer{answer: errorResponse("XX000", forked+"\n{\"forged\":1}")})
	started := time.Now()
	_, err := Open(context.Background(), "postgres://tally:"+attackedPassword+"@"+fakeAddr+":"+s.port()+"/tally", 1500*time.Millisecond, slog.New(slog.DiscardHandler))
	elapsed := time.Since(started)
	t.Logf("Open after %.1f s: %v", elapsed.Seconds(), err)
	var before *beforeTLSError
	if !errors.As(err, &before) || !strings.Contains(err.Error(), forked) || strings.Contains(err.Error(), "\n") {
		t.Errorf("Open = %v, want the server's error, quoted on one line", err)
	}
	if strings.Contains(err.Error(), "answered 'N'") || elapsed < time.Second {
		t.Errorf("Open = %v after %v: not retried within the wait", err, elapsed)
	}
	s.ln.Close()
	s.wg.Wait()
	t.Logf("fake server: %d connection(s), %d bytes received", s.conns, s.received.Len())
	if s.conns < 2 || s.received.Len() != s.conns*len(sslRequest) {
		t.Errorf("%d connection(s), %q received: want retries, each only an SSLRequest", s.conns, s.received.Bytes())
	}
}

// A byte no PostgreSQL server sends: not retried, and named.
func TestNotPostgreSQLIsNotRetried(t *testing.T) {
	if !inNetns(t) {
		return
	}
	s := serveFake(t, &fakeServer{answer: []byte("HTTP/1.1 400 Bad Request\r\n\r\n")})
	_, err := Open(context.Background(), "postgres://tally:"+attackedPassword+"@"+fakeAddr+":"+s.port()+"/tally", 5*time.Second, slog.New(slog.DiscardHandler))
	t.Logf("Open: %v", err)
	if !errors.Is(err, errNotPostgreSQL) || !strings.Contains(err.Error(), "0x48") {
		t.Errorf("Open = %v, want not PostgreSQL, naming the byte", err)
	}
	s.ln.Close()
	s.wg.Wait()
	if s.conns != 1 || s.received.Len() != len(sslRequest) {
		t.Errorf("%d connection(s), %q received", s.conns, s.received.Bytes())
	}
}
