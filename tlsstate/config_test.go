package tlsstate

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

func TestValidateMode(t *testing.T) {
	full := func() *Config { return NewSecureConfig("n.pem", "n.key", "ca.pem") }
	noClientAuth := full()
	noClientAuth.RequireClientAuth = false
	noNodeID := full()
	noNodeID.NodeIDVerification = NodeIDNone
	configs := []struct {
		name string
		c    *Config
	}{
		{"nil", nil},
		{"no client auth", noClientAuth},
		{"node id none", noNodeID},
		{"secure", full()},
	}
	want := map[SecurityMode][]error{
		Strict:      {ErrTLSRequired, ErrMTLSRequired, ErrNodeIDVerificationRequired, nil},
		Permissive:  {ErrTLSRequired, nil, nil, nil},
		Development: {nil, nil, nil, nil},
		// Legacy: plaintext without a config; with one, NodeId verification
		// needs client certificates.
		Legacy: {nil, ErrMTLSRequired, nil, nil},
	}
	for _, mode := range []SecurityMode{Strict, Permissive, Development, Legacy} {
		for i, cc := range configs {
			t.Run(mode.String()+"/"+cc.name, func(t *testing.T) {
				err := ValidateMode(mode, cc.c)
				w := want[mode][i]
				if w == nil && err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if w != nil && !errors.Is(err, w) {
					t.Fatalf("got %v, want %v", err, w)
				}
				if err != nil && !strings.Contains(err.Error(), mode.String()) {
					t.Errorf("%q does not name the mode", err)
				}
			})
		}
	}
}

func TestValidateModeDetails(t *testing.T) {
	c := NewSecureConfig("n.pem", "", "")
	err := ValidateMode(Strict, c)
	if !errors.Is(err, ErrTLSRequired) || !strings.Contains(err.Error(), "key_path, ca_path") {
		t.Fatalf("missing paths: %v", err)
	}
	if err := ValidateMode(Legacy, &Config{}); !errors.Is(err, ErrTLSRequired) {
		t.Fatalf("legacy with empty [tls]: %v", err)
	}
	c = NewSecureConfig("a", "b", "c")
	c.MinVersion = tls.VersionTLS11
	if err := ValidateMode(Strict, c); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "min_version") {
		t.Fatalf("TLS 1.1: %v", err)
	}
	c.MinVersion = tls.VersionTLS12
	if err := ValidateMode(Strict, c); err != nil {
		t.Fatalf("explicit TLS 1.2: %v", err)
	}
	c.NodeIDVerification = 7
	if err := ValidateMode(Strict, c); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "node_id_verification") {
		t.Fatalf("bad enum: %v", err)
	}
	if err := ValidateMode(SecurityMode(9), nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("bad mode: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	var m SecurityMode
	if m != Strict {
		t.Fatal("zero SecurityMode is not Strict")
	}
	var c Config
	if c.MinVersion.Value() != tls.VersionTLS13 {
		t.Fatal("zero MinVersion is not TLS 1.3")
	}
	s := NewSecureConfig("a", "b", "c")
	if !s.RequireClientAuth || s.NodeIDVerification != NodeIDCommonName || s.MinVersion.Value() != tls.VersionTLS13 {
		t.Fatalf("NewSecureConfig: %+v", s)
	}
	if err := ValidateMode(Strict, s); err != nil {
		t.Fatal(err)
	}
}

func TestEnumNames(t *testing.T) {
	for _, m := range []SecurityMode{Strict, Permissive, Development, Legacy} {
		p, err := ParseSecurityMode(strings.ToUpper(m.String()))
		if err != nil || p != m {
			t.Errorf("%v: %v %v", m, p, err)
		}
	}
	if _, err := ParseSecurityMode("paranoid"); !errors.Is(err, ErrInvalidConfig) {
		t.Error(err)
	}
	for _, v := range []NodeIDVerification{NodeIDNone, NodeIDCommonName, NodeIDSubjectAltName} {
		p, err := ParseNodeIDVerification(" " + v.String())
		if err != nil || p != v {
			t.Errorf("%v: %v %v", v, p, err)
		}
	}
	if _, err := ParseNodeIDVerification("cn"); !errors.Is(err, ErrInvalidConfig) {
		t.Error(err)
	}
	for in, want := range map[string]TLSVersion{"1.2": tls.VersionTLS12, "TLS1.3": tls.VersionTLS13, "tls 1.2": tls.VersionTLS12, "": 0} {
		v, err := ParseTLSVersion(in)
		if err != nil || v != want {
			t.Errorf("%q: %v %v", in, v, err)
		}
	}
	if _, err := ParseTLSVersion("1.1"); !errors.Is(err, ErrInvalidConfig) {
		t.Error(err)
	}
	if TLSVersion(0).String() != "1.3" || TLSVersion(tls.VersionTLS12).String() != "1.2" {
		t.Error("TLSVersion.String")
	}
	if Client.String() != "client" || Server.String() != "server" {
		t.Error("Role.String")
	}
}

func TestConfigTextEncoding(t *testing.T) {
	// The enums read and write as text (TOML, JSON) and work as flags.
	in := `{"CertPath":"n.pem","NodeIDVerification":"subject_alt_name","MinVersion":"1.2"}`
	var c Config
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if c.NodeIDVerification != NodeIDSubjectAltName || c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("%+v", c)
	}
	out, err := json.Marshal(c)
	if err != nil || !strings.Contains(string(out), `"subject_alt_name"`) || !strings.Contains(string(out), `"1.2"`) {
		t.Fatalf("%s %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"NodeIDVerification":"sometimes"}`), &c); err == nil {
		t.Fatal("bad value accepted")
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	mode := Strict
	fs.Var(&mode, "security-mode", "")
	fs.Var(&c.NodeIDVerification, "node-id-verification", "")
	fs.Var(&c.MinVersion, "tls-min-version", "")
	if err := fs.Parse([]string{"-security-mode=legacy", "-node-id-verification=none", "-tls-min-version=1.3"}); err != nil {
		t.Fatal(err)
	}
	if mode != Legacy || c.NodeIDVerification != NodeIDNone || c.MinVersion != tls.VersionTLS13 {
		t.Fatalf("flags: %v %v %v", mode, c.NodeIDVerification, c.MinVersion)
	}
}

func TestConfigTOML(t *testing.T) {
	doc := `
[tls]
cert_path = "/etc/node/node1.pem"
key_path = "/etc/node/node1.key"
ca_path = "/etc/node/ca.pem"
require_client_auth = true
node_id_verification = "subject_alt_name"
min_version = "1.2"
`
	var file struct {
		TLS *Config `toml:"tls"`
	}
	dec := toml.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		t.Fatal(err)
	}
	want := Config{CertPath: "/etc/node/node1.pem", KeyPath: "/etc/node/node1.key", CAPath: "/etc/node/ca.pem",
		RequireClientAuth: true, NodeIDVerification: NodeIDSubjectAltName, MinVersion: tls.VersionTLS12}
	if file.TLS == nil || *file.TLS != want {
		t.Fatalf("got %+v", file.TLS)
	}
	for _, bad := range []string{`node_id_verification = "cn"`, `min_version = "1.0"`, `verify_peer = true`} {
		dec := toml.NewDecoder(strings.NewReader("[tls]\n" + bad + "\n"))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&file); err == nil {
			t.Errorf("%s accepted", bad)
		} else {
			t.Logf("%s: %v", bad, err)
		}
	}
}
