package config

import (
	"errors"
	"fmt"

	"github.com/tensorchain/transport/engine"
)

// Validate checks what single settings cannot: that the node id is given,
// that the peers are distinct and not this node, and engine.Config.Validate
// (every range, relations between settings, and the security mode against
// the TLS settings). Errors name the keys and their flags.
func (n *Node) Validate() error {
	if n.Engine.NodeID == "" {
		return &reason{msg: "node id missing: give key node_id or flag -" + flagOf("node_id"), sentinel: ErrMissing}
	}
	where := fmt.Sprintf("(flag -%s, key peers)", flagOf("peers"))
	seen := make(map[string]bool, len(n.Peers))
	for _, p := range n.Peers {
		if p.NodeID == n.Engine.NodeID {
			return invalid("peer %s %s: that is this node's own id", formatPeer(p), where)
		}
		if seen[p.NodeID] {
			return invalid("peer %s %s: node id %q given twice", formatPeer(p), where, p.NodeID)
		}
		seen[p.NodeID] = true
	}
	if err := n.Engine.Validate(); err != nil {
		if errors.Is(err, engine.ErrTLSRequired) {
			return fmt.Errorf("%w (keys tls.cert_path, tls.key_path and tls.ca_path, flags -%s, -%s and -%s; "+
				"or security_mode development for plaintext)",
				err, flagOf("tls.cert_path"), flagOf("tls.key_path"), flagOf("tls.ca_path"))
		}
		return err
	}
	return nil
}

// flagOf returns the flag of a key of the table.
func flagOf(key string) string {
	s, ok := Lookup(key)
	if !ok {
		panic("config: no setting " + key)
	}
	return s.Flag
}
