package connect_test

// An attacker who can set the task's variables (a RunTask override) but not DATABASE_URL: Go's
// crypto/x509 adds the certificates SSL_CERT_FILE and SSL_CERT_DIR name to the system roots, and
// SSL_CERT_FILE=/proc/self/environ turns any other variable holding a PEM certificate into a root.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSSLCertFileEnvironTrick(t *testing.T) {
	impostorCase(t, func(string) { t.Setenv("SSL_CERT_FILE", "/proc/self/environ") })
}

func TestSSLCertFile(t *testing.T) {
	impostorCase(t, func(dir string) { t.Setenv("SSL_CERT_FILE", filepath.Join(dir, "impostor.pem")) })
}

func TestSSLCertDir(t *testing.T) {
	impostorCase(t, func(dir string) { t.Setenv("SSL_CERT_DIR", dir) })
}

// impostorCase: a fake server at the database's address presents a certificate for that address,
// which only the variable set by set (given a directory holding the certificate) could make the
// job trust. The variables are set before the test runs again in its network namespace, so that
// the namespace's process starts with them: /proc/self/environ is the environment a process was
// started with. The job reads the system roots from fixed paths, so the certificate is unknown.
func impostorCase(t *testing.T, set func(dir string)) {
	if os.Getenv(netnsVar) == "" {
		cert, certPEM := selfSigned(t, []string{"db.example.net"}, fakeAddr)
		key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		writeFile(t, dir, "impostor.pem", certPEM, 0o600)
		// A line break first: pem.Decode wants the BEGIN line at the start of a line.
		t.Setenv("IMPOSTOR_PEM", "\n"+string(certPEM))
		t.Setenv("IMPOSTOR_KEY", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})))
		set(dir)
	}
	if !inNetns(t) {
		return
	}
	pair, err := tls.X509KeyPair([]byte(os.Getenv("IMPOSTOR_PEM")), []byte(os.Getenv("IMPOSTOR_KEY")))
	if err != nil {
		t.Fatal(err)
	}
	s := serveFake(t, &fakeServer{cert: &pair, askPassword: true})
	_, err = Open(context.Background(), "postgres://tally:"+attackedPassword+"@"+fakeAddr+":"+s.port()+"/tally", 0, slog.New(slog.DiscardHandler))
	t.Logf("Open: %v", err)
	if err == nil || !strings.Contains(err.Error(), "unknown authority") || !untrusted(err) {
		t.Errorf("Open = %v, want a verification failure saying unknown authority", err)
	}
	s.ln.Close()
	s.wg.Wait()
	got := s.passwordBytes(attackedPassword)
	t.Logf("impostor: %d connection(s), %d bytes received, %d of them password bytes", s.conns, s.received.Len(), got)
	if got != 0 || s.conns != 1 {
		t.Errorf("the impostor got %d connection(s) and %d password bytes", s.conns, got)
	}
}

// The fixed paths are the system's roots: the same pool Go builds when the variables are unset.
func TestSystemRootsAreTheSystems(t *testing.T) {
	t.Setenv("SSL_CERT_FILE", "")
	t.Setenv("SSL_CERT_DIR", "")
	ours, err := systemRoots()
	if err != nil {
		t.Skipf("no system roots on this machine: %v", err)
	}
	gos, err := x509.SystemCertPool()
	if err != nil {
		t.Fatal(err)
	}
	if !ours.Equal(gos) {
		t.Error("the roots read from the fixed paths differ from x509.SystemCertPool's without the variables")
	}
}
