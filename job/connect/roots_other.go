//go:build !linux

package connect

import (
	"crypto/x509"
	"fmt"
	"os"
	"runtime"
)

// systemRoots is the system's root certificates. On macOS and Windows Go asks the operating
// system and reads no variable. Elsewhere (the BSDs) x509.SystemCertPool also trusts what
// SSL_CERT_FILE and SSL_CERT_DIR name, which the Linux build ignores (roots_linux.go); the job
// runs on Linux, so here those variables are refused rather than read from fixed paths.
func systemRoots() (*x509.CertPool, error) {
	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		for _, name := range RootVariables {
			if os.Getenv(name) != "" {
				return nil, fmt.Errorf("%s is set, and Go would trust what it names as roots for the database's certificate; unset it, or name the CA with sslrootcert", name)
			}
		}
	}
	return x509.SystemCertPool()
}
