package testdb

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
)

// Cluster is a PostgreSQL server of a test's own, for tests that stop and start the server: the
// shared server in TEST_DATABASE_URL must stay up for every other test. It listens on a loopback
// port that stays the same across Stop and Start, so a job's DATABASE_URL keeps working.
type Cluster struct {
	Port   int
	dir    string // holds data/, the socket and server.log; owned by the server's OS user
	bindir string
	asUser string // the OS user the server runs as when the tests run as root; "" otherwise
}

// NewCluster runs initdb in a directory of its own and starts the server; the test's cleanup stops
// it and removes the directory. The test is skipped, saying why, only when the PostgreSQL server
// binaries are not installed.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bindir := postgresBindir()
	if bindir == "" {
		t.Skip("PostgreSQL server binaries (initdb, pg_ctl) not found: install PostgreSQL 15 or set PG_BIN to their directory")
	}
	// Not t.TempDir(): its parent directories are private to this user, and when the tests run as
	// root the server runs as postgres, which must reach its data directory.
	dir, err := os.MkdirTemp("", "uptime-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{dir: dir, bindir: bindir}
	t.Cleanup(func() {
		// -m immediate: the test is over, nothing needs a clean shutdown.
		_ = c.pgCtl("stop", "-D", c.dataDir(), "-m", "immediate", "-w").Run()
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root and there is no postgres OS user to run a PostgreSQL server as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.asUser = "postgres"
	}
	initdb := c.command(filepath.Join(bindir, "initdb"), "-D", c.dataDir(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C.UTF-8", "-N")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.Port = freePort(t)
	c.Start(t)
	return c
}

// URL is a superuser URL to the named database on this cluster.
func (c *Cluster) URL(dbName string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, dbName)
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	settings := []string{
		"listen_addresses=127.0.0.1", "port=" + strconv.Itoa(c.Port), "unix_socket_directories=" + c.dir,
		"max_connections=50",
		// fsync off is safe against a crash of the server process (the OS keeps its writes); an
		// asynchronous commit is not: "stop -m immediate" would lose the last commits.
		"fsync=off", "full_page_writes=off",
	}
	opts := "-c " + strings.Join(settings, " -c ")
	start := c.pgCtl("start", "-w", "-t", "60", "-D", c.dataDir(), "-l", filepath.Join(c.dir, "server.log"), "-o", opts)
	if out, err := start.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		t.Fatalf("pg_ctl start: %v\n%s\nserver log:\n%s", err, out, log)
	}
}

// Stop stops the server. mode is pg_ctl's: "fast" ends every session with an error and shuts down
// cleanly, "immediate" ends the server as a crash would (recovery runs at the next start).
func (c *Cluster) Stop(t testing.TB, mode string) {
	t.Helper()
	if out, err := c.pgCtl("stop", "-w", "-t", "60", "-D", c.dataDir(), "-m", mode).CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop -m %s: %v\n%s", mode, err, out)
	}
}

// Signal runs pg_ctl with args against the cluster, e.g. ("stop", "-m", "smart", "-W") to begin a
// shutdown without waiting for it.
func (c *Cluster) Signal(t testing.TB, args ...string) {
	t.Helper()
	args = append(args, "-D", c.dataDir())
	if out, err := c.pgCtl(args...).CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// NewDB creates a database with Tally's schema on the cluster and runs each of setup in it
// (e.g. testdata/sample.sql). Its connections do not survive a Stop: Reopen it after a Start.
func (c *Cluster) NewDB(t testing.TB, name string, setup ...string) *DB {
	t.Helper()
	admin := c.open(t, "postgres")
	mustExec(t, admin, "CREATE DATABASE "+name)
	db := &DB{DB: c.open(t, name), Name: name, URL: c.URL(name)}
	mustExec(t, db.DB, History(t))
	for _, q := range setup {
		mustExec(t, db.DB, q)
	}
	return db
}

func (c *Cluster) open(t testing.TB, dbName string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", c.URL(dbName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) pgCtl(args ...string) *exec.Cmd {
	return c.command(filepath.Join(c.bindir, "pg_ctl"), args...)
}

// command runs name as the server's OS user.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	if c.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", c.asUser, "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

// postgresBindir finds initdb and pg_ctl as scripts/lib/postgres.sh does: $PG_BIN, the newest
// /usr/lib/postgresql/*/bin, /usr/local/pgsql/bin, then $PATH.
func postgresBindir() string {
	usable := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	var candidates []string
	if dir := os.Getenv("PG_BIN"); dir != "" {
		candidates = append(candidates, dir)
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(debian, func(a, b string) int { return version(b) - version(a) })
	candidates = append(candidates, debian...)
	candidates = append(candidates, "/usr/local/pgsql/bin")
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		if usable(dir) {
			return dir
		}
	}
	return ""
}

// version is the major version in /usr/lib/postgresql/<major>/bin.
func version(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

// freePort is a loopback port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
