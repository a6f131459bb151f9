package devpki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// TestWrite checks the files: each node's pair loads, and its certificate
// verifies against ca.pem for both directions, naming the node in CN and
// DNS SAN; the CA's key is not written.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, "n1", "n2"); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	for _, id := range []string{"n1", "n2"} {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, id+".pem"), filepath.Join(dir, id+".key"))
		if err != nil {
			t.Fatal(err)
		}
		leaf := pair.Leaf
		if leaf.Subject.CommonName != id {
			t.Errorf("%s: CN %q", id, leaf.Subject.CommonName)
		}
		usages := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: id, KeyUsages: usages}); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		info, err := os.Stat(filepath.Join(dir, id+".key"))
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s.key: mode %v, want 0600", id, perm)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ca.key")); !os.IsNotExist(err) {
		t.Errorf("ca.key: %v; want no such file", err)
	}
}
