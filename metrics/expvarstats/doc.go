// Package expvarstats publishes a transport's statistics through the
// standard library's expvar package, so that they appear, as JSON, on
// /debug/vars next to the runtime's memstats and cmdline.
//
// The published value is computed when it is read: each request to
// /debug/vars takes one engine.Stats snapshot (Transport.Stats) and
// encodes it with the snake_case keys of Stats' JSON tags, per-peer
// statistics under "peers":
//
//	{"messages_sent": 12, "bytes_sent": 1043, ..., "peers": [{"node_id": "b", ...}]}
//
// Durations (a peer's "rtt", its "rtt_histogram" bounds and sum) are
// integer nanoseconds, as encoding/json writes a time.Duration.
//
// Importing expvar (which this package does) registers its handler on
// http.DefaultServeMux at /debug/vars; serve expvar.Handler() on a mux of
// your own to expose it elsewhere. Like the rest of expvar it has no access
// control: bind it to a loopback or operations-only address.
//
// For Prometheus, use the collector in the adapters/prometheus module
// instead.
package expvarstats
