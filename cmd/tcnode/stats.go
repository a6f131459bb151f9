package main

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/tensorchain/transport/engine"
)

// printStats writes the transport's stats to stderr every stats_interval
// (never when it is 0) until ctx ends. They are logfmt lines like the logs
// but printed whatever -log-level says: one "stats" line of totals and one
// "stats peer" line per peer.
func (n *node) printStats(ctx context.Context, stderr io.Writer) {
	if n.statsInterval <= 0 {
		return
	}
	out := slog.New(slog.NewTextHandler(stderr, nil))
	tick := time.NewTicker(n.statsInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			logStats(out, n.t.Stats())
		}
	}
}

// logStats writes one snapshot.
func logStats(out *slog.Logger, s engine.Stats) {
	out.Info("stats",
		"peers", s.PeerCount, "connections", s.ConnectionCount,
		"messages_sent", s.MessagesSent, "messages_received", s.MessagesReceived,
		"bytes_sent", s.BytesSent, "bytes_received", s.BytesReceived,
		"compression_ratio", s.CompressionRatio, "rate_limited", s.RateLimited,
		"queue_full", s.QueueFull, "inbound_throttled", s.InboundThrottled,
		"recv_stalls", s.RecvStalls, "recv_queue_depth", s.RecvQueueDepth,
		"protocol_errors", s.ProtocolErrors, "compression_errors", s.CompressionErrors,
		"io_timeouts", s.IOTimeouts, "dial_failures", s.DialFailures,
		"reconnect_attempts", s.ReconnectAttempts, "messages_dropped", s.MessagesDropped,
		"messages_unconfirmed", s.MessagesUnconfirmed,
		slog.Group("handshake_failures", handshakeFailures(s.HandshakeFailures)...))
	for _, p := range s.Peers {
		out.Info("stats peer", "peer", p.NodeID, "addr", p.Address, "state", p.State,
			"connections", p.Connections, "messages_sent", p.MessagesSent,
			"messages_received", p.MessagesReceived, "bytes_sent", p.BytesSent,
			"bytes_received", p.BytesReceived, "queue_depth", p.QueueDepth,
			"queued_bytes", p.QueuedBytes, "rate_limited", p.RateLimited,
			"messages_dropped", p.MessagesDropped, "reconnect_attempts", p.ReconnectAttempts)
	}
}

// handshakeFailures lists the non-zero handshake failure counts by cause,
// in a stable order.
func handshakeFailures(m map[string]uint64) []any {
	causes := make([]string, 0, len(m))
	for c, v := range m {
		if v > 0 {
			causes = append(causes, c)
		}
	}
	sort.Strings(causes)
	attrs := make([]any, 0, len(causes))
	for _, c := range causes {
		attrs = append(attrs, slog.Uint64(c, m[c]))
	}
	return attrs
}
