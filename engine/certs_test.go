package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tensorchain/transport/tlsstate"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	path string
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	dir := t.TempDir()
	ca := &testCA{dir: dir, cert: cert, key: key, path: filepath.Join(dir, name+"-ca.pem")}
	writePEM(t, ca.path, "CERTIFICATE", der)
	return ca
}

// certOpts varies a node certificate for refusal tests.
type certOpts struct {
	cn      string   // defaults to the node id
	sans    []string // defaults to the node id
	expired bool
}

// issue writes a node certificate and key and returns a tlsstate.Config
// for it, trusting this CA.
func (ca *testCA) issue(t testing.TB, nodeID string, o certOpts) *tlsstate.Config {
	t.Helper()
	if o.cn == "" {
		o.cn = nodeID
	}
	if o.sans == nil {
		o.sans = []string{nodeID}
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	notAfter := time.Now().Add(24 * time.Hour)
	if o.expired {
		notAfter = time.Now().Add(-time.Minute)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: o.cn}, DNSNames: o.sans,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(ca.dir, nodeID+"-"+o.cn)
	writePEM(t, base+".pem", "CERTIFICATE", der)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	writePEM(t, base+".key", "PRIVATE KEY", kder)
	return tlsstate.NewSecureConfig(base+".pem", base+".key", ca.path)
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsConfig is a Strict-mode test configuration with the given TLS settings.
func tlsConfig(id string, tc *tlsstate.Config) Config {
	cfg := devConfig(id)
	cfg.SecurityMode = Strict
	cfg.TLS = tc
	cfg.ConnectTimeout = 2 * time.Second
	return cfg
}
