package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/testdb"

	"github.com/tally/uptime/internal/contract"
)

// ---- exit 0 ----

func TestHelp(t *testing.T) {
	t.Parallel()
	p := startJob(t, map[string]string{}, "--help")
	<-p.done
	if p.code != contract.ExitOK || !strings.Contains(p.stdout.String(), "Exit codes") || p.stderr.Len() != 0 {
		t.Errorf("--help: exit %d, stdout %q, stderr %q", p.code, &p.stdout, &p.stderr)
	}
}

// A real run fills every gap, reports what it did, and a second run the same day changes nothing.
func TestRunThenNothingToDo(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	before := snapshot(t, db)

	r := runJob(t, jobEnv(db.URL), "--verbose")
	r.expect(t, contract.ExitOK)
	created := countContributions(t, db) - before.Contributions
	if created == 0 {
		t.Fatal("the sample has gaps, but nothing was created")
	}
	s := r.summary(t)
	if num(t, s, "contributions_created") != float64(created) || num(t, s, "exit_code") != 0 ||
		s["dry_run"] != false || num(t, s, "users_with_uptime") != 4 || num(t, s, "users_touched") != 4 ||
		num(t, s, "days_skipped") == 0 || num(t, s, "leaderboard_entries_created") == 0 {
		t.Errorf("summary %v, but %d contributions were created for 4 users", s, created)
	}
	if _, ok := s["duration_seconds"].(float64); !ok {
		t.Errorf("summary has no duration: %v", s)
	}
	m := r.metrics(t)
	if m["RunSucceeded"] != 1.0 || m["RunFailed"] != 0.0 || m["ContributionsCreated"] != float64(created) ||
		m["UsersProcessed"] != 4.0 || m["DryRun"] != false {
		t.Errorf("EMF %v, want success with %d contributions", m, created)
	}
	users := 0
	for _, rec := range r.Records {
		if rec["msg"] == "user" {
			users++
		}
	}
	if users != 4 {
		t.Errorf("--verbose logged %d user records, want 4", users)
	}
	if r.Stderr != "" {
		t.Errorf("stderr of a successful run: %q", r.Stderr)
	}
	checkComplete(t, db)

	after := snapshot(t, db)
	again := runJob(t, jobEnv(db.URL))
	again.expect(t, contract.ExitOK)
	unchanged(t, db, after)
	if num(t, again.summary(t), "contributions_created") != 0 {
		t.Errorf("second run summary: %v", again.summary(t))
	}
	if m := again.metrics(t); m["RunSucceeded"] != 1.0 || m["ContributionsCreated"] != 0.0 {
		t.Errorf("second run EMF: %v", m)
	}
}

// A dry run reports exactly what a real run then creates, and writes nothing.
func TestDryRun(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	before := snapshot(t, db)

	for _, how := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"flag", jobEnv(db.URL), []string{"--dry-run"}},
		{"variable", jobEnv(db.URL, "UPTIME_DRY_RUN", "true"), nil},
	} {
		r := runJob(t, how.env, how.args...)
		r.expect(t, contract.ExitOK)
		unchanged(t, db, before)
		s := r.summary(t)
		if s["dry_run"] != true || num(t, s, "contributions_would_create") == 0 || s["contributions_created"] != nil {
			t.Errorf("%s: dry-run summary %v", how.name, s)
		}
		m := r.metrics(t)
		if m["RunSucceeded"] != 0.0 || m["RunFailed"] != 0.0 || m["DryRun"] != true || m["ContributionsCreated"] != 0.0 {
			t.Errorf("%s: dry-run EMF %v", how.name, m)
		}
		if how.name == "variable" {
			planned := num(t, s, "contributions_would_create")
			runJob(t, jobEnv(db.URL)).expect(t, contract.ExitOK)
			if got := countContributions(t, db) - before.Contributions; float64(got) != planned {
				t.Errorf("the dry run planned %v contributions, the real run created %d", planned, got)
			}
		}
	}
}

// failFirstInserts makes the first n statements that insert contributions fail with SQLSTATE
// code, as a serialization failure or a deadlock would. A sequence counts the attempts because
// it survives the rollback of the attempt that failed. The trigger runs with the job's
// search_path, which does not include public.
func failFirstInserts(t *testing.T, db *testdb.DB, n int, code string) {
	t.Helper()
	mustExec(t, db, `CREATE SEQUENCE forced_failures`)
	mustExec(t, db, fmt.Sprintf(`
		CREATE FUNCTION force_failure() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
		    IF nextval('public.forced_failures') <= %d THEN
		        RAISE EXCEPTION 'forced failure for a test' USING ERRCODE = '%s';
		    END IF;
		    RETURN NULL;
		END $$`, n, code))
	mustExec(t, db, `CREATE TRIGGER force_failure AFTER INSERT ON contributions_contribution
		FOR EACH STATEMENT EXECUTE FUNCTION force_failure()`)
}

func TestTransientFailuresAreRetried(t *testing.T) {
	cases := []struct {
		name     string
		failures int
		code     string
		wantExit int
		retries  int
	}{
		{"a serialization failure", 1, "40001", contract.ExitOK, 1},
		{"a deadlock twice", 2, "40P01", contract.ExitOK, 2},
		{"three in a row: the run gives up", 3, "40001", contract.ExitRuntime, 2},
		{"not transient: no retry", 1, "22012", contract.ExitRuntime, 0}, // division_by_zero
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := sampleDB(t)
			failFirstInserts(t, db, c.failures, c.code)
			before := snapshot(t, db)

			r := runJob(t, jobEnv(db.URL))
			r.expect(t, c.wantExit)
			retries := 0
			for _, rec := range r.Records {
				if rec["msg"] == "transient failure; retrying the run" {
					retries++
				}
			}
			if retries != c.retries {
				t.Errorf("%d retries logged, want %d", retries, c.retries)
			}
			if c.wantExit != contract.ExitOK {
				unchanged(t, db, before)
				return
			}
			checkComplete(t, db)
		})
	}
}
