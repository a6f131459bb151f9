package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tensorchain/transport/engine"
)

// Load reads the TOML file at path over the defaults (Default) and
// validates the result (Node.Validate): it returns what engine.New and
// Transport.Connect take. Relative paths in [tls] are taken from the
// file's directory. Errors start with "config PATH:" and name each refused
// key with its line; see KeyError and the sentinels.
func Load(path string) (engine.Config, []engine.PeerConfig, error) {
	n := Default()
	if err := n.LoadFile(path); err != nil {
		return engine.Config{}, nil, err
	}
	if err := n.Validate(); err != nil {
		return engine.Config{}, nil, fmt.Errorf("config %s: %w", path, err)
	}
	return n.Engine, n.Peers, nil
}

// Read is Load for a document that is not a file: relative paths in [tls]
// are taken from the working directory, and errors start with "config:".
func Read(r io.Reader) (engine.Config, []engine.PeerConfig, error) {
	n := Default()
	if err := n.Decode(r, ""); err != nil {
		return engine.Config{}, nil, fmt.Errorf("config: %w", err)
	}
	if err := n.Validate(); err != nil {
		return engine.Config{}, nil, fmt.Errorf("config: %w", err)
	}
	return n.Engine, n.Peers, nil
}

// LoadFile reads the TOML file at path over n: the keys it holds replace
// n's values, the others stay. It does not validate the result. Errors
// start with "config PATH:"; on error, n may hold some of the file's
// values.
func (n *Node) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if err := n.decode(data, filepath.Dir(path)); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// Decode reads a TOML document from r over n, as LoadFile does; dir is the
// base of relative paths in [tls] ("" for the working directory).
func (n *Node) Decode(r io.Reader, dir string) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return n.decode(data, dir)
}
