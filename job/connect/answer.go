package connect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/lib/pq"
)

// lib/pq writes the SSLRequest and reads exactly one byte in answer, then either starts the TLS
// handshake ('S') or gives up with one error, pq.ErrSSLNotSupported, whatever the byte was
// (conn.go:1190-1205 at v1.12.3): the same words for a server that refused TLS, a postmaster that
// could not fork (and should be tried again) and something that is not PostgreSQL at all. The
// job keeps that byte, as the connection saw it, to say which, and to retry only the second.

// answer is what one connection saw of the server's answer to the SSLRequest.
type answer struct {
	done    bool  // the byte was read
	b       byte  // the byte
	refusal error // for 'E': the server's error, read for its message
}

// answerConn is a connection with TLS to come, as lib/pq sees it: its first read is the answer.
type answerConn struct {
	net.Conn
	answer *answer
}

// Read passes every byte on unchanged. The first read gives lib/pq exactly the one byte it asked
// for, so nothing after the answer is taken from what the TLS handshake reads.
func (c *answerConn) Read(b []byte) (int, error) {
	a := c.answer
	if a.done || len(b) == 0 {
		return c.Conn.Read(b)
	}
	n, err := c.Conn.Read(b[:1])
	if n == 1 {
		a.done, a.b = true, b[0]
		if a.b == 'E' {
			// lib/pq closes the connection next: the message is read now or never.
			a.refusal = refusedBeforeTLS(c.Conn)
		}
	}
	return n, err
}

// reword puts lib/pq's error for a connection that did not open in the job's words, from what
// the connection saw; a is nil for a connection that was never made or has no TLS.
func (a *answer) reword(err error) error {
	switch {
	case a == nil:
		return err
	case !a.done:
		return fmt.Errorf("start TLS: %w", err)
	case errors.Is(err, pq.ErrSSLNotSupported) && a.b == 'N':
		return ErrNoTLS
	case errors.Is(err, pq.ErrSSLNotSupported) && a.b == 'E':
		return a.refusal
	case errors.Is(err, pq.ErrSSLNotSupported):
		return fmt.Errorf("%w (it answered the SSLRequest with the byte 0x%02x)", errNotPostgreSQL, a.b)
	case verificationFailed(err):
		return fmt.Errorf("verify the server's TLS certificate: %w", err)
	}
	return err
}

// errNotPostgreSQL is an answer to the SSLRequest that no PostgreSQL server gives.
var errNotPostgreSQL = errors.New("what answered at the database's address is not a PostgreSQL server")

// beforeTLSError is an ErrorResponse in answer to the SSLRequest: what a postmaster sends when it
// cannot start a process for the connection (out of processes or memory), and a reason to try
// again, not a verdict on the server. Its text comes before TLS, from whatever answered, so it is
// quoted as unverified (and escaped, and shortened), and nothing is sent after it.
type beforeTLSError struct{ text string }

func (e *beforeTLSError) Error() string {
	return fmt.Sprintf("the server answered the SSLRequest with an error instead of 'S' or 'N' (its text, unverified since it came before TLS: %q)", e.text)
}

// maxErrorBeforeTLS bounds what is read of such an error: PostgreSQL's are a few hundred bytes.
const maxErrorBeforeTLS = 2048

// refusedBeforeTLS reads the rest of an ErrorResponse (the 'E' has been read) for its message.
func refusedBeforeTLS(conn net.Conn) error {
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return &beforeTLSError{text: "(cut off)"}
	}
	n := int64(binary.BigEndian.Uint32(size[:])) - 4
	body, _ := io.ReadAll(io.LimitReader(conn, min(max(n, 0), maxErrorBeforeTLS)))
	text := "(no message)"
	for field := range bytes.SplitSeq(body, []byte{0}) {
		if len(field) > 1 && field[0] == 'M' {
			text = string(field[1:])
		}
	}
	return &beforeTLSError{text: text[:min(len(text), 200)]}
}
