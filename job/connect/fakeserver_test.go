package connect_test

// An attacker on the network path: a fake PostgreSQL server at a non-loopback address, which either
// refuses TLS (hoping for a cleartext startup) or presents a certificate of its own. The password
// must never reach it.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAddr is a documentation address (TEST-NET-1) that exists only inside the test's own network
// namespace, on its loopback interface: the job sees a remote host, and no packet leaves.
const fakeAddr = "192.0.2.10"

const netnsVar = "UPTIME_TEST_NETNS"

// inNetns reports whether the calling test runs inside its private network namespace, where
// fakeAddr is a local address. Called outside, it runs the test again under `unshare -n` and
// reports its outcome, and returns false.
func inNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsVar) == t.Name() {
		for _, args := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", fakeAddr + "/32", "dev", "lo"}} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return true
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("the ip command (iproute2) is missing: it sets up the test's network namespace")
	}
	if err := exec.Command("unshare", "-n", "true").Run(); err != nil {
		t.Skipf("cannot create a network namespace here (unshare -n: %v); the test needs one for a non-loopback address", err)
	}
	cmd := exec.Command("unshare", "-n", os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1") //nolint:gosec // the test binary itself, with its own test's name
	cmd.Env = append(os.Environ(), netnsVar+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("in a private network namespace:\n%s", out)
	if err != nil {
		t.Fatalf("the test failed in its network namespace: %v", err)
	}
	return false
}

// fakeServer records every byte it receives, before and (if a handshake succeeds) inside TLS.
type fakeServer struct {
	ln   net.Listener
	cert *tls.Certificate // nil: answer 'N' to the SSLRequest
	// answer, when set, is sent instead of 'N' or 'S' in reply to the SSLRequest.
	answer []byte
	// askPassword: once the client accepted the certificate, answer its startup message with
	// AuthenticationCleartextPassword, as an impostor wanting the password would.
	askPassword bool
	mu          sync.Mutex
	received    bytes.Buffer
	conns       int
	wg          sync.WaitGroup
}

func startFakeServer(t *testing.T, cert *tls.Certificate) *fakeServer {
	t.Helper()
	return serveFake(t, &fakeServer{cert: cert})
}

// serveFake starts s listening at fakeAddr.
func serveFake(t *testing.T, s *fakeServer) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(fakeAddr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *fakeServer) port() string {
	return s.ln.Addr().(*net.TCPAddr).AddrPort().String()[len(fakeAddr)+1:]
}

func (s *fakeServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.serve(c) }()
	}
}

func (s *fakeServer) serve(c net.Conn) {
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	first := make([]byte, 8)
	n, _ := io.ReadFull(c, first)
	s.record(first[:n])
	if !bytes.Equal(first[:n], sslRequest) {
		s.drain(c) // a client that skipped TLS: keep everything it sends
		return
	}
	if s.answer != nil {
		_, _ = c.Write(s.answer)
		s.drain(c)
		return
	}
	if s.cert == nil {
		_, _ = c.Write([]byte{'N'})
		s.drain(c)
		return
	}
	_, _ = c.Write([]byte{'S'})
	tc := tls.Server(recorder{Conn: c, s: s}, &tls.Config{Certificates: []tls.Certificate{*s.cert}})
	if err := tc.Handshake(); err != nil {
		return
	}
	if s.askPassword {
		s.askForPassword(tc)
	}
	s.drain(tc) // the client accepted the certificate: whatever it says now is in the clear to us
}

// askForPassword reads the startup message and asks for the password in clear text.
func (s *fakeServer) askForPassword(c net.Conn) {
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return
	}
	s.record(size[:])
	body := make([]byte, max(int(binary.BigEndian.Uint32(size[:])), 4)-4)
	n, _ := io.ReadFull(c, body)
	s.record(body[:n])
	_, _ = c.Write([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 3})
}

func (s *fakeServer) drain(r io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		s.record(buf[:n])
		if err != nil {
			return
		}
	}
}

func (s *fakeServer) record(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received.Write(b)
}

// recorder keeps the raw TLS bytes too, so that a password sent in any form is found.
type recorder struct {
	net.Conn
	s *fakeServer
}

func (r recorder) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.s.record(b[:n])
	return n, err
}

// passwordBytes is how many received bytes belong to occurrences of password.
func (s *fakeServer) passwordBytes(password string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Count(s.received.Bytes(), []byte(password)) * len(password)
}

// hostileEnv sets every variable with which lib/pq would connect elsewhere or without TLS.
func hostileEnv(t *testing.T, rootCert string) {
	dir := t.TempDir()
	service := writeFile(t, dir, "pg_service.conf", []byte("[evil]\nhost=127.0.0.1\nsslmode=disable\n"), 0o600)
	for k, v := range map[string]string{
		"PGSSLMODE": "disable", "PGHOST": "127.0.0.1", "PGHOSTADDR": "127.0.0.1", "PGPORT": "1",
		"PGPASSWORD": "from-the-environment", "PGSSLROOTCERT": rootCert, "PGSERVICE": "evil",
		"PGSERVICEFILE": service, "PGSSLCERT": "/nonexistent.crt", "PGSSLKEY": "/nonexistent.key",
		"PGREQUIRESSL": "0", "PGSSLNEGOTIATION": "direct", "PGCONNECT_TIMEOUT": "1", "PGDATABASE": "postgres",
	} {
		t.Setenv(k, v)
	}
}

const attackedPassword = "Tr0ub4dor&3-horse"

func TestFakeServerRefusingTLS(t *testing.T) {
	if !inNetns(t) {
		return
	}
	hostileEnv(t, "")
	s := startFakeServer(t, nil)
	for _, url := range []string{
		"postgres://tally:" + attackedPassword + "@" + fakeAddr + ":" + s.port() + "/tally",
		"postgres://tally:" + attackedPassword + "@" + fakeAddr + ":" + s.port() + "/tally?sslmode=verify-full",
	} {
		_, err := Open(context.Background(), url, 0, slog.New(slog.DiscardHandler))
		if !errors.Is(err, ErrNoTLS) {
			t.Errorf("Open = %v, want ErrNoTLS", err)
		}
		if err != nil && strings.Contains(err.Error(), attackedPassword) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	s.ln.Close()
	s.wg.Wait()
	got := s.passwordBytes(attackedPassword)
	t.Logf("password bytes seen by the fake server: %d (%d bytes in all over %d connections)", got, s.received.Len(), s.conns)
	// Nothing but one SSLRequest per connection: no startup packet, no user name, no password.
	if got != 0 || s.received.Len() != s.conns*len(sslRequest) || s.conns == 0 {
		t.Errorf("the fake server received %q over %d connections", s.received.Bytes(), s.conns)
	}
}

func TestFakeServerWithItsOwnCertificate(t *testing.T) {
	if !inNetns(t) {
		return
	}
	wrongName, wrongNamePEM := selfSigned(t, []string{"wrong.example.net"})
	rightName, _ := selfSigned(t, []string{"db.example.net"}, fakeAddr)
	rootCert := writeFile(t, t.TempDir(), "its-own.pem", wrongNamePEM, 0o600)
	hostileEnv(t, rootCert)
	wrong, right := startFakeServer(t, &wrongName), startFakeServer(t, &rightName)
	at := func(s *fakeServer) string {
		return "postgres://tally:" + attackedPassword + "@" + fakeAddr + ":" + s.port() + "/tally"
	}
	for _, c := range []struct{ name, url, want string }{
		{"a certificate for another name", at(wrong), "doesn't contain any IP SANs"},
		// Trusted as a root here: only the name check of verify-full stops it (verify-ca would not).
		{"a certificate for another name, given as sslrootcert", at(wrong) + "?sslrootcert=" + rootCert, "doesn't contain any IP SANs"},
		{"a certificate for the right address from an unknown CA", at(right), "unknown authority"},
	} {
		_, err := Open(context.Background(), c.url, 0, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), c.want) || !untrusted(err) {
			t.Errorf("%s: Open = %v, want a verification failure saying %q", c.name, err, c.want)
		}
		t.Logf("%s: %v", c.name, err)
	}
	for _, s := range []*fakeServer{wrong, right} {
		s.ln.Close()
		s.wg.Wait()
		got := s.passwordBytes(attackedPassword)
		t.Logf("password bytes seen by the fake server: %d (%d bytes in all over %d connections)", got, s.received.Len(), s.conns)
		if got != 0 || s.conns == 0 {
			t.Errorf("%d password bytes over %d connections", got, s.conns)
		}
	}
}
