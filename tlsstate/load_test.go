package tlsstate

import (
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadKeyForms(t *testing.T) {
	ca := newTestCA(t, "test-ca")
	cases := []struct {
		name string
		key  keyKind
		form keyForm
	}{
		{"ecdsa pkcs8", keyECDSA, formPKCS8},
		{"ecdsa sec1", keyECDSA, formSEC1},
		{"rsa pkcs8", keyRSA, formPKCS8},
		{"rsa pkcs1", keyRSA, formPKCS1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cert := ca.issue(t, certOpts{cn: "node1", key: tc.key})
			cfg := cert.writeFiles(t, t.TempDir(), "node1", tc.form, ca)
			cr, err := cfg.Load()
			if err != nil {
				t.Fatal(err)
			}
			if cr.Leaf().Subject.CommonName != "node1" || !publicKeysEqual(cr.Leaf().PublicKey, cert.key.Public()) {
				t.Fatal("wrong certificate loaded")
			}
			if cr.Roots() == nil {
				t.Fatal("no roots")
			}
		})
	}
}

func TestLoadECParametersBlock(t *testing.T) {
	// openssl ecparam -genkey writes "EC PARAMETERS" before the key.
	ca := newTestCA(t, "test-ca")
	cert := ca.issue(t, certOpts{cn: "node1"})
	dir := t.TempDir()
	cfg := cert.writeFiles(t, dir, "node1", formSEC1, ca)
	params := &pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}}
	writePEM(t, cfg.KeyPath, params, keyBlock(t, cert.key, formSEC1))
	if _, err := cfg.Load(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadChain(t *testing.T) {
	root := newTestCA(t, "root")
	inter := root.intermediate(t, "intermediate")
	leaf := inter.issueVia(t, certOpts{cn: "node1"})
	cfg := leaf.writeFiles(t, t.TempDir(), "node1", formPKCS8, root)
	cr, err := cfg.Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cr.cert.Certificate); n != 2 {
		t.Fatalf("chain of %d certificates, want 2", n)
	}
	// The chain works in a handshake against a peer that trusts only root.
	peer := root.issue(t, certOpts{cn: "node2"})
	server := newEndpoint(cr.ServerConfig(Strict), Server)
	client := newEndpoint(peer.creds(cfg, root.pool()).ClientConfig(Strict, "node1"), Client)
	if cerr, serr := handshakePair(t, client, server); cerr != nil || serr != nil {
		t.Fatalf("client %v server %v", cerr, serr)
	}
	client.s.Close()
	server.s.Close()
	// Without the intermediate in the file, the certificate does not chain.
	writePEM(t, cfg.CertPath, certBlocks(leaf.cert)...)
	if _, err := cfg.Load(); !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), "does not chain") {
		t.Fatalf("leaf without intermediate: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	ca := newTestCA(t, "test-ca")
	other := newTestCA(t, "other-ca")
	good := ca.issue(t, certOpts{cn: "node1"})
	mk := func(t *testing.T) (*Config, string) {
		dir := t.TempDir()
		return good.writeFiles(t, dir, "node1", formPKCS8, ca), dir
	}
	write := func(t *testing.T, path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, c *Config, dir string)
		want  []string // substrings of the error
	}{
		{"missing cert", func(t *testing.T, c *Config, dir string) { c.CertPath = filepath.Join(dir, "nope.pem") }, []string{"cert_path", "nope.pem", "does not exist"}},
		{"missing key", func(t *testing.T, c *Config, dir string) { c.KeyPath = filepath.Join(dir, "nope.key") }, []string{"key_path", "does not exist"}},
		{"missing ca", func(t *testing.T, c *Config, dir string) { c.CAPath = filepath.Join(dir, "nope-ca.pem") }, []string{"ca_path", "does not exist"}},
		{"empty cert", func(t *testing.T, c *Config, dir string) { write(t, c.CertPath, "\n") }, []string{"cert_path", "empty"}},
		{"empty key", func(t *testing.T, c *Config, dir string) { write(t, c.KeyPath, "") }, []string{"key_path", "empty"}},
		{"garbage cert", func(t *testing.T, c *Config, dir string) { write(t, c.CertPath, "not a certificate") }, []string{"cert_path", "no PEM data"}},
		{"garbage key", func(t *testing.T, c *Config, dir string) { write(t, c.KeyPath, "\x00\x01garbage") }, []string{"key_path", "no PEM data"}},
		{"key in cert file", func(t *testing.T, c *Config, dir string) { c.CertPath = c.KeyPath }, []string{"cert_path", "PRIVATE KEY", "expected CERTIFICATE"}},
		{"cert in key file", func(t *testing.T, c *Config, dir string) { c.KeyPath = c.CertPath }, []string{"key_path", "CERTIFICATE", "expected a private key"}},
		{"corrupt certificate", func(t *testing.T, c *Config, dir string) {
			writePEM(t, c.CertPath, &pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})
		}, []string{"cert_path", "does not parse"}},
		{"corrupt key", func(t *testing.T, c *Config, dir string) {
			writePEM(t, c.KeyPath, &pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")})
		}, []string{"key_path", "does not parse"}},
		{"encrypted key", func(t *testing.T, c *Config, dir string) {
			writePEM(t, c.KeyPath, &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("x")})
		}, []string{"key_path", "encrypted"}},
		{"key does not match", func(t *testing.T, c *Config, dir string) {
			writePEM(t, c.KeyPath, keyBlock(t, newKey(t, keyECDSA), formPKCS8))
		}, []string{"key_path", "does not match"}},
		{"bad ca file", func(t *testing.T, c *Config, dir string) {
			write(t, c.CAPath, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
		}, []string{"ca_path", "does not parse"}},
		{"ca file holds a key", func(t *testing.T, c *Config, dir string) { c.CAPath = c.KeyPath }, []string{"ca_path", "expected CERTIFICATE"}},
		{"other ca", func(t *testing.T, c *Config, dir string) {
			writePEM(t, c.CAPath, certBlocks(other.cert)...)
		}, []string{"does not chain", "ca_path"}},
		{"expired", func(t *testing.T, c *Config, dir string) {
			old := ca.issue(t, certOpts{cn: "node1", notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-time.Hour)})
			old.writeFiles(t, dir, "node1", formPKCS8, ca)
		}, []string{"cert_path", "expired"}},
		{"not yet valid", func(t *testing.T, c *Config, dir string) {
			future := ca.issue(t, certOpts{cn: "node1", notBefore: time.Now().Add(time.Hour)})
			future.writeFiles(t, dir, "node1", formPKCS8, ca)
		}, []string{"cert_path", "not valid before"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, dir := mk(t)
			tc.setup(t, c, dir)
			_, err := c.Load()
			if !errors.Is(err, ErrCertificate) {
				t.Fatalf("%v does not wrap ErrCertificate", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("%q does not mention %q", err, w)
				}
			}
			t.Log(err)
		})
	}
	t.Run("missing is fs.ErrNotExist", func(t *testing.T) {
		c, dir := mk(t)
		c.CertPath = filepath.Join(dir, "nope")
		if _, err := c.Load(); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	})
	t.Run("unset paths", func(t *testing.T) {
		if _, err := (&Config{CertPath: "x"}).Load(); !errors.Is(err, ErrTLSRequired) {
			t.Fatal(err)
		}
		if _, err := (*Config)(nil).Load(); !errors.Is(err, ErrTLSRequired) {
			t.Fatal(err)
		}
	})
}

func TestServerAndClientConfig(t *testing.T) {
	ca := newTestCA(t, "test-ca")
	cr := ca.issue(t, certOpts{cn: "node1"}).creds(&Config{}, ca.pool())
	if a := cr.ServerConfig(Strict).ClientAuth; a.String() != "RequireAndVerifyClientCert" {
		t.Errorf("strict: %v", a)
	}
	if a := cr.ServerConfig(Permissive).ClientAuth; a.String() != "VerifyClientCertIfGiven" {
		t.Errorf("permissive: %v", a)
	}
	cr2 := ca.issue(t, certOpts{cn: "node1"}).creds(&Config{RequireClientAuth: true, MinVersion: 0x0303}, ca.pool())
	sc := cr2.ServerConfig(Permissive)
	if sc.ClientAuth.String() != "RequireAndVerifyClientCert" || sc.MinVersion != 0x0303 || !sc.SessionTicketsDisabled || !sc.DynamicRecordSizingDisabled {
		t.Errorf("server config: %+v", sc)
	}
	if cr.ServerConfig(Legacy).MinVersion != 0x0304 {
		t.Error("default min version is not TLS 1.3")
	}
	cc := cr.ClientConfig(Strict, "node2")
	if cc.ServerName != "node2" || cc.VerifyConnection == nil || cc.GetClientCertificate == nil || !cc.DynamicRecordSizingDisabled {
		t.Errorf("client config: %+v", cc)
	}
}

func TestSNIName(t *testing.T) {
	for id, want := range map[string]string{"node2": "node2", "db-1.east": "db-1.east", "n_1": "n_1", "nœud": "", "a.": "", "": "", "10.0.0.1": "10.0.0.1"} {
		if got := sniName(id); got != want {
			t.Errorf("sniName(%q) = %q, want %q", id, got, want)
		}
	}
}
