package connect

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"sync"
)

// The places Linux distributions keep their root certificates, as Go's crypto/x509 lists them
// (root_linux.go): the first bundle that exists, and every file in the directories.
var (
	systemCertFiles = []string{
		"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, distroless (the image)
		"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
		"/etc/ssl/ca-bundle.pem",                            // openSUSE
		"/etc/pki/tls/cacert.pem",                           // OpenELEC
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
		"/etc/ssl/cert.pem",                                 // Alpine
	}
	systemCertDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
)

// systemRoots is the system's root certificates, read from the fixed places above only. Not
// x509.SystemCertPool: on Linux it also trusts whatever SSL_CERT_FILE and SSL_CERT_DIR name, so
// whoever may set a variable of the task (a RunTask override) but not DATABASE_URL could make the
// job send the password to a server of theirs (SSL_CERT_FILE=/proc/self/environ makes a
// certificate in any other variable a root). The caller gets a copy it may add to.
func systemRoots() (*x509.CertPool, error) {
	pool, err := loadSystemRoots()
	if err != nil {
		return nil, err
	}
	return pool.Clone(), nil
}

var loadSystemRoots = sync.OnceValues(func() (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	found := false
	for _, f := range systemCertFiles {
		data, err := os.ReadFile(f) //nolint:gosec // one of the fixed paths above
		if err == nil && pool.AppendCertsFromPEM(data) {
			found = true
			break
		}
	}
	for _, dir := range systemCertDirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.Type().IsRegular() && e.Type()&os.ModeSymlink == 0 {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name())) //nolint:gosec // a file in one of the fixed directories above
			if err == nil && pool.AppendCertsFromPEM(data) {
				found = true
			}
		}
	}
	if !found {
		return nil, errors.New("no root certificates in /etc/ssl/certs or the other places Linux keeps them")
	}
	return pool, nil
})
