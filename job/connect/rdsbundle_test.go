package connect

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"regexp"
	"testing"
	"time"
)

// The SHA-256 fingerprints of us-east-1's three current roots. They are the same in the two
// independent public copies of global-bundle.pem compared when the bundle was vendored
// (docs/deploy.md says which), and scripts/refresh-rds-ca.sh refuses a download that changes them.
var rdsRoots = map[string]string{
	"Amazon RDS us-east-1 Root CA RSA2048 G1": "e4ce41d069f4bdcdb714259058961ee42ed18cf2bf627a3d647aff25437d4b68",
	"Amazon RDS us-east-1 Root CA RSA4096 G1": "1c753cf0334ff82a47e0d3205839c8549b7d9a8a3d9a685cccecc80f82fe97e6",
	"Amazon RDS us-east-1 Root CA ECC384 G1":  "82d99e9e409703044c3f886f87a0408c96cd74dee2c9ba920e6553a32e372539",
}

// rdsRootName is the name of every certificate in the bundle: one root per region and key type.
var rdsRootName = regexp.MustCompile(`^Amazon RDS (?:(?:Beta|Preview) )?([a-z0-9-]+) Root CA (RSA2048|RSA4096|ECC384) G1$`)

func TestRDSBundle(t *testing.T) {
	rest := RDSBundle()
	byName := map[string]*x509.Certificate{}
	kinds := map[string]map[string]bool{} // region → key types
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if block.Type != "CERTIFICATE" || err != nil {
			t.Fatalf("a %s block that does not parse: %v", block.Type, err)
		}
		name := cert.Subject.CommonName
		m := rdsRootName.FindStringSubmatch(name)
		if m == nil || !cert.IsCA || cert.Subject.String() != cert.Issuer.String() {
			t.Errorf("%q (issued by %q) is not an RDS G1 root", name, cert.Issuer.CommonName)
			continue
		}
		if time.Now().After(cert.NotAfter) {
			t.Errorf("%s expired on %s", name, cert.NotAfter)
		}
		byName[name] = cert
		if kinds[m[1]] == nil {
			kinds[m[1]] = map[string]bool{}
		}
		kinds[m[1]][m[2]] = true
	}
	if len(rest) > 0 && len(regexp.MustCompile(`\S`).Find(rest)) > 0 {
		t.Errorf("%d bytes after the last certificate are not PEM", len(rest))
	}
	for region, k := range kinds {
		if len(k) != 3 {
			t.Errorf("region %s has the roots %v, want RSA2048, RSA4096 and ECC384", region, k)
		}
	}
	if len(kinds) < 30 {
		t.Errorf("roots for only %d regions", len(kinds))
	}
	for name, want := range rdsRoots {
		cert, ok := byName[name]
		if !ok {
			t.Errorf("%s is missing", name)
			continue
		}
		if sum := sha256.Sum256(cert.Raw); hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s has fingerprint %x, want %s", name, sum, want)
		}
	}
	if _, err := rootPool(""); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d roots for %d regions", len(byName), len(kinds))
}
