package main

import (
	"bytes"
	"io"
	"sync/atomic"
	"time"
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
