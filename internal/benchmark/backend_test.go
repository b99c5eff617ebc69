package benchmark

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// backendMemory samples the private memory (RssAnon) of one PostgreSQL server process while a
// run uses it. Shared buffers are shared memory and do not count; what counts is what the
// process allocates for itself: sorts and hashes, the queue of pending trigger events, caches.
// The server must run on this host and /proc/<pid>/status be readable (the benchmark runs as
// root, or as the server's OS user).
type backendMemory struct {
	stop chan struct{}
	peak chan int64
}

// sampleBackend finds the process with pid (which may not exist yet: pid is polled until it
// reports one) and samples its RssAnon every few milliseconds until Stop.
func sampleBackend(pid func() (int, bool)) *backendMemory {
	m := &backendMemory{stop: make(chan struct{}), peak: make(chan int64, 1)}
	go func() {
		peak := int64(-1)
		found := 0
		tick := time.NewTicker(5 * time.Millisecond) // fine enough to catch a commit's peak
		defer tick.Stop()
		for {
			if found == 0 {
				if p, ok := pid(); ok {
					found = p
				}
			}
			if found != 0 {
				if kB, err := rssAnonKB(found); err == nil {
					peak = max(peak, kB)
				}
			}
			select {
			case <-m.stop:
				m.peak <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

// Stop ends the sampling and returns the peak in MB, or -1 if the process was never read.
func (m *backendMemory) Stop() float64 {
	close(m.stop)
	kB := <-m.peak
	if kB < 0 {
		return -1
	}
	return float64(kB) / 1024
}

// rssAnonKB reads the RssAnon line of /proc/<pid>/status.
func rssAnonKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		fields := bytes.Fields(sc.Bytes())
		if len(fields) >= 2 && string(fields[0]) == "RssAnon:" {
			return strconv.ParseInt(string(fields[1]), 10, 64)
		}
	}
	return 0, fmt.Errorf("no RssAnon in /proc/%d/status", pid)
}
