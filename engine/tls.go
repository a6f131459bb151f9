package engine

import "fmt"

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
