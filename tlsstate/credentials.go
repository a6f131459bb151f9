package tlsstate

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

// Credentials are the parsed contents of a Config's PEM files: this node's
// certificate chain and key, and the CA pool peers are verified against.
// Load them once and build tls.Configs from them; they are immutable and
// safe for concurrent use.
type Credentials struct {
	cfg   Config
	cert  tls.Certificate
	roots *x509.CertPool
}

// NewCredentials builds Credentials from material already in memory (a
// secret store, a test). cert.Leaf should be set; settings come from c (nil
// means the zero Config: no client auth, no NodeId verification, TLS 1.3).
func NewCredentials(c *Config, cert tls.Certificate, roots *x509.CertPool) *Credentials {
	cr := &Credentials{cert: cert, roots: roots}
	if c != nil {
		cr.cfg = *c
	}
	if cr.cert.Leaf == nil && len(cr.cert.Certificate) > 0 {
		cr.cert.Leaf, _ = x509.ParseCertificate(cr.cert.Certificate[0])
	}
	return cr
}

// Leaf returns this node's parsed certificate.
func (cr *Credentials) Leaf() *x509.Certificate { return cr.cert.Leaf }

// Roots returns the CA pool peers are verified against.
func (cr *Credentials) Roots() *x509.CertPool { return cr.roots }

// Load reads and parses the PEM files once. It accepts a certificate chain
// (leaf first), a private key in PKCS#8, PKCS#1 (RSA) or SEC1 (EC) form, and
// one or more CA certificates. It checks that the key matches the
// certificate, that the certificate is within its validity period and that
// it chains to the CA file. Errors wrap ErrCertificate (ErrInvalidConfig or
// ErrTLSRequired for bad settings), name the file and say what is wrong:
// missing, empty, no PEM block, wrong block type, unparsable, key does not
// match certificate, expired, bad CA file.
func (c *Config) Load() (*Credentials, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: no [tls] configuration", ErrTLSRequired)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if miss := c.missingFiles(); len(miss) > 0 {
		return nil, fmt.Errorf("%w: %s not set in [tls]", ErrTLSRequired, strings.Join(miss, ", "))
	}
	chain, err := loadCertificates(c.CertPath, "cert_path")
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	key, err := loadKey(c.KeyPath)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(leaf.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%w: key_path %q: private key does not match the certificate in %q", ErrCertificate, c.KeyPath, c.CertPath)
	}
	cas, err := loadCertificates(c.CAPath, "ca_path")
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	for _, ca := range cas {
		roots.AddCert(ca)
	}
	now := time.Now()
	if now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("%w: cert_path %q: certificate %q expired at %s", ErrCertificate, c.CertPath, leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("%w: cert_path %q: certificate %q is not valid before %s", ErrCertificate, c.CertPath, leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("%w: cert_path %q does not chain to a CA in ca_path %q: %w", ErrCertificate, c.CertPath, c.CAPath, err)
	}
	cert := tls.Certificate{PrivateKey: key, Leaf: leaf}
	for _, x := range chain {
		cert.Certificate = append(cert.Certificate, x.Raw)
	}
	return &Credentials{cfg: *c, cert: cert, roots: roots}, nil
}

// readPEMFile reads a file and returns its PEM blocks, with errors for a
// missing, unreadable, empty or PEM-less file.
func readPEMFile(path, key string) ([]*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s %q: file does not exist (%w)", ErrCertificate, key, path, err)
		}
		return nil, fmt.Errorf("%w: %s %q: cannot read: %w", ErrCertificate, key, path, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: %s %q: file is empty", ErrCertificate, key, path)
	}
	var blocks []*pem.Block
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%w: %s %q: no PEM data found (expected \"-----BEGIN ...-----\" blocks)", ErrCertificate, key, path)
	}
	return blocks, nil
}

// loadCertificates parses every CERTIFICATE block of a PEM file.
func loadCertificates(path, key string) ([]*x509.Certificate, error) {
	blocks, err := readPEMFile(path, key)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for i, b := range blocks {
		if b.Type != "CERTIFICATE" {
			if strings.Contains(b.Type, "PRIVATE KEY") {
				return nil, fmt.Errorf("%w: %s %q: PEM block %d is a %q, expected CERTIFICATE (is this the key file?)", ErrCertificate, key, path, i+1, b.Type)
			}
			return nil, fmt.Errorf("%w: %s %q: PEM block %d is a %q, expected CERTIFICATE", ErrCertificate, key, path, i+1, b.Type)
		}
		x, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %q: certificate %d does not parse: %w", ErrCertificate, key, path, i+1, err)
		}
		certs = append(certs, x)
	}
	return certs, nil
}

// loadKey parses the private key of a PEM file: the first PKCS#8, PKCS#1 or
// SEC1 block (an "EC PARAMETERS" block before it, as openssl ecparam writes,
// is skipped).
func loadKey(path string) (crypto.Signer, error) {
	const key = "key_path"
	blocks, err := readPEMFile(path, key)
	if err != nil {
		return nil, err
	}
	for i, b := range blocks {
		if _, enc := b.Headers["Proc-Type"]; enc || b.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, fmt.Errorf("%w: %s %q: the key is encrypted; provide an unencrypted key (and protect the file's permissions)", ErrCertificate, key, path)
		}
		var k any
		var perr error
		switch b.Type {
		case "EC PARAMETERS":
			continue
		case "PRIVATE KEY":
			k, perr = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, perr = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, perr = x509.ParseECPrivateKey(b.Bytes)
		case "CERTIFICATE":
			return nil, fmt.Errorf("%w: %s %q: PEM block %d is a CERTIFICATE, expected a private key (is this the certificate file?)", ErrCertificate, key, path, i+1)
		default:
			return nil, fmt.Errorf("%w: %s %q: PEM block %d is a %q, expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY", ErrCertificate, key, path, i+1, b.Type)
		}
		if perr != nil {
			return nil, fmt.Errorf("%w: %s %q: %s does not parse: %w", ErrCertificate, key, path, b.Type, perr)
		}
		switch s := k.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return s.(crypto.Signer), nil
		default:
			return nil, fmt.Errorf("%w: %s %q: unsupported key type %T (want RSA, ECDSA or Ed25519)", ErrCertificate, key, path, k)
		}
	}
	return nil, fmt.Errorf("%w: %s %q: no private key block found", ErrCertificate, key, path)
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	ea, ok := a.(equaler)
	return ok && ea.Equal(b)
}

// baseConfig holds what both directions share.
func (cr *Credentials) baseConfig() *tls.Config {
	return &tls.Config{
		MinVersion: cr.cfg.MinVersion.Value(),
		// One record per 16 KiB of a batch from the first byte: the engine
		// coalesces frames, and small records would undo that.
		DynamicRecordSizingDisabled: true,
	}
}

// ServerConfig returns the tls.Config of a listener in the given mode:
// this node's certificate; client certificates required and verified
// against the CA pool in Strict mode or when RequireClientAuth is set,
// verified if given otherwise; session tickets disabled (nodes do not
// resume); minimum version per Config. NodeId is checked by the engine after
// the application hello, with VerifyNodeID. Build it once per transport.
func (cr *Credentials) ServerConfig(mode SecurityMode) *tls.Config {
	tc := cr.baseConfig()
	tc.Certificates = []tls.Certificate{cr.cert}
	tc.ClientCAs = cr.roots
	tc.ClientAuth = tls.VerifyClientCertIfGiven
	if cr.cfg.requireClientCert(mode) {
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	tc.SessionTicketsDisabled = true
	return tc
}

// ClientConfig returns the tls.Config for dialing the node expectedNodeID in
// the given mode. It always presents this node's certificate (even when the
// listener advertises other CAs, so a wrong certificate is refused with a
// clear "unknown authority" rather than "no certificate"). It verifies the
// server's chain against the CA pool (ServerAuth usage) in VerifyConnection
// rather than by host name, so dialing an IP address needs no IP SAN; then,
// unless the mode turns it off, it checks that the certificate names
// expectedNodeID (VerifyNodeID with Config.NodeIDVerificationFor(mode)). A
// failure aborts the handshake with an error wrapping ErrNodeIDMismatch or
// a *tls.CertificateVerificationError. expectedNodeID is also sent as SNI
// when it is a valid host name.
func (cr *Credentials) ClientConfig(mode SecurityMode, expectedNodeID string) *tls.Config {
	tc := cr.baseConfig()
	cert := cr.cert
	tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	tc.ServerName = sniName(expectedNodeID)
	// Verification happens in VerifyConnection below: chain against the CA
	// pool, then the node id. Go's host-name check is not used because node
	// ids are not host names and peers are often dialed by IP address.
	tc.InsecureSkipVerify = true
	roots := cr.roots
	verify := cr.cfg.NodeIDVerificationFor(mode)
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := verifyChain(cs.PeerCertificates, roots, x509.ExtKeyUsageServerAuth); err != nil {
			return err
		}
		return VerifyNodeID(cs, expectedNodeID, verify)
	}
	return tc
}

// sniName returns id if it can be sent as a TLS server name (ASCII letters,
// digits, '-', '_' and '.', not ending with a dot, at most 253 bytes), else
// "" (no SNI). Node ids may be any UTF-8 without spaces; SNI is only
// informational here.
func sniName(id string) string {
	if id == "" || len(id) > 253 || strings.HasSuffix(id, ".") || strings.HasPrefix(id, ".") {
		return ""
	}
	for _, r := range id {
		ok := r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return ""
		}
	}
	return id
}

// verifyChain verifies a peer's chain the way crypto/tls would, returning
// the same error type.
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool, usage x509.ExtKeyUsage) error {
	if len(certs) == 0 {
		return errors.New("tls: peer presented no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}
	if len(certs) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
	}
	return nil
}

// VerifyNodeID checks that the peer certificate of a completed handshake
// names nodeID as v demands: NodeIDNone accepts anything; NodeIDCommonName
// needs the leaf's subject CN to equal nodeID; NodeIDSubjectAltName needs
// nodeID among the leaf's DNS SANs. Comparisons are exact (case-sensitive).
// A mismatch, an empty nodeID or a missing certificate gives an error
// wrapping ErrNodeIDMismatch that names both identities. The chain itself
// must already have been verified (crypto/tls does it in the handshake).
func VerifyNodeID(cs tls.ConnectionState, nodeID string, v NodeIDVerification) error {
	if v == NodeIDNone {
		return nil
	}
	if nodeID == "" {
		return fmt.Errorf("%w: empty node id cannot be verified (%s)", ErrNodeIDMismatch, v)
	}
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: peer claims node id %q but presented no certificate (%s verification)", ErrNodeIDMismatch, nodeID, v)
	}
	return VerifyCertificateNodeID(cs.PeerCertificates[0], nodeID, v)
}

// VerifyCertificateNodeID checks that certificate leaf names nodeID as v
// demands (see VerifyNodeID): for a peer's certificate, or for a node's own
// before it starts.
func VerifyCertificateNodeID(leaf *x509.Certificate, nodeID string, v NodeIDVerification) error {
	if v == NodeIDNone {
		return nil
	}
	if nodeID == "" {
		return fmt.Errorf("%w: empty node id cannot be verified (%s)", ErrNodeIDMismatch, v)
	}
	switch v {
	case NodeIDCommonName:
		if leaf.Subject.CommonName != nodeID {
			return fmt.Errorf("%w: certificate common name is %q, node id is %q", ErrNodeIDMismatch, leaf.Subject.CommonName, nodeID)
		}
		return nil
	case NodeIDSubjectAltName:
		if !slices.Contains(leaf.DNSNames, nodeID) {
			return fmt.Errorf("%w: certificate DNS names %q (CN %q) do not include node id %q", ErrNodeIDMismatch, leaf.DNSNames, leaf.Subject.CommonName, nodeID)
		}
		return nil
	}
	return fmt.Errorf("%w: node_id_verification: invalid value %d", ErrInvalidConfig, int(v))
}
