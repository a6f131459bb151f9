package engine

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/tensorchain/transport/tlsstate/record"
)

// counters are the transport-wide statistics, updated with atomics.
type counters struct {
	msgsSent, msgsRecv, bytesSent, bytesRecv atomic.Uint64
	payloadOut, wireOut, compressedFrames    atomic.Uint64
	bodyOut                                  atomic.Uint64 // payload bytes as sent: compressed or not, no headers
	directWrites, directPartial, dataWrites  atomic.Uint64
	directCredits                            atomic.Uint64
	keyUpdates                               record.Counters // added to by every connection's TLS record layer
	compressedIn, decompressedIn             atomic.Uint64
	rateLimited, queueFull, inboundThrottled atomic.Uint64
	protocolErrors, compressionErrors        atomic.Uint64
	ioTimeouts, dialFailures, reconnects     atomic.Uint64
	dropped, unconfirmed, stalls, expired    atomic.Uint64
	overBudget, starved, handshakeIdle       atomic.Uint64
	evicted                                  atomic.Uint64
	lateReplies, requestsFailed              atomic.Uint64
	streamsOpened, streamsRefused            atomic.Uint64
	streamsCancelled, streamsFailed          atomic.Uint64
	streamBytesDropped                       atomic.Uint64
	refused                                  [numRefusals]atomic.Uint64
	connsActive                              atomic.Int64
	handshakeFail                            [numCauses]atomic.Uint64
}

// peerCounters are one peer's statistics.
type peerCounters struct {
	msgsSent, msgsRecv, bytesSent, bytesRecv atomic.Uint64
	rateLimited, queueFull, dropped          atomic.Uint64
	unconfirmed, reconnects, throttled       atomic.Uint64
	expired                                  atomic.Uint64
}

// Stats is a point-in-time snapshot of the transport's counters. Byte
// counts are wire bytes of data frames (headers included, after
// compression) unless the name says otherwise.
type Stats struct {
	MessagesSent     uint64 `json:"messages_sent"`
	MessagesReceived uint64 `json:"messages_received"`
	BytesSent        uint64 `json:"bytes_sent"`
	BytesReceived    uint64 `json:"bytes_received"`
	PeerCount        int    `json:"peer_count"`
	ConnectionCount  int    `json:"connection_count"`

	// PayloadBytesQueued counts application payload bytes accepted by Send,
	// before compression; WireBytesQueued counts the frames they became.
	PayloadBytesQueued uint64 `json:"payload_bytes_queued"`
	WireBytesQueued    uint64 `json:"wire_bytes_queued"`
	// CompressionRatio is the payload bytes Send accepted over what they
	// became on the wire, headers left out: 1 without compression (or when
	// idle), 4 when LZ4 shrank payloads to a quarter.
	CompressionRatio float64 `json:"compression_ratio"`
	CompressedFrames uint64  `json:"compressed_frames"`
	// DirectWrites counts messages Send wrote to an idle connection's
	// socket itself, skipping the event-loop hand-off (the latency path).
	DirectWrites uint64 `json:"direct_writes"`
	// DirectCredits counts Credit frames written by the goroutine that
	// consumed the messages (Recv, Release) rather than by a woken loop
	// (after messages of 16 KiB or more, on an idle connection; a frame the
	// kernel took only in part counts too, its rest sent by the loop).
	DirectCredits uint64 `json:"direct_credits"`
	// KeyUpdatesSent / KeyUpdatesReceived count TLS 1.3 KeyUpdates of the
	// engine's record layer (tlsstate/record), as each is sealed or
	// opened. Connections on crypto/tls's record layer (tls.record_layer =
	// "crypto/tls", TLS 1.2, FIPS 140-only mode) are not counted: crypto/tls
	// does not report its KeyUpdates.
	KeyUpdatesSent     uint64 `json:"key_updates_sent"`
	KeyUpdatesReceived uint64 `json:"key_updates_received"`
	// DataWrites counts write system calls that carried data frames, from
	// the event loops and direct writes together; MessagesSent/DataWrites
	// is how many messages each syscall carried on average.
	DataWrites uint64 `json:"data_writes"`
	// CompressedBytesIn / DecompressedBytesIn measure inbound compression.
	CompressedBytesIn   uint64 `json:"compressed_bytes_in"`
	DecompressedBytesIn uint64 `json:"decompressed_bytes_in"`

	RateLimited uint64 `json:"rate_limited"`
	QueueFull   uint64 `json:"queue_full"`
	// InboundThrottled counts pauses of peers over their inbound rate limit
	// (their messages are delayed, never dropped).
	InboundThrottled uint64 `json:"inbound_throttled"`
	// RecvStalls counts times a connection paused because its peer's
	// inbox was full (flow control, not loss).
	RecvStalls        uint64 `json:"recv_stalls"`
	ProtocolErrors    uint64 `json:"protocol_errors"`
	CompressionErrors uint64 `json:"compression_errors"`
	IOTimeouts        uint64 `json:"io_timeouts"`
	// HandshakeFailures counts failed handshakes by cause: closed, timeout,
	// protocol, version, tls, node_id_mismatch, self, duplicate_node_id.
	HandshakeFailures map[string]uint64 `json:"handshake_failures"`
	DialFailures      uint64            `json:"dial_failures"`
	ReconnectAttempts uint64            `json:"reconnect_attempts"`
	// MessagesDropped counts queued messages that could not be delivered
	// (peer failed, disconnected, or the transport closed); each is logged.
	MessagesDropped uint64 `json:"messages_dropped"`
	// MessagesUnconfirmed counts messages written to a connection that died
	// before the peer confirmed consuming them: they may or may not have
	// been delivered.
	MessagesUnconfirmed uint64 `json:"messages_unconfirmed"`
	// MessagesExpired counts messages dropped unsent because their
	// SendOptions.Deadline passed first; none of them was delivered.
	MessagesExpired uint64 `json:"messages_expired"`
	// MemoryBudget is Config.MemoryBudget; MemoryInUse is how much of it
	// connections' reserves and what peers made this node hold take now.
	MemoryBudget int64 `json:"memory_budget"`
	MemoryInUse  int64 `json:"memory_in_use"`
	// MemoryCuts counts connections cut because the budget could not
	// cover their buffered input; MemoryStalls counts pauses of delivery
	// waiting for the budget to cover a payload (delayed, not dropped).
	MemoryCuts   uint64 `json:"memory_cuts"`
	MemoryStalls uint64 `json:"memory_stalls"`
	// ConnectionsRefused counts connections refused by a limit:
	// max_inbound_connections, max_connections_per_address,
	// max_connections_per_peer, memory_budget.
	ConnectionsRefused map[string]uint64 `json:"connections_refused"`
	// HandshakeIdleTimeouts counts inbound connections cut because their
	// first message was not in within HandshakeIdleTimeout (also counted
	// in HandshakeFailures["timeout"]).
	HandshakeIdleTimeouts uint64 `json:"handshake_idle_timeouts"`
	// HandshakesEvicted counts inbound connections still in their
	// handshake that were closed to admit a newer one at a connection
	// limit (the oldest go first).
	HandshakesEvicted uint64 `json:"handshakes_evicted"`
	// RequestsPending is the number of requests awaiting a reply.
	// LateReplies counts replies that found no request waiting (it had
	// timed out or been cancelled); RequestsFailed counts requests failed
	// by a lost connection or Close.
	RequestsPending int    `json:"requests_pending"`
	LateReplies     uint64 `json:"late_replies"`
	RequestsFailed  uint64 `json:"requests_failed"`
	// StreamsOpened counts streams peers opened to this node;
	// StreamsRefused those refused at MaxStreamsPerPeer; StreamsCancelled
	// those this node's readers closed before the end; StreamsFailed
	// streams (either end) failed by a lost connection or Close; and
	// StreamBytesDropped the data that arrived for a stream already gone.
	StreamsOpened      uint64 `json:"streams_opened"`
	StreamsRefused     uint64 `json:"streams_refused"`
	StreamsCancelled   uint64 `json:"streams_cancelled"`
	StreamsFailed      uint64 `json:"streams_failed"`
	StreamBytesDropped uint64 `json:"stream_bytes_dropped"`
	// RecvQueueDepth is the number of messages waiting for Recv.
	RecvQueueDepth int         `json:"recv_queue_depth"`
	Peers          []PeerStats `json:"peers"`
}

// PeerStats is one peer's part of Stats.
type PeerStats struct {
	NodeID              string `json:"node_id"`
	Address             string `json:"address,omitempty"`
	State               string `json:"state"`
	Connections         int    `json:"connections"`
	MessagesSent        uint64 `json:"messages_sent"`
	MessagesReceived    uint64 `json:"messages_received"`
	BytesSent           uint64 `json:"bytes_sent"`
	BytesReceived       uint64 `json:"bytes_received"`
	RateLimited         uint64 `json:"rate_limited"`
	QueueFull           uint64 `json:"queue_full"`
	MessagesDropped     uint64 `json:"messages_dropped"`
	MessagesUnconfirmed uint64 `json:"messages_unconfirmed"`
	MessagesExpired     uint64 `json:"messages_expired"`
	ReconnectAttempts   uint64 `json:"reconnect_attempts"`
	InboundThrottled    uint64 `json:"inbound_throttled"`
	QueueDepth          int64  `json:"queue_depth"`
	QueuedBytes         int64  `json:"queued_bytes"`
	// RateLimitEnabled reports whether sends to the peer are rate limited;
	// RateTokens is the tokens left in its bucket (0 when not limited).
	RateLimitEnabled bool    `json:"rate_limit_enabled"`
	RateTokens       float64 `json:"rate_tokens"`
	// RTT is the latest round trip the transport measured to the peer
	// (Config.PingInterval; 0 before the first, or for a peer only known
	// by its connections to us), and RTTHistogram all of them.
	RTT          time.Duration    `json:"rtt"`
	RTTHistogram LatencyHistogram `json:"rtt_histogram"`
}

// Stats returns a snapshot of the transport's statistics. Message and
// byte counts are published once per event-loop callback, so a message
// can reach Recv a moment before it is counted; the counts settle as soon
// as that callback ends.
func (t *Transport) Stats() Stats {
	s := &t.stats
	out := Stats{
		MessagesSent:          s.msgsSent.Load(),
		MessagesReceived:      s.msgsRecv.Load(),
		BytesSent:             s.bytesSent.Load(),
		BytesReceived:         s.bytesRecv.Load(),
		ConnectionCount:       int(s.connsActive.Load()),
		PayloadBytesQueued:    s.payloadOut.Load(),
		WireBytesQueued:       s.wireOut.Load(),
		CompressedFrames:      s.compressedFrames.Load(),
		DirectWrites:          s.directWrites.Load(),
		DirectCredits:         s.directCredits.Load(),
		KeyUpdatesSent:        s.keyUpdates.Sent.Load(),
		KeyUpdatesReceived:    s.keyUpdates.Received.Load(),
		DataWrites:            s.dataWrites.Load(),
		CompressedBytesIn:     s.compressedIn.Load(),
		DecompressedBytesIn:   s.decompressedIn.Load(),
		RateLimited:           s.rateLimited.Load(),
		QueueFull:             s.queueFull.Load(),
		InboundThrottled:      s.inboundThrottled.Load(),
		RecvStalls:            s.stalls.Load(),
		ProtocolErrors:        s.protocolErrors.Load(),
		CompressionErrors:     s.compressionErrors.Load(),
		IOTimeouts:            s.ioTimeouts.Load(),
		DialFailures:          s.dialFailures.Load(),
		ReconnectAttempts:     s.reconnects.Load(),
		MessagesDropped:       s.dropped.Load(),
		MessagesUnconfirmed:   s.unconfirmed.Load(),
		MessagesExpired:       s.expired.Load(),
		RecvQueueDepth:        t.queued(),
		MemoryBudget:          t.mem.Limit(),
		MemoryInUse:           t.mem.Used(),
		MemoryCuts:            s.overBudget.Load(),
		MemoryStalls:          s.starved.Load(),
		HandshakeIdleTimeouts: s.handshakeIdle.Load(),
		RequestsPending:       t.pending.len(),
		LateReplies:           s.lateReplies.Load(),
		RequestsFailed:        s.requestsFailed.Load(),
		StreamsOpened:         s.streamsOpened.Load(),
		StreamsRefused:        s.streamsRefused.Load(),
		StreamsCancelled:      s.streamsCancelled.Load(),
		StreamsFailed:         s.streamsFailed.Load(),
		StreamBytesDropped:    s.streamBytesDropped.Load(),
		HandshakesEvicted:     s.evicted.Load(),
		ConnectionsRefused:    make(map[string]uint64, numRefusals),
		HandshakeFailures:     make(map[string]uint64, numCauses),
		CompressionRatio:      1,
	}
	if body := s.bodyOut.Load(); body > 0 {
		out.CompressionRatio = float64(out.PayloadBytesQueued) / float64(body)
	}
	for i := range s.refused {
		out.ConnectionsRefused[refusal(i).String()] = s.refused[i].Load()
	}
	for i := range s.handshakeFail {
		out.HandshakeFailures[failureCause(i).String()] = s.handshakeFail[i].Load()
	}
	for _, p := range *t.peers.Load() {
		out.Peers = append(out.Peers, p.snapshot())
	}
	sort.Slice(out.Peers, func(i, j int) bool { return out.Peers[i].NodeID < out.Peers[j].NodeID })
	out.PeerCount = len(out.Peers)
	return out
}

func (p *peer) snapshot() PeerStats {
	info := p.info()
	s := &p.stats
	ps := PeerStats{
		NodeID: p.id, Address: info.Address, State: info.State.String(), Connections: info.Connections,
		MessagesSent: s.msgsSent.Load(), MessagesReceived: s.msgsRecv.Load(),
		BytesSent: s.bytesSent.Load(), BytesReceived: s.bytesRecv.Load(),
		RateLimited: s.rateLimited.Load(), QueueFull: s.queueFull.Load(),
		MessagesDropped: s.dropped.Load(), MessagesUnconfirmed: s.unconfirmed.Load(), MessagesExpired: s.expired.Load(),
		ReconnectAttempts: s.reconnects.Load(), InboundThrottled: s.throttled.Load(),
		QueueDepth: p.queuedMessages(), QueuedBytes: p.queuedBytes(),
		RTT: time.Duration(p.rtt.last.Load()), RTTHistogram: p.rtt.snapshot(),
	}
	if p.limiter != nil && p.limiter.Enabled() { // a disabled bucket has +Inf tokens, which JSON cannot carry
		ps.RateLimitEnabled, ps.RateTokens = true, p.limiter.Tokens()
	}
	return ps
}
