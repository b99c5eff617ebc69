package main

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Output that nobody reads (a full pipe, a stalled log driver) must not keep the job past its
// deadline: a write to a blocked pipe never returns. So stdout and stderr are written by a
// goroutine of their own, through a queue; a write that finds the queue full waits stallLimit,
// then is dropped, and while the output stays stuck further writes are dropped at once.
const (
	queuedWrites = 4096
	stallLimit   = time.Second
	// flushLimit is how long the job waits, at exit, for its output to be written.
	flushLimit = 2 * time.Second
)

type boundedWriter struct {
	queue   chan queued
	stalled atomic.Bool
	dropped atomic.Int64
}

// queued is one write, or (with flushed set) a marker that closes flushed when reached.
type queued struct {
	data    []byte
	flushed chan struct{}
}

func newBoundedWriter(w io.Writer) *boundedWriter {
	b := &boundedWriter{queue: make(chan queued, queuedWrites)}
	go func() {
		for q := range b.queue {
			if q.flushed != nil {
				close(q.flushed)
				continue
			}
			_, _ = w.Write(q.data) // nowhere to report a failed write to the job's own output
		}
	}()
	return b
}

// Write queues p and reports it written, even when it had to be dropped: the run's outcome must
// not depend on whether anyone reads its log.
func (b *boundedWriter) Write(p []byte) (int, error) {
	q := queued{data: bytes.Clone(p)}
	select {
	case b.queue <- q:
		b.stalled.Store(false)
		return len(p), nil
	default:
	}
	if !b.stalled.Load() {
		t := time.NewTimer(stallLimit)
		defer t.Stop()
		select {
		case b.queue <- q:
			return len(p), nil
		case <-t.C:
			b.stalled.Store(true)
		}
	}
	b.dropped.Add(1)
	return len(p), nil
}

// Flush waits up to limit for everything queued so far to be written, and reports whether it was.
func (b *boundedWriter) Flush(limit time.Duration) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	marker := queued{flushed: make(chan struct{})}
	select {
	case b.queue <- marker:
	case <-deadline.C:
		return false
	}
	select {
	case <-marker.flushed:
		return true
	case <-deadline.C:
		return false
	}
}

// oneLineWriter writes each Write as exactly one line: every character that is not printable
// (a line break, a carriage return, any other control or format character, a byte that is not
// UTF-8) is written as its Go escape, and only a final newline is kept. CloudWatch splits the
// output into records at line breaks, so text the job does not control (a server's error
// message, a trigger's RAISE quoting a user's name) must not start a line of its own: that line
// could be a forged EMF record saying the run succeeded. The JSON records on stdout are escaped
// by their encoder already; stderr's sentences go through this.
type oneLineWriter struct{ w io.Writer }

func (o oneLineWriter) Write(p []byte) (int, error) {
	line, newline := bytes.CutSuffix(p, []byte("\n"))
	out := escapeControl(string(line))
	if newline {
		out += "\n"
	}
	if _, err := io.WriteString(o.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// escapeControl writes every rune strconv.IsPrint refuses as its escape (\n, \r, \x1b, \u2028)
// and every byte that is not UTF-8 as \xNN; everything else, quotes and backslashes included,
// stays as it is.
func escapeControl(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case strconv.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}
