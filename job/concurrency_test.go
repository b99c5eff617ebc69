package main

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/tally/uptime/internal/testdb"

	"github.com/tally/uptime/internal/contract"
)

// invariants counts what must never happen, whatever the interleaving of the job and the app.
type invariants struct {
	DuplicateDays    int64 // user-days with a generated Uptime contribution and any other
	DuplicateEntries int64 // (user, board) pairs with more than one entry
	WrongTotals      int64 // entries whose total is not the sum of their contributions
	MissingEntries   int64 // boards a user has contributions in but no entry
	WrongRanks       int64 // entries whose rank does not follow the totals
}

func checkInvariants(t *testing.T, db *testdb.DB) invariants {
	t.Helper()
	var v invariants
	err := db.QueryRow(`
		WITH sums AS (
		    SELECT c.user_id, t.category_id, sum(c.frozen_global_points) AS total, GROUPING(t.category_id) = 1 AS global
		    FROM contributions_contribution AS c
		    JOIN contributions_contributiontype AS t ON t.id = c.contribution_type_id
		    GROUP BY GROUPING SETS ((c.user_id), (c.user_id, t.category_id))),
		expected AS (
		    SELECT user_id, CASE WHEN global THEN 0 ELSE category_id END AS board, total
		    FROM sums WHERE global OR category_id IS NOT NULL),
		entries AS (SELECT user_id, coalesce(category_id, 0) AS board, total_points, rank, id FROM leaderboard_leaderboardentry),
		ranked AS (
		    SELECT e.rank, CASE WHEN u.visible THEN row_number() OVER (
		               PARTITION BY e.board, u.visible ORDER BY e.total_points DESC, u.name, u.id) END AS want
		    FROM entries AS e JOIN users_user AS u ON u.id = e.user_id)
		SELECT
		    (SELECT count(*) FROM (
		         SELECT 1 FROM contributions_contribution AS c
		         JOIN contributions_contributiontype AS t ON t.id = c.contribution_type_id AND t.name = 'Uptime'
		         WHERE c.contribution_date IS NOT NULL
		         GROUP BY c.user_id, (c.contribution_date AT TIME ZONE 'UTC')::date
		         HAVING count(*) > 1 AND bool_or(c.notes LIKE 'Auto-generated daily uptime for %')) AS d),
		    (SELECT count(*) FROM (SELECT 1 FROM entries GROUP BY user_id, board HAVING count(*) > 1) AS d),
		    (SELECT count(*) FROM entries AS e LEFT JOIN expected AS x USING (user_id, board)
		     WHERE e.total_points IS DISTINCT FROM coalesce(x.total, 0)),
		    (SELECT count(*) FROM expected AS x
		     WHERE NOT EXISTS (SELECT 1 FROM entries AS e WHERE e.user_id = x.user_id AND e.board = x.board)),
		    (SELECT count(*) FROM ranked WHERE rank IS DISTINCT FROM want)`).
		Scan(&v.DuplicateDays, &v.DuplicateEntries, &v.WrongTotals, &v.MissingEntries, &v.WrongRanks)
	if err != nil {
		t.Fatalf("check invariants: %v", err)
	}
	return v
}

// checkWritersKept fails if anything a writer committed is gone.
func checkWritersKept(t *testing.T, db *testdb.DB, ws []*appWriter) {
	t.Helper()
	for _, w := range ws {
		var found int
		if err := db.QueryRow("SELECT count(*) FROM contributions_contribution WHERE id = ANY ($1)",
			pq.Array(w.committed)).Scan(&found); err != nil {
			t.Fatal(err)
		}
		if found != len(w.committed) {
			t.Errorf("%d of a writer's %d committed contributions are gone", len(w.committed)-found, len(w.committed))
		}
	}
}

// appWaits is what the app's statements felt: the longest one that overlapped the job, the
// longest before the job started, the 95th percentile of contribution inserts during the job,
// and how many statements there were.
type appWaits struct {
	during, alone, insertP95 time.Duration
	statements               int
	longest                  appStatement // the one that waited longest beside the job
}

func measureApp(ws []*appWriter, jobStart, jobEnd time.Time) appWaits {
	var m appWaits
	var inserts []time.Duration
	for _, w := range ws {
		for _, s := range w.stmts {
			m.statements++
			end := s.start.Add(s.took)
			switch {
			case end.After(jobStart) && s.start.Before(jobEnd):
				if s.took > m.during {
					m.during, m.longest = s.took, s
				}
				if s.path != "delete user" {
					inserts = append(inserts, s.took)
				}
			case end.Before(jobStart):
				m.alone = max(m.alone, s.took)
			}
		}
	}
	if len(inserts) > 0 {
		slices.Sort(inserts)
		m.insertP95 = inserts[len(inserts)*95/100]
	}
	return m
}

// writerRun is one run of the job with the app's writers saving for the same users.
type writerRun struct {
	name    string
	scale   testdb.Scale
	writers int
	window  int // when > 0, the job fills only the first window days of the history (--from, --to)
}

// args are the job's flags for wr. A backfill gives way whenever the admin deletes a user it
// inserted days for (the delete's foreign-key check waits on the run's rows) and starts again;
// the writers delete about one user a second, from 43 doomed ones. On two cores shared with the
// package's other tests an attempt takes 3-5 s, and a 25 s deadline ran out in CI after seven
// attempts (2026-12-07): the deadline is not what this test is about, the app's waits are.
func (wr writerRun) args() []string {
	args := []string{"--timeout", "60s"}
	if wr.window > 0 {
		from := time.Now().UTC().AddDate(0, 0, -wr.scale.HistoryFrom)
		args = append(args, "--from", from.Format("2006-01-02"), "--to", from.AddDate(0, 0, wr.window-1).Format("2006-01-02"))
	}
	return args
}

// runWithWriters runs the job on a clone of tpl while the app's writers save; then, the writers
// stopped, the next run, after which every invariant holds.
func runWithWriters(t *testing.T, tpl template, wr writerRun, seed uint64) appWaits {
	t.Helper()
	db := tpl.clone(t)
	stop := startAppWriters(t, db, wr.writers, seed, wr.scale.HistoryFrom)
	time.Sleep(500 * time.Millisecond) // the writers' pace without the job
	watch := watchJobBlocks(t, db)
	jobStart := time.Now()
	// As a role with the grants docs/deploy.md gives it: other roles' sessions are half hidden.
	jobURL := runAsRole(t, db, recommendedGrants...)
	r := runJob(t, jobEnv(jobURL), wr.args()...)
	jobEnd := time.Now()
	time.Sleep(300 * time.Millisecond) // writers blocked by the job finish and a few more run after it
	blocks := watch()
	ws := stop()
	r.expect(t, contract.ExitOK)
	if num(t, r.summary(t), "contributions_created") == 0 {
		t.Fatalf("%s seed %d: the job created nothing, so it proves nothing", wr.name, seed)
	}
	m := measureApp(ws, jobStart, jobEnd)
	if errs := jobErrors(ws, blocks.jobPIDs); len(errs) > 0 {
		t.Errorf("%s seed %d: the job failed %d app statements; the first: %s", wr.name, seed, len(errs), errs[0])
	}
	if blocks.longest > time.Second {
		t.Errorf("%s seed %d: an app session waited %v on the job", wr.name, seed, blocks.longest)
	}
	checkWritersKept(t, db, ws)
	// The next run repairs what the app's own races left (docs/architecture.md, "What the app pays").
	runJob(t, jobEnv(jobURL), wr.args()...).expect(t, contract.ExitOK)
	if v := checkInvariants(t, db); v != (invariants{}) {
		t.Errorf("%s seed %d: invariants violated after the next run: %+v", wr.name, seed, v)
	}
	t.Logf("%s seed %d: job %v; the app: %d statements, longest wait on the job %v, inserts p95 %v, "+
		"longest statement %v beside the job and %v before it, %d errors of its own (deadlocks among its re-ranks)",
		wr.name, seed, r.Elapsed.Round(time.Millisecond), m.statements, blocks.longest.Round(time.Millisecond),
		m.insertP95.Round(time.Millisecond), m.during.Round(time.Millisecond), m.alone.Round(time.Millisecond), len(appErrors(ws)))
	return m
}

// The job beside the app's write paths, nightly and as a backfill, over several seeds: no app
// statement fails, none waits more than a second longer than it does without the job, nothing
// the app committed is lost, and after the next run every invariant holds.
func TestBesideDjangoWriters(t *testing.T) {
	t.Parallel()
	seeds := rounds(3, 10)
	runs := []writerRun{
		{name: "nightly", scale: testdb.Scale{Users: 300, HistoryFrom: 90, HistoryTo: 1, GapRate: 0.05}, writers: 4},
		{name: "backfill", scale: testdb.Scale{Users: 300, HistoryFrom: 364, HistoryTo: 364}, writers: 4},
		{name: "backfill in a 30-day window", scale: testdb.Scale{Users: 300, HistoryFrom: 364, HistoryTo: 364}, writers: 4, window: 30},
	}
	// UPTIME_WRITERS_USERS=N measures the writers' waits at a larger scale, one seed per run.
	if n, err := strconv.Atoi(os.Getenv("UPTIME_WRITERS_USERS")); err == nil && n > 0 {
		seeds = 1
		for i := range runs {
			runs[i].scale.Users = n
		}
	}
	total := 0
	templates := map[testdb.Scale]template{}
	for _, wr := range runs {
		if _, ok := templates[wr.scale]; !ok {
			templates[wr.scale] = seededTemplate(t, wr.scale)
		}
	}
	for _, wr := range runs {
		t.Run(wr.name, func(t *testing.T) {
			tpl := templates[wr.scale]
			for s := 1; s <= seeds; s++ {
				m := runWithWriters(t, tpl, wr, uint64(s))
				total++
				if m.insertP95 > 500*time.Millisecond {
					t.Errorf("seed %d: app statements' p95 beside the job was %v", s, m.insertP95)
				}
			}
		})
	}
	if !t.Failed() {
		t.Logf("invariant violations under writers: 0 over %d runs", total)
	}
}
