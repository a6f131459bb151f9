package main

import (
	"errors"
	"fmt"

	"github.com/tensorchain/transport/bucket"
	"github.com/tensorchain/transport/engine"
)

// parseConfig builds the node's configuration from the command line: the
// engine defaults, then the -config file if any, then the flags given
// explicitly. It reads the file but starts nothing. Errors name the flag or
// the key; -h and -help give flag.ErrHelp.
//
// The flags are parsed twice: first to check them and find -config, then,
// after the file, over its values, so that only flags present on the command
// line override the file.
func parseConfig(args []string) (engine.Config, options, error) {
	probeCfg, probeOpt := defaultConfig(), defaultOptions()
	probe := newFlagSet(&probeCfg, &probeOpt)
	if err := probe.Parse(args); err != nil {
		return engine.Config{}, options{}, err
	}
	if probe.NArg() > 0 {
		return engine.Config{}, options{}, fmt.Errorf("unexpected argument %q (tcnode takes only flags)", probe.Arg(0))
	}
	cfg, opt := defaultConfig(), defaultOptions()
	if probeOpt.ConfigPath != "" {
		if err := loadFile(probeOpt.ConfigPath, &cfg, &opt); err != nil {
			return engine.Config{}, options{}, err
		}
	}
	applyPreset(&cfg.RateLimit, probeOpt.rateLimitPreset)
	applyPreset(&cfg.InboundRateLimit, probeOpt.inboundRateLimitPreset)
	if err := newFlagSet(&cfg, &opt).Parse(args); err != nil {
		return engine.Config{}, options{}, err
	}
	if err := validate(&cfg, &opt); err != nil {
		return engine.Config{}, options{}, err
	}
	return cfg, opt, nil
}

// applyPreset replaces rl with the named preset; "" leaves it alone. The
// name was checked when the flag was parsed.
func applyPreset(rl *engine.RateLimitConfig, name string) {
	if name != "" {
		*rl, _ = bucket.Preset(name)
	}
}

// validate checks what single flags and keys cannot: the node id is given,
// the peers are distinct and not this node, and engine.Config.Validate
// (every range and the security mode against the TLS settings).
func validate(cfg *engine.Config, opt *options) error {
	if cfg.NodeID == "" {
		return errors.New("node id missing: give flag -id or key node_id")
	}
	seen := make(map[string]bool, len(opt.Peers))
	for _, p := range opt.Peers {
		if p.NodeID == cfg.NodeID {
			return fmt.Errorf("peer %s (flag -peer, key peers): that is this node's own id", formatPeer(p))
		}
		if seen[p.NodeID] {
			return fmt.Errorf("peer %s (flag -peer, key peers): node id %q given twice", formatPeer(p), p.NodeID)
		}
		seen[p.NodeID] = true
	}
	if err := cfg.Validate(); err != nil {
		if errors.Is(err, engine.ErrTLSRequired) {
			return fmt.Errorf("%w (flags -tls-cert, -tls-key, -tls-ca, or -security-mode development for plaintext)", err)
		}
		return err
	}
	return nil
}
