package uptime

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/testdb"
)

// TestSampleUptimeRowsAgreeWithTheMultipliers: every dated Uptime row of testdata/sample.sql
// carries the Uptime multiplier in force at its day's 00:00 UTC, and points × multiplier rounded
// half to even, as the job writes its own rows; so the demo shows no row that contradicts the
// sample's own multiplier history.
func TestSampleUptimeRowsAgreeWithTheMultipliers(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("TEST_DATABASE_URL is not set (scripts/test.sh sets it)")
	}
	sample, err := os.ReadFile("testdata/sample.sql")
	if err != nil {
		t.Fatal(err)
	}
	db := testdb.New(t)
	if _, err := db.Exec(string(sample)); err != nil {
		t.Fatalf("load testdata/sample.sql: %v", err)
	}
	const check = `
		SELECT c.contribution_date::date::text, c.multiplier_at_creation::text, c.frozen_global_points,
		       coalesce(m.value::text, 'none'), round(c.points * m.value::float8)::int
		FROM contributions_contribution AS c
		JOIN contributions_contributiontype AS t ON t.id = c.contribution_type_id AND t.name = 'Uptime'
		LEFT JOIN LATERAL (SELECT g.multiplier_value AS value FROM leaderboard_globalleaderboardmultiplier AS g
		                   WHERE g.contribution_type_id = t.id AND g.valid_from <= c.contribution_date
		                   ORDER BY g.valid_from DESC LIMIT 1) AS m ON true
		WHERE c.contribution_date IS NOT NULL
		  AND (m.value IS DISTINCT FROM c.multiplier_at_creation
		       OR c.frozen_global_points <> round(c.points * m.value::float8))` // float8 round: half to even
	rows, err := db.Query(check)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var day, mult, inForce string
		var frozen, want int
		if err := rows.Scan(&day, &mult, &frozen, &inForce, &want); err != nil {
			t.Fatal(err)
		}
		t.Errorf("the sample's Uptime row of %s has multiplier %s and %d points; in force that day: %s, so %d points", day, mult, frozen, inForce, want)
	}
	var n int
	if err := db.Get(&n, `SELECT count(DISTINCT c.multiplier_at_creation) FROM contributions_contribution AS c
		JOIN contributions_contributiontype AS t ON t.id = c.contribution_type_id AND t.name = 'Uptime'
		WHERE c.contribution_date IS NOT NULL`); err != nil || n < 3 {
		t.Errorf("the sample's Uptime rows span %d multipliers (%v), want the three of its history", n, err)
	}
}

// TestDemo runs scripts/demo.sh against TEST_DATABASE_URL, as the README says it can: it must
// exit 0, mark which rows the job made, explain the rounding, and drop its database.
func TestDemo(t *testing.T) {
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		t.Skip("TEST_DATABASE_URL is not set (scripts/test.sh sets it)")
	}
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql is not installed")
	}
	cmd := exec.Command("scripts/demo.sh")
	cmd.Env = append(os.Environ(), "TEST_DATABASE_URL="+url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/demo.sh: %v\n%s", err, out)
	}
	text := string(out)
	job := regexp.MustCompile(`(?m)^ \d{4}-\d\d-\d\d \|\s+1 \|\s+2\.50 \|\s+2 \| job\s+\| Auto-generated daily uptime for `).FindAllString(text, -1)
	sample := regexp.MustCompile(`(?m)^ \d{4}-\d\d-\d\d \|\s+1 \|\s+2\.50 \|\s+2 \| sample\s+\|`).FindAllString(text, -1)
	if len(job) != 3 || len(sample) == 0 {
		t.Errorf("the demo shows %d rows of ada's made by the job (want 3, at 2.50 → 2) and %d of the sample at 2.50 → 2:\n%s", len(job), len(sample), text)
	}
	if !strings.Contains(text, "rounded half to even") || !strings.Contains(text, "2.50 = 2.5 -> 2") {
		t.Errorf("the demo does not explain the rounding:\n%s", text)
	}
	if !strings.Contains(text, `"contributions_would_create":38`) || !strings.Contains(text, `"contributions_created":38`) {
		t.Errorf("the dry run and the real run do not agree on 38 contributions:\n%s", text)
	}
	admin := testdb.AdminURL(t)
	left, err := exec.Command("psql", "-X", "-At", admin, "-c", "SELECT count(*) FROM pg_database WHERE datname LIKE 'tally\\_demo\\_%'").Output()
	if err != nil || strings.TrimSpace(string(left)) != "0" {
		t.Errorf("the demo left its database behind: %q, %v", left, err)
	}
}
