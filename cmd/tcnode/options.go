package main

import (
	"log/slog"
	"strings"
	"time"

	"github.com/tensorchain/transport/engine"
)

// defaultListen is the listen address when neither -listen nor the key
// listen is given.
const defaultListen = "0.0.0.0:9100"

// options are the program's own settings, beside the engine.Config.
type options struct {
	// ConfigPath is the TOML file given with -config ("" for none).
	ConfigPath string
	// Peers are the nodes to connect to at start.
	Peers []engine.PeerConfig
	// StatsInterval is how often stats go to stderr; 0 turns them off.
	StatsInterval time.Duration
	// LogLevel is the lowest level logged to stderr.
	LogLevel slog.Level

	// rateLimitPreset and inboundRateLimitPreset hold the presets named by
	// -rate-limit and -inbound-rate-limit; parseConfig applies them before
	// the other rate-limit flags, whatever the order on the command line.
	rateLimitPreset, inboundRateLimitPreset string
}

// defaultConfig returns the engine defaults (engine.NewConfig) with the
// default listen address and no node id.
func defaultConfig() engine.Config { return engine.NewConfig("", defaultListen) }

// defaultOptions returns the defaults of the program's own settings.
func defaultOptions() options { return options{LogLevel: slog.LevelInfo} }

// irregularFlags maps the TOML keys whose flag is not simply the key in
// kebab case (with the section as a prefix).
var irregularFlags = map[string]string{
	"node_id":                   "id",
	"peers":                     "peer",
	"tls.cert_path":             "tls-cert",
	"tls.key_path":              "tls-key",
	"tls.ca_path":               "tls-ca",
	"rate_limit.preset":         "rate-limit",
	"inbound_rate_limit.preset": "inbound-rate-limit",
}

// flagName returns the flag of a TOML key: "reconnect.max_backoff" is
// -reconnect-max-backoff; see irregularFlags for the exceptions.
func flagName(key string) string {
	if name, ok := irregularFlags[key]; ok {
		return name
	}
	return strings.NewReplacer("_", "-", ".", "-").Replace(key)
}
