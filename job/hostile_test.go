package main

// Surprising or hostile database content: conflicting multipliers, objects planted in public
// to hijack the job's function and operator calls, and a role that may not write.

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/testdb"

	"github.com/tally/uptime/internal/contract"
)

// Two Uptime multipliers valid from the same instant with different values: the dry run and the
// real run exit 3 with one sentence naming both rows, and nothing is written.
func TestConflictingMultipliers(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	var first, second int64
	var validFrom string
	if err := db.QueryRow(`
		INSERT INTO leaderboard_globalleaderboardmultiplier
		       (created_at, updated_at, contribution_type_id, multiplier_value, valid_from, description, notes)
		SELECT now(), now(), contribution_type_id, 3.00, valid_from, 'a second row for the same moment', ''
		FROM leaderboard_globalleaderboardmultiplier WHERE multiplier_value = 1.50
		RETURNING (SELECT id FROM leaderboard_globalleaderboardmultiplier WHERE multiplier_value = 1.50), id,
		          to_char(valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`).
		Scan(&first, &second, &validFrom); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, db)
	for _, args := range [][]string{{"--dry-run"}, nil} {
		r := runJob(t, jobEnv(db.URL), args...)
		r.expect(t, contract.ExitData)
		r.oneStderrLine(t, fmt.Sprintf("%d (1.50)", first), fmt.Sprintf("%d (3.00)", second), validFrom)
		unchanged(t, db, before)
	}
}

// traps are objects planted in public that PostgreSQL would pick over pg_catalog's for the
// argument types the job uses (an exact match beats an implicit cast wherever pg_catalog sits on
// the path). Each counts its calls in a sequence, which a rollback does not undo.
const traps = `
	CREATE SEQUENCE public.trap_calls;
	CREATE FUNCTION public.lower(character varying) RETURNS text LANGUAGE plpgsql AS
	    $$ BEGIN PERFORM pg_catalog.nextval('public.trap_calls'); RETURN pg_catalog.lower($1::text); END $$;
	CREATE FUNCTION public.trap_eq(character varying, character varying) RETURNS boolean LANGUAGE plpgsql AS
	    $$ BEGIN PERFORM pg_catalog.nextval('public.trap_calls'); RETURN $1::text OPERATOR(pg_catalog.=) $2::text; END $$;
	CREATE OPERATOR public.= (LEFTARG = character varying, RIGHTARG = character varying, FUNCTION = public.trap_eq);
	CREATE FUNCTION public.to_char(date, text) RETURNS text LANGUAGE plpgsql AS
	    $$ BEGIN PERFORM pg_catalog.nextval('public.trap_calls'); RETURN pg_catalog.to_char($1::timestamp, $2); END $$;
	CREATE FUNCTION public.unnest(timestamptz[]) RETURNS SETOF timestamptz LANGUAGE plpgsql AS
	    $$ BEGIN PERFORM pg_catalog.nextval('public.trap_calls'); RETURN QUERY SELECT pg_catalog.unnest($1::anyarray); END $$;
	CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS
	    $$ BEGIN PERFORM pg_catalog.nextval('public.trap_calls'); RETURN QUERY SELECT pg_catalog.unnest($1::anyarray); END $$;`

// trapCalls is how many times the traps have run.
func trapCalls(t *testing.T, db *testdb.DB) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.trap_calls").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Traps planted in public never run in the job, in a dry run (with --user, which compares
// e-mail addresses) or a real run, and the run's outcome is right.
func TestPlantedObjectsNeverRun(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	mustExec(t, db, traps)
	// The traps work: in a session with public on its path, each of the job's expressions hits one.
	mustExec(t, db, `SELECT lower(email), email = email, to_char(current_date, 'YYYY'),
		(SELECT count(*) FROM unnest(ARRAY[now()])), (SELECT count(*) FROM unnest(ARRAY['x']::text[]))
		FROM users_user WHERE id = (SELECT min(id) FROM users_user)`)
	if n := trapCalls(t, db); n < 5 {
		t.Fatalf("the traps ran %d times in a session with public on its path, want at least 5", n)
	}
	planted := trapCalls(t, db)

	runJob(t, jobEnv(db.URL), "--dry-run", "--user", "ADA@example.com").expect(t, contract.ExitOK)
	r := runJob(t, jobEnv(db.URL))
	r.expect(t, contract.ExitOK)
	if n := trapCalls(t, db) - planted; n != 0 {
		t.Errorf("planted functions and operators ran %d times during the job's runs", n)
	}
	if num(t, r.summary(t), "contributions_created") == 0 {
		t.Fatal("the run created nothing, so it proves nothing")
	}
	checkComplete(t, db)
	v := checkInvariants(t, db)
	v.MissingEntries = 0 // the sample's erin has only an undated Uptime row, so no run gives her entries
	if v != (invariants{}) {
		t.Errorf("after a run beside the traps: %+v", v)
	}
}

// runAsRole is db's URL for a new login role (trust authentication on the test cluster) that
// has exactly grants; the role is dropped when the test ends.
func runAsRole(t *testing.T, db *testdb.DB, grants ...string) string {
	t.Helper()
	role := "uptime_role_" + strings.TrimPrefix(db.Name, "uptime_t_")
	role = role[:min(len(role), 63)]
	mustExec(t, db, "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() {
		_, _ = db.Exec("DROP OWNED BY " + role)
		_, _ = db.Exec("DROP ROLE " + role)
	})
	for _, g := range grants {
		mustExec(t, db, strings.ReplaceAll(g, "$role", role))
	}
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

// Everything a run needs, table by table (docs/deploy.md, step 3, without the recommended
// grants); each case below takes one of them away.
var runGrants = []string{
	"GRANT SELECT ON users_user, contributions_contributiontype, leaderboard_globalleaderboardmultiplier TO $role",
	"GRANT SELECT, INSERT, UPDATE ON contributions_contribution, leaderboard_leaderboardentry TO $role",
	"GRANT DELETE ON contributions_contribution TO $role",
}

// recommendedGrants add what docs/deploy.md recommends but the run does not require, but for
// pg_read_all_stats: reading what refers to a contribution, so that a doubled day can be repaired.
var recommendedGrants = append(slices.Clone(runGrants),
	"GRANT SELECT ON contributions_evidence, contributions_contributionhighlight, contributions_submittedcontribution TO $role")

// A role that may not do what a run does is refused by the dry run and the real run alike,
// before any work: exit 3, one sentence naming what it lacks. With every grant, the run works.
func TestPrivileges(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, revoke, lacks string
	}{
		{"no INSERT on contributions", "REVOKE INSERT ON contributions_contribution FROM $role", "INSERT on public.contributions_contribution"},
		{"no UPDATE on contributions (the lock needs it)", "REVOKE UPDATE ON contributions_contribution FROM $role", "UPDATE on public.contributions_contribution"},
		{"no DELETE on contributions (doubled days)", "REVOKE DELETE ON contributions_contribution FROM $role", "DELETE on public.contributions_contribution"},
		{"no UPDATE on entries", "REVOKE UPDATE ON leaderboard_leaderboardentry FROM $role", "UPDATE on public.leaderboard_leaderboardentry"},
		{"no SELECT on users", "REVOKE SELECT ON users_user FROM $role", "SELECT on public.users_user"},
		{"no temporary tables", "REVOKE TEMPORARY ON DATABASE $db FROM PUBLIC", "TEMPORARY on database"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := sampleDB(t)
			dbURL := runAsRole(t, db, append(runGrants, strings.ReplaceAll(c.revoke, "$db", db.Name))...)
			before := snapshot(t, db)
			for _, args := range [][]string{{"--dry-run"}, nil} {
				r := runJob(t, jobEnv(dbURL), args...)
				r.expect(t, contract.ExitData)
				r.oneStderrLine(t, c.lacks, "lacks")
				if r.logged("table locked") {
					t.Errorf("the run took its locks before refusing the role:\n%s", r.Stdout)
				}
			}
			unchanged(t, db, before)
		})
	}
	t.Run("every grant", func(t *testing.T) {
		t.Parallel()
		db := sampleDB(t)
		dbURL := runAsRole(t, db, runGrants...)
		runJob(t, jobEnv(dbURL), "--dry-run").expect(t, contract.ExitOK)
		runJob(t, jobEnv(dbURL)).expect(t, contract.ExitOK)
		checkComplete(t, db)
	})
}
