package main

import (
	"log/slog"
	"maps"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tensorchain/transport/bucket"
	"github.com/tensorchain/transport/config"
	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/tlsstate"
)

// dev are the flags every case needs to pass validation without TLS.
var dev = []string{"-id", "n1", "-security-mode", "development"}

// parseConfig is what run does with its arguments: config.ParseArgs. It
// returns the engine configuration apart, for the checks.
func parseConfig(args []string) (engine.Config, config.Node, error) {
	n, err := config.ParseArgs(args)
	return n.Engine, n, err
}

// configCase is one parseConfig case: an optional TOML file (passed with
// -config), the flags, and either a check of the result or the substrings
// the error must contain.
type configCase struct {
	name  string
	file  string
	args  []string
	check func(t *testing.T, cfg engine.Config, opt config.Node, dir string)
	errs  []string
}

// runConfigCase runs one case in its own directory.
func runConfigCase(t *testing.T, c configCase) {
	dir := t.TempDir()
	args := c.args
	if c.file != "" {
		args = append([]string{"-config", writeFile(t, dir, "node.toml", c.file)}, args...)
	}
	cfg, opt, err := parseConfig(args)
	if len(c.errs) > 0 {
		if err == nil {
			t.Fatalf("parseConfig(%q) = nil error, want one containing %q", args, c.errs)
		}
		for _, want := range c.errs {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("parseConfig(%q): %v", args, err)
	}
	c.check(t, cfg, opt, dir)
}

// equal fails the test when got != want.
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func TestParseConfig(t *testing.T) {
	for _, c := range configCases() {
		t.Run(c.name, func(t *testing.T) { runConfigCase(t, c) })
	}
}

// configCases are the successful cases.
func configCases() []configCase {
	return []configCase{
		{name: "defaults", args: dev, check: func(t *testing.T, cfg engine.Config, opt config.Node, _ string) {
			want := engine.NewConfig("n1", config.DefaultListen)
			want.SecurityMode = engine.Development
			equal(t, "config", cfg, want)
			equal(t, "peers", opt.Peers, []engine.PeerConfig(nil))
			equal(t, "StatsInterval", opt.StatsInterval, time.Duration(0))
			equal(t, "LogLevel", opt.LogLevel, slog.LevelInfo)
		}},
		{name: "file top level", file: topLevelTOML, check: checkTopLevel},
		{name: "flags override file", file: topLevelTOML,
			args: []string{"-pool-size", "5", "-listen", "127.0.0.1:7000", "-keepalive=false", "-log-level", "debug"},
			check: func(t *testing.T, cfg engine.Config, opt config.Node, _ string) {
				equal(t, "PoolSize", cfg.PoolSize, 5)
				equal(t, "ListenAddr", cfg.ListenAddr, "127.0.0.1:7000")
				equal(t, "Keepalive", cfg.Keepalive, false)
				equal(t, "LogLevel", opt.LogLevel, slog.LevelDebug)
				equal(t, "ConnectTimeout (file)", cfg.ConnectTimeout, 2*time.Second)
				equal(t, "NodeID (file)", cfg.NodeID, "n7")
			}},
		{name: "tls section", file: tlsTOML, check: func(t *testing.T, cfg engine.Config, _ config.Node, dir string) {
			equal(t, "TLS", *cfg.TLS, tlsstate.Config{
				CertPath: filepath.Join(dir, "certs/n1.pem"), KeyPath: "/abs/n1.key", CAPath: filepath.Join(dir, "ca.pem"),
				RequireClientAuth: true, NodeIDVerification: tlsstate.NodeIDSubjectAltName, MinVersion: 0x0303,
			})
		}},
		{name: "tls flags over section", file: tlsTOML, args: []string{"-tls-cert", "x.pem", "-tls-min-version", "1.3"},
			check: func(t *testing.T, cfg engine.Config, _ config.Node, _ string) {
				equal(t, "CertPath", cfg.TLS.CertPath, "x.pem")
				equal(t, "KeyPath", cfg.TLS.KeyPath, "/abs/n1.key")
				equal(t, "MinVersion", cfg.TLS.MinVersion.String(), "1.3")
			}},
		{name: "tls flags only", args: []string{"-id", "n1", "-tls-cert", "c", "-tls-key", "k", "-tls-ca", "ca"},
			check: func(t *testing.T, cfg engine.Config, _ config.Node, _ string) {
				equal(t, "SecurityMode", cfg.SecurityMode, engine.Strict)
				equal(t, "TLS", *cfg.TLS, *tlsstate.NewSecureConfig("c", "k", "ca"))
			}},
		{name: "rate limit sections", file: rateTOML, check: func(t *testing.T, cfg engine.Config, _ config.Node, _ string) {
			equal(t, "RateLimit", cfg.RateLimit, bucket.Config{Enabled: true, BucketSize: 50, RefillRate: 10})
			equal(t, "InboundRateLimit", cfg.InboundRateLimit, bucket.Config{Enabled: true, BucketSize: 10, RefillRate: 5})
		}},
		{name: "rate limit preset flag first", file: rateTOML,
			args: []string{"-rate-limit-bucket-size=7", "-rate-limit=permissive", "-inbound-rate-limit=disabled"},
			check: func(t *testing.T, cfg engine.Config, _ config.Node, _ string) {
				equal(t, "RateLimit", cfg.RateLimit, bucket.Config{Enabled: true, BucketSize: 7, RefillRate: 100})
				equal(t, "InboundRateLimit", cfg.InboundRateLimit, bucket.Disabled())
			}},
		{name: "compression section", file: dev0 + "[compression]\nenabled = false\nmethod = \"LZ4\"\nmin_size = 1024\n",
			check: func(t *testing.T, cfg engine.Config, _ config.Node, _ string) {
				equal(t, "Compression", cfg.Compression, engine.CompressionConfig{Enabled: false, Method: engine.Lz4, MinSize: 1024})
			}},
		{name: "reconnect section", file: reconnectTOML, check: func(t *testing.T, cfg engine.Config, _ config.Node, _ string) {
			equal(t, "Reconnect", cfg.Reconnect, engine.ReconnectConfig{Enabled: true, InitialBackoff: 50 * time.Millisecond,
				MaxBackoff: 2 * time.Second, Multiplier: 1.5, MaxAttempts: 9, Jitter: 0.25})
		}},
		{name: "reconnect flags over section", file: reconnectTOML, args: []string{"-reconnect-max-attempts=0", "-reconnect-enabled=false"},
			check: func(t *testing.T, cfg engine.Config, _ config.Node, _ string) {
				equal(t, "Reconnect", cfg.Reconnect, engine.ReconnectConfig{Enabled: false, InitialBackoff: 50 * time.Millisecond,
					MaxBackoff: 2 * time.Second, Multiplier: 1.5, MaxAttempts: 0, Jitter: 0.25})
			}},
		{name: "repeated peer flags", args: append(slices.Clone(dev), "-peer", "n2=10.0.0.2:9100", "-peer", "n3=[::1]:9103"),
			check: func(t *testing.T, _ engine.Config, opt config.Node, _ string) {
				equal(t, "Peers", opt.Peers, []engine.PeerConfig{{NodeID: "n2", Address: "10.0.0.2:9100"}, {NodeID: "n3", Address: "[::1]:9103"}})
			}},
		{name: "file peers", file: topLevelTOML, check: func(t *testing.T, _ engine.Config, opt config.Node, _ string) {
			equal(t, "Peers", opt.Peers, []engine.PeerConfig{{NodeID: "n8", Address: "10.0.0.8:9108"}, {NodeID: "n9", Address: "h9:9109"}})
		}},
		{name: "peer flags replace file peers", file: topLevelTOML, args: []string{"-peer", "n2=h2:1"},
			check: func(t *testing.T, _ engine.Config, opt config.Node, _ string) {
				equal(t, "Peers", opt.Peers, []engine.PeerConfig{{NodeID: "n2", Address: "h2:1"}})
			}},
		{name: "program options", args: append(slices.Clone(dev), "-stats-interval", "1m", "-log-level", "WARN"),
			check: func(t *testing.T, _ engine.Config, opt config.Node, _ string) {
				equal(t, "StatsInterval", opt.StatsInterval, time.Minute)
				equal(t, "LogLevel", opt.LogLevel, slog.LevelWarn)
			}},
	}
}

// dev0 is the TOML equivalent of dev.
const dev0 = "node_id = \"n1\"\nsecurity_mode = \"development\"\n"

const topLevelTOML = `
node_id = "n7"
listen = "127.0.0.1:9107"
peers = ["n8=10.0.0.8:9108", "n9=h9:9109"]
pool_size = 3
connect_timeout = "2s"
io_timeout = "1m"
frame_timeout = "3s"
max_message_size = 1048576
keepalive = true
keepalive_interval = "10s"
max_pending_messages = 10
max_pending_bytes = 2048
recv_buffer_size = 20
recv_buffer_bytes = 4096
receive_window = 131072
memory_budget = 6442450944
conn_memory_reserve = 131072
event_loops = 3
handshake_concurrency = 4
handshake_idle_timeout = "250ms"
max_inbound_connections = 100
max_connections_per_address = 10
max_connections_per_peer = 5
close_timeout = "1500ms"
security_mode = "Development"
stats_interval = "3s"
log_level = "error"
`

// checkTopLevel checks every key of topLevelTOML.
func checkTopLevel(t *testing.T, cfg engine.Config, opt config.Node, _ string) {
	want := engine.NewConfig("n7", "127.0.0.1:9107")
	want.PoolSize, want.ConnectTimeout, want.IOTimeout = 3, 2*time.Second, time.Minute
	want.MaxMessageSize, want.Keepalive, want.KeepaliveInterval = 1<<20, true, 10*time.Second
	want.MaxPendingMessages, want.MaxPendingBytes, want.RecvBufferSize = 10, 2048, 20
	want.ReceiveWindow, want.EventLoops, want.HandshakeConcurrency = 128<<10, 3, 4
	want.CloseTimeout, want.SecurityMode = 1500*time.Millisecond, engine.Development
	want.FrameTimeout, want.RecvBufferBytes = 3*time.Second, 4096
	want.MemoryBudget, want.ConnMemoryReserve = 6<<30, 128<<10
	want.HandshakeIdleTimeout, want.MaxInboundConnections = 250*time.Millisecond, 100
	want.MaxConnectionsPerAddress, want.MaxConnectionsPerPeer = 10, 5
	equal(t, "config", cfg, want)
	equal(t, "StatsInterval", opt.StatsInterval, 3*time.Second)
	equal(t, "LogLevel", opt.LogLevel, slog.LevelError)
}

const tlsTOML = `node_id = "n1"
[tls]
cert_path = "certs/n1.pem"
key_path = "/abs/n1.key"
ca_path = "ca.pem"
node_id_verification = "subject_alt_name"
min_version = "1.2"
`

const rateTOML = dev0 + `
[rate_limit]
preset = "aggressive"
refill_rate = 10

[inbound_rate_limit]
enabled = true
bucket_size = 10
refill_rate = 5
`

const reconnectTOML = dev0 + `
[reconnect]
enabled = true
initial_backoff = "50ms"
max_backoff = "2s"
multiplier = 1.5
max_attempts = 9
jitter = 0.25
`

func TestParseConfigErrors(t *testing.T) {
	for _, c := range errorCases() {
		t.Run(c.name, func(t *testing.T) { runConfigCase(t, c) })
	}
	for _, c := range admissionErrorCases() {
		t.Run(c.name, func(t *testing.T) { runConfigCase(t, c) })
	}
}

// errorCases are the failing cases, each with the text the error must hold.
func errorCases() []configCase {
	withDev := func(args ...string) []string { return append(slices.Clone(dev), args...) }
	return []configCase{
		{name: "unknown flag", args: withDev("-pool-sise", "3"), errs: []string{"-pool-sise"}},
		{name: "pool size zero", args: withDev("-pool-size=0"), errs: []string{"-pool-size", "between 1 and 64"}},
		{name: "negative size", args: withDev("-max-pending-bytes=-1"), errs: []string{"-max-pending-bytes", ">= 1"}},
		{name: "not an integer", args: withDev("-event-loops=two"), errs: []string{"-event-loops", "not an integer"}},
		{name: "bad duration flag", args: withDev("-connect-timeout=abc"), errs: []string{"-connect-timeout", "not a duration"}},
		{name: "zero duration flag", args: withDev("-io-timeout=0s"), errs: []string{"-io-timeout", "> 0s"}},
		{name: "bad bool flag", args: withDev("-keepalive=maybe"), errs: []string{"-keepalive"}},
		{name: "bad float flag", args: withDev("-reconnect-jitter=1"), errs: []string{"-reconnect-jitter", "< 1"}},
		{name: "peer without =", args: withDev("-peer", "n2"), errs: []string{"-peer", "ID=HOST:PORT"}},
		{name: "peer without port", args: withDev("-peer", "n2=host"), errs: []string{"-peer", "host:port"}},
		{name: "peer bad id", args: withDev("-peer", "n 2=h:1"), errs: []string{"-peer", "node id"}},
		{name: "bad security mode flag", args: withDev("-security-mode", "lax"), errs: []string{"-security-mode", "lax"}},
		{name: "bad preset flag", args: withDev("-rate-limit", "turbo"), errs: []string{"-rate-limit", "turbo"}},
		{name: "bad tls version flag", args: withDev("-tls-min-version", "1.1"), errs: []string{"-tls-min-version"}},
		{name: "bad log level flag", args: withDev("-log-level", "loud"), errs: []string{"-log-level"}},
		{name: "bad listen flag", args: withDev("-listen", "9100"), errs: []string{"-listen"}},
		{name: "positional argument", args: withDev("extra"), errs: []string{`"extra"`}},
		{name: "missing node id", args: []string{"-security-mode", "development"}, errs: []string{"-id", "node_id"}},
		{name: "peer is self", args: withDev("-peer", "n1=h:1"), errs: []string{"-peer", "own id"}},
		{name: "duplicate peer", args: withDev("-peer", "n2=h:1", "-peer", "n2=h:2"), errs: []string{"-peer", "twice"}},
		{name: "strict without tls", args: []string{"-id", "n1"}, errs: []string{"TLS required", "-tls-cert"}},
		{name: "strict without client auth", args: []string{"-id", "n1", "-tls-cert", "c", "-tls-key", "k", "-tls-ca", "ca",
			"-tls-require-client-auth=false"}, errs: []string{"require_client_auth"}},
		{name: "missing file", args: []string{"-config", "/nonexistent/node.toml"}, errs: []string{"config /nonexistent/node.toml"}},
		{name: "unknown top-level key", file: dev0 + "pool_sise = 3\n", errs: []string{`config `, `unknown key "pool_sise" (line 3)`}},
		{name: "unknown section key", file: dev0 + "[tls]\ncert_pth = \"x\"\n", errs: []string{`unknown key "tls.cert_pth"`}},
		{name: "unknown section", file: dev0 + "[tlss]\ncert_path = \"x\"\n", errs: []string{`unknown key "tlss`}},
		{name: "two unknown keys", file: dev0 + "a = 1\n[reconnect]\nb = 2\n", errs: []string{`unknown key "a"`, `unknown key "reconnect.b"`}},
		{name: "bad type", file: dev0 + "pool_size = \"two\"\n", errs: []string{"key pool_size", "want an integer"}},
		{name: "bad type in section", file: dev0 + "[compression]\nenabled = \"yes\"\n", errs: []string{"key compression.enabled", "true or false"}},
		{name: "section not a table", file: dev0 + "reconnect = 3\n", errs: []string{"key reconnect"}},
		{name: "bad duration", file: dev0 + "connect_timeout = \"5 parsecs\"\n", errs: []string{"key connect_timeout", "not a duration"}},
		{name: "integer duration", file: dev0 + "io_timeout = 5\n", errs: []string{"key io_timeout", "duration"}},
		{name: "bad duration in section", file: dev0 + "[reconnect]\nmax_backoff = \"soon\"\n", errs: []string{"key reconnect.max_backoff"}},
		{name: "negative size", file: dev0 + "max_pending_messages = -1\n", errs: []string{"key max_pending_messages", ">= 1"}},
		{name: "negative duration", file: dev0 + "close_timeout = \"-1s\"\n", errs: []string{"key close_timeout"}},
		{name: "bad security mode", file: "node_id = \"n1\"\nsecurity_mode = \"lax\"\n", errs: []string{"key security_mode", "lax"}},
		{name: "numeric security mode", file: "node_id = \"n1\"\nsecurity_mode = 2\n", errs: []string{"key security_mode", "want a string"}},
		{name: "bad verification", file: dev0 + "[tls]\nnode_id_verification = \"cn\"\n", errs: []string{"key tls.node_id_verification"}},
		{name: "bad preset", file: dev0 + "[rate_limit]\npreset = \"turbo\"\n", errs: []string{"key rate_limit.preset", "turbo"}},
		{name: "bad refill rate", file: dev0 + "[inbound_rate_limit]\nrefill_rate = 0\n", errs: []string{"key inbound_rate_limit.refill_rate"}},
		{name: "bad method", file: dev0 + "[compression]\nmethod = \"zstd\"\n", errs: []string{"key compression.method", "zstd"}},
		{name: "bad peers entry", file: dev0 + "peers = [\"n2\"]\n", errs: []string{"key peers", "ID=HOST:PORT"}},
		{name: "peers not strings", file: dev0 + "peers = [1]\n", errs: []string{"key peers"}},
		{name: "bad node id", file: "node_id = \"\"\n", errs: []string{"key node_id"}},
		{name: "syntax error", file: dev0 + "pool_size = = 3\n", errs: []string{"syntax error at line 3"}},
		{name: "several bad values", file: dev0 + "pool_size = 0\nevent_loops = 0\n", errs: []string{"key pool_size", "key event_loops"}},
		{name: "cross-key check", file: dev0 + "[reconnect]\ninitial_backoff = \"1s\"\nmax_backoff = \"500ms\"\n",
			errs: []string{"reconnect.max_backoff"}},
		{name: "keepalive interval", file: dev0 + "keepalive_interval = \"10ms\"\n", errs: []string{"key keepalive_interval", ">= 1s"}},
		{name: "byte size with unit", file: dev0 + "memory_budget = \"512MiB\"\n", errs: []string{"key memory_budget", "want an integer", "line 3"}},
		{name: "byte size with unit flag", args: withDev("-memory-budget=512MiB"), errs: []string{"-memory-budget", "not an integer"}},
		{name: "memory budget over int64", args: withDev("-memory-budget=9223372036854775808"), errs: []string{"-memory-budget", "not an integer"}},
		{name: "float memory budget", file: dev0 + "memory_budget = 5.5e8\n", errs: []string{"key memory_budget", "got a TOML float, want an integer"}},
		{name: "reserve over budget", file: dev0 + "memory_budget = 4194304\nconn_memory_reserve = 8388608\n",
			errs: []string{"conn_memory_reserve"}},
		{name: "reserve over budget flags", args: withDev("-memory-budget=4194304", "-conn-memory-reserve=8388608"),
			errs: []string{"conn_memory_reserve"}},
	}
}

// usageFlag matches a flag's line in tcnode's usage.
var usageFlag = regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)

// Every key is a flag of tcnode's usage and every flag but -config is a key.
func TestEveryKeyIsAFlag(t *testing.T) {
	var usage strings.Builder
	printUsage(&usage)
	flags := map[string]bool{}
	for _, m := range usageFlag.FindAllStringSubmatch(usage.String(), -1) {
		flags[m[1]] = true
	}
	delete(flags, "config")
	for _, s := range config.Settings() {
		if !flags[s.Flag] {
			t.Errorf("key %s has no flag -%s", s.Key, s.Flag)
		}
		delete(flags, s.Flag)
	}
	for name := range flags {
		t.Errorf("flag -%s has no key", name)
	}
}

// sameByNecessity are the keys whose only valid value is the default one
// (their example cannot change the configuration).
var sameByNecessity = map[string]bool{"compression.method": true}

// TestKeyAndFlagSetTheSameField gives every key its example value from the
// table (config.Setting.Example), as TOML and as a flag, through tcnode's
// command line: both must produce the same configuration, different from
// the default one, so every key and its flag set the same field.
func TestKeyAndFlagSetTheSameField(t *testing.T) {
	// The base keeps validation happy whatever the key under test (an
	// inbound bucket that may be enabled); the key under test replaces its
	// base line.
	base := map[string]string{"node_id": "n1", "security_mode": "development",
		"inbound_rate_limit.bucket_size": "10", "inbound_rate_limit.refill_rate": "5"}
	_, defOpt, err := parseConfig(baseFlags(base, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Settings() {
		_, fileOpt, err := parseConfig([]string{"-config", writeFile(t, t.TempDir(), "k.toml", oneKeyTOML(base, s, s.Example))})
		if err != nil {
			t.Errorf("key %s: %v", s.Key, err)
			continue
		}
		_, flagOpt, err := parseConfig(append(baseFlags(base, s.Key), "-"+s.Flag+"="+s.Example))
		if err != nil {
			t.Errorf("flag -%s: %v", s.Flag, err)
			continue
		}
		if !reflect.DeepEqual(fileOpt, flagOpt) {
			t.Errorf("key %s and flag -%s differ:\n%+v\n%+v", s.Key, s.Flag, fileOpt, flagOpt)
		}
		if reflect.DeepEqual(fileOpt, defOpt) && !sameByNecessity[s.Key] {
			t.Errorf("key %s = %s changed nothing", s.Key, s.Example)
		}
	}
}

// baseFlags are the flags of the base settings but skip.
func baseFlags(base map[string]string, skip string) []string {
	var args []string
	for key, v := range base {
		if s, ok := config.Lookup(key); ok && key != skip {
			args = append(args, "-"+s.Flag+"="+v)
		}
	}
	return args
}

// oneKeyTOML writes the base settings and s = text, each in its section.
func oneKeyTOML(base map[string]string, s config.Setting, text string) string {
	values := map[string]string{}
	for key, v := range base {
		values[key] = tomlValue(key, v)
	}
	values[s.Key] = tomlValue(s.Key, text)
	bySection := map[string][]string{}
	for key, v := range values {
		section, name, ok := strings.Cut(key, ".")
		if !ok {
			section, name = "", key
		}
		bySection[section] = append(bySection[section], name+" = "+v)
	}
	var b strings.Builder
	for _, section := range slices.Sorted(maps.Keys(bySection)) {
		if section != "" {
			b.WriteString("[" + section + "]\n")
		}
		b.WriteString(strings.Join(bySection[section], "\n") + "\n")
	}
	return b.String()
}

// tomlValue writes a flag's text as the TOML value of key: quoted for the
// string settings (durations and names), in an array for peers, as it is
// for numbers and booleans.
func tomlValue(key, text string) string {
	s, _ := config.Lookup(key)
	switch {
	case key == "peers":
		return `["` + text + `"]`
	case s.Type == "integer" || s.Type == "number" || s.Type == "boolean":
		return text
	}
	return `"` + text + `"`
}

// admissionSetting is one of the memory, frame and admission settings: a
// valid non-default value as TOML and as a flag, what it must do to the
// engine.Config, and a value its rule refuses with the text of the refusal.
type admissionSetting struct {
	key        string
	toml, flag string
	set        func(*engine.Config)
	bad        string // as a flag, and as TOML unless badTOML is given
	badTOML    string
	badWhy     string
}

var admissionSettings = []admissionSetting{
	{key: "recv_buffer_bytes", toml: "1048576", flag: "1048576",
		set: func(c *engine.Config) { c.RecvBufferBytes = 1 << 20 }, bad: "-1", badWhy: "must be >= 0"},
	{key: "memory_budget", toml: "8589934592", flag: "8589934592", // 8 GiB: more than 32 bits
		set: func(c *engine.Config) { c.MemoryBudget = 8 << 30 }, bad: "4194303", badWhy: "must be >= 4194304"},
	{key: "conn_memory_reserve", toml: "1048576", flag: "1048576",
		set: func(c *engine.Config) { c.ConnMemoryReserve = 1 << 20 }, bad: "65535", badWhy: "must be >= 65536"},
	{key: "frame_timeout", toml: `"2m"`, flag: "2m",
		set: func(c *engine.Config) { c.FrameTimeout = 2 * time.Minute }, bad: "0s", badTOML: `"0s"`, badWhy: "must be > 0s"},
	{key: "handshake_idle_timeout", toml: `"300ms"`, flag: "300ms",
		set: func(c *engine.Config) { c.HandshakeIdleTimeout = 300 * time.Millisecond }, bad: "-1s", badTOML: `"-1s"`, badWhy: "must be > 0s"},
	{key: "max_inbound_connections", toml: "5000", flag: "5000",
		set: func(c *engine.Config) { c.MaxInboundConnections = 5000 }, bad: "0", badWhy: "must be >= 1"},
	{key: "max_connections_per_address", toml: "3", flag: "3",
		set: func(c *engine.Config) { c.MaxConnectionsPerAddress = 3 }, bad: "0", badWhy: "must be >= 1"},
	{key: "max_connections_per_peer", toml: "2", flag: "2",
		set: func(c *engine.Config) { c.MaxConnectionsPerPeer = 2 }, bad: "-5", badWhy: "must be >= 1"},
	{key: "stream_window", toml: "1048576", flag: "1048576",
		set: func(c *engine.Config) { c.StreamWindow = 1 << 20 }, bad: "1000", badWhy: "must be between"},
	{key: "max_streams_per_peer", toml: "3", flag: "3",
		set: func(c *engine.Config) { c.MaxStreamsPerPeer = 3 }, bad: "0", badWhy: "must be >= 1"},
}

// TestAdmissionSettingsReachTheConfig sets each memory, frame and
// admission setting from the file and from its flag, and checks that the
// engine.Config is the default one with that field, and only it, changed.
func TestAdmissionSettingsReachTheConfig(t *testing.T) {
	for _, s := range admissionSettings {
		t.Run(s.key, func(t *testing.T) {
			def := engine.NewConfig("n1", config.DefaultListen)
			def.SecurityMode = engine.Development
			want := def
			s.set(&want)
			if reflect.DeepEqual(want, def) {
				t.Fatal("the test value is the default")
			}
			check := func(t *testing.T, cfg engine.Config, _ config.Node, _ string) { equal(t, "config", cfg, want) }
			t.Run("file", func(t *testing.T) {
				runConfigCase(t, configCase{file: dev0 + s.key + " = " + s.toml + "\n", check: check})
			})
			t.Run("flag", func(t *testing.T) {
				runConfigCase(t, configCase{args: append(slices.Clone(dev), "-"+flagOf(s.key), s.flag), check: check})
			})
		})
	}
}

// admissionErrorCases refuse a bad value of each admission setting, from
// the file (naming the key) and from the flag (naming the flag), and a
// value of the wrong TOML type (naming the key and its line).
func admissionErrorCases() []configCase {
	var cases []configCase
	for _, s := range admissionSettings {
		badTOML := s.bad
		if s.badTOML != "" {
			badTOML = s.badTOML
		}
		cases = append(cases,
			configCase{name: "bad " + s.key, file: dev0 + s.key + " = " + badTOML + "\n",
				errs: []string{"key " + s.key + ": " + s.badWhy}},
			configCase{name: "bad flag -" + flagOf(s.key), args: append(slices.Clone(dev), "-"+flagOf(s.key)+"="+s.bad),
				errs: []string{"flag -" + flagOf(s.key) + ": " + s.badWhy}},
			configCase{name: "wrong type " + s.key, file: dev0 + s.key + " = true\n",
				errs: []string{"key " + s.key + ": got a TOML bool", "(line 3)"}})
	}
	return cases
}

// flagOf returns the flag of a key.
func flagOf(key string) string {
	s, _ := config.Lookup(key)
	return s.Flag
}
