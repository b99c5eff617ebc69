package testdb

import (
	"fmt"
	"testing"
)

// Clone creates a database with db's contents and drops it when t ends, for runs that must start
// from the same seeded data without seeding it again. PostgreSQL copies a database only while
// nobody is connected to it, so db's own connection pool must be closed first.
func (db *DB) Clone(t testing.TB) *DB {
	t.Helper()
	admin := adminDB(t)
	name := databaseName(t.Name())
	// FILE_COPY (PostgreSQL 15 and later) copies the files instead of writing the whole database
	// into the write-ahead log, which would fill it with gigabytes a benchmark then pays for.
	strategy := ""
	var version int
	if err := admin.Get(&version, "SELECT current_setting('server_version_num')::int"); err != nil {
		t.Fatalf("server version: %v", err)
	}
	if version >= 150000 {
		strategy = " STRATEGY = FILE_COPY"
	}
	mustExec(t, admin, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s%s", name, db.Name, strategy))
	return adopt(t, admin, name)
}
