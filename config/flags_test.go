package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tensorchain/transport/bucket"
	"github.com/tensorchain/transport/engine"
)

// dev are the flags a command line needs to validate without TLS.
var dev = []string{"-id", "n1", "-security-mode", "development"}

// withDev returns dev followed by args.
func withDev(args ...string) []string { return slices.Concat(dev, args) }

// TestParseArgs checks the command line over a file: flags given win, the
// others leave the file alone; the first -peer replaces the file's peers;
// presets apply before their section's flags whatever the order.
func TestParseArgs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "node.toml")
	doc := "node_id = \"n7\"\nsecurity_mode = \"development\"\npool_size = 3\npeers = [\"n8=h8:1\"]\n" +
		"[rate_limit]\nbucket_size = 9\n"
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want func(n *Node)
	}{
		{"defaults", dev, func(n *Node) { n.Engine.NodeID, n.Engine.SecurityMode = "n1", engine.Development }},
		{"file", []string{"-config", file}, fromFile},
		{"flags override the file", []string{"-config", file, "-pool-size=5", "-keepalive=false"}, func(n *Node) {
			fromFile(n)
			n.Engine.PoolSize, n.Engine.Keepalive = 5, false
		}},
		{"-config after the flags", []string{"-pool-size", "5", "-config", file}, func(n *Node) {
			fromFile(n)
			n.Engine.PoolSize = 5
		}},
		{"first -peer replaces the file's", []string{"-config", file, "-peer", "n2=h2:1", "-peer", "n3=h3:1"}, func(n *Node) {
			fromFile(n)
			n.Peers = []engine.PeerConfig{{NodeID: "n2", Address: "h2:1"}, {NodeID: "n3", Address: "h3:1"}}
		}},
		{"preset before its section's flags", []string{"-config", file, "-rate-limit-refill-rate=7", "-rate-limit", "permissive"},
			func(n *Node) {
				fromFile(n)
				n.Engine.RateLimit = bucket.Config{Enabled: true, BucketSize: 200, RefillRate: 7}
			}},
		{"boolean alone", slices.Concat([]string{"-tls-require-client-auth", "-tls-cert", "c"}, dev), func(n *Node) {
			n.Engine.NodeID, n.Engine.SecurityMode = "n1", engine.Development
			openTLS(n).CertPath = "c"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseArgs(c.args)
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			c.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// fromFile is what TestParseArgs' file sets.
func fromFile(n *Node) {
	n.Engine.NodeID, n.Engine.SecurityMode, n.Engine.PoolSize = "n7", engine.Development, 3
	n.Peers = []engine.PeerConfig{{NodeID: "n8", Address: "h8:1"}}
	n.Engine.RateLimit.BucketSize = 9
}

// TestParseArgsErrors checks the refusals of the command line.
func TestParseArgsErrors(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		want     string
		sentinel error
	}{
		{"bad value", withDev("-pool-size=0"), `invalid value "0" for flag -pool-size: must be between 1 and 64`, ErrInvalidValue},
		{"bad boolean", withDev("-keepalive=maybe"), `invalid boolean value "maybe" for -keepalive: "maybe" is not a boolean (want true or false)`, ErrInvalidValue},
		{"unknown flag", withDev("-pool-sise=3"), "flag provided but not defined: -pool-sise", nil},
		{"argument", withDev("extra"), `unexpected argument "extra" (only flags are accepted)`, ErrInvalidValue},
		{"help", []string{"-h"}, flag.ErrHelp.Error(), flag.ErrHelp},
		{"no node id", []string{"-security-mode", "development"}, "node id missing: give key node_id or flag -id", ErrMissing},
		{"peer is self", withDev("-peer", "n1=h:1"), `peer n1=h:1 (flag -peer, key peers): that is this node's own id`, ErrInvalidValue},
		{"peer twice", withDev("-peer", "n2=h:1", "-peer", "n2=h:2"), `peer n2=h:2 (flag -peer, key peers): node id "n2" given twice`, ErrInvalidValue},
		{"bad file", withDev("-config", "/nonexistent/node.toml"), "config /nonexistent/node.toml: open /nonexistent/node.toml: no such file or directory", os.ErrNotExist},
		{"cross-key check", withDev("-memory-budget=4194304", "-conn-memory-reserve=8388608"),
			"transport: invalid configuration: conn_memory_reserve out of range", engine.ErrInvalidConfig},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseArgs(c.args)
			if err == nil || err.Error() != c.want {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if c.sentinel != nil && !errors.Is(err, c.sentinel) {
				t.Errorf("error %q does not wrap %v", err, c.sentinel)
			}
		})
	}
}

// TestPrintDefaults checks that the usage lists -config and every
// setting's flag, with its key and rule.
func TestPrintDefaults(t *testing.T) {
	var b strings.Builder
	PrintDefaults(&b)
	out := b.String()
	for _, want := range []string{"-config file", "-pool-size number", "(key pool_size, between 1 and 64) (default 2)", "-id id", "-peer ID=HOST:PORT"} {
		if !strings.Contains(out, want) {
			t.Errorf("usage does not contain %q:\n%s", want, out)
		}
	}
	for _, s := range table {
		if !strings.Contains(out, "  -"+s.Flag+" ") && !strings.Contains(out, "  -"+s.Flag+"\n") {
			t.Errorf("usage has no flag -%s", s.Flag)
		}
	}
}
