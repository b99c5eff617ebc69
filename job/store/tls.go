package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	_ "embed" // the RDS CA bundle
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
	if answer[0] != 'S' {
		_ = conn.Close()
		return nil, ErrNoTLS
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

// untrusted reports a server that failed verification: retrying cannot fix it.
func untrusted(err error) bool {
	var verify *tls.CertificateVerificationError
	var hostname x509.HostnameError
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	return errors.Is(err, ErrNoTLS) || errors.As(err, &verify) || errors.As(err, &hostname) ||
		errors.As(err, &unknown) || errors.As(err, &invalid)
}
