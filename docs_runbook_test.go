package uptime

import (
	"context"
	"database/sql"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/testdb"
	"github.com/tally/uptime/job/store"

	"github.com/tally/uptime/internal/markdown"
)

// runbookSQL is the SQL block that follows marker in the runbook.
func runbookSQL(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile(runbookPath)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), marker)
	if !ok {
		t.Fatalf("%s lost the line %q", runbookPath, marker)
	}
	m := regexp.MustCompile("(?s)^\\s*```sql\n(.*?)```").FindStringSubmatch(after)
	if m == nil {
		t.Fatalf("%s: no ```sql block right after %q", runbookPath, marker)
	}
	return m[1]
}

// TestRunbookFindsTheLockHolder runs the runbook's exit-4 query while one session holds the run
// lock the way the job takes it (store.LockKey, transaction-level), and requires that it names
// that session, and nobody once the transaction ended.
func TestRunbookFindsTheLockHolder(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("TEST_DATABASE_URL is not set (scripts/test.sh sets it)")
	}
	query := runbookSQL(t, "<!-- lock holder query: TestRunbookFindsTheLockHolder runs it -->")
	db := testdb.New(t)
	ctx := context.Background()

	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	var pid int
	if err := holder.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	tx, err := holder.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var locked bool
	if err := tx.QueryRowContext(ctx, "SELECT pg_try_advisory_xact_lock($1)", store.LockKey).Scan(&locked); err != nil || !locked {
		t.Fatalf("take the run lock: %v, %v", locked, err)
	}

	pids := func() []int {
		t.Helper()
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			t.Fatalf("the runbook's query: %v", err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var found []int
		for rows.Next() {
			vals := make([]any, len(cols))
			for i := range vals {
				vals[i] = new(sql.RawBytes)
			}
			vals[0] = new(int)
			if err := rows.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			found = append(found, *vals[0].(*int))
		}
		return found
	}
	if got := pids(); len(got) != 1 || got[0] != pid {
		t.Errorf("while session %d holds the run lock, the runbook's query names %v", pid, got)
	}
	// Another advisory lock is not the run lock.
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", store.LockKey+1); err != nil {
		t.Fatal(err)
	}
	if got := pids(); len(got) != 1 {
		t.Errorf("with one more advisory lock held, the runbook's query names %v, want only the run lock's holder", got)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := pids(); len(got) != 0 {
		t.Errorf("after the holder's transaction ended, the runbook's query still names %v", got)
	}
}

// TestRunbookStartsWithTheQuickPath: the first section an on-call sees is the quick path, ten
// lines at most, and it covers every exit code the failure mail can carry.
func TestRunbookStartsWithTheQuickPath(t *testing.T) {
	b, err := os.ReadFile(runbookPath)
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(b), "\n## ")
	title, body, _ := strings.Cut(after, "\n")
	if title != "Quick path" {
		t.Fatalf("the runbook's first section is %q, want the quick path", title)
	}
	body, _, _ = strings.Cut(body, "\n## ")
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > 10 {
		t.Errorf("the quick path has %d lines, want at most 10", len(lines))
	}
	for _, code := range []string{"Exit 1", "Exit 2", "Exit 3", "Exit 4", "Exit 5", "137", "143", "failed to start"} {
		if !strings.Contains(body, code) {
			t.Errorf("the quick path does not say what to do for %q", code)
		}
	}
}

// TestRunbookLinksResolve: every link to a section of the runbook, from the runbook itself and
// from the other documents, names a heading it has.
func TestRunbookLinksResolve(t *testing.T) {
	b, err := os.ReadFile(runbookPath)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(b), -1) {
		anchors[markdown.Anchor(m[1])] = true
	}
	sources := map[string]*regexp.Regexp{
		runbookPath:            regexp.MustCompile(`\]\(#([^)]+)\)`),
		"README.md":            regexp.MustCompile(`\]\(docs/runbook\.md#([^)]+)\)`),
		"docs/deploy.md":       regexp.MustCompile(`\]\(runbook\.md#([^)]+)\)`),
		"docs/architecture.md": regexp.MustCompile(`\]\(runbook\.md#([^)]+)\)`),
	}
	links := 0
	for file, re := range sources {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			links++
			if !anchors[m[1]] {
				t.Errorf("%s links to %s#%s, which is no heading there", file, runbookPath, m[1])
			}
		}
	}
	if links < 8 {
		t.Errorf("only %d links to runbook sections found; the quick path links its sections", links)
	}
}
