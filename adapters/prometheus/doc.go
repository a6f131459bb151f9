// Package prometheus exports a transport's statistics as Prometheus
// metrics: a prometheus.Collector that takes one engine.Stats snapshot
// (Transport.Stats) per scrape and turns it into const metrics.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(tcprom.NewCollector(t))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The package shares its name with client_golang's; import it under
// another, such as tcprom.
//
// # Names
//
// Every metric is named namespace_name (DefaultNamespace is "tcnet"),
// after the engine.Stats field it carries, with Prometheus' suffixes:
// counters end in _total, byte quantities in _bytes (before _total: the
// Stats' BytesSent is tcnet_sent_bytes_total) and durations are in
// seconds (_seconds). Current values (queue depths, memory in use,
// connections, pending requests) are gauges. README.md lists them all.
//
// # Labels
//
// Counters kept by a key become one series per key: Stats'
// HandshakeFailures is tcnet_handshake_failures_total{cause=...} and
// ConnectionsRefused is tcnet_connections_refused_total{limit=...}, one
// series for every cause and limit the engine knows, zeros included.
//
// Per-peer statistics are the tcnet_peer_* metrics, with the peer's node
// id as label peer. A peer's state is the gauge tcnet_peer_state: one
// series per state, 1 for the state the peer is in and 0 for the others,
// so that tcnet_peer_state{state="active"} == 0 finds the peers that are
// not connected. tcnet_peer_info{peer, address} is always 1 and carries
// the peer's dial address. Each peer costs 24 series, and its RTT
// histogram 21 more: nothing for a consensus cluster's handful of peers,
// worth weighing for thousands.
//
// # Round trips
//
// The engine measures its round trip to each peer it dialed every
// Config.PingInterval. tcnet_peer_rtt_seconds is a Prometheus histogram of
// them, with the engine's bucket bounds (16 µs doubling to about 2.1 s), and
// tcnet_peer_rtt_last_seconds the latest sample; it is absent for a peer
// not measured yet (or only known by its connections to this node), which
// a 0 would misreport.
//
// # Several transports
//
// Two collectors in one registry would collide on every name; give each a
// distinguishing constant label with WithConstLabels (say node="raft" and
// node="gossip"), or register them in registries of their own.
package prometheus
