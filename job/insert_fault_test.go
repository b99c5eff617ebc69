package main

import (
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"

	"github.com/tally/uptime/internal/contract"
)

// insertChunkStarted polls until the job's session is running an INSERT of contributions that
// started after since, and returns when it started; it fails if p exits first.
func insertChunkStarted(t *testing.T, db *testdb.DB, p *proc, since time.Time) time.Time {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var started time.Time
		err := db.QueryRow(`
			SELECT query_start FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = $1 AND state = 'active'
			  AND query LIKE '%INSERT INTO public.contributions_contribution%' AND query_start > $2`,
			faultApp, since).Scan(&started)
		if err == nil {
			return started
		}
		if !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		if p.exited() {
			r := p.wait(t)
			t.Fatalf("the job exited %d before a chunk of its insert started after %v\nstdout:\n%s\nstderr:\n%s",
				r.Code, since, r.Stdout, r.Stderr)
		}
		time.Sleep(2 * time.Millisecond) // polling interval
	}
	t.Fatal("no chunk of the insert started within 30 s")
	return time.Time{}
}

// The backfill inserts in chunks, each its own statement in the run's one transaction. A kill -9
// once the first chunk is in and the second running leaves the database exactly as it was, and
// the next run does the whole backfill.
func TestKilledBetweenInsertChunks(t *testing.T) {
	t.Parallel()
	db := seededTemplate(t, backfillScale).clone(t)
	before := snapshot(t, db)
	var sizeBefore int64
	if err := db.Get(&sizeBefore, `SELECT pg_relation_size('contributions_contribution')`); err != nil {
		t.Fatal(err)
	}

	p := startJob(t, faultEnv(t, db))
	first := insertChunkStarted(t, db, p, time.Time{})
	insertChunkStarted(t, db, p, first) // a later statement began: the first chunk's rows are in
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if r := p.wait(t); r.Code != -1 {
		t.Fatalf("kill -9: exit %d\nstdout:\n%s", r.Code, r.Stdout)
	}
	waitJobGone(t, db, killed)

	var sizeAfter int64
	if err := db.Get(&sizeAfter, `SELECT pg_relation_size('contributions_contribution')`); err != nil {
		t.Fatal(err)
	}
	// The table's file grew by the rows of the chunks written before the kill, now dead rows.
	t.Logf("killed after the first chunk; the table's file grew from %d to %d kB", sizeBefore/1024, sizeAfter/1024)
	if sizeAfter <= sizeBefore {
		t.Errorf("the table did not grow (%d bytes before and after): no chunk had been written before the kill", sizeAfter)
	}
	unchanged(t, db, before)

	r := runJob(t, faultEnv(t, db))
	r.expect(t, contract.ExitOK)
	if created := countContributions(t, db) - before.Contributions; float64(created) != num(t, r.summary(t), "contributions_created") || created < 150_000 {
		t.Errorf("the next run created %d contributions; its summary says %v", created, r.summary(t)["contributions_created"])
	}
	checkComplete(t, db)
}
