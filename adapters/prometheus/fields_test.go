package prometheus_test

import (
	dto "github.com/prometheus/client_model/go"
)

// export is the metric family (with DefaultNamespace) that carries a
// field of engine.Stats or engine.PeerStats: the package's contract, which
// the tests hold the collector, the scrape and README.md to.
type export struct {
	family string
	typ    dto.MetricType
	// label is the label a map field's keys become, or a string field's
	// value (in a series whose value is 1).
	label string
}

const (
	counter   = dto.MetricType_COUNTER
	gauge     = dto.MetricType_GAUGE
	histogram = dto.MetricType_HISTOGRAM
)

// statsExports are engine.Stats' fields and their metrics.
var statsExports = map[string]export{
	"MessagesSent":          {"tcnet_messages_sent_total", counter, ""},
	"MessagesReceived":      {"tcnet_messages_received_total", counter, ""},
	"BytesSent":             {"tcnet_sent_bytes_total", counter, ""},
	"BytesReceived":         {"tcnet_received_bytes_total", counter, ""},
	"PeerCount":             {"tcnet_peers", gauge, ""},
	"ConnectionCount":       {"tcnet_connections", gauge, ""},
	"PayloadBytesQueued":    {"tcnet_payload_queued_bytes_total", counter, ""},
	"WireBytesQueued":       {"tcnet_wire_queued_bytes_total", counter, ""},
	"CompressionRatio":      {"tcnet_compression_ratio", gauge, ""},
	"CompressedFrames":      {"tcnet_compressed_frames_total", counter, ""},
	"DirectWrites":          {"tcnet_direct_writes_total", counter, ""},
	"DirectCredits":         {"tcnet_direct_credits_total", counter, ""},
	"KeyUpdatesSent":        {"tcnet_tls_key_updates_sent_total", counter, ""},
	"KeyUpdatesReceived":    {"tcnet_tls_key_updates_received_total", counter, ""},
	"DataWrites":            {"tcnet_data_writes_total", counter, ""},
	"CompressedBytesIn":     {"tcnet_inbound_compressed_bytes_total", counter, ""},
	"DecompressedBytesIn":   {"tcnet_inbound_decompressed_bytes_total", counter, ""},
	"RateLimited":           {"tcnet_rate_limited_total", counter, ""},
	"QueueFull":             {"tcnet_queue_full_total", counter, ""},
	"InboundThrottled":      {"tcnet_inbound_throttled_total", counter, ""},
	"RecvStalls":            {"tcnet_recv_stalls_total", counter, ""},
	"ProtocolErrors":        {"tcnet_protocol_errors_total", counter, ""},
	"CompressionErrors":     {"tcnet_compression_errors_total", counter, ""},
	"IOTimeouts":            {"tcnet_io_timeouts_total", counter, ""},
	"HandshakeFailures":     {"tcnet_handshake_failures_total", counter, "cause"},
	"DialFailures":          {"tcnet_dial_failures_total", counter, ""},
	"ReconnectAttempts":     {"tcnet_reconnect_attempts_total", counter, ""},
	"MessagesDropped":       {"tcnet_messages_dropped_total", counter, ""},
	"MessagesUnconfirmed":   {"tcnet_messages_unconfirmed_total", counter, ""},
	"MessagesExpired":       {"tcnet_messages_expired_total", counter, ""},
	"MemoryBudget":          {"tcnet_memory_budget_bytes", gauge, ""},
	"MemoryInUse":           {"tcnet_memory_in_use_bytes", gauge, ""},
	"MemoryCuts":            {"tcnet_memory_cuts_total", counter, ""},
	"MemoryStalls":          {"tcnet_memory_stalls_total", counter, ""},
	"ConnectionsRefused":    {"tcnet_connections_refused_total", counter, "limit"},
	"HandshakeIdleTimeouts": {"tcnet_handshake_idle_timeouts_total", counter, ""},
	"HandshakesEvicted":     {"tcnet_handshakes_evicted_total", counter, ""},
	"RequestsPending":       {"tcnet_requests_pending", gauge, ""},
	"LateReplies":           {"tcnet_late_replies_total", counter, ""},
	"RequestsFailed":        {"tcnet_requests_failed_total", counter, ""},
	"StreamsOpened":         {"tcnet_streams_opened_total", counter, ""},
	"StreamsRefused":        {"tcnet_streams_refused_total", counter, ""},
	"StreamsCancelled":      {"tcnet_streams_cancelled_total", counter, ""},
	"StreamsFailed":         {"tcnet_streams_failed_total", counter, ""},
	"StreamBytesDropped":    {"tcnet_stream_dropped_bytes_total", counter, ""},
	"RecvQueueDepth":        {"tcnet_recv_queue_depth", gauge, ""},
}

// peerExports are engine.PeerStats' fields and their metrics, each with
// label peer.
var peerExports = map[string]export{
	"Address":             {"tcnet_peer_info", gauge, "address"},
	"State":               {"tcnet_peer_state", gauge, "state"},
	"Connections":         {"tcnet_peer_connections", gauge, ""},
	"MessagesSent":        {"tcnet_peer_messages_sent_total", counter, ""},
	"MessagesReceived":    {"tcnet_peer_messages_received_total", counter, ""},
	"BytesSent":           {"tcnet_peer_sent_bytes_total", counter, ""},
	"BytesReceived":       {"tcnet_peer_received_bytes_total", counter, ""},
	"RateLimited":         {"tcnet_peer_rate_limited_total", counter, ""},
	"QueueFull":           {"tcnet_peer_queue_full_total", counter, ""},
	"MessagesDropped":     {"tcnet_peer_messages_dropped_total", counter, ""},
	"MessagesUnconfirmed": {"tcnet_peer_messages_unconfirmed_total", counter, ""},
	"MessagesExpired":     {"tcnet_peer_messages_expired_total", counter, ""},
	"ReconnectAttempts":   {"tcnet_peer_reconnect_attempts_total", counter, ""},
	"InboundThrottled":    {"tcnet_peer_inbound_throttled_total", counter, ""},
	"QueueDepth":          {"tcnet_peer_queue_depth", gauge, ""},
	"QueuedBytes":         {"tcnet_peer_queued_bytes", gauge, ""},
	"RateLimitEnabled":    {"tcnet_peer_rate_limit_enabled", gauge, ""},
	"RateTokens":          {"tcnet_peer_rate_limit_tokens", gauge, ""},
	"RTT":                 {"tcnet_peer_rtt_last_seconds", gauge, ""},
	"RTTHistogram":        {"tcnet_peer_rtt_seconds", histogram, ""},
}

// notExported are the fields that are no metric of their own, and why.
var notExported = map[string]string{
	"Stats.Peers":      "each element is a PeerStats: the tcnet_peer_* metrics",
	"PeerStats.NodeID": "the label peer of every tcnet_peer_* metric",
}

// allExports are statsExports and peerExports together, by family.
func allExports() map[string]export {
	all := make(map[string]export, len(statsExports)+len(peerExports))
	for _, m := range []map[string]export{statsExports, peerExports} {
		for _, e := range m {
			all[e.family] = e
		}
	}
	return all
}
