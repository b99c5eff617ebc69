package main

// The ordinary situations in which the job used to hold the app up (docs/architecture.md, "What
// the app pays"), each against a real PostgreSQL, measured from the app's side: no app statement
// waits on the job for more than a second, and the job makes none fail.

import (
	"bufio"
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
	"github.com/tally/uptime/job/store"

	"github.com/tally/uptime/internal/contract"
)

// appBound is the longest an app statement may wait on the job.
const appBound = time.Second

// appLoop runs save on a connection of its own every 20 ms until stop, which returns every
// statement it sent.
func appLoop(t *testing.T, db *testdb.DB, path string, save func(context.Context, *appSession) error) (stop func() []appStatement) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := &appSession{conn: conn, path: path}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			_ = save(context.WithoutCancel(ctx), s)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() []appStatement {
		cancel()
		<-done
		conn.Close()
		return s.stmts
	}
}

// saveFor is the review path's autocommit INSERT of a contribution for user.
func saveFor(user, typ int64) func(context.Context, *appSession) error {
	return func(ctx context.Context, s *appSession) error {
		_, err := s.exec(ctx, `INSERT INTO contributions_contribution (created_at, updated_at, user_id, contribution_type_id,
			points, frozen_global_points, multiplier_at_creation, contribution_date, notes)
			VALUES (now(), now(), $1, $2, 10, 10, 1.00, now(), 'saved by the app')`, user, typ)
		return err
	}
}

// expectPrompt fails if any statement failed or waited longer than bound; it returns the p95.
func expectPrompt(t *testing.T, what string, stmts []appStatement, bound time.Duration) time.Duration {
	t.Helper()
	if len(stmts) == 0 {
		t.Fatalf("%s: the app sent nothing", what)
	}
	took := make([]time.Duration, 0, len(stmts))
	for _, s := range stmts {
		if s.err != nil {
			t.Errorf("%s: an app statement failed: %v", what, s.err)
		}
		took = append(took, s.took)
	}
	slices.Sort(took)
	if took[len(took)-1] > bound {
		t.Errorf("%s: an app statement took %v", what, took[len(took)-1])
	}
	t.Logf("%s: %d app statements, longest %v, p95 %v", what, len(stmts), took[len(took)-1].Round(time.Millisecond),
		took[len(took)*95/100].Round(time.Millisecond))
	return took[len(took)*95/100]
}

// openTx starts a transaction on a connection of its own, runs q in it and leaves it open; end
// rolls it back.
func openTx(t *testing.T, db *testdb.DB, q string, args ...any) (pid int, end func()) {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow("SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
	done := false
	end = func() {
		if !done {
			done = true
			_ = tx.Rollback()
		}
	}
	t.Cleanup(end)
	return pid, end
}

// ids is the sample's user ids by e-mail and its type ids by name.
func ids(t *testing.T, db *testdb.DB) (users, types map[string]int64) {
	t.Helper()
	users, types = map[string]int64{}, map[string]int64{}
	var rows []struct {
		Kind, Key string
		ID        int64
	}
	if err := db.Select(&rows, `SELECT 'u' AS kind, email AS key, id FROM users_user
		UNION ALL SELECT 't', name, id FROM contributions_contributiontype`); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Kind == "u" {
			users[r.Key] = r.ID
		} else {
			types[r.Key] = r.ID
		}
	}
	return users, types
}

// waitJob polls until a session of the job matches cond (SQL over pg_stat_activity).
func waitJob(t *testing.T, db *testdb.DB, p *proc, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND application_name = $1 AND `+cond, store.ApplicationName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if p.exited() {
			r := p.wait(t)
			t.Fatalf("the job exited %d before %s\n%s\n%s", r.Code, cond, r.Stdout, r.Stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the job never matched %s", cond)
}

// whileInserting starts the job on a backfill as a role with only the grants it needs (which
// sees other roles' waits in pg_locks and nothing of them in pg_stat_activity), waits until it
// is inserting, and returns the database, the job and an app session of its own.
func whileInserting(t *testing.T) (*testdb.DB, *proc, *appSession) {
	t.Helper()
	db := seededTemplate(t, backfillScale).clone(t)
	p := startJob(t, jobEnv(runAsRole(t, db, runGrants...)))
	waitJob(t, db, p, `state = 'active' AND query LIKE '%INSERT INTO public.contributions_contribution%'`)
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return db, p, &appSession{conn: conn}
}

// A person's open transaction on a row or a table the job needs holds the job, never the app:
// the app's saves go on, and the job exits 1 at its deadline naming the session.
func TestOpenTransactionsHoldTheJobNotTheApp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, hold string
	}{
		{"a user's e-mail changed in a transaction left open",
			"UPDATE users_user SET email = 'ada.new@example.com' WHERE email = 'ada@example.com'"},
		{"a leaderboard entry selected FOR UPDATE and left open",
			"SELECT * FROM leaderboard_leaderboardentry WHERE user_id = (SELECT id FROM users_user WHERE email = 'ada@example.com') FOR UPDATE"},
		{"a slow save: a contribution inserted in a transaction left open",
			`INSERT INTO contributions_contribution (created_at, updated_at, user_id, contribution_type_id, points,
			 frozen_global_points, multiplier_at_creation, contribution_date, notes)
			 SELECT now(), now(), u.id, t.id, 10, 10, 1.00, now(), 'slow' FROM users_user u, contributions_contributiontype t
			 WHERE u.email = 'carol@example.com' AND t.name = 'Pull Request'`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := sampleDB(t)
			runJob(t, jobEnv(db.URL), "--to", time.Now().UTC().AddDate(0, 0, -2).Format("2006-01-02")).expect(t, contract.ExitOK)
			users, types := ids(t, db)
			pid, end := openTx(t, db, c.hold)
			stop := appLoop(t, db, "save", saveFor(users["bob@example.com"], types["Pull Request"]))
			r := runJob(t, jobEnv(db.URL), "--timeout", "4s")
			stmts := stop()
			r.expect(t, contract.ExitRuntime)
			r.oneStderrLine(t, "deadline of 4s passed", "rolled back", "pid "+strconv.Itoa(pid))
			p95 := expectPrompt(t, c.name, stmts, appBound)
			if p95 > 500*time.Millisecond {
				t.Errorf("the app's saves: p95 %v while the job tried for its locks", p95)
			}
			end()
			runJob(t, jobEnv(db.URL)).expect(t, contract.ExitOK)
			checkComplete(t, db)
		})
	}
}

// An app transaction that locks a user and then saves for them (select_for_update, then a
// save) while the job inserts: the job gives way, and the app's transaction commits.
func TestAppLocksAUserThenSaves(t *testing.T) {
	t.Parallel()
	db, p, s := whileInserting(t)
	s.path = "lock then save"
	var user, typ int64
	if err := db.QueryRow(`SELECT (SELECT max(id) FROM users_user), (SELECT id FROM contributions_contributiontype WHERE name = 'Pull Request')`).
		Scan(&user, &typ); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, q := range []string{"BEGIN", "SELECT id FROM users_user WHERE id = $1 FOR UPDATE"} {
		args := []any{}
		if strings.Contains(q, "$1") {
			args = append(args, user)
		}
		if _, err := s.exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := saveFor(user, typ)(ctx, s); err != nil {
		t.Fatalf("the app's save failed: %v", err)
	}
	if _, err := s.exec(ctx, "COMMIT"); err != nil {
		t.Fatalf("the app's commit failed: %v", err)
	}
	expectPrompt(t, "lock a user, then save", s.stmts, appBound)
	p.wait(t).expect(t, contract.ExitOK)
	checkComplete(t, db)
}

// The admin deletes a user while the job inserts their days: the job gives way, the delete
// commits, and the job fills everyone else.
func TestAdminDeletesAUserWhileTheJobInserts(t *testing.T) {
	t.Parallel()
	db, p, s := whileInserting(t)
	var user int64
	if err := db.Get(&user, "SELECT max(id) FROM users_user"); err != nil {
		t.Fatal(err)
	}
	a := &appWriter{appSession: *s, w: &appWorld{doomed: make(chan int64, 1)}}
	a.w.doomed <- user
	if err := a.deleteUser(t.Context()); err != nil {
		t.Fatalf("the admin's delete failed: %v", err)
	}
	expectPrompt(t, "delete a user", a.stmts, appBound)
	p.wait(t).expect(t, contract.ExitOK)
	checkComplete(t, db)
}

// A migration's ALTER TABLE while the job inserts: the job gives way to it, so that the page
// reads queued behind the ALTER wait no longer than the bound, and then completes.
func TestMigrationWhileTheJobInserts(t *testing.T) {
	t.Parallel()
	db, p, migration := whileInserting(t)
	var user int64
	if err := db.Get(&user, "SELECT min(id) FROM users_user"); err != nil {
		t.Fatal(err)
	}
	stop := appLoop(t, db, "page read", func(ctx context.Context, s *appSession) error {
		_, err := s.exec(ctx, "SELECT count(*) FROM contributions_contribution WHERE user_id = $1", user)
		return err
	})
	time.Sleep(50 * time.Millisecond)
	migration.path = "migration"
	if _, err := migration.exec(t.Context(), "ALTER TABLE contributions_contribution ADD COLUMN source varchar(20) NULL"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	expectPrompt(t, "page reads", stop(), appBound)
	expectPrompt(t, "the migration", migration.stmts, appBound)
	p.wait(t).expect(t, contract.ExitOK)
	checkComplete(t, db)
}

// --verbose's records come after the commit: a reader that takes its time holds nothing.
func TestVerboseRecordsComeAfterTheCommit(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	before := countContributions(t, db)
	cmd := exec.Command(jobBinary, "--verbose")
	for k, v := range jobEnv(db.URL) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if !strings.Contains(lines.Text(), `"msg":"user"`) {
			continue
		}
		// The reader stops at the first user record: the run must have committed by now.
		if n := countContributions(t, db); n == before {
			t.Fatal("a --verbose user record came before the run committed")
		}
		break
	}
	for lines.Scan() { // the rest, so the job can finish
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the job: %v", err)
	}
}

// A role whose default isolation is REPEATABLE READ: a save the app commits while the job waits
// for its locks is seen by the locked phase (the run begins READ COMMITTED), so no day is doubled
// and no total is wrong.
func TestRepeatableReadByDefault(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	mustExec(t, db, "ALTER DATABASE "+db.Name+" SET default_transaction_isolation = 'repeatable read'")
	users, types := ids(t, db)
	// The job waits at its locks while this transaction, idle, holds an entry.
	_, end := openTx(t, db, "UPDATE leaderboard_leaderboardentry SET updated_at = now() WHERE user_id = $1", users["erin@example.com"])
	p := startJob(t, jobEnv(db.URL))
	waitJob(t, db, p, `query LIKE '%AccessShareLock%'`)
	mustExec(t, db, `INSERT INTO contributions_contribution (created_at, updated_at, user_id, contribution_type_id, points,
		frozen_global_points, multiplier_at_creation, contribution_date, notes)
		VALUES (now(), now(), $1, $2, 3, 3, 1.00, now(), 'saved by the app')`, users["ada@example.com"], types["Uptime"])
	end()
	r := p.wait(t)
	r.expect(t, contract.ExitOK)
	// (Users without uptime have no entries until the app saves for them: not the job's to make.)
	if v := checkInvariants(t, db); v.DuplicateDays+v.DuplicateEntries+v.WrongTotals+v.WrongRanks != 0 {
		t.Errorf("invariants after a save during the lock wait: %+v", v)
	}
	if n := num(t, r.summary(t), "contributions_created"); n == 0 {
		t.Error("the job created nothing, so this proves nothing")
	}
}

// A person holding the run's advisory lock in a transaction (psql after BEGIN) is waited for,
// never ended, even past the 15 s after which a stalled run would be: the job exits 4.
func TestAPersonHoldingTheRunLockIsNeverEnded(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	pid, end := openTx(t, db, "SELECT set_config('application_name', 'psql', false), pg_advisory_xact_lock($1)", store.LockKey)
	defer end()
	r := runJob(t, jobEnv(db.URL, "UPTIME_DRY_RUN", "true"), "--lock-wait", "17s", "--timeout", "25s")
	r.expect(t, contract.ExitLocked)
	var alive int
	if err := db.Get(&alive, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid); err != nil || alive != 1 {
		t.Fatalf("the person's session is gone (%v): the job ended it", err)
	}
}

// Writes to the tables that refer to contributions (evidence, highlights) while the job runs
// wait no longer than the bound.
func TestWritesThatReferToContributions(t *testing.T) {
	t.Parallel()
	db := seededTemplate(t, testdb.Scale{Users: 300, HistoryFrom: 90, HistoryTo: 1}).clone(t)
	var contribution int64
	if err := db.Get(&contribution, "SELECT min(id) FROM contributions_contribution"); err != nil {
		t.Fatal(err)
	}
	stop := appLoop(t, db, "evidence", func(ctx context.Context, s *appSession) error {
		_, err := s.exec(ctx, `INSERT INTO contributions_evidence (created_at, updated_at, contribution_id, description, url)
			VALUES (now(), now(), $1, '', 'https://example.com')`, contribution)
		return err
	})
	runJob(t, jobEnv(db.URL)).expect(t, contract.ExitOK)
	expectPrompt(t, "evidence", stop(), appBound)
}
