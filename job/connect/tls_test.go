package connect_test

import (
	"context"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tally/uptime/internal/testdb"
)

// tlsCluster is a PostgreSQL server of the test's own with ssl=on and a certificate for
// localhost and 127.0.0.1 issued by a CA made in the test; it returns the CA's file.
func tlsCluster(t *testing.T) (*testdb.Cluster, string) {
	t.Helper()
	c := testdb.NewCluster(t)
	ca := newTestCA(t, "uptime test CA")
	certPEM, keyPEM := ca.issue(t, []string{"localhost"}, "127.0.0.1")
	// Not t.TempDir(): the server runs as postgres and must reach the files.
	dir, err := os.MkdirTemp("", "uptime-tls-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cert := writeFile(t, dir, "server.crt", certPEM, 0o644)
	key := writeFile(t, dir, "server.key", keyPEM, 0o600)
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("no postgres OS user to own the server's key")
		}
		uid, _ := strconv.Atoi(u.Uid)
		for _, p := range []string{dir, cert, key} {
			if err := os.Chown(p, uid, -1); err != nil {
				t.Fatal(err)
			}
		}
	}
	admin := testdb.Reopen(t, &testdb.DB{URL: c.URL("postgres")})
	for _, q := range []string{
		"ALTER SYSTEM SET ssl_cert_file = '" + cert + "'",
		"ALTER SYSTEM SET ssl_key_file = '" + key + "'",
		"ALTER SYSTEM SET ssl = on",
		"SELECT pg_reload_conf()",
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var on string
		if err := admin.Get(&on, "SHOW ssl"); err != nil {
			t.Fatal(err)
		}
		if on == "on" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssl is still off 10 s after the reload")
		}
	}
	return c, writeFile(t, t.TempDir(), "ca.pem", ca.pem, 0o644)
}

func TestVerifyFullAgainstARealServer(t *testing.T) {
	c, caFile := tlsCluster(t)
	other := writeFile(t, t.TempDir(), "other-ca.pem", newTestCA(t, "another CA").pem, 0o644)
	hostileEnv(t, other)
	port := strconv.Itoa(c.Port)
	log := slog.New(slog.DiscardHandler)

	for _, host := range []string{"127.0.0.1", "localhost"} {
		db, err := Open(context.Background(), "postgres://postgres@"+host+":"+port+"/postgres?sslrootcert="+caFile, 0, log)
		if err != nil {
			t.Fatalf("verify-full to %s with the test CA: %v", host, err)
		}
		var ssl bool
		var version string
		err = db.QueryRow(`SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl, &version)
		db.Close()
		if err != nil || !ssl {
			t.Fatalf("%s: the session is not encrypted (ssl %v, %v)", host, ssl, err)
		}
		t.Logf("verify-full to %s:%s with sslrootcert: connected over %s", host, port, version)
	}

	for _, c := range []struct{ name, query, want string }{
		{"another CA as sslrootcert", "?sslrootcert=" + other, "unknown authority"},
		{"the RDS bundle and the system roots", "", "unknown authority"},
	} {
		_, err := Open(context.Background(), "postgres://postgres@127.0.0.1:"+port+"/postgres"+c.query, 0, log)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Open = %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := Open(context.Background(), "postgres://postgres@127.0.0.1:"+port+"/postgres?sslrootcert="+filepath.Join(t.TempDir(), "missing.pem"), 0, log); err == nil || !strings.Contains(err.Error(), "sslrootcert") {
		t.Errorf("a missing sslrootcert file: %v", err)
	}

	// A Unix socket has no TLS in PostgreSQL, and needs none: the kernel is the whole path.
	db, err := Open(context.Background(), "postgres://postgres@:"+port+"/postgres?host="+c.SocketDir(), 0, log)
	if err != nil {
		t.Fatalf("over the Unix socket: %v", err)
	}
	defer db.Close()
	var client *string
	if err := db.QueryRow(`SELECT inet_client_addr()::text`).Scan(&client); err != nil || client != nil {
		t.Errorf("over the Unix socket: client address %v (%v), want none", client, err)
	}
}
