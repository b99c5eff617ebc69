package connect

import (
	"crypto/tls"
	"crypto/x509"
	_ "embed" // the RDS CA bundle
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/lib/pq"
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
// the host the URL names (a DNS name, or an IP address in an IP SAN). lib/pq v1.12.3 performs the
// handshake with a clone of it (ssl.go:112-116: sslmode=pqgo-<name> takes the registered
// configuration and, unlike its other modes, adds no roots and skips no verification), after
// setting MinVersion and MaxVersion from the Config (ssl.go:121-122, hence SSLMinProtocolVersion
// in Connector) and Renegotiation (ssl.go:148), which PostgreSQL 9.5 and later never ask for and
// across which Go refuses a changed certificate. The handshake runs on lib/pq's first write, the
// startup message (ssl.go:150-167, conn.go:1028): a server that fails verification gets nothing.
func (t Target) tlsConfig() (*tls.Config, error) {
	pool, err := rootPool(t.RootCert)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, ServerName: t.Host, MinVersion: tls.VersionTLS12}, nil
}

// registered numbers the configurations given to lib/pq: its registry is global, and each
// connector (one per sql.DB, whose Close removes it) has roots of its own.
var registered atomic.Uint64

// registerTLS gives cfg to lib/pq and returns the sslmode that names it, and how to remove it.
func registerTLS(cfg *tls.Config) (pq.SSLMode, func(), error) {
	name := "tally-uptime-" + strconv.FormatUint(registered.Add(1), 10)
	if err := pq.RegisterTLSConfig(name, cfg); err != nil {
		return "", nil, fmt.Errorf("register the TLS configuration with the driver: %w", err)
	}
	return pq.SSLMode("pqgo-" + name), func() { _ = pq.RegisterTLSConfig(name, nil) }, nil
}

// Untrusted reports a server that refused TLS, is not PostgreSQL, or failed verification:
// retrying cannot fix it.
func Untrusted(err error) bool {
	return errors.Is(err, ErrNoTLS) || errors.Is(err, errNotPostgreSQL) || verificationFailed(err)
}

// verificationFailed reports a certificate that does not chain to the roots or does not name the host.
func verificationFailed(err error) bool {
	var verify *tls.CertificateVerificationError
	var hostname x509.HostnameError
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &hostname) || errors.As(err, &unknown) || errors.As(err, &invalid)
}
