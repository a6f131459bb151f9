package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tensorchain/transport/bucket"
	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/tlsstate"
)

// TestDecode applies documents over the defaults and checks the result:
// the TOML forms of sections (headers, dotted keys, inline tables),
// relative paths, and the presets applied before their section's keys.
func TestDecode(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want func(n *Node)
	}{
		{"empty document", "", func(*Node) {}},
		{"top-level keys", "node_id = \"n1\"\npool_size = 3\nconnect_timeout = \"2s\"\nmemory_budget = 6442450944\n",
			func(n *Node) {
				n.Engine.NodeID, n.Engine.PoolSize, n.Engine.ConnectTimeout, n.Engine.MemoryBudget = "n1", 3, 2*time.Second, 6<<30
			}},
		{"empty tls section turns TLS on", "[tls]\n", func(n *Node) { n.Engine.TLS = tlsstate.NewSecureConfig("", "", "") }},
		{"relative paths from the file's directory", "[tls]\ncert_path = \"certs/n1.pem\"\nkey_path = \"/abs/n1.key\"\n",
			func(n *Node) {
				n.Engine.TLS = tlsstate.NewSecureConfig(filepath.Join("conf", "certs/n1.pem"), "/abs/n1.key", "")
			}},
		{"inline table", "tls = { ca_path = \"/ca.pem\", min_version = \"1.2\" }\n", func(n *Node) {
			n.Engine.TLS = tlsstate.NewSecureConfig("", "", "/ca.pem")
			n.Engine.TLS.MinVersion = 0x0303
		}},
		{"dotted keys", "reconnect.jitter = 0.25\nreconnect.max_attempts = 9\n", func(n *Node) {
			n.Engine.Reconnect.Jitter, n.Engine.Reconnect.MaxAttempts = 0.25, 9
		}},
		{"preset first, whatever the order", "[rate_limit]\nrefill_rate = 10\npreset = \"aggressive\"\n",
			func(n *Node) { n.Engine.RateLimit = bucket.Config{Enabled: true, BucketSize: 50, RefillRate: 10} }},
		{"integer for a number", "[inbound_rate_limit]\nenabled = true\nbucket_size = 10\nrefill_rate = 5\n",
			func(n *Node) { n.Engine.InboundRateLimit = bucket.Config{Enabled: true, BucketSize: 10, RefillRate: 5} }},
		{"enumerations in any case", "security_mode = \"Development\"\nlog_level = \"WARN\"\n[compression]\nmethod = \"LZ4\"\n",
			func(n *Node) { n.Engine.SecurityMode, n.LogLevel = engine.Development, 4 }},
		{"peers", "peers = [\"n2=10.0.0.2:9100\", \"n3=[::1]:9103\"]\n", func(n *Node) {
			n.Peers = []engine.PeerConfig{{NodeID: "n2", Address: "10.0.0.2:9100"}, {NodeID: "n3", Address: "[::1]:9103"}}
		}},
		{"no peers", "peers = []\n", func(n *Node) { n.Peers = []engine.PeerConfig{} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, want := Default(), Default()
			if err := got.decode([]byte(c.doc), "conf"); err != nil {
				t.Fatal(err)
			}
			c.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestDecodeErrors checks the exact text of refusals: each names its key
// and line, all are reported, in the order of the lines, and each wraps
// its sentinel and engine.ErrInvalidConfig.
func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name     string
		doc      string
		want     string
		sentinel error
	}{
		{"unknown key", "node_id = \"n1\"\npool_sise = 3\n", `unknown key "pool_sise" (line 2)`, ErrUnknownKey},
		{"unknown key in a section", "[tls]\ncert_pth = \"x\"\n", `unknown key "tls.cert_pth" (line 2)`, ErrUnknownKey},
		{"unknown section", "\n[tlss]\ncert_path = \"x\"\n", `unknown key "tlss" (line 2)`, ErrUnknownKey},
		{"unknown key in an inline table", "tls = { cert_pth = \"x\" }\n", `unknown key "tls.cert_pth" (line 1)`, ErrUnknownKey},
		{"unknown dotted key", "\n\nreconnect.jitr = 0.1\n", `unknown key "reconnect.jitr" (line 3)`, ErrUnknownKey},
		{"wrong type", "pool_size = \"two\"\n", `key pool_size: got a TOML string, want an integer (line 1)`, ErrInvalidValue},
		{"float for an integer", "memory_budget = 5.5e8\n", `key memory_budget: got a TOML float, want an integer (line 1)`, ErrInvalidValue},
		{"size with a unit", "memory_budget = \"512MiB\"\n", `key memory_budget: got a TOML string, want an integer (line 1)`, ErrInvalidValue},
		{"integer for a duration", "io_timeout = 5\n", `key io_timeout: got a TOML integer, want a duration string such as "5s" (line 1)`, ErrInvalidValue},
		{"date for a duration", "io_timeout = 1979-05-27\n", `key io_timeout: got a TOML local date, want a duration string such as "5s" (line 1)`, ErrInvalidValue},
		{"out of range", "pool_size = 0\n", `key pool_size: must be between 1 and 64 (line 1)`, ErrInvalidValue},
		{"unparsable", "connect_timeout = \"5 parsecs\"\n",
			`key connect_timeout: "5 parsecs" is not a duration (want e.g. "5s", "250ms", "1m30s") (line 1)`, ErrInvalidValue},
		{"section not a table", "reconnect = 3\n", `key reconnect: got a TOML integer, want a table (line 1)`, ErrInvalidValue},
		{"array of tables", "[[reconnect]]\njitter = 0.1\n", `key reconnect: got a TOML array, want a table (line 1)`, ErrInvalidValue},
		{"table for a value", "[pool_size]\n", `key pool_size: got a TOML table, want an integer (line 1)`, ErrInvalidValue},
		{"peers not strings", "peers = [1]\n", `key peers: got an array holding a TOML integer, want an array of "ID=HOST:PORT" strings (line 1)`, ErrInvalidValue},
		{"bad peer", "peers = [\"n2\"]\n", `key peers: "n2": want ID=HOST:PORT (line 1)`, ErrInvalidValue},
		{"every error, by line", "[reconnect]\njitter = 1.0\n[tls]\nmin_version = \"1.1\"\n[compression]\nmin_size = -1\nx = 1\n",
			"key reconnect.jitter: must be >= 0 and < 1 (line 2)\n" +
				`key tls.min_version: unsupported version "1.1" (want "1.2" or "1.3") (line 4)` + "\n" +
				"key compression.min_size: must be >= 0 (line 6)\n" +
				`unknown key "compression.x" (line 7)`, ErrInvalidValue},
		{"syntax error", "node_id = \"n1\"\npool_size = = 3\n",
			"syntax error at line 2, column 13: unexpected character U+003D '=' at start of value", ErrSyntax},
		{"key given twice", "pool_size = 1\npool_size = 2\n", "key pool_size: already defined (line 2)", ErrSyntax},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := Default()
			err := n.decode([]byte(c.doc), "")
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != c.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, c.want)
			}
			if !errors.Is(err, c.sentinel) || !errors.Is(err, engine.ErrInvalidConfig) {
				t.Errorf("error %q does not wrap %v and engine.ErrInvalidConfig", err, c.sentinel)
			}
		})
	}
}

// TestLoad checks Load and Read: the file's name starts the errors, the
// result is validated, relative paths come from the file's directory.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.toml", "node_id = \"n1\"\npeers = [\"n2=h:1\"]\n[tls]\ncert_path = \"n1.pem\"\nkey_path = \"n1.key\"\nca_path = \"ca.pem\"\n")
	cfg, peers, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "n1.pem"); cfg.NodeID != "n1" || cfg.TLS.CertPath != want {
		t.Errorf("NodeID %q, CertPath %q; want n1, %s", cfg.NodeID, cfg.TLS.CertPath, want)
	}
	if want := []engine.PeerConfig{{NodeID: "n2", Address: "h:1"}}; !reflect.DeepEqual(peers, want) {
		t.Errorf("peers %v, want %v", peers, want)
	}

	if _, _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	bad := write("bad.toml", "node_id = \"n1\"\npool_size = 99\n")
	if _, _, err := Load(bad); err == nil || err.Error() != "config "+bad+": key pool_size: must be between 1 and 64 (line 2)" {
		t.Errorf("bad file: %v", err)
	}
	anonymous := write("anonymous.toml", "security_mode = \"development\"\n")
	if _, _, err := Load(anonymous); !errors.Is(err, ErrMissing) || !strings.HasPrefix(err.Error(), "config "+anonymous+": node id missing") {
		t.Errorf("no node id: %v, want ErrMissing", err)
	}
	strict := write("strict.toml", "node_id = \"n1\"\n")
	if _, _, err := Load(strict); !errors.Is(err, engine.ErrTLSRequired) || !strings.Contains(err.Error(), "tls.cert_path") {
		t.Errorf("strict without TLS: %v, want ErrTLSRequired naming tls.cert_path", err)
	}

	cfg, _, err = Read(strings.NewReader("node_id = \"n1\"\nsecurity_mode = \"development\"\n[tls]\nca_path = \"ca.pem\"\n"))
	if err != nil || cfg.TLS.CAPath != "ca.pem" {
		t.Errorf("Read: %v, CAPath %q; want ca.pem, relative to the working directory", err, cfg.TLS.CAPath)
	}
	if _, _, err := Read(strings.NewReader("x = 1\n")); err == nil || err.Error() != `config: unknown key "x" (line 1)` {
		t.Errorf("Read: %v", err)
	}
}
