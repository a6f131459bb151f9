// Package record is the record layer of an established TLS 1.3 connection
// (RFC 8446 §5), as pure functions over byte buffers: it protects and
// opens records with the traffic secrets that crypto/tls's handshake
// produced, answers and initiates KeyUpdates, handles the post-handshake
// messages and alerts, and never does I/O.
//
// Why it exists: crypto/tls's record layer copies every record into its own
// buffers on the way in (and allocates a reader per record) and twice on
// the way out. Here a record is opened in place, where it lies in the
// caller's input buffer, and sealed straight into the caller's output
// buffer. tlsstate uses it after crypto/tls has run the handshake; see
// tlsstate's package documentation for how the secrets get here.
//
// What it implements:
//
//   - Keys: client/server_application_traffic_secret_N expanded with
//     HKDF-Expand-Label (crypto/hkdf) into a key and an IV (RFC 8446 §7.1,
//     §7.3); KeyUpdate derives the next secret with "traffic upd".
//   - AEADs: AES-128-GCM and AES-256-GCM (crypto/cipher) and
//     ChaCha20-Poly1305 (golang.org/x/crypto), the three TLS 1.3 suites;
//     the per-record nonce is the IV XOR the 64-bit sequence number
//     (§5.3). A sequence number never wraps: a direction whose counter is
//     exhausted fails, and long before that (KeyUpdateInterval records) the
//     layer rotates its write key. A peer whose key has protected twice as
//     many records (one that never rotates by itself, as crypto/tls) is
//     asked to rotate, once per key and only in front of this side's next
//     application data. Any number of the peer's requests is answered by
//     one KeyUpdate before this side's next record (§4.6.3).
//   - Records: outer type application_data and version 0x0303, at most
//     2^14+256 bytes of ciphertext and 2^14 of plaintext, the inner content
//     type after the content and any zero padding (§5.2, §5.4).
//   - Post-handshake messages: NewSessionTicket (ignored: nodes do not
//     resume) and KeyUpdate, reassembled across records up to 64 KiB and
//     never interleaved with other content; a KeyUpdate must end its record
//     (§5.1). Anything else (CertificateRequest without post-handshake
//     auth having been offered, a second Finished) is unexpected_message.
//   - Alerts: close_notify ends input (io.EOF); user_canceled is ignored;
//     every other alert is fatal. A record the layer refuses makes it queue
//     the matching fatal alert and stop sealing. Close queues close_notify.
//   - Limits: at most 16 records in a row that carry no application data
//     (empty records, tickets, key updates, ignored alerts), as crypto/tls.
//
// Concurrency: Open and the read side are one goroutine's (the event
// loop's); Seal, UpdateKeys, Close and TakePending may come from any
// goroutine, serialized by the layer's own lock, and run beside Open.
// Records a reader produces (a KeyUpdate reply, an alert) wait in the
// pending output; Seal puts them in front of the records it seals, so the
// sequence on the wire is the sequence sealed.
package record
