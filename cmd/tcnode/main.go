// Command tcnode runs one node of a tensor-chain cluster from the command
// line: it starts the transport, connects to its peers, prints every message
// it receives and broadcasts every line it reads.
//
// # Usage
//
//	tcnode -id ID [-listen HOST:PORT] [-peer ID=HOST:PORT ...] [-config FILE] [flags]
//
// A two-node cluster with mutual TLS on one machine (certificates from
// scripts/gen-certs.sh, whose common names are the node ids):
//
//	scripts/gen-certs.sh certs n1 n2
//	tcnode -id n1 -listen 127.0.0.1:9101 -peer n2=127.0.0.1:9102 \
//	    -tls-cert certs/n1.pem -tls-key certs/n1.key -tls-ca certs/ca.pem
//	tcnode -id n2 -listen 127.0.0.1:9102 -peer n1=127.0.0.1:9101 \
//	    -tls-cert certs/n2.pem -tls-key certs/n2.key -tls-ca certs/ca.pem
//
// or, with the settings in a file, `tcnode -config n1.toml`.
//
// # Behaviour
//
//   - Each line read from stdin is broadcast to every peer (without its
//     newline). Stdin is read once the first connection attempts have ended
//     (at most connect_timeout); lines typed before wait in the pipe.
//   - Each message received is printed to stdout as one line "from: payload".
//     A payload that is not UTF-8 text without control characters (tabs
//     allowed) is printed Go-quoted ("\n", "\x00", ...).
//   - A peer that is not reachable yet is logged as a warning; the transport
//     redials it in the background ([reconnect]) and queues what is sent to
//     it meanwhile.
//   - The end of stdin does NOT stop the node: it keeps receiving until
//     SIGINT or SIGTERM. On either signal it closes the transport, which
//     flushes queued messages (for up to close_timeout), and exits with
//     status 0. A second signal during the shutdown kills it at once.
//   - Logs go to stderr (log/slog text format, level -log-level). With
//     -stats-interval > 0 the transport's stats are printed to stderr too,
//     as "msg=stats" lines (totals) and "msg="stats peer"" lines (one per
//     peer), whatever the log level.
//   - Memory: memory_budget bounds what peers can make the node hold. At
//     start, unless the GOMEMLIMIT environment variable is set, tcnode sets
//     the Go memory limit (runtime/debug.SetMemoryLimit) to memory_budget +
//     128 MiB, so that the garbage collector keeps the whole process near the
//     budget; the limit in force is logged at Info.
//   - Exit status: 0 after a signal, 1 when the transport cannot start
//     (e.g. the listen port is taken), 2 for bad flags, a bad configuration
//     file or unusable certificates; the error on stderr names the flag or
//     key ("tcnode: invalid value "0" for flag -pool-size: must be between
//     1 and 64", "tcnode: config node.toml: unknown key "tls.cert_pth" (line
//     7)").
//
// # Flags
//
// Every setting of the configuration file is also a flag: the TOML key in
// kebab case, prefixed by its section ("reconnect.max_backoff" is
// -reconnect-max-backoff), except node_id (-id), peers (-peer), tls.cert_path
// (-tls-cert), tls.key_path (-tls-key), tls.ca_path (-tls-ca) and the
// rate-limit presets (-rate-limit, -inbound-rate-limit). Flags given on the
// command line override the file; flags not given leave it alone. The first
// -peer replaces the file's peers. Durations are Go durations ("5s",
// "250ms", "1m30s"); booleans stand alone (-keepalive) or take a value
// (-keepalive=false).
//
//	-config FILE                  TOML file to read first
//	-id ID                        this node's id (required)
//	-listen HOST:PORT             listen address (default 0.0.0.0:9100)
//	-peer ID=HOST:PORT            peer to connect to; repeat for more
//	-pool-size N                  outbound connections per peer (2)
//	-connect-timeout D            TCP connect + TLS + handshake (5s)
//	-io-timeout D                 stalled-output timeout (30s)
//	-frame-timeout D              a begun frame must arrive within this (10s)
//	-max-message-size N           largest message, bytes (16777216)
//	-keepalive, -keepalive-interval D   TCP keepalive (true, 30s)
//	-max-pending-messages N       outbound queue per peer (1000)
//	-max-pending-bytes N          outbound queue per peer, bytes (64 MiB)
//	-recv-buffer-size N           inbox per peer and class, messages (1000)
//	-recv-buffer-bytes N          inbox per peer and class, bytes (0 = 2 x max message size)
//	-receive-window N             flow-control window per connection (4 MiB)
//	-memory-budget N              memory peers can make the node hold, bytes (512 MiB, >= 4 MiB)
//	-conn-memory-reserve N        budget share guaranteed per connection, bytes (256 KiB)
//	-event-loops N                reactors (number of CPUs)
//	-handshake-concurrency N      concurrent TLS handshakes (64)
//	-handshake-idle-timeout D     first message of an inbound connection within (1s)
//	-max-inbound-connections N    inbound connections held at once (1024)
//	-max-connections-per-address N   ... per remote IP (64)
//	-max-connections-per-peer N   ... per peer node id (32)
//	-close-timeout D              flush time at shutdown (5s)
//	-security-mode M              strict (default), permissive, development, legacy
//	-tls-cert, -tls-key, -tls-ca FILE   PEM certificate, key and CA
//	-tls-require-client-auth      mutual TLS (true)
//	-tls-node-id-verification V   none, common_name (default), subject_alt_name
//	-tls-min-version V            1.3 (default) or 1.2
//	-rate-limit PRESET            default, aggressive, permissive, disabled
//	-rate-limit-enabled, -rate-limit-bucket-size N, -rate-limit-refill-rate R
//	-inbound-rate-limit PRESET    the same for the inbound limit (disabled)
//	-inbound-rate-limit-enabled, -inbound-rate-limit-bucket-size N, -inbound-rate-limit-refill-rate R
//	-compression-enabled, -compression-method lz4, -compression-min-size N
//	-reconnect-enabled, -reconnect-initial-backoff D, -reconnect-max-backoff D,
//	-reconnect-multiplier F, -reconnect-max-attempts N, -reconnect-jitter F
//	-stats-interval D             print stats to stderr this often (0 = off)
//	-log-level L                  debug, info (default), warn, error
//
// Sizes in bytes are plain integers (16777216, not "16MiB").
//
// Giving any -tls-* flag without a [tls] section starts from the Strict
// defaults (client certificates required, node id checked against the
// certificate's common name, TLS 1.3). A rate-limit preset is applied before
// the other flags of its section, whatever their order.
//
// # Configuration file
//
// TOML. Unknown keys, values of the wrong type and invalid values are errors
// that name the key. Every key is optional; the defaults are those of
// engine.NewConfig. Relative paths in [tls] are taken from the file's
// directory. Peers are an array of "ID=HOST:PORT" strings, as for -peer.
//
//	node_id = "n1"
//	listen = "0.0.0.0:9101"
//	peers = ["n2=10.0.1.2:9102", "n3=10.0.1.3:9103"]
//	pool_size = 2
//	connect_timeout = "5s"
//	io_timeout = "30s"
//	frame_timeout = "10s"
//	max_message_size = 16777216
//	keepalive = true
//	keepalive_interval = "30s"
//	max_pending_messages = 1000
//	max_pending_bytes = 67108864
//	recv_buffer_size = 1000
//	recv_buffer_bytes = 0         # 0 = 2 x max_message_size
//	receive_window = 4194304
//	memory_budget = 536870912     # >= 4 MiB; Go memory limit = this + 128 MiB
//	conn_memory_reserve = 262144  # >= 64 KiB, <= memory_budget
//	event_loops = 4
//	handshake_concurrency = 64
//	handshake_idle_timeout = "1s"
//	max_inbound_connections = 1024
//	max_connections_per_address = 64
//	max_connections_per_peer = 32
//	stream_window = 4194304       # >= 262144
//	max_streams_per_peer = 16
//	close_timeout = "5s"
//	security_mode = "strict"      # permissive | development | legacy
//	stats_interval = "0s"         # 0 = off
//	log_level = "info"
//
//	[tls]                         # present = TLS on, with the Strict defaults
//	cert_path = "certs/n1.pem"
//	key_path = "certs/n1.key"
//	ca_path = "certs/ca.pem"
//	require_client_auth = true
//	node_id_verification = "common_name"   # none | subject_alt_name
//	min_version = "1.3"                    # or "1.2"
//
//	[rate_limit]                  # outbound, per peer
//	preset = "default"            # aggressive | permissive | disabled; applied first
//	enabled = true
//	bucket_size = 100
//	refill_rate = 50.0
//
//	[inbound_rate_limit]          # same keys; disabled by default
//	enabled = false
//
//	[compression]
//	enabled = true
//	method = "lz4"
//	min_size = 256
//
//	[reconnect]
//	enabled = true
//	initial_backoff = "100ms"
//	max_backoff = "30s"
//	multiplier = 2.0
//	max_attempts = 0              # 0 = unlimited
//	jitter = 0.1
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// main runs the node until SIGINT or SIGTERM and exits with run's status.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal now kills the process
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// printUsage writes the -h text: a synopsis and every flag.
func printUsage(w io.Writer) {
	fmt.Fprint(w, `usage: tcnode -id ID [-listen HOST:PORT] [-peer ID=HOST:PORT ...] [-config FILE] [flags]

Runs a node: prints each received message as "from: payload" on stdout and
broadcasts each line of stdin to every peer. Runs until SIGINT or SIGTERM
(the end of stdin does not stop it). See 'go doc ./cmd/tcnode' for the TOML
format.

Unless GOMEMLIMIT is set, the Go memory limit is set to -memory-budget +
128 MiB, so that the garbage collector keeps the process near the budget.
Sizes in bytes are plain integers.

flags:
`)
	cfg, opt := defaultConfig(), defaultOptions()
	fs := newFlagSet(&cfg, &opt)
	fs.SetOutput(w)
	fs.PrintDefaults()
}
