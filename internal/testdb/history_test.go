package testdb

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// endStateSQL lists a database's tables, columns and constraints in testdata/tally/models.txt's
// form: one line per column (table.column type null|not null) and per constraint.
const endStateSQL = `
	WITH tables AS (
	    SELECT c.oid, c.relname FROM pg_class AS c
	    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'),
	columns AS (
	    SELECT t.relname || '.' || a.attname || ' ' ||
	           replace(replace(replace(format_type(a.atttypid, a.atttypmod),
	               'character varying', 'varchar'), 'timestamp with time zone', 'timestamptz'), ', ', ',') ||
	           CASE WHEN a.attnotnull THEN ' not null' ELSE ' null' END AS line
	    FROM tables AS t JOIN pg_attribute AS a ON a.attrelid = t.oid
	    WHERE a.attnum > 0 AND NOT a.attisdropped),
	constraints AS (
	    SELECT t.relname || ' constraint: ' ||
	           lower(replace(regexp_replace(pg_get_constraintdef(k.oid), '^CHECK \(\((.*)\)\)$', 'CHECK (\1)'),
	                 '"', '')) AS line
	    FROM tables AS t JOIN pg_constraint AS k ON k.conrelid = t.oid),
	partial_indexes AS (
	    SELECT t.relname || ' constraint: unique index ' || i.relname || ' (' ||
	           (SELECT string_agg(a.attname, ', ') FROM pg_attribute AS a
	            WHERE a.attrelid = t.oid AND a.attnum = ANY (x.indkey)) || ') where ' ||
	           lower(pg_get_expr(x.indpred, x.indrelid)) AS line
	    FROM tables AS t JOIN pg_index AS x ON x.indrelid = t.oid JOIN pg_class AS i ON i.oid = x.indexrelid
	    WHERE x.indisunique AND x.indpred IS NOT NULL)
	SELECT line FROM columns UNION ALL SELECT line FROM constraints UNION ALL SELECT line FROM partial_indexes`

// The replayed migrations end where the app's models say they do: every table, column, type,
// nullability and constraint of testdata/tally/models.txt, and nothing else. models.txt was
// written from the models, not from the SQL, so a mistake in either shows here.
func TestHistoryEndsAtTheModels(t *testing.T) {
	db := New(t)
	var got []string
	if err := db.Select(&got, endStateSQL); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(testdata(), "tally", "models.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(b)), "\n")
	slices.Sort(got)
	slices.Sort(want)
	for _, line := range want {
		if _, found := slices.BinarySearch(got, line); !found {
			t.Errorf("the models have %q; the replayed history does not", line)
		}
	}
	for _, line := range got {
		if _, found := slices.BinarySearch(want, line); !found {
			t.Errorf("the replayed history has %q; the models do not", line)
		}
	}
}

// The history keeps what a long-lived database accumulates: columns its migrations dropped are
// still in pg_attribute, as they are in production.
func TestHistoryKeepsDroppedColumns(t *testing.T) {
	db := New(t)
	var dropped int
	if err := db.Get(&dropped, `SELECT count(*) FROM pg_attribute
		WHERE attrelid = 'public.contributions_contribution'::regclass AND attisdropped`); err != nil {
		t.Fatal(err)
	}
	if dropped == 0 {
		t.Error("contributions_contribution has no dropped column: the replay lost contributions 0007's RemoveField")
	}
}
