package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/tensorchain/transport/tlsstate"
)

// pki is a throwaway certificate authority with node certificates in a
// temporary directory, so that engine (which loads PEM files) and baseline
// (which takes a *tls.Config) use the very same keys.
type pki struct {
	dir    string
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
	pairs  map[string]tls.Certificate
}

func newPKI() (*pki, error) {
	dir, err := os.MkdirTemp("", "tcbench-pki-")
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tcbench CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	p := &pki{dir: dir, caCert: cert, caKey: key, pool: x509.NewCertPool(), pairs: map[string]tls.Certificate{}}
	p.pool.AddCert(cert)
	return p, writePEM(p.caPath(), "CERTIFICATE", der)
}

func (p *pki) caPath() string { return filepath.Join(p.dir, "ca.pem") }

// issue makes (once) the certificate of node id: CN and DNS SAN id.
func (p *pki) issue(id string) (tls.Certificate, error) {
	if c, ok := p.pairs[id]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: id}, DNSNames: []string{id},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPath, keyPath := p.paths(id)
	if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
		return tls.Certificate{}, err
	}
	if err := writePEM(keyPath, "PRIVATE KEY", pk); err != nil {
		return tls.Certificate{}, err
	}
	c := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	p.pairs[id] = c
	return c, nil
}

func (p *pki) paths(id string) (cert, key string) {
	return filepath.Join(p.dir, id+".pem"), filepath.Join(p.dir, id+".key")
}

// engineTLS returns the Strict-mode configuration of node id.
func (p *pki) engineTLS(id string) (*tlsstate.Config, error) {
	if _, err := p.issue(id); err != nil {
		return nil, err
	}
	cert, key := p.paths(id)
	return tlsstate.NewSecureConfig(cert, key, p.caPath()), nil
}

// baselineTLS returns the crypto/tls configuration of node id, used both to
// accept (client certificates required) and to dial (the server must name
// the peer: ServerName is set per dial).
func (p *pki) baselineTLS(id string) (*tls.Config, error) {
	c, err := p.issue(id)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{c},
		RootCAs:      p.pool,
		ClientCAs:    p.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}, nil
}

func (p *pki) close() { _ = os.RemoveAll(p.dir) }

func writePEM(path, kind string, der []byte) error {
	b := pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
