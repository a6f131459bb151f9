// Package tlsstate is TLS for an event loop: the standard crypto/tls driven
// as a state machine over byte buffers, with no I/O of its own (ciphertext
// in; plaintext and ciphertext to send out), plus the transport's security
// modes, certificate loading and NodeId verification.
//
// # Design
//
// A Session wraps a *tls.Conn (crypto/tls, not a fork; no record or cipher
// code here) created over an internal net.Conn adapter whose "socket" is the
// Session's buffers:
//
//   - Handshake. StartHandshake runs tls.Conn.HandshakeContext in a goroutine
//     with a deadline. The adapter's Read blocks on a sync.Cond until the
//     loop Feeds ciphertext, the Session is closed, or the deadline passes
//     (crypto/tls then closes the adapter through context.AfterFunc). Writes
//     go to a pending-output buffer and call the wake callback; the loop
//     collects them with TakeOutput. When the handshake ends the goroutine
//     records the outcome (an atomic phase), calls done and exits.
//   - After the handshake Decrypt is the loop's; sealing (Encrypt,
//     AppendEncrypt) may come from any goroutine, one call at a time, beside
//     it: crypto/tls locks its read and write halves apart, and the engine's
//     Send seals and writes a frame itself when the connection is idle, so
//     a message need not wait for the loop to wake. Decrypt points the
//     adapter at the caller's socket buffer and calls tls.Conn.Read until
//     the adapter runs dry; the adapter then returns a net.Error whose
//     Temporary() is true ("would block"), which crypto/tls treats as
//     retryable: it keeps a partial record in its own buffer and sets no
//     sticky error. Encrypt calls tls.Conn.Write, whose records land in the
//     pending output (AppendEncrypt: in the caller's buffer).
//   - The adapter's Read stops at TLS record boundaries (it reads only the
//     header's length field), so crypto/tls never holds a complete record
//     the caller believes unread: bytes Decrypt reports as consumed are
//     exactly those handed to crypto/tls, and unconsumed bytes stay with the
//     caller.
//   - The adapter's Write never blocks and never fails except after Close:
//     crypto/tls's write errors are sticky, and tls.Conn.Read itself writes
//     (KeyUpdate replies, alerts) while holding its locks. Such output lands
//     in the pending output during Decrypt; the loop sends it.
//
// # Record layer: crypto/tls's, or the engine's own
//
// After a TLS 1.3 handshake the records are, by default (EngineRecords,
// Config.RecordLayer "engine"), no longer crypto/tls's business: package
// record protects them, and Open decrypts each record in place where it
// lies in the caller's socket buffer, so the engine decodes frames
// straight out of it. The choice, and its conditions:
//
//   - Why. crypto/tls's record layer copies every incoming record into its
//     own buffer (allocating a reader per record, 5.8 allocations per
//     64 KiB message) and every outgoing record through its buffer and
//     the adapter; those copies cost more than the AES-GCM itself. Moving
//     the record layer out removes them: one copy in (into the message),
//     one out (into the sealed record), and no allocation per record.
//   - crypto/tls still runs every handshake, unchanged: certificates,
//     client authentication and NodeId checks are exactly as before.
//   - The secrets come from crypto/tls's documented interface for them,
//     Config.KeyLogWriter: the Session's copy of the tls.Config logs into
//     a per-Session capture that keeps only the two application traffic
//     secrets (and passes every line on to a KeyLogWriter the caller set).
//     They are cleared once the record layer has derived its keys.
//   - Keys are HKDF-Expand-Label of those secrets (crypto/hkdf, RFC 8446
//     §7); the AEADs come from crypto/cipher (AES-128/256-GCM) and
//     golang.org/x/crypto/chacha20poly1305, for all three TLS 1.3 suites.
//     RFC 8448's trace is the known-answer test; openssl interop covers
//     every suite with data and KeyUpdates both ways.
//   - KeyUpdate both ways (the peer's answered, and the Session's own:
//     UpdateKeys, and automatically every 2^24 records or
//     Config.KeyUpdateInterval; a peer that never rotates is asked to),
//     post-handshake tickets (ignored), alerts and
//     close_notify are handled; sequence numbers never wrap. See package
//     record.
//   - The hand-over is exact: the adapter stops at record boundaries, so
//     crypto/tls never holds a record that follows the handshake; the
//     first application record in each direction has sequence number 0,
//     because a server Session disables session tickets (crypto/tls would
//     otherwise seal one with the application key before handing over).
//   - TLS 1.2 connections, and any whose secrets were not logged (a
//     GetConfigForClient that returns its own config), keep crypto/tls's
//     record layer; CryptoTLSRecords (record_layer "crypto/tls") keeps it
//     for all. InPlace says which a Session uses.
//
// # Goroutines
//
// A Session has a goroutine only while its handshake runs. A Limiter caps
// how many handshakes work at once: a handshake holds a slot only while it
// has input to process, gives it up while it waits for the peer's next
// flight, and takes one back (ahead of handshakes not yet started) once
// that input has been fed, so peers that connect and stall hold no slot.
// Handshakes started beyond the cap wait in a FIFO queue without a
// goroutine; each gets its goroutine with its first slot and keeps it,
// blocked, while it waits for input. A queued handshake whose deadline
// passes leaves the queue and reports through a short-lived goroutine
// (context.AfterFunc). crypto/tls adds a short-lived AfterFunc goroutine
// when a running handshake's deadline fires. After done is called, no
// goroutine exists for the Session.
//
// # Calling protocol (what the engine does)
//
// Loop means the goroutine that owns the connection; one call at a time.
//
//  1. s := NewSession(tc, role, wake); s.StartHandshake(ctx, lim, deadline, done).
//  2. Until done has been observed: on socket input, s.Feed(bytes) and
//     discard them from the socket buffer; on every loop turn and on wake,
//     if s.HasOutput(), write s.TakeOutput(buf[:0]) to the socket.
//  3. done(err != nil): send TakeOutput (it may hold an alert telling the
//     peer why), then close the socket.
//  4. done(nil): send TakeOutput (the client's Finished may still be
//     there), then call Decrypt at once, even with no new socket input:
//     records that arrived with the last handshake flight were fed and are
//     waiting (Buffered reports them).
//  5. Reading: out, n, err = s.Decrypt(out, socketBuf, maxOut); discard n
//     bytes; process out; repeat while n > 0 or out grew. io.EOF is the
//     peer's close_notify, ErrTLS a fatal record-layer error. After each
//     Decrypt, if s.HasOutput(), send TakeOutput (KeyUpdate reply, alert).
//     When s.InPlace(), Open avoids Decrypt's copy: plain, n, err =
//     s.Open(socketBuf) returns one record's content in place; use it,
//     then discard n bytes; repeat until plain is nil and n is 0.
//  6. Writing: batch many frames into one plaintext buffer, then
//     buf, err = s.AppendEncrypt(buf[:0], batch) and write buf (or Encrypt
//     then TakeOutput). One call per batch: each record costs a fixed AEAD
//     set-up, so small per-message calls waste most of the time.
//  7. Closing: s.Close() then send TakeOutput (close_notify) before closing
//     the socket. Close is safe from any goroutine; it also ends a running
//     or queued handshake.
//
// TLS 1.3 client authentication completes after the client's handshake:
// done(nil) on a Client does not mean the server accepted its certificate.
// A refused client learns it from an alert, as ErrTLS from Decrypt. The
// engine therefore treats an outbound connection as up only when the
// server's first application message (its hello) arrives. On the server,
// the engine checks the client's hello node id against its certificate with
// VerifyNodeID(s.ConnectionState(), id, cfg.NodeIDVerificationFor(mode)).
//
// # Limits
//
//   - The design relies on crypto/tls treating a net.Error with Temporary()
//     true, returned unwrapped by the underlying Read, as retryable after the
//     handshake. This is long-standing but undocumented; tests pin it
//     (partial records fed byte by byte, resumption after would-block, and
//     an openssl KeyUpdate interop test when openssl is installed).
//   - crypto/tls never initiates a KeyUpdate; it answers the peer's. The
//     engine's record layer does both.
//   - Memory: crypto/tls keeps its record buffers and the peer's
//     certificates per connection (about 11-13 KiB idle); the engine's
//     record layer holds a pooled buffer only while a record is
//     incomplete. Input fed during
//     the handshake is capped at MaxHandshakeInput. Pending output is
//     drained by the loop after every call and a buffer above 128 KiB is
//     not retained; AppendEncrypt keeps no output buffer at all.
//   - Session tickets are disabled on listeners: nodes do not resume.
//
// # Security modes
//
// SecurityMode (Strict by default, Permissive, Development, Legacy) and
// ValidateMode implement SPEC §6; Config is the [tls] section (TOML keys in
// snake_case); Config.Load parses the PEM files once into Credentials, from
// which ServerConfig and ClientConfig build tls.Configs. TLS 1.3 is the
// default minimum; 1.2 only when set explicitly.
package tlsstate
