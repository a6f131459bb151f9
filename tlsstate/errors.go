package tlsstate

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them
// (check with errors.Is) and adds context: the file, the setting, the peer's
// identity or the crypto/tls cause.
var (
	// ErrTLSRequired: the security mode needs TLS, but no usable TLS
	// configuration (certificate, key and CA paths) was given.
	ErrTLSRequired = errors.New("TLS required")
	// ErrMTLSRequired: the security mode (or the NodeId verification setting)
	// needs client certificates, but require_client_auth is off.
	ErrMTLSRequired = errors.New("mutual TLS (client certificates) required")
	// ErrNodeIDVerificationRequired: the security mode needs NodeId
	// verification, but node_id_verification is "none".
	ErrNodeIDVerificationRequired = errors.New("NodeId verification required")
	// ErrInvalidConfig: a [tls] setting has a value this package does not
	// accept; the message names the key.
	ErrInvalidConfig = errors.New("invalid TLS configuration")
	// ErrCertificate: a certificate, key or CA file is missing, empty,
	// malformed, expired, or does not match (see Config.Load).
	ErrCertificate = errors.New("bad certificate configuration")
	// ErrHandshake: the TLS handshake failed. The wrapped cause is the
	// crypto/tls error (unknown authority, expired certificate, "first record
	// does not look like a TLS handshake", ...), context.DeadlineExceeded, or
	// ErrClosed.
	ErrHandshake = errors.New("tls handshake failed")
	// ErrTLS: the record layer failed after the handshake (an alert from the
	// peer, a record that does not authenticate, a protocol violation), or a
	// record-layer call was made before the handshake completed.
	ErrTLS = errors.New("tls error")
	// ErrNodeIDMismatch: the peer's certificate does not name the node id it
	// claims (or that the dialer expected).
	ErrNodeIDMismatch = errors.New("node id does not match certificate")
	// ErrClosed: the Session was closed.
	ErrClosed = errors.New("tls session closed")
)
