// Package testdb gives each test its own fresh PostgreSQL database with Tally's schema, cloned
// from a template so that a new database costs milliseconds. The schema is the app's own history:
// testdata/tally/ replays the DDL of its Django migrations in order, columns added and dropped
// included, so that the job meets what a production database has accumulated.
//
// The server comes from TEST_DATABASE_URL, a superuser URL; scripts/test.sh sets it to a
// throwaway cluster. Tests fail, rather than skip, without it: a suite that silently skips its
// database tests proves nothing.
package testdb

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver
)

// DB is one test's database.
type DB struct {
	*sqlx.DB
	Name string
	URL  string // a superuser URL to this database, for a job started as a subprocess
}

type config struct {
	icuLocale   string
	handWritten bool
}

// Option changes how New creates the database.
type Option func(*config)

// WithICULocale creates the database with an ICU collation (e.g. "en-US") instead of the
// cluster's default, for tests of ordering under a non-C collation.
func WithICULocale(locale string) Option { return func(c *config) { c.icuLocale = locale } }

// WithHandWrittenSchema creates the database from testdata/schema.sql, the end state of the
// job's tables as written by hand before the app's history was replayed: only for the test that
// the job writes the same rows on both.
func WithHandWrittenSchema() Option { return func(c *config) { c.handWritten = true } }

// New creates a database for t and drops it when t ends.
func New(t testing.TB, opts ...Option) *DB {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	admin := adminDB(t)
	name := databaseName(t.Name())
	ddl := History(t)
	if cfg.handWritten {
		ddl = readFile(t, filepath.Join(testdata(), "schema.sql"))
	}
	if cfg.icuLocale == "" {
		mustExec(t, admin, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template(t, admin, ddl)))
	} else {
		mustExec(t, admin, fmt.Sprintf(
			"CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE '%s'",
			name, strings.ReplaceAll(cfg.icuLocale, "'", "")))
	}
	db := adopt(t, admin, name)
	if cfg.icuLocale != "" {
		mustExec(t, db.DB, ddl)
	}
	return db
}

// Reopen connects to db afresh, for tests that change settings applied at connection time.
func Reopen(t testing.TB, db *DB) *DB {
	t.Helper()
	conn, err := sqlx.Open("postgres", db.URL)
	if err != nil {
		t.Fatalf("reopen test database: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &DB{DB: conn, Name: db.Name, URL: db.URL}
}

// AdminURL is the superuser URL the tests run against.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		t.Fatal("TEST_DATABASE_URL is not set: run scripts/test.sh, or point it at a PostgreSQL superuser URL")
	}
	return u
}

// testdata is the repository's testdata directory.
func testdata() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata")
}

// History is the DDL of the app's migrations, testdata/tally/NNN_*.sql in order, as one script.
func History(t testing.TB) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testdata(), "tally", "[0-9][0-9][0-9]_*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration DDL in testdata/tally (%v)", err)
	}
	slices.Sort(files)
	var b strings.Builder
	for _, f := range files {
		b.WriteString(readFile(t, f))
		b.WriteString("\n")
	}
	return b.String()
}

var (
	adminOnce sync.Mutex
	admin     *sqlx.DB

	templateOnce  sync.Mutex
	templateNames = map[string]string{} // by the DDL's hash
)

func adminDB(t testing.TB) *sqlx.DB {
	t.Helper()
	adminOnce.Lock()
	defer adminOnce.Unlock()
	if admin != nil {
		return admin
	}
	db, err := sqlx.Open("postgres", AdminURL(t))
	if err != nil {
		t.Fatalf("open TEST_DATABASE_URL: %v", err)
	}
	if err := db.Ping(); err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	admin = db
	return admin
}

// template returns the name of a database holding the schema ddl creates, creating it once per
// schema version. Several test binaries run at once, so the creation is serialised by an
// advisory lock.
func template(t testing.TB, admin *sqlx.DB, ddl string) string {
	t.Helper()
	templateOnce.Lock()
	defer templateOnce.Unlock()
	sum := sha256.Sum256([]byte(ddl))
	name := "uptime_template_" + hex.EncodeToString(sum[:6])
	if templateNames[name] != "" {
		return name
	}

	conn, err := admin.Conn(t.Context())
	if err != nil {
		t.Fatalf("template: %v", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "SELECT pg_advisory_lock(7301)"); err != nil {
		t.Fatalf("template lock: %v", err)
	}
	defer func() { _, _ = conn.ExecContext(t.Context(), "SELECT pg_advisory_unlock(7301)") }()
	var exists bool
	if err := conn.QueryRowContext(t.Context(),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatalf("template lookup: %v", err)
	}
	if !exists {
		if _, err := conn.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
			t.Fatalf("create template: %v", err)
		}
		tdb, err := sqlx.Open("postgres", urlFor(t, name))
		if err != nil {
			t.Fatalf("open template: %v", err)
		}
		_, err = tdb.Exec(ddl)
		tdb.Close()
		if err != nil {
			t.Fatalf("load schema into template: %v", err)
		}
	}
	templateNames[name] = name
	return name
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", filepath.Base(path), err)
	}
	return string(b)
}

func urlFor(t testing.TB, dbName string) string {
	t.Helper()
	u, err := url.Parse(AdminURL(t))
	if err != nil {
		t.Fatal("TEST_DATABASE_URL is not a valid URL")
	}
	u.Path = "/" + dbName
	return u.String()
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

func databaseName(testName string) string {
	base := unsafeChars.ReplaceAllString(strings.ToLower(testName), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	return "uptime_t_" + base + "_" + hex.EncodeToString(suffix)
}

func dropDatabase(t testing.TB, admin *sqlx.DB, name string) {
	if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
		t.Errorf("drop test database %s: %v", name, err)
	}
}

func mustExec(t testing.TB, db *sqlx.DB, query string) {
	t.Helper()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%s: %v", firstLine(query), err)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// adopt opens the database name, just created for this test, and drops it when the test ends.
func adopt(t testing.TB, admin *sqlx.DB, name string) *DB {
	t.Helper()
	t.Cleanup(func() { dropDatabase(t, admin, name) })
	dbURL := urlFor(t, name)
	conn, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatalf("open test database %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &DB{DB: conn, Name: name, URL: dbURL}
}
