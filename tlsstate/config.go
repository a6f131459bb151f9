package tlsstate

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/tensorchain/transport/tlsstate/record"
)

// SecurityMode selects how much security a transport demands (SPEC §6).
// The zero value is Strict.
type SecurityMode int

const (
	// Strict (the default) requires TLS, client certificates (mutual TLS) and
	// NodeId verification. Use it in production.
	Strict SecurityMode = iota
	// Permissive requires TLS; client certificates are verified when
	// presented but optional, and NodeId verification is off. Use it for a
	// gradual rollout.
	Permissive
	// Development runs without TLS. The engine logs a loud warning. Use it for
	// local testing only.
	Development
	// Legacy uses TLS when a TLS configuration is given (with client
	// authentication and NodeId verification as configured) and plaintext
	// otherwise. Use it during a migration.
	Legacy
)

var modeNames = [...]string{Strict: "strict", Permissive: "permissive", Development: "development", Legacy: "legacy"}

// String returns the lower-case name of the mode ("strict", "permissive",
// "development", "legacy").
func (m SecurityMode) String() string {
	if m >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("SecurityMode(%d)", int(m))
}

// ParseSecurityMode parses a mode name as written by String. Case and
// surrounding spaces are ignored.
func ParseSecurityMode(s string) (SecurityMode, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for m, n := range modeNames {
		if n == name {
			return SecurityMode(m), nil
		}
	}
	return Strict, fmt.Errorf("%w: security_mode: unknown mode %q (want strict, permissive, development or legacy)", ErrInvalidConfig, s)
}

// MarshalText implements encoding.TextMarshaler (TOML, JSON).
func (m SecurityMode) MarshalText() ([]byte, error) {
	if m < 0 || int(m) >= len(modeNames) {
		return nil, fmt.Errorf("%w: security_mode: invalid value %d", ErrInvalidConfig, int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (TOML, JSON).
func (m *SecurityMode) UnmarshalText(b []byte) error { return m.Set(string(b)) }

// Set implements flag.Value.
func (m *SecurityMode) Set(s string) error {
	v, err := ParseSecurityMode(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// NodeIDVerification selects how a peer's certificate must name the node id
// it claims (SPEC §6).
type NodeIDVerification int

const (
	// NodeIDNone trusts the node id sent in the application handshake.
	NodeIDNone NodeIDVerification = iota
	// NodeIDCommonName requires the certificate's subject common name to
	// equal the node id.
	NodeIDCommonName
	// NodeIDSubjectAltName requires the node id to be one of the
	// certificate's DNS subject alternative names.
	NodeIDSubjectAltName
)

var nodeIDNames = [...]string{NodeIDNone: "none", NodeIDCommonName: "common_name", NodeIDSubjectAltName: "subject_alt_name"}

// String returns "none", "common_name" or "subject_alt_name".
func (v NodeIDVerification) String() string {
	if v >= 0 && int(v) < len(nodeIDNames) {
		return nodeIDNames[v]
	}
	return fmt.Sprintf("NodeIDVerification(%d)", int(v))
}

// ParseNodeIDVerification parses a name as written by String. Case and
// surrounding spaces are ignored.
func ParseNodeIDVerification(s string) (NodeIDVerification, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for v, n := range nodeIDNames {
		if n == name {
			return NodeIDVerification(v), nil
		}
	}
	return NodeIDNone, fmt.Errorf("%w: node_id_verification: unknown value %q (want none, common_name or subject_alt_name)", ErrInvalidConfig, s)
}

// MarshalText implements encoding.TextMarshaler (TOML, JSON).
func (v NodeIDVerification) MarshalText() ([]byte, error) {
	if v < 0 || int(v) >= len(nodeIDNames) {
		return nil, fmt.Errorf("%w: node_id_verification: invalid value %d", ErrInvalidConfig, int(v))
	}
	return []byte(v.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (TOML, JSON).
func (v *NodeIDVerification) UnmarshalText(b []byte) error { return v.Set(string(b)) }

// Set implements flag.Value.
func (v *NodeIDVerification) Set(s string) error {
	p, err := ParseNodeIDVerification(s)
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// TLSVersion is a minimum TLS protocol version. Its underlying value is the
// crypto/tls constant, so tls.VersionTLS12 and tls.VersionTLS13 can be
// assigned directly; the zero value means TLS 1.3. In TOML and on the command
// line it is written "1.2" or "1.3".
type TLSVersion uint16

// Value returns the crypto/tls version constant, resolving zero to
// tls.VersionTLS13.
func (v TLSVersion) Value() uint16 {
	if v == 0 {
		return tls.VersionTLS13
	}
	return uint16(v)
}

// String returns "1.2" or "1.3" ("1.3" for the zero value).
func (v TLSVersion) String() string {
	switch v.Value() {
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return fmt.Sprintf("TLSVersion(%#04x)", uint16(v))
}

func (v TLSVersion) valid() bool {
	return v == 0 || v == tls.VersionTLS12 || v == tls.VersionTLS13
}

// ParseTLSVersion parses "1.2", "1.3" (also "tls1.2", "TLS 1.3") or an empty
// string (meaning the default, TLS 1.3). TLS 1.0 and 1.1 are refused.
func ParseTLSVersion(s string) (TLSVersion, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.TrimSpace(strings.TrimPrefix(n, "tls"))
	n = strings.TrimPrefix(n, "v")
	switch n {
	case "":
		return 0, nil
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("%w: min_version: %q is not supported (want \"1.2\" or \"1.3\")", ErrInvalidConfig, s)
}

// MarshalText implements encoding.TextMarshaler (TOML, JSON).
func (v TLSVersion) MarshalText() ([]byte, error) {
	if !v.valid() {
		return nil, fmt.Errorf("%w: min_version: invalid value %#04x", ErrInvalidConfig, uint16(v))
	}
	return []byte(v.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (TOML, JSON).
func (v *TLSVersion) UnmarshalText(b []byte) error { return v.Set(string(b)) }

// Set implements flag.Value.
func (v *TLSVersion) Set(s string) error {
	p, err := ParseTLSVersion(s)
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Config is the [tls] section of a node's configuration: where the PEM files
// are and how peers are verified. It holds paths, not key material; Load
// reads the files.
type Config struct {
	// CertPath is this node's certificate in PEM: the leaf first, then any
	// intermediates (a chain).
	CertPath string `toml:"cert_path"`
	// KeyPath is the private key of the leaf certificate in PEM: PKCS#8
	// ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY").
	// Encrypted keys are not supported.
	KeyPath string `toml:"key_path"`
	// CAPath holds the PEM certificates of the CAs trusted to sign peers'
	// certificates (both directions).
	CAPath string `toml:"ca_path"`
	// RequireClientAuth makes a listener require and verify client
	// certificates (mutual TLS). Strict mode always does.
	RequireClientAuth bool `toml:"require_client_auth"`
	// NodeIDVerification says how a peer's certificate must name its node id.
	// Permissive mode ignores it (verification is off there).
	NodeIDVerification NodeIDVerification `toml:"node_id_verification"`
	// MinVersion is the lowest TLS version accepted. Zero means TLS 1.3;
	// TLS 1.2 is allowed only when set explicitly.
	MinVersion TLSVersion `toml:"min_version"`
	// RecordLayer selects what protects records after a TLS 1.3
	// handshake: the engine's own layer, which decrypts in place (the
	// default), or crypto/tls's.
	RecordLayer RecordLayer `toml:"record_layer"`
	// KeyUpdateInterval is, with the engine's record layer, how many
	// records a traffic key protects before this side rotates its own;
	// a peer whose key has protected twice as many is asked to rotate
	// its (0, the default, and the most: 2^24, under RFC 8446 §5.5's
	// limit for AES-GCM).
	KeyUpdateInterval int `toml:"key_update_interval"`
}

// NewSecureConfig returns the configuration Strict mode expects: the given
// PEM files, client certificates required, NodeId verified against the
// certificate's common name, TLS 1.3 only.
func NewSecureConfig(certPath, keyPath, caPath string) *Config {
	return &Config{
		CertPath:           certPath,
		KeyPath:            keyPath,
		CAPath:             caPath,
		RequireClientAuth:  true,
		NodeIDVerification: NodeIDCommonName,
	}
}

// Validate checks the values of the settings (enumerations and version), not
// whether the files exist (Load does that). Errors wrap ErrInvalidConfig and
// name the key.
func (c *Config) Validate() error {
	if c == nil {
		return nil
	}
	if c.NodeIDVerification < 0 || int(c.NodeIDVerification) >= len(nodeIDNames) {
		return fmt.Errorf("%w: node_id_verification: invalid value %d", ErrInvalidConfig, int(c.NodeIDVerification))
	}
	if !c.MinVersion.valid() {
		return fmt.Errorf("%w: min_version: %#04x is not supported (want TLS 1.2 or 1.3)", ErrInvalidConfig, uint16(c.MinVersion))
	}
	if c.RecordLayer < 0 || int(c.RecordLayer) >= len(recordLayerNames) {
		return fmt.Errorf("%w: record_layer: invalid value %d", ErrInvalidConfig, int(c.RecordLayer))
	}
	if c.KeyUpdateInterval < 0 || c.KeyUpdateInterval > record.DefaultKeyUpdateInterval {
		return fmt.Errorf("%w: key_update_interval: %d is outside 0 (the default) to %d records", ErrInvalidConfig, c.KeyUpdateInterval, record.DefaultKeyUpdateInterval)
	}
	return nil
}

// NodeIDVerificationFor returns the NodeId verification in force in a mode:
// none in Permissive and Development, the configured value otherwise. The
// engine passes it to VerifyNodeID (server side) and ClientConfig uses it
// (client side). A nil Config gives NodeIDNone.
func (c *Config) NodeIDVerificationFor(mode SecurityMode) NodeIDVerification {
	if c == nil || mode == Permissive || mode == Development {
		return NodeIDNone
	}
	return c.NodeIDVerification
}

// requireClientCert reports whether a listener in this mode must demand a
// client certificate.
func (c *Config) requireClientCert(mode SecurityMode) bool {
	return mode == Strict || (c != nil && c.RequireClientAuth)
}

// missingFiles lists the unset path keys.
func (c *Config) missingFiles() []string {
	var miss []string
	if c.CertPath == "" {
		miss = append(miss, "cert_path")
	}
	if c.KeyPath == "" {
		miss = append(miss, "key_path")
	}
	if c.CAPath == "" {
		miss = append(miss, "ca_path")
	}
	return miss
}

// ValidateMode checks a security mode against a TLS configuration (nil means
// none was given):
//
//   - Strict needs cert_path, key_path and ca_path (else ErrTLSRequired),
//     require_client_auth (else ErrMTLSRequired) and node_id_verification
//     other than "none" (else ErrNodeIDVerificationRequired).
//   - Permissive needs the three paths (ErrTLSRequired); client
//     authentication is optional and NodeId verification is off.
//   - Development needs nothing (TLS is off; the engine warns loudly).
//   - Legacy needs nothing when c is nil (plaintext). When c is given, TLS is
//     used, so the three paths are needed (ErrTLSRequired), and a NodeId
//     verification other than "none" needs require_client_auth
//     (ErrMTLSRequired): a listener cannot check the node id of a client
//     that presents no certificate.
//
// Values of the settings are checked too (ErrInvalidConfig). Errors name the
// mode and the missing or conflicting keys.
func ValidateMode(mode SecurityMode, c *Config) error {
	switch mode {
	case Development:
		return nil
	case Strict, Permissive, Legacy:
	default:
		return fmt.Errorf("%w: security_mode: invalid value %d", ErrInvalidConfig, int(mode))
	}
	if c == nil {
		if mode == Legacy {
			return nil
		}
		return fmt.Errorf("%w: %s mode needs a [tls] section with cert_path, key_path and ca_path", ErrTLSRequired, mode)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if miss := c.missingFiles(); len(miss) > 0 {
		return fmt.Errorf("%w: %s mode with TLS needs %s set in [tls]", ErrTLSRequired, mode, strings.Join(miss, ", "))
	}
	switch mode {
	case Strict:
		if !c.RequireClientAuth {
			return fmt.Errorf("%w: strict mode needs [tls] require_client_auth = true", ErrMTLSRequired)
		}
		if c.NodeIDVerification == NodeIDNone {
			return fmt.Errorf("%w: strict mode needs [tls] node_id_verification = \"common_name\" or \"subject_alt_name\"", ErrNodeIDVerificationRequired)
		}
	case Legacy:
		if c.NodeIDVerification != NodeIDNone && !c.RequireClientAuth {
			return fmt.Errorf("%w: legacy mode: node_id_verification = %q needs require_client_auth = true (a client without a certificate cannot be verified)", ErrMTLSRequired, c.NodeIDVerification)
		}
	}
	return nil
}
