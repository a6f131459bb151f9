package engine

import (
	"fmt"

	"github.com/tensorchain/transport/tlsstate"
)

// setupTLS loads certificates when the security mode uses TLS.
func (t *Transport) setupTLS() error {
	if t.cfg.TLS == nil || t.cfg.SecurityMode == Development {
		return nil
	}
	creds, err := t.cfg.TLS.Load()
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	// A node whose own certificate does not name it would be refused by
	// every peer, forever: refuse it here, once, with the reason.
	v := t.cfg.TLS.NodeIDVerificationFor(t.cfg.SecurityMode)
	if err := tlsstate.VerifyCertificateNodeID(creds.Leaf(), t.cfg.NodeID, v); err != nil {
		return fmt.Errorf("tls: %w: this node's own certificate does not name node id %q: %w", ErrInvalidConfig, t.cfg.NodeID, err)
	}
	t.tlsCfg, t.creds = t.cfg.TLS, creds
	t.serverTLS = creds.ServerConfig(t.cfg.SecurityMode)
	return nil
}

// tlsEnabled reports whether connections run TLS.
func (t *Transport) tlsEnabled() bool { return t.creds != nil }
