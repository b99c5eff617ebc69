package main

// The job binary started the way a RunTask override could start it: SSL_CERT_FILE or
// SSL_CERT_DIR naming an impostor's certificate, or SSL_CERT_FILE=/proc/self/environ with the
// certificate in another variable. The impostor, on loopback with a certificate for 127.0.0.1,
// asks for the password in clear text once the job accepts its certificate. (job/connect's
// TestSSLCert* do the same at a non-loopback address in a network namespace.)

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tally/uptime/internal/contract"
)

// impostor is a TLS server for 127.0.0.1 with a self-signed certificate; it records everything it
// reads inside TLS.
type impostor struct {
	certPEM  []byte
	port     int
	mu       sync.Mutex
	conns    int
	received bytes.Buffer
}

func startImpostor(t *testing.T) *impostor {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "impostor"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	s := &impostor{certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	s.port = serveLoopback(t, func(c net.Conn) {
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		s.serve(c, cfg)
	})
	return s
}

// serve answers the SSLRequest with 'S' and, if the client accepts the certificate, asks for the
// password in clear text and keeps what comes.
func (s *impostor) serve(c net.Conn, cfg *tls.Config) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 8)); err != nil {
		return
	}
	_, _ = c.Write([]byte{'S'})
	tc := tls.Server(c, cfg)
	if tc.Handshake() != nil {
		return
	}
	var size [4]byte
	if _, err := io.ReadFull(tc, size[:]); err != nil {
		return
	}
	_, _ = io.CopyN(io.Discard, tc, int64(binary.BigEndian.Uint32(size[:]))-4) // the startup message
	_, _ = tc.Write([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 3})                       // AuthenticationCleartextPassword
	buf := make([]byte, 4096)
	n, _ := io.ReadAtLeast(tc, buf, 1)
	s.mu.Lock()
	s.received.Write(buf[:n])
	s.mu.Unlock()
}

func TestImpostorRootsFromTheEnvironment(t *testing.T) {
	t.Parallel()
	const password = "Tr0ub4dor&3-horse"
	for name, set := range map[string]func(env map[string]string, s *impostor, dir string){
		"SSL_CERT_FILE=/proc/self/environ": func(env map[string]string, s *impostor, _ string) {
			env["SSL_CERT_FILE"] = "/proc/self/environ"
			env["IMPOSTOR_PEM"] = "\n" + string(s.certPEM) // a line break first: PEM starts on a line of its own
		},
		"SSL_CERT_FILE": func(env map[string]string, _ *impostor, dir string) {
			env["SSL_CERT_FILE"] = filepath.Join(dir, "impostor.pem")
		},
		"SSL_CERT_DIR": func(env map[string]string, _ *impostor, dir string) { env["SSL_CERT_DIR"] = dir },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startImpostor(t)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "impostor.pem"), s.certPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			env := jobEnv(fmt.Sprintf("postgres://tally:%s@127.0.0.1:%d/tally", password, s.port))
			set(env, s, dir)
			r := runJob(t, env)
			r.expect(t, contract.ExitRuntime)
			r.oneStderrLine(t, "certificate signed by unknown authority")
			if !r.logged("variable ignored") {
				t.Errorf("no record says the variable was ignored:\n%s", r.Stdout)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			seen := bytes.Count(s.received.Bytes(), []byte(password)) * len(password)
			t.Logf("the impostor: %d connection(s), %d password bytes", s.conns, seen)
			if seen != 0 || s.conns != 1 {
				t.Errorf("the impostor got %d connection(s) and %d password bytes", s.conns, seen)
			}
		})
	}
}
