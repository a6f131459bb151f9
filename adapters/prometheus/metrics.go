package prometheus

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tensorchain/transport/engine"
)

// Label names.
const (
	labelPeer    = "peer"    // a peer's node id, on every tcnet_peer_* metric
	labelState   = "state"   // tcnet_peer_state: a State's name
	labelAddress = "address" // tcnet_peer_info: the peer's dial address
	labelCause   = "cause"   // tcnet_handshake_failures_total: Stats.HandshakeFailures' key
	labelLimit   = "limit"   // tcnet_connections_refused_total: Stats.ConnectionsRefused' key
)

const (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
)

// scalar is a metric with one value read straight off a snapshot S
// (engine.Stats, or engine.PeerStats with label peer).
type scalar[S any] struct {
	name  string // after the namespace
	typ   prometheus.ValueType
	help  string
	value func(*S) float64
}

// transportMetrics are Stats' scalar fields, in Stats' order.
var transportMetrics = []scalar[engine.Stats]{
	{"messages_sent_total", counter, "Messages written to peers.",
		func(s *engine.Stats) float64 { return float64(s.MessagesSent) }},
	{"messages_received_total", counter, "Messages received from peers.",
		func(s *engine.Stats) float64 { return float64(s.MessagesReceived) }},
	{"sent_bytes_total", counter, "Wire bytes of data frames written (headers included, after compression).",
		func(s *engine.Stats) float64 { return float64(s.BytesSent) }},
	{"received_bytes_total", counter, "Wire bytes of data frames received (headers included, before decompression).",
		func(s *engine.Stats) float64 { return float64(s.BytesReceived) }},
	{"peers", gauge, "Peers the transport knows, dialed or connected to it.",
		func(s *engine.Stats) float64 { return float64(s.PeerCount) }},
	{"connections", gauge, "Open connections, inbound and outbound.",
		func(s *engine.Stats) float64 { return float64(s.ConnectionCount) }},
	{"payload_queued_bytes_total", counter, "Application payload bytes accepted for sending, before compression.",
		func(s *engine.Stats) float64 { return float64(s.PayloadBytesQueued) }},
	{"wire_queued_bytes_total", counter, "Wire bytes of the frames the accepted payloads became.",
		func(s *engine.Stats) float64 { return float64(s.WireBytesQueued) }},
	{"compression_ratio", gauge, "Payload bytes queued per wire byte queued since start (1 when idle).",
		func(s *engine.Stats) float64 { return s.CompressionRatio }},
	{"compressed_frames_total", counter, "Data frames sent compressed.",
		func(s *engine.Stats) float64 { return float64(s.CompressedFrames) }},
	{"direct_writes_total", counter, "Messages written to an idle connection's socket by the sender itself, skipping the event loop.",
		func(s *engine.Stats) float64 { return float64(s.DirectWrites) }},
	{"direct_credits_total", counter, "Credit frames written by the goroutine that consumed the messages rather than by a woken event loop.",
		func(s *engine.Stats) float64 { return float64(s.DirectCredits) }},
	{"tls_key_updates_sent_total", counter, "TLS 1.3 KeyUpdates sent by the engine's record layer.",
		func(s *engine.Stats) float64 { return float64(s.KeyUpdatesSent) }},
	{"tls_key_updates_received_total", counter, "TLS 1.3 KeyUpdates received by the engine's record layer.",
		func(s *engine.Stats) float64 { return float64(s.KeyUpdatesReceived) }},
	{"data_writes_total", counter, "Write system calls that carried data frames.",
		func(s *engine.Stats) float64 { return float64(s.DataWrites) }},
	{"inbound_compressed_bytes_total", counter, "Compressed payload bytes received.",
		func(s *engine.Stats) float64 { return float64(s.CompressedBytesIn) }},
	{"inbound_decompressed_bytes_total", counter, "Bytes the received compressed payloads decompressed to.",
		func(s *engine.Stats) float64 { return float64(s.DecompressedBytesIn) }},
	{"rate_limited_total", counter, "Sends refused by a peer's outbound rate limit.",
		func(s *engine.Stats) float64 { return float64(s.RateLimited) }},
	{"queue_full_total", counter, "Non-waiting sends (TrySend) refused because the peer's send queue was full.",
		func(s *engine.Stats) float64 { return float64(s.QueueFull) }},
	{"inbound_throttled_total", counter, "Pauses of peers over their inbound rate limit (delayed, not dropped).",
		func(s *engine.Stats) float64 { return float64(s.InboundThrottled) }},
	{"recv_stalls_total", counter, "Pauses of a connection because its peer's inbox was full (flow control, not loss).",
		func(s *engine.Stats) float64 { return float64(s.RecvStalls) }},
	{"protocol_errors_total", counter, "Established connections cut for malformed or unexpected bytes.",
		func(s *engine.Stats) float64 { return float64(s.ProtocolErrors) }},
	{"compression_errors_total", counter, "Established connections cut for corrupt compressed data.",
		func(s *engine.Stats) float64 { return float64(s.CompressionErrors) }},
	{"io_timeouts_total", counter, "Established connections cut by an I/O timeout.",
		func(s *engine.Stats) float64 { return float64(s.IOTimeouts) }},
	{"dial_failures_total", counter, "Outbound dials that failed.",
		func(s *engine.Stats) float64 { return float64(s.DialFailures) }},
	{"reconnect_attempts_total", counter, "Redials scheduled after a failed dial or a lost connection.",
		func(s *engine.Stats) float64 { return float64(s.ReconnectAttempts) }},
	{"messages_dropped_total", counter, "Queued messages that could not be delivered (peer failed or disconnected, transport closed).",
		func(s *engine.Stats) float64 { return float64(s.MessagesDropped) }},
	{"messages_unconfirmed_total", counter, "Messages written to a connection that died before the peer confirmed them: maybe delivered.",
		func(s *engine.Stats) float64 { return float64(s.MessagesUnconfirmed) }},
	{"messages_expired_total", counter, "Messages dropped unsent because their deadline passed.",
		func(s *engine.Stats) float64 { return float64(s.MessagesExpired) }},
	{"memory_budget_bytes", gauge, "The memory budget (Config.MemoryBudget).",
		func(s *engine.Stats) float64 { return float64(s.MemoryBudget) }},
	{"memory_in_use_bytes", gauge, "Memory budget taken by connection reserves and what peers made this node hold.",
		func(s *engine.Stats) float64 { return float64(s.MemoryInUse) }},
	{"memory_cuts_total", counter, "Connections cut because the memory budget could not cover their buffered input.",
		func(s *engine.Stats) float64 { return float64(s.MemoryCuts) }},
	{"memory_stalls_total", counter, "Pauses of delivery waiting for the memory budget to cover a payload (delayed, not dropped).",
		func(s *engine.Stats) float64 { return float64(s.MemoryStalls) }},
	{"handshake_idle_timeouts_total", counter, "Inbound connections cut for not sending their first message in time (also in handshake_failures_total{cause=\"timeout\"}).",
		func(s *engine.Stats) float64 { return float64(s.HandshakeIdleTimeouts) }},
	{"handshakes_evicted_total", counter, "Inbound connections closed in their handshake to admit a newer one at a connection limit.",
		func(s *engine.Stats) float64 { return float64(s.HandshakesEvicted) }},
	{"requests_pending", gauge, "Requests awaiting a reply.",
		func(s *engine.Stats) float64 { return float64(s.RequestsPending) }},
	{"late_replies_total", counter, "Replies that found no request waiting (timed out or cancelled).",
		func(s *engine.Stats) float64 { return float64(s.LateReplies) }},
	{"requests_failed_total", counter, "Requests failed by a lost connection or Close.",
		func(s *engine.Stats) float64 { return float64(s.RequestsFailed) }},
	{"streams_opened_total", counter, "Streams peers opened to this node.",
		func(s *engine.Stats) float64 { return float64(s.StreamsOpened) }},
	{"streams_refused_total", counter, "Streams refused at the per-peer stream limit.",
		func(s *engine.Stats) float64 { return float64(s.StreamsRefused) }},
	{"streams_cancelled_total", counter, "Streams this node's readers closed before their end.",
		func(s *engine.Stats) float64 { return float64(s.StreamsCancelled) }},
	{"streams_failed_total", counter, "Streams, either end, failed by a lost connection or Close.",
		func(s *engine.Stats) float64 { return float64(s.StreamsFailed) }},
	{"stream_dropped_bytes_total", counter, "Stream data that arrived for a stream already gone.",
		func(s *engine.Stats) float64 { return float64(s.StreamBytesDropped) }},
	{"recv_queue_depth", gauge, "Messages received and waiting for Recv.",
		func(s *engine.Stats) float64 { return float64(s.RecvQueueDepth) }},
}

// peerMetrics are PeerStats' scalar fields, in PeerStats' order, each
// with label peer.
var peerMetrics = []scalar[engine.PeerStats]{
	{"peer_connections", gauge, "Open connections with the peer.",
		func(p *engine.PeerStats) float64 { return float64(p.Connections) }},
	{"peer_messages_sent_total", counter, "Messages written to the peer.",
		func(p *engine.PeerStats) float64 { return float64(p.MessagesSent) }},
	{"peer_messages_received_total", counter, "Messages received from the peer.",
		func(p *engine.PeerStats) float64 { return float64(p.MessagesReceived) }},
	{"peer_sent_bytes_total", counter, "Wire bytes of data frames written to the peer.",
		func(p *engine.PeerStats) float64 { return float64(p.BytesSent) }},
	{"peer_received_bytes_total", counter, "Wire bytes of data frames received from the peer.",
		func(p *engine.PeerStats) float64 { return float64(p.BytesReceived) }},
	{"peer_rate_limited_total", counter, "Sends to the peer refused by its outbound rate limit.",
		func(p *engine.PeerStats) float64 { return float64(p.RateLimited) }},
	{"peer_queue_full_total", counter, "Non-waiting sends (TrySend) to the peer refused because its send queue was full.",
		func(p *engine.PeerStats) float64 { return float64(p.QueueFull) }},
	{"peer_messages_dropped_total", counter, "Messages queued for the peer that could not be delivered.",
		func(p *engine.PeerStats) float64 { return float64(p.MessagesDropped) }},
	{"peer_messages_unconfirmed_total", counter, "Messages to the peer written to a connection that died before the peer confirmed them.",
		func(p *engine.PeerStats) float64 { return float64(p.MessagesUnconfirmed) }},
	{"peer_messages_expired_total", counter, "Messages to the peer dropped unsent because their deadline passed.",
		func(p *engine.PeerStats) float64 { return float64(p.MessagesExpired) }},
	{"peer_reconnect_attempts_total", counter, "Redials to the peer scheduled after a failed dial or a lost connection.",
		func(p *engine.PeerStats) float64 { return float64(p.ReconnectAttempts) }},
	{"peer_inbound_throttled_total", counter, "Pauses of the peer over its inbound rate limit.",
		func(p *engine.PeerStats) float64 { return float64(p.InboundThrottled) }},
	{"peer_queue_depth", gauge, "Messages queued for the peer, not yet written.",
		func(p *engine.PeerStats) float64 { return float64(p.QueueDepth) }},
	{"peer_queued_bytes", gauge, "Bytes of the messages queued for the peer, not yet written.",
		func(p *engine.PeerStats) float64 { return float64(p.QueuedBytes) }},
	{"peer_rate_limit_enabled", gauge, "1 when sends to the peer are rate limited, else 0.",
		func(p *engine.PeerStats) float64 { return bit(p.RateLimitEnabled) }},
	{"peer_rate_limit_tokens", gauge, "Tokens left in the peer's outbound rate-limit bucket (0 when not limited).",
		func(p *engine.PeerStats) float64 { return p.RateTokens }},
}

// The metrics with labels of their own, or no single value.
const (
	handshakeFailuresName  = "handshake_failures_total"
	handshakeFailuresHelp  = "Failed handshakes by cause."
	connectionsRefusedName = "connections_refused_total"
	connectionsRefusedHelp = "Connections refused by a limit, by limit."
	peerInfoName           = "peer_info"
	peerInfoHelp           = "Always 1; label address is the peer's dial address (empty for a peer known only by its connections to this node)."
	peerStateName          = "peer_state"
	peerStateHelp          = "1 for the state the peer is in, 0 for the others."
	peerRTTName            = "peer_rtt_seconds"
	peerRTTHelp            = "Round trips to the peer measured every PingInterval, on the control connection this node dialed."
	peerRTTLastName        = "peer_rtt_last_seconds"
	peerRTTLastHelp        = "The latest round trip measured to the peer (absent until the first)."
)

// peerStates are the values of tcnet_peer_state's label state, in
// lifecycle order.
var peerStates = func() []string {
	states := []engine.State{
		engine.StateConnecting, engine.StateHandshaking, engine.StateActive,
		engine.StateReconnecting, engine.StateFailed, engine.StateClosed,
	}
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = s.String()
	}
	return names
}()

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
