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
// # Settings
//
// The settings are those of the config package, which reads them
// (config.ParseArgs): the defaults, then the TOML file given with -config,
// then the flags given on the command line, which override the file (the
// first -peer replaces the file's peers). Every key of the file is also a
// flag: the key in kebab case after its section ("reconnect.max_backoff"
// is -reconnect-max-backoff), or a short name for a few (-id for node_id,
// -peer, -tls-cert, -tls-key, -tls-ca, and the rate-limit presets
// -rate-limit and -inbound-rate-limit, applied before the other flags of
// their section). Durations are Go durations ("5s", "250ms", "1m30s"),
// sizes are plain integers in bytes, booleans stand alone (-keepalive) or
// take a value (-keepalive=false). Any -tls-* flag, like a [tls] section,
// starts from the Strict defaults (client certificates required, node id
// checked against the certificate's common name, TLS 1.3).
//
// 'tcnode -h' lists every flag with its key, range and default;
// config/SETTINGS.md is the same table with the TOML types;
// docs/node.example.toml is a file holding every key with its default. In
// short:
//
//	node_id = "n1"
//	listen = "0.0.0.0:9101"
//	peers = ["n2=10.0.1.2:9102", "n3=10.0.1.3:9103"]
//	memory_budget = 536870912     # bytes; Go memory limit = this + 128 MiB
//
//	[tls]                         # relative paths: from the file's directory
//	cert_path = "certs/n1.pem"
//	key_path = "certs/n1.key"
//	ca_path = "certs/ca.pem"
//
//	[reconnect]
//	max_backoff = "30s"
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tensorchain/transport/config"
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
(the end of stdin does not stop it). Every flag is also a key of the TOML
file given with -config (config/SETTINGS.md, docs/node.example.toml);
flags given override the file.

Unless GOMEMLIMIT is set, the Go memory limit is set to -memory-budget +
128 MiB, so that the garbage collector keeps the process near the budget.
Sizes in bytes are plain integers.

flags:
`)
	config.PrintDefaults(w)
}
