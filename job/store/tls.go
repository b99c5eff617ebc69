package store

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	_ "embed" // the RDS CA bundle
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// rdsBundle is Amazon RDS's global CA bundle (scripts/refresh-rds-ca.sh refreshes it): the job
// verifies an RDS server without a file of its own in the image.
//
//go:embed certs/rds-global-bundle.pem
var rdsBundle []byte

// RDSBundle is the embedded Amazon RDS CA bundle, PEM-encoded.
func RDSBundle() []byte { return rdsBundle }

// ErrNoTLS means the server, or whatever answered in its place, would not start TLS.
var ErrNoTLS = errors.New("the server did not agree to TLS (it answered 'N' to the SSLRequest), and the job sends no credentials without a verified TLS connection; for a server on this machine without TLS, add sslmode=disable")

// handshakeTimeout bounds the SSLRequest and the TLS handshake when the caller set no deadline.
const handshakeTimeout = 15 * time.Second

// CheckRoots reads the roots the connection would verify the server against, so that an
// sslrootcert file that is missing, empty or holds no certificate is refused before the run, as
// the configuration error it is, rather than by the connection.
func (t Target) CheckRoots() error {
	if !t.TLS {
		return nil
	}
	_, err := rootPool(t.RootCert)
	return err
}

// RootVariables are the variables with which Go's x509.SystemCertPool adds roots on Linux; the
// job never reads them (systemRoots), and says so when they are set.
var RootVariables = []string{"SSL_CERT_FILE", "SSL_CERT_DIR"}

// rootPool is the set of CAs a server certificate must chain to.
func rootPool(rootCert string) (*x509.CertPool, error) {
	switch rootCert {
	case "":
		pool, err := systemRoots()
		if err != nil {
			pool = x509.NewCertPool() // no system roots (e.g. a scratch image): the RDS bundle alone
		}
		if !pool.AppendCertsFromPEM(rdsBundle) {
			return nil, errors.New("the embedded Amazon RDS CA bundle holds no certificate")
		}
		return pool, nil
	case "system":
		pool, err := systemRoots()
		if err != nil {
			return nil, fmt.Errorf("load the system's root certificates for sslrootcert=system: %w", err)
		}
		return pool, nil
	}
	if info, err := os.Stat(rootCert); err != nil {
		return nil, fmt.Errorf("read the sslrootcert file: %w", err)
	} else if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("the sslrootcert file %s is not a regular file", rootCert) // a FIFO or a device could block or never end
	}
	pem, err := os.ReadFile(rootCert) //nolint:gosec // the path is the operator's sslrootcert, read as libpq reads it
	if err != nil {
		return nil, fmt.Errorf("read the sslrootcert file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the sslrootcert file %s holds no PEM certificate", rootCert)
	}
	return pool, nil
}

// tlsConfig is verify-full: the chain must reach one of the roots, and the certificate must name
// the host the URL names (a DNS name, or an IP address in an IP SAN).
func (t Target) tlsConfig() (*tls.Config, error) {
	pool, err := rootPool(t.RootCert)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, ServerName: t.Host, MinVersion: tls.VersionTLS12}, nil
}

// sslRequest is PostgreSQL's SSLRequest message: length 8, code 80877103.
var sslRequest = []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}

// startTLS asks the server for TLS and completes a verified handshake before anything else is
// sent: lib/pq, told sslmode=disable, then speaks the protocol (and the password) over it.
func startTLS(ctx context.Context, conn net.Conn, cfg *tls.Config) (net.Conn, error) {
	deadline := time.Now().Add(handshakeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("start TLS: %w", err)
	}
	if _, err := conn.Write(sslRequest); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("start TLS: %w", err)
	}
	// Exactly one byte: anything the path adds after it must be part of the TLS handshake.
	var answer [1]byte
	if _, err := io.ReadFull(conn, answer[:]); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("start TLS: %w", err)
	}
	switch answer[0] {
	case 'S':
	case 'N':
		_ = conn.Close()
		return nil, ErrNoTLS
	case 'E':
		err := refusedBeforeTLS(conn)
		_ = conn.Close()
		return nil, err
	default:
		_ = conn.Close()
		return nil, fmt.Errorf("%w (it answered the SSLRequest with the byte 0x%02x)", errNotPostgreSQL, answer[0])
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("verify the server's TLS certificate: %w", err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		_ = tc.Close()
		return nil, fmt.Errorf("start TLS: %w", err)
	}
	return tc, nil
}

// errNotPostgreSQL is an answer to the SSLRequest that no PostgreSQL server gives.
var errNotPostgreSQL = errors.New("what answered at the database's address is not a PostgreSQL server")

// beforeTLSError is an ErrorResponse in answer to the SSLRequest: what a postmaster sends when it
// cannot start a process for the connection (out of processes or memory), and a reason to try
// again, not a verdict on the server. Its text comes before TLS, from whatever answered, so it is
// quoted as unverified (and escaped, and shortened), and nothing is sent after it.
type beforeTLSError struct{ text string }

func (e *beforeTLSError) Error() string {
	return fmt.Sprintf("the server answered the SSLRequest with an error instead of 'S' or 'N' (its text, unverified since it came before TLS: %q)", e.text)
}

// maxErrorBeforeTLS bounds what is read of such an error: PostgreSQL's are a few hundred bytes.
const maxErrorBeforeTLS = 2048

// refusedBeforeTLS reads the rest of an ErrorResponse (the 'E' has been read) for its message.
func refusedBeforeTLS(conn net.Conn) error {
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return &beforeTLSError{text: "(cut off)"}
	}
	n := int64(binary.BigEndian.Uint32(size[:])) - 4
	body, _ := io.ReadAll(io.LimitReader(conn, min(max(n, 0), maxErrorBeforeTLS)))
	text := "(no message)"
	for field := range bytes.SplitSeq(body, []byte{0}) {
		if len(field) > 1 && field[0] == 'M' {
			text = string(field[1:])
		}
	}
	return &beforeTLSError{text: text[:min(len(text), 200)]}
}

// untrusted reports a server that failed verification: retrying cannot fix it.
func untrusted(err error) bool {
	var verify *tls.CertificateVerificationError
	var hostname x509.HostnameError
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	return errors.Is(err, ErrNoTLS) || errors.Is(err, errNotPostgreSQL) || errors.As(err, &verify) || errors.As(err, &hostname) ||
		errors.As(err, &unknown) || errors.As(err, &invalid)
}
