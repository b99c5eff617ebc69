//go:build uptime_crash

package main

// The crashes of job/crash_test.go, in a build of their own: the job the image runs has none of
// this. CRASH says which: a panic on the run's goroutine (recovered: exit 1, reported), a panic on
// another goroutine, or a fatal error of the Go runtime (neither recoverable: exit 2, unreported).

import (
	"os"
	"runtime/debug"
	"time"
)

func init() {
	beforeCommit = func() {
		switch os.Getenv("CRASH") {
		case "panic":
			var m map[string]int
			m["run"]++ // a real runtime panic: assignment to entry in nil map
		case "goroutine":
			go func() { panic("a panic on another goroutine") }()
			time.Sleep(5 * time.Second)
		case "fatal":
			debug.SetMaxStack(64 << 10) // a stack overflow: fatal, like running out of memory
			recurse(0)
		}
	}
}

func recurse(n int) int {
	var pad [256]byte
	pad[n%256] = byte(n)
	return recurse(n+1) + int(pad[0])
}
