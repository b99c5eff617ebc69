package connect_test

// lib/pq, given a TLS configuration of the job's, still looks for files of its own: a client
// certificate and key (sslcert/sslkey, or ~/.postgresql/postgresql.crt and .key), and roots
// (sslrootcert, or ~/.postgresql/root.crt) that would replace the job's. Whoever can write the
// task's home directory or set its variables must not change whom the job trusts or what it
// presents.

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// certServer is a TLS server on 127.0.0.1 that asks every client for a certificate and records
// whether the handshake completed, whether the client presented one, and every byte after it.
type certServer struct {
	ln        net.Listener
	mu        sync.Mutex
	handshake int // completed handshakes
	presented int // client certificates received
	received  []byte
	wg        sync.WaitGroup
}

func startCertServer(t *testing.T, cert tls.Certificate) *certServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &certServer{ln: ln}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c, cfg) })
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *certServer) serve(c net.Conn, cfg *tls.Config) {
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	request := make([]byte, len(sslRequest))
	if _, err := c.Read(request); err != nil {
		return
	}
	_, _ = c.Write([]byte{'S'})
	tc := tls.Server(c, cfg)
	if tc.Handshake() != nil {
		return
	}
	s.mu.Lock()
	s.handshake++
	s.presented += len(tc.ConnectionState().PeerCertificates)
	s.mu.Unlock()
	buf := make([]byte, 4096)
	n, _ := tc.Read(buf) // the startup message; then the server hangs up
	s.mu.Lock()
	s.received = append(s.received, buf[:n]...)
	s.mu.Unlock()
}

// libpqFiles puts a client certificate and key and a root of another CA everywhere lib/pq would
// look for them: the home directory and the PGSSL* variables.
func libpqFiles(t *testing.T, client *testCA, otherRoot []byte) {
	home := t.TempDir()
	dir := filepath.Join(home, ".postgresql")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := client.issue(t, []string{"tally"})
	crt := writeFile(t, dir, "postgresql.crt", certPEM, 0o600)
	key := writeFile(t, dir, "postgresql.key", keyPEM, 0o600)
	root := writeFile(t, dir, "root.crt", otherRoot, 0o600)
	t.Setenv("HOME", home)
	t.Setenv("PGSSLCERT", crt)
	t.Setenv("PGSSLKEY", key)
	t.Setenv("PGSSLROOTCERT", root)
	t.Setenv("PGSSLMODE", "require")
}

func TestNoClientCertificateAndNoRootsOfLibpq(t *testing.T) {
	ours, theirs := newTestCA(t, "the job's CA"), newTestCA(t, "a CA planted in the home directory")
	libpqFiles(t, ours, theirs.pem)
	oursFile := writeFile(t, t.TempDir(), "ca.pem", ours.pem, 0o644)
	const password = "Tr0ub4dor&3-horse"

	for _, c := range []struct {
		name    string
		issuer  *testCA
		query   string
		trusted bool
	}{
		// The job's sslrootcert is the roots, not ~/.postgresql/root.crt; and it presents nothing.
		{"a server the URL's sslrootcert trusts", ours, "?sslrootcert=" + oursFile, true},
		// Only ~/.postgresql/root.crt (and PGSSLROOTCERT) would trust this one.
		{"a server only the home directory's root.crt trusts", theirs, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			certPEM, keyPEM := c.issuer.issue(t, nil, "127.0.0.1")
			cert, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			s := startCertServer(t, cert)
			url := fmt.Sprintf("postgres://tally:%s@%s/tally%s", password, s.ln.Addr(), c.query)
			_, err = Open(context.Background(), url, 0, quiet)
			t.Logf("Open: %v", err)
			s.ln.Close()
			s.wg.Wait()
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Logf("handshakes %d, client certificates %d, %d bytes after the handshake", s.handshake, s.presented, len(s.received))
			if err == nil {
				t.Fatal("Open succeeded against a server that hangs up")
			}
			if s.presented != 0 {
				t.Errorf("the job presented a client certificate (%d)", s.presented)
			}
			if c.trusted && (s.handshake != 1 || !strings.Contains(string(s.received), "tally")) {
				t.Errorf("%d handshake(s), %q received: the URL's sslrootcert was not what verified the server", s.handshake, s.received)
			}
			if !c.trusted && (!strings.Contains(err.Error(), "unknown authority") || !untrusted(err) || s.handshake != 0 || len(s.received) != 0) {
				t.Errorf("Open = %v after %d handshake(s): the home directory's root.crt was trusted", err, s.handshake)
			}
			if strings.Contains(string(s.received), password) {
				t.Error("the server got the password")
			}
		})
	}
}
