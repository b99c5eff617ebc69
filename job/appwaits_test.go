package main

// What the app feels of the job, measured from the server's side: how long each app session is
// kept waiting by a session of the job, directly or behind another app session that waits on
// the job, and which app errors the job took part in. The app's own write paths also wait on,
// and deadlock with, each other (row-by-row re-ranks in atomic blocks); those are the app's, and
// measured apart.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/tally/uptime/internal/testdb"
	"github.com/tally/uptime/job/store"
)

// jobBlocks is the longest time an app session waited on the job, and the job's sessions seen.
type jobBlocks struct {
	longest time.Duration
	jobPIDs map[int]bool
}

// blockedByJobSQL lists the sessions waiting, directly or through a chain of waiters, on a
// session of the job ($1 its application_name).
const blockedByJobSQL = `
	WITH RECURSIVE edges AS (
	    SELECT pid, unnest(pg_blocking_pids(pid)) AS blocker
	    FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()),
	job AS (SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()),
	blocked (pid) AS (
	    SELECT e.pid FROM edges AS e JOIN job AS j ON e.blocker = j.pid
	    UNION
	    SELECT e.pid FROM edges AS e JOIN blocked AS b ON e.blocker = b.pid)
	SELECT pid, false AS job FROM blocked WHERE pid NOT IN (SELECT pid FROM job)
	UNION ALL
	SELECT pid, true FROM job`

// watchJobBlocks polls every 10 ms until stop, which returns what it saw.
func watchJobBlocks(t *testing.T, db *testdb.DB) (stop func() jobBlocks) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	res := jobBlocks{jobPIDs: map[int]bool{}}
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		since := map[int]time.Time{}
		for ctx.Err() == nil {
			now := time.Now()
			rows, err := db.QueryContext(ctx, blockedByJobSQL, store.ApplicationName)
			if err != nil {
				continue
			}
			seen := map[int]bool{}
			mu.Lock()
			for rows.Next() {
				var pid int
				var job bool
				if rows.Scan(&pid, &job) != nil {
					break
				}
				if job {
					res.jobPIDs[pid] = true
					continue
				}
				seen[pid] = true
				if _, ok := since[pid]; !ok {
					since[pid] = now
				}
				res.longest = max(res.longest, now.Sub(since[pid]))
			}
			mu.Unlock()
			rows.Close()
			for pid := range since {
				if !seen[pid] {
					delete(since, pid)
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return func() jobBlocks {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return res
	}
}

var deadlockProcess = regexp.MustCompile(`[Pp]rocess (\d+)`)

// jobErrors lists the app's failed statements that the job took part in: a deadlock whose cycle
// names a session of the job, and any lock timeout, cancellation, serialization failure or
// foreign-key violation (the app's paths here set no timeouts, run at READ COMMITTED, and delete
// only users no other path saves for, so those can only come from the job).
func jobErrors(ws []*appWriter, jobPIDs map[int]bool) []string {
	var out []string
	for _, a := range ws {
		for _, s := range a.stmts {
			var pqErr *pq.Error
			if s.err == nil || !errors.As(s.err, &pqErr) {
				continue
			}
			switch pqErr.Code {
			case "40P01":
				for _, m := range deadlockProcess.FindAllStringSubmatch(pqErr.Detail, -1) {
					if pid, _ := strconv.Atoi(m[1]); jobPIDs[pid] {
						out = append(out, fmt.Sprintf("%s: deadlock with the job: %s", s.path, pqErr.Detail))
						break
					}
				}
			case "55P03", "57014", "40001", "23503":
				out = append(out, fmt.Sprintf("%s: %s %v", s.path, pqErr.Code, s.err))
			}
		}
	}
	return out
}
