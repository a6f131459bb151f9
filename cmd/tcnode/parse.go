package main

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tensorchain/transport/bucket"
	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/tlsstate"
)

// The parsers below turn the text of a flag or of a TOML string into a
// setting. Their errors say what is wanted; the caller adds the flag or key.

// parseInt parses a decimal integer.
func parseInt(s string) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return v, nil
}

// parseInt64 parses a decimal 64-bit integer.
func parseInt64(s string) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return v, nil
}

// parseFloat parses a decimal number.
func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

// parseBool parses true/false (also 1/0, t/f).
func parseBool(s string) (bool, error) {
	v, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, fmt.Errorf("%q is not a boolean (want true or false)", s)
	}
	return v, nil
}

// parseDuration parses a Go duration such as "5s", "250ms" or "1m30s".
func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (want e.g. \"5s\", \"250ms\", \"1m30s\")", s)
	}
	return v, nil
}

// parseString accepts any text.
func parseString(s string) (string, error) { return s, nil }

// parseNodeID accepts a valid node id (1 to 255 bytes of UTF-8, no spaces
// or control characters).
func parseNodeID(s string) (string, error) {
	if err := codec.ValidateNodeID(s); err != nil {
		return "", fmt.Errorf("invalid node id %q (want 1 to 255 bytes, no spaces or control characters)", s)
	}
	return s, nil
}

// parseListen accepts a "host:port" address.
func parseListen(s string) (string, error) {
	if _, _, err := net.SplitHostPort(s); err != nil {
		return "", fmt.Errorf("%q is not a host:port address", s)
	}
	return s, nil
}

// parseSecurityMode accepts strict, permissive, development or legacy.
func parseSecurityMode(s string) (engine.SecurityMode, error) {
	m, err := tlsstate.ParseSecurityMode(s)
	if err != nil {
		return m, fmt.Errorf("unknown mode %q (want strict, permissive, development or legacy)", s)
	}
	return m, nil
}

// parseNodeIDVerification accepts none, common_name or subject_alt_name.
func parseNodeIDVerification(s string) (tlsstate.NodeIDVerification, error) {
	v, err := tlsstate.ParseNodeIDVerification(s)
	if err != nil {
		return v, fmt.Errorf("unknown value %q (want none, common_name or subject_alt_name)", s)
	}
	return v, nil
}

// parseTLSVersion accepts "1.2" or "1.3".
func parseTLSVersion(s string) (tlsstate.TLSVersion, error) {
	v, err := tlsstate.ParseTLSVersion(s)
	if err != nil {
		return v, fmt.Errorf("unsupported version %q (want \"1.2\" or \"1.3\")", s)
	}
	return v, nil
}

// parseLogLevel accepts debug, info, warn or error (any case).
func parseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return l, fmt.Errorf("unknown level %q (want debug, info, warn or error)", s)
	}
	return l, nil
}

// parseMethod accepts the only compression method, "lz4".
func parseMethod(s string) (engine.CompressionMethod, error) {
	m := engine.CompressionMethod(strings.ToLower(strings.TrimSpace(s)))
	if m != engine.Lz4 {
		return m, fmt.Errorf("unknown method %q (want lz4)", s)
	}
	return m, nil
}

// parsePreset accepts a rate-limit preset name: default, aggressive,
// permissive or disabled.
func parsePreset(s string) (string, error) {
	if _, err := bucket.Preset(strings.TrimSpace(s)); err != nil {
		return "", fmt.Errorf("unknown preset %q (want default, aggressive, permissive or disabled)", s)
	}
	return strings.TrimSpace(s), nil
}

// parsePeer parses "ID=HOST:PORT".
func parsePeer(s string) (engine.PeerConfig, error) {
	id, addr, ok := strings.Cut(s, "=")
	if !ok {
		return engine.PeerConfig{}, fmt.Errorf("%q: want ID=HOST:PORT", s)
	}
	if _, err := parseNodeID(id); err != nil {
		return engine.PeerConfig{}, fmt.Errorf("%q: %v", s, err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" {
		return engine.PeerConfig{}, fmt.Errorf("%q: address %q is not host:port", s, addr)
	}
	return engine.PeerConfig{NodeID: id, Address: addr}, nil
}

// formatPeer is the inverse of parsePeer.
func formatPeer(p engine.PeerConfig) string { return p.NodeID + "=" + p.Address }

// formatLogLevel is the inverse of parseLogLevel: "info", "debug", ...
func formatLogLevel(l slog.Level) string { return strings.ToLower(l.String()) }
