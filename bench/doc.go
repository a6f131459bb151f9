// Package bench measures the transport against the machine and against a
// same-run baseline.
//
// Every scenario runs three ways where it makes sense, in one process and
// one run, so that ratios stay meaningful on a noisy shared machine:
//
//   - engine: the event-loop transport (package engine);
//   - baseline: the same frames and handshake moved the ordinary Go way, a
//     reader and a writer goroutine per connection over net.Conn, bufio and
//     crypto/tls, with channels between them and the application;
//   - raw: plain sockets moving pre-framed bytes with no protocol at all,
//     the machine's limit (rawpump).
//
// Scenarios: oneway (throughput per payload size), pingpong (round-trip
// percentiles; with Recv delivery the sender takes each pong with Recv,
// or the baseline's inbox, on the goroutine that timed the ping),
// hbload (control-class ping-pong round trips and a 64 KiB
// bulk stream between the same two nodes, each alone and both at once),
// fanin (many senders into one node), conns (memory per idle
// connection, with the clients held by a child process so that only the
// server side is measured) and rawpump (raw bytes/s and the raw round-trip
// floor). Run drives them, in the order Options gives, telling a Progress
// about each step, and returns a Report: Report.WriteTable prints it as
// text, encoding/json as snake_case JSON with durations as strings, and
// Report.WriteHTML as a page of charts (gonum/plot SVGs); cmd/tcbench
// writes all three.
package bench
