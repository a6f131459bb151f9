package config

import (
	"log/slog"
	"time"

	"github.com/tensorchain/transport/engine"
)

// DefaultListen is the listen address when neither the key listen nor the
// flag -listen gives one.
const DefaultListen = "0.0.0.0:9100"

// Node is the whole configuration of a node: what the table of settings
// (Settings) sets from a TOML file and from the command line.
type Node struct {
	// Engine is the transport's configuration. Its Logger, Handler and
	// MessageHandler are code, not settings: the program sets them.
	Engine engine.Config
	// Peers are the nodes to connect to at start (key peers, flag -peer).
	Peers []engine.PeerConfig

	// The settings below are the program's, not the engine's: tcnode uses
	// them; a program of its own may ignore them.

	// StatsInterval is how often to print the transport's stats; 0 is
	// never (key stats_interval).
	StatsInterval time.Duration
	// LogLevel is the lowest level to log (key log_level).
	LogLevel slog.Level
}

// Default returns the configuration every file and command line starts
// from: engine.NewConfig's defaults with DefaultListen and no node id (the
// key node_id is required), no peers, no stats, logs at Info.
func Default() Node {
	return Node{Engine: engine.NewConfig("", DefaultListen), LogLevel: slog.LevelInfo}
}
