package testdb

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lib/pq"
)

// CopyRows copies every row of tables, in order, from src to dst: the columns the two schemas
// share, ids included, and moves each identity past the copied ids. It lets one data set be
// run against two schemas (the app's history and testdata/schema.sql).
func CopyRows(t testing.TB, src, dst *DB, tables ...string) {
	t.Helper()
	for _, table := range tables {
		cols := sharedColumns(t, src, dst, table)
		// The two databases are on one server: read them as text, write them as text.
		rows, err := src.Query(fmt.Sprintf("SELECT %s FROM public.%s", textColumns(cols), pq.QuoteIdentifier(table)))
		if err != nil {
			t.Fatalf("copy %s: %v", table, err)
		}
		var values [][]any
		for rows.Next() {
			row := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range row {
				ptrs[i] = &row[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("copy %s: %v", table, err)
			}
			values = append(values, row)
		}
		rows.Close()
		insertRows(t, dst, table, cols, values)
	}
}

// sharedColumns are the columns of table that both databases have, in dst's order.
func sharedColumns(t testing.TB, src, dst *DB, table string) []string {
	t.Helper()
	list := func(db *DB) []string {
		var cols []string
		if err := db.Select(&cols, `SELECT quote_ident(attname) FROM pg_attribute
			WHERE attrelid = to_regclass('public.' || $1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, table); err != nil {
			t.Fatalf("copy %s: %v", table, err)
		}
		return cols
	}
	have := map[string]bool{}
	for _, c := range list(src) {
		have[c] = true
	}
	var shared []string
	for _, c := range list(dst) {
		if have[c] {
			shared = append(shared, c)
		}
	}
	return shared
}

func textColumns(cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c + "::text"
	}
	return strings.Join(out, ", ")
}

func insertRows(t testing.TB, dst *DB, table string, cols []string, values [][]any) {
	t.Helper()
	tx, err := dst.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(fmt.Sprintf("COPY public.%s (%s) FROM STDIN", pq.QuoteIdentifier(table), strings.Join(cols, ", ")))
	if err != nil {
		t.Fatalf("copy into %s: %v", table, err)
	}
	for _, v := range values {
		if _, err := stmt.Exec(v...); err != nil {
			t.Fatalf("copy into %s: %v", table, err)
		}
	}
	if _, err := stmt.Exec(); err != nil {
		t.Fatalf("copy into %s: %v", table, err)
	}
	if _, err := tx.Exec(fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('public.%s', 'id'), coalesce(max(id), 0) + 1, false)
		FROM public.%s`, table, pq.QuoteIdentifier(table))); err != nil {
		t.Fatalf("move %s's identity: %v", table, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
