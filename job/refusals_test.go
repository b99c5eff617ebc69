package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
	"github.com/tally/uptime/job/store"

	"github.com/tally/uptime/internal/contract"
)

// ---- exit 2 ----

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	before := snapshot(t, db)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		mention string
	}{
		{"points 0", jobEnv(db.URL), []string{"--points", "0"}, "at least 1"},
		{"February 30", jobEnv(db.URL), []string{"--from", "2026-02-30"}, "YYYY-MM-DD"},
		{"to tomorrow", jobEnv(db.URL), []string{"--to", tomorrow}, "after today"},
		{"from after to", jobEnv(db.URL), []string{"--from", "2026-03-02", "--to", "2026-03-01"}, "after --to"},
		{"misspelt UPTIME_DRYRUN", jobEnv(db.URL, "UPTIME_DRYRUN", "true"), nil, "UPTIME_DRYRUN"},
		{"unknown flag", jobEnv(db.URL), []string{"--dryrun"}, "unknown flag"},
		{"missing DATABASE_URL", map[string]string{"UPTIME_ENVIRONMENT": "test"}, nil, "DATABASE_URL"},
		{"mysql DATABASE_URL", jobEnv("mysql://root@127.0.0.1/tally"), nil, "DATABASE_URL"},
		// statement_timeout takes at most 2147483647 ms: 597h was accepted, then failed every run.
		{"timeout 597h", jobEnv(db.URL), []string{"--timeout", "597h"}, "at most 596h"},
		{"UPTIME_TIMEOUT 100000h", jobEnv(db.URL, "UPTIME_TIMEOUT", "100000h"), nil, "at most 596h"},
		// The server's roots are configuration: found at start, not by the connection (exit 1).
		{"empty sslrootcert", jobEnv(withRootCert(t, db.URL, emptyFile(t))), nil, "holds no PEM certificate"},
		{"missing sslrootcert", jobEnv(withRootCert(t, db.URL, "/nonexistent/ca.pem")), nil, "sslrootcert"},
		{"sslrootcert a directory", jobEnv(withRootCert(t, db.URL, t.TempDir())), nil, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runJob(t, tt.env, tt.args...)
			r.expect(t, contract.ExitUsage)
			r.oneStderrLine(t, tt.mention)
			if m := r.metrics(t); m["RunFailed"] != 1.0 || m["RunSucceeded"] != 0.0 {
				t.Errorf("EMF %v", m)
			}
			unchanged(t, db, before)
		})
	}
}

// ---- exit 3 ----

func TestDataDoesNotAllowTheRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    []string
		args     []string
		mentions []string
	}{
		{
			name:     "no Uptime type",
			setup:    []string{"UPDATE contributions_contributiontype SET name = 'uptime' WHERE name = 'Uptime'"},
			mentions: []string{`"Uptime"`},
		},
		{
			name:     "points above the type's range",
			args:     []string{"--points", "6"},
			mentions: []string{"points 6", "1 to 5"},
		},
		{
			name: "points below the type's range",
			setup: []string{
				"UPDATE contributions_contributiontype SET min_points = 2 WHERE name = 'Uptime'"},
			mentions: []string{"points 1", "2 to 5"},
		},
		{
			name:     "unknown user",
			args:     []string{"--user", "ada@example.com", "--user", "nobody@example.com"},
			mentions: []string{"nobody@example.com"},
		},
		{
			// Two users to Django; --user compares case-insensitively, so it cannot pick one.
			name: "a --user address that matches two users",
			setup: []string{`INSERT INTO users_user (password, is_superuser, username, first_name, last_name, address, email, name, is_staff,
				    is_active, date_joined, visible, created_at, updated_at)
				SELECT password, is_superuser, 'ada-again', first_name, last_name, address, 'ADA@example.com', 'Ada Again', is_staff,
				    is_active, date_joined, visible, created_at, updated_at
				FROM users_user WHERE email = 'ada@example.com'`},
			args:     []string{"--user", "Ada@Example.com"},
			mentions: []string{"Ada@Example.com matches 2 users", "(ada@example.com)", "(ADA@example.com)"},
		},
		{
			name:     "NOT NULL column without a default",
			setup:    notNullColumn("contributions_contribution", "x"),
			mentions: []string{"contributions_contribution.x", "NOT NULL"},
		},
		{
			name:     "NOT NULL leaderboard column without a default",
			setup:    notNullColumn("leaderboard_leaderboardentry", "season"),
			mentions: []string{"leaderboard_leaderboardentry.season"},
		},
		{
			name:     "missing column",
			setup:    []string{"ALTER TABLE contributions_contribution DROP COLUMN notes"},
			mentions: []string{"contributions_contribution.notes", "missing"},
		},
		{
			name:     "unusable column type",
			setup:    []string{"ALTER TABLE contributions_contribution ALTER COLUMN contribution_date TYPE timestamp without time zone"},
			mentions: []string{"contributions_contribution.contribution_date", "timestamp with time zone"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := sampleDB(t)
			for _, q := range tt.setup {
				mustExec(t, db, q)
			}
			before := snapshot(t, db)
			r := runJob(t, jobEnv(db.URL), tt.args...)
			r.expect(t, contract.ExitData)
			r.oneStderrLine(t, tt.mentions...)
			if m := r.metrics(t); m["RunFailed"] != 1.0 || m["ContributionsCreated"] != 0.0 {
				t.Errorf("EMF %v", m)
			}
			unchanged(t, db, before)
		})
	}
}

// notNullColumn adds a column the way a later Django migration would: NOT NULL, no default.
func notNullColumn(table, column string) []string {
	return []string{
		fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s text NULL", table, column),
		fmt.Sprintf("UPDATE %s SET %s = ''", table, column),
		fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL", table, column),
	}
}

// Compatible schema additions do not stop the run.
func TestCompatibleSchemaChanges(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	mustExec(t, db, "ALTER TABLE contributions_contribution ADD COLUMN source text NOT NULL DEFAULT ''")
	mustExec(t, db, "ALTER TABLE contributions_contribution ADD COLUMN reviewed_by bigint NULL")
	mustExec(t, db, "ALTER TABLE leaderboard_leaderboardentry ADD COLUMN season integer NOT NULL DEFAULT 1")
	runJob(t, jobEnv(db.URL)).expect(t, contract.ExitOK)
	checkComplete(t, db)
}

// ---- exit 4 ----

// holdRunLock takes the job's advisory lock on db in a session of its own.
func holdRunLock(t *testing.T, db *testdb.DB) {
	t.Helper()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(t.Context(), "SELECT pg_advisory_lock($1)", store.LockKey); err != nil {
		t.Fatal(err)
	}
}

func TestLockHeld(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	other := sampleDB(t)
	holdRunLock(t, db)
	before := snapshot(t, db)

	// The holder is an idle session, not a run stalled in its transaction: the job waits
	// --lock-wait for it, and no longer.
	r := runJob(t, jobEnv(db.URL), "--lock-wait", "2s")
	r.expect(t, contract.ExitLocked)
	r.oneStderrLine(t, "another uptime run holds the lock")
	if d := num(t, r.summary(t), "duration_seconds"); d < 2 || d >= 4 {
		t.Errorf("the locked-out run took %v s with --lock-wait 2s", d)
	}
	if d := num(t, runJob(t, jobEnv(db.URL), "--lock-wait", "0").summary(t), "duration_seconds"); d >= 1 {
		t.Errorf("with --lock-wait 0 the locked-out run took %v s", d)
	}
	if m := r.metrics(t); m["RunFailed"] != 1.0 {
		t.Errorf("EMF %v", m)
	}
	unchanged(t, db, before)

	// Advisory locks belong to a database: a run on another database of the same server is not
	// blocked, which is why these tests can run in parallel.
	runJob(t, jobEnv(other.URL)).expect(t, contract.ExitOK)
}

func TestTwoRunsAtOnce(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	before := snapshot(t, db)
	release := blockLeaderboard(t, db)
	a, b := startJob(t, jobEnv(db.URL), "--lock-wait", "0"), startJob(t, jobEnv(db.URL), "--lock-wait", "0")

	var loser, winner *proc
	select {
	case <-a.done:
		loser, winner = a, b
	case <-b.done:
		loser, winner = b, a
	case <-time.After(15 * time.Second):
		t.Fatal("neither run exited while the other held the lock")
	}
	lost := loser.wait(t)
	lost.expect(t, contract.ExitLocked)
	lost.oneStderrLine(t, "another uptime run holds the lock")
	waitBlocked(t, db, winner)
	if n := countContributions(t, db); n != before.Contributions {
		t.Errorf("%d contributions visible before the winner committed, want %d", n, before.Contributions)
	}
	release()
	won := winner.wait(t)
	won.expect(t, contract.ExitOK)
	if got := countContributions(t, db) - before.Contributions; float64(got) != num(t, won.summary(t), "contributions_created") || got == 0 {
		t.Errorf("created %d, summary says %v", got, won.summary(t)["contributions_created"])
	}
	checkComplete(t, db)
}

// ---- secrets ----

func TestPasswordNeverPrinted(t *testing.T) {
	t.Parallel()
	// Each password as written in the URL, and decoded: a special character must be
	// percent-encoded in a URL, and either form could reach a message.
	for _, pw := range []struct{ name, raw, decoded string }{
		{"plain", "Sup3rSecretPw", "Sup3rSecretPw"},
		{"percent-encoded", "Sup3r%21Secret%40Pw", "Sup3r!Secret@Pw"},
	} {
		db := sampleDB(t) // one each: two successful runs on one database would contend for the lock
		good := withRawPassword(t, db.URL, pw.raw)
		tests := []struct {
			name string
			env  map[string]string
			args []string
			code int
		}{
			{"successful run", jobEnv(good), []string{"--verbose"}, contract.ExitOK},
			{"unreachable port", jobEnv(withPort(t, good, closedPort(t))), nil, contract.ExitRuntime},
			{"nonexistent database", jobEnv(withDatabase(t, good, "uptime_no_such_database")), nil, contract.ExitRuntime},
			{"usage error", jobEnv(good), []string{"--points", "0"}, contract.ExitUsage},
			{"URL as an argument", jobEnv(good), []string{good}, contract.ExitUsage},
			{"URL in a variable", jobEnv(good, "UPTIME_USER", good), nil, contract.ExitUsage},
			{"URL that does not parse", jobEnv(strings.Replace(good, "127.0.0.1:", "127.0.0.1:x", 1)), nil, contract.ExitUsage},
		}
		for _, tt := range tests {
			t.Run(pw.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				r := runJob(t, tt.env, tt.args...)
				r.expect(t, tt.code)
				for name, out := range map[string]string{"stdout": r.Stdout, "stderr": r.Stderr} {
					if strings.Contains(out, pw.raw) || strings.Contains(out, pw.decoded) {
						t.Errorf("the password appears on %s:\n%s", name, out)
					}
				}
			})
		}
	}
}

// withRawPassword is dbURL with raw, exactly as given, as its password.
func withRawPassword(t *testing.T, dbURL, raw string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	user := u.User.Username()
	u.User = nil
	scheme, rest, _ := strings.Cut(u.String(), "://")
	return scheme + "://" + user + ":" + raw + "@" + rest
}
