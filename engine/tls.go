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
	t.tlsCfg, t.creds = t.cfg.TLS, creds
	t.serverTLS = creds.ServerConfig(t.cfg.SecurityMode)
	return nil
}

// tlsEnabled reports whether connections run TLS.
func (t *Transport) tlsEnabled() bool { return t.creds != nil }

// startTLS begins the TLS handshake of a new connection. The handshake runs
// in a goroutine bounded by HandshakeConcurrency and ConnectTimeout; once it
// ends, all record processing happens on the event loop.
func (t *Transport) startTLS(c *conn) {
	role, tc := tlsstate.Server, t.serverTLS
	if c.outbound {
		role, tc = tlsstate.Client, t.creds.ClientConfig(t.cfg.SecurityMode, c.expectID)
	}
	c.tls = tlsstate.NewSession(tc, role, c.wake)
	deadline := c.created.Add(t.cfg.ConnectTimeout)
	c.tls.StartHandshake(t.ctx, t.hsLimiter, deadline, func(err error) {
		if err != nil {
			e := fmt.Errorf("tls handshake with %s: %w: %w", c.remote, ErrHandshakeFailed, err)
			c.tlsErr.Store(&e)
		}
		c.tlsDone.Store(true)
		if !c.tlsReport() {
			c.forceWake()
		}
	})
}
