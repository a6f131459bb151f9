package tlsstate

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Test PKI made with crypto/x509: CAs, intermediates and node certificates
// (valid, expired, wrong names, other CA), written as PEM in PKCS#8, PKCS#1
// or SEC1 form.

// fataler is the part of testing.TB the PKI helpers need (examples pass
// panicker).
type fataler interface {
	Helper()
	Fatal(args ...any)
}

// panicker is a fataler for examples.
type panicker struct{}

func (panicker) Helper()           {}
func (panicker) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

type keyKind int

const (
	keyECDSA keyKind = iota
	keyRSA
)

// rsaKey is generated once: RSA key generation is slow under -race.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newKey(t fataler, kind keyKind) crypto.Signer {
	t.Helper()
	if kind == keyRSA {
		return rsaKey()
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

type certOpts struct {
	cn        string
	dns       []string
	notBefore time.Time
	notAfter  time.Time
	isCA      bool
	key       keyKind
}

type testCert struct {
	cert  *x509.Certificate
	key   crypto.Signer
	chain []*x509.Certificate // leaf first, then intermediates
}

var serial int64 = time.Now().UnixNano()
var serialMu sync.Mutex

func nextSerial() *big.Int {
	serialMu.Lock()
	defer serialMu.Unlock()
	serial++
	return big.NewInt(serial)
}

// newTestCA makes a self-signed root CA.
func newTestCA(t fataler, name string) *testCA {
	t.Helper()
	key := newKey(t, keyECDSA)
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"tlsstate tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// issue signs a certificate. Defaults: valid now for a day, CN as given,
// DNS SAN = CN (unless dns is set), serverAuth+clientAuth, ECDSA.
func (ca *testCA) issue(t fataler, o certOpts) *testCert {
	t.Helper()
	if o.notBefore.IsZero() {
		o.notBefore = time.Now().Add(-time.Hour)
	}
	if o.notAfter.IsZero() {
		o.notAfter = time.Now().Add(24 * time.Hour)
	}
	if o.dns == nil && !o.isCA {
		o.dns = []string{o.cn}
	}
	key := newKey(t, o.key)
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: o.cn},
		DNSNames:     o.dns,
		NotBefore:    o.notBefore,
		NotAfter:     o.notAfter,
	}
	if o.isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: cert, key: key, chain: []*x509.Certificate{cert}}
}

// intermediate makes an intermediate CA under ca; certificates it issues
// carry it in their chain.
func (ca *testCA) intermediate(t fataler, name string) *testCA {
	c := ca.issue(t, certOpts{cn: name, isCA: true})
	return &testCA{cert: c.cert, key: c.key}
}

// issueVia issues under an intermediate and appends it to the chain.
func (ca *testCA) issueVia(t fataler, o certOpts) *testCert {
	c := ca.issue(t, o)
	c.chain = append(c.chain, ca.cert)
	return c
}

func (c *testCert) tlsCert() tls.Certificate {
	tc := tls.Certificate{PrivateKey: c.key, Leaf: c.cert}
	for _, x := range c.chain {
		tc.Certificate = append(tc.Certificate, x.Raw)
	}
	return tc
}

// creds builds Credentials for this certificate trusting roots.
func (c *testCert) creds(cfg *Config, roots *x509.CertPool) *Credentials {
	return NewCredentials(cfg, c.tlsCert(), roots)
}

func writePEM(t fataler, path string, blocks ...*pem.Block) string {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		if err := pem.Encode(f, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func certBlocks(certs ...*x509.Certificate) []*pem.Block {
	var bs []*pem.Block
	for _, c := range certs {
		bs = append(bs, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return bs
}

type keyForm int

const (
	formPKCS8 keyForm = iota
	formPKCS1         // RSA only
	formSEC1          // EC only
)

func keyBlock(t fataler, key crypto.Signer, form keyForm) *pem.Block {
	t.Helper()
	switch form {
	case formPKCS1:
		return &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))}
	case formSEC1:
		der, err := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
		if err != nil {
			t.Fatal(err)
		}
		return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

// writeFiles writes name.pem (chain), name.key (in form) and ca.pem into
// dir and returns a secure Config for them.
func (c *testCert) writeFiles(t fataler, dir, name string, form keyForm, ca *testCA) *Config {
	t.Helper()
	certPath := writePEM(t, filepath.Join(dir, name+".pem"), certBlocks(c.chain...)...)
	keyPath := writePEM(t, filepath.Join(dir, name+".key"), keyBlock(t, c.key, form))
	caPath := writePEM(t, filepath.Join(dir, "ca.pem"), certBlocks(ca.cert)...)
	return NewSecureConfig(certPath, keyPath, caPath)
}
