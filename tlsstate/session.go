package tlsstate

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tensorchain/transport/tlsstate/record"
)

const (
	// MaxHandshakeInput bounds the ciphertext a Session holds that crypto/tls
	// has not consumed yet while the handshake runs (or waits for a Limiter
	// slot). A legitimate peer sends a few KiB before it hears back; a peer
	// that sends more fails the handshake, so a flood of handshake-less
	// connections cannot grow memory without bound.
	MaxHandshakeInput = 256 << 10

	recordHeaderLen = record.HeaderLen    // TLS record header: type, version, length
	maxPlaintext    = record.MaxPlaintext // largest plaintext of one TLS record
)

// Role is the side of the TLS handshake a Session plays.
type Role int

const (
	// Client dials: it sends the ClientHello and verifies the server.
	Client Role = iota
	// Server accepts: it answers the ClientHello and may verify a client
	// certificate.
	Server
)

// String returns "client" or "server".
func (r Role) String() string {
	if r == Server {
		return "server"
	}
	return "client"
}

type phase int32

const (
	phaseNew         phase = iota // NewSession done, StartHandshake not yet called
	phaseHandshaking              // started (queued or running)
	phaseDone                     // handshake succeeded; record layer usable
	phaseFailed                   // handshake failed; hsErr says why
)

// Session is one TLS connection as a state machine over byte buffers, with
// no I/O of its own. The owner (an event loop) feeds it ciphertext read
// from the socket and writes out the ciphertext it produces. See the package
// documentation for the calling protocol and which goroutine may call what.
type Session struct {
	role Role
	tc   *tls.Conn
	wake func()
	opts SessionOptions
	keys secrets // traffic secrets from crypto/tls, for the engine's record layer

	// layer is the engine's record layer (EngineRecords and TLS 1.3), set
	// by the handshake goroutine before the phase becomes done; nil while
	// crypto/tls keeps the records.
	layer *record.Layer

	phase     atomic.Int32 // a phase; written by the handshake goroutine
	closing   atomic.Bool  // Close was called
	responded atomic.Bool  // the handshake has written output
	firstIn   atomic.Bool  // a whole first TLS record has been fed
	head      [5]byte      // under mu: the first record's header as fed so far
	fedTotal  int          // under mu: bytes fed, counted until firstIn

	// mu guards the fields below it and is the lock of cond, on which the
	// handshake goroutine waits for input.
	mu         sync.Mutex
	cond       sync.Cond
	fed        []byte // ciphertext from Feed not yet handed to crypto/tls
	fedOff     int
	out        []byte // pending output for TakeOutput
	seal       []byte // AppendEncrypt's destination while sealing is set
	sealing    bool
	inErr      error // Feed overflowed MaxHandshakeInput
	connClosed bool  // the adapter was closed (Close, deadline)
	peerEOF    bool  // PeerClosed: no more input will be fed
	hsErr      error // why the handshake failed
	job        *hsJob

	// fr tracks record boundaries in the ciphertext handed to crypto/tls. It
	// is used by the handshake goroutine during the handshake and by the
	// loop after it (handed over through phase).
	fr framer

	// Loop-only, after the handshake.
	carry    []byte // bytes fed during the handshake, read before src
	carryOff int
	src      []byte // Decrypt's input
	srcOff   int
	readErr  error // sticky: close_notify (io.EOF) or a record-layer error
}

// NewSession returns a Session that runs crypto/tls as role with
// configuration tc (from Credentials.ServerConfig or ClientConfig, or any
// tls.Config) and the engine's record layer; see NewSessionWith. wake, if
// not nil, is called (from the handshake goroutine) whenever the handshake
// produces output, so the loop comes to collect it with TakeOutput; it must
// not block and must not call into the Session.
func NewSession(tc *tls.Config, role Role, wake func()) *Session {
	return NewSessionWith(tc, role, wake, SessionOptions{})
}

// NewSessionWith is NewSession with options. The Session runs a copy of
// tc with DynamicRecordSizingDisabled set, so that a large Encrypt
// produces full-size records from the first byte; with EngineRecords the
// copy also has a KeyLogWriter that captures the traffic secrets (and
// passes every line on to tc.KeyLogWriter, if set) and, on a server,
// SessionTicketsDisabled.
func NewSessionWith(tc *tls.Config, role Role, wake func(), opts SessionOptions) *Session {
	s := &Session{role: role, wake: wake, opts: opts}
	tc = s.prepareConfig(tc)
	s.cond.L = &s.mu
	if role == Server {
		s.tc = tls.Server((*adapter)(s), tc)
	} else {
		s.tc = tls.Client((*adapter)(s), tc)
	}
	return s
}

// Role returns the side this Session plays.
func (s *Session) Role() Role { return s.role }

// StartHandshake starts the handshake in a goroutine, after waiting (without
// a goroutine) for a slot of lim; a nil lim does not limit. The handshake
// ends by deadline (zero means no deadline beyond ctx) or when ctx ends or
// the Session is closed. done is called exactly once, never from the
// caller's goroutine: from the handshake goroutine, or from a short-lived
// goroutine if the handshake expired while queued. It receives nil, or an
// error wrapping ErrHandshake and the cause (the crypto/tls error, e.g. an
// unknown authority, an expired or missing certificate, "first record does
// not look like a TLS handshake"; context.DeadlineExceeded; ErrClosed).
// Before done runs, the Session's phase is final: after done(nil) the record
// calls (Decrypt, Encrypt, AppendEncrypt) work. done must not block: the
// goroutine that calls it may run the next queued handshake afterwards.
// StartHandshake may be called once; it panics if called again.
//
// TLS 1.3 client authentication: a client's handshake succeeds before the
// server has checked the client's certificate, so done(nil) on a Client does
// not mean the server accepted it. A refused client learns it from an alert,
// as an ErrTLS from its first Decrypt. Treat an outbound connection as up
// only when the server's first application message arrives.
func (s *Session) StartHandshake(ctx context.Context, lim *Limiter, deadline time.Time, done func(error)) {
	if !s.phase.CompareAndSwap(int32(phaseNew), int32(phaseHandshaking)) {
		panic("tlsstate: StartHandshake called twice")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	var hctx context.Context
	var cancel context.CancelFunc
	if deadline.IsZero() {
		hctx, cancel = context.WithCancel(ctx)
	} else {
		hctx, cancel = context.WithDeadline(ctx, deadline)
	}
	j := &hsJob{s: s, ctx: hctx, cancel: cancel, done: done}
	s.mu.Lock()
	s.job = j
	s.mu.Unlock()
	if s.closing.Load() { // Close ran before s.job was set
		cancel()
	}
	lim.start(j)
}

// handshake runs crypto/tls's handshake; called by the Limiter's worker.
func (s *Session) handshake(ctx context.Context) error {
	err := s.tc.HandshakeContext(ctx)
	if err == nil {
		s.adoptRecords()
	}
	if s.closing.Load() && (err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled)) {
		err = ErrClosed // Close ended it (a real failure keeps its cause)
	}
	if err == nil {
		s.phase.Store(int32(phaseDone))
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return s.fail(fmt.Errorf("%w (%s): no handshake before the deadline: %w", ErrHandshake, s.role, err))
	}
	return s.fail(fmt.Errorf("%w (%s): %w", ErrHandshake, s.role, err))
}

// fail records a handshake failure and drops buffered input.
func (s *Session) fail(err error) error {
	s.keys.forget()
	s.mu.Lock()
	s.hsErr = err
	s.fed, s.fedOff = nil, 0
	s.mu.Unlock()
	s.phase.Store(int32(phaseFailed))
	return err
}

// noteFirstRecord counts fed bytes until the first TLS record (the
// ClientHello, for a server) is whole. Under mu.
func (s *Session) noteFirstRecord(in []byte) {
	if s.firstIn.Load() {
		return
	}
	if s.fedTotal < len(s.head) {
		copy(s.head[s.fedTotal:], in)
	}
	s.fedTotal += len(in)
	if s.fedTotal >= len(s.head) && s.fedTotal >= len(s.head)+int(binary.BigEndian.Uint16(s.head[3:5])) {
		s.firstIn.Store(true)
	}
}

// FirstRecordIn reports whether a whole first TLS record has been fed:
// for a server, that the client's ClientHello has arrived, whether or not
// the handshake has had a slot to answer it yet. Safe from any goroutine.
func (s *Session) FirstRecordIn() bool { return s.firstIn.Load() }

// Responded reports whether the handshake has written anything: for a
// server, that the client's whole first flight (its ClientHello) arrived
// and was answered. Safe from any goroutine.
func (s *Session) Responded() bool { return s.responded.Load() }

// HandshakeComplete reports whether the handshake has succeeded (the phase
// done(nil) announces).
func (s *Session) HandshakeComplete() bool { return phase(s.phase.Load()) == phaseDone }

// Feed gives the Session ciphertext read from the socket (it is copied; the
// caller may discard it from its buffer at once). Call it from the loop while
// the handshake runs; the handshake goroutine consumes it. Bytes fed but not
// needed by the handshake (the peer's first application records) are kept
// and processed by the first Decrypt. More than MaxHandshakeInput unconsumed
// bytes fail the handshake. Feeding after the handshake is allowed (the bytes
// go before Decrypt's input) but pointless: pass them to Decrypt instead.
// Input fed after a failure or Close is dropped.
func (s *Session) Feed(in []byte) {
	if len(in) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := phase(s.phase.Load())
	if s.connClosed || s.inErr != nil || p == phaseFailed || s.closing.Load() {
		return
	}
	pending := len(s.fed) - s.fedOff
	if pending+len(in) > MaxHandshakeInput && p != phaseDone {
		s.inErr = fmt.Errorf("peer sent more than %d bytes that the handshake did not consume", MaxHandshakeInput)
		s.fed, s.fedOff = nil, 0
		s.cond.Broadcast()
		return
	}
	if s.fedOff > 0 && s.fedOff >= pending {
		s.fed = s.fed[:copy(s.fed, s.fed[s.fedOff:])]
		s.fedOff = 0
	}
	s.noteFirstRecord(in)
	s.fed = append(s.fed, in...)
	s.cond.Broadcast()
}

// Buffered returns how many fed ciphertext bytes the Session holds that
// crypto/tls has not consumed (bytes fed during the handshake and not yet
// decrypted). After done(nil), call Decrypt while Buffered() > 0 even if the
// socket has nothing new: those bytes may hold the peer's first records.
// Loop only.
func (s *Session) Buffered() int {
	s.mu.Lock()
	n := len(s.fed) - s.fedOff
	s.mu.Unlock()
	if phase(s.phase.Load()) == phaseDone {
		n += len(s.carry) - s.carryOff
	}
	return n
}

// HasOutput reports whether ciphertext is waiting for TakeOutput. Safe from
// any goroutine.
func (s *Session) HasOutput() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.out) > 0 || (s.records() != nil && s.records().HasPending())
}

// TakeOutput appends the pending ciphertext (handshake messages, records
// from Encrypt, alerts, KeyUpdate replies, close_notify) to dst, clears it
// and returns the extended dst. Write the result to the socket as is, in
// order. Safe concurrently with the handshake goroutine and with Close.
func (s *Session) TakeOutput(dst []byte) []byte {
	s.mu.Lock()
	dst = append(dst, s.out...)
	s.out = nil // pending output is rare after the handshake: an idle session keeps no buffer
	if l := s.records(); l != nil {
		dst = l.TakePending(dst)
	}
	s.mu.Unlock()
	return dst
}

// ready reports whether the record layer may be used.
func (s *Session) ready() error {
	switch phase(s.phase.Load()) {
	case phaseDone:
		if s.closing.Load() {
			return ErrClosed
		}
		return nil
	case phaseFailed:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.hsErr
	}
	if s.closing.Load() {
		return ErrClosed
	}
	return fmt.Errorf("%w: handshake not complete", ErrTLS)
}

// Decrypt consumes ciphertext from in and appends the plaintext to dst. It
// first processes bytes fed during the handshake (Buffered), then reads in
// until in is exhausted or dst has grown by at least maxOut bytes (maxOut <=
// 0: no limit; it may overshoot by up to one record, 16 KiB, and bytes fed
// during the handshake are always processed whole). It returns the extended
// dst, how many bytes of in it consumed (discard exactly those from the
// socket buffer and offer the rest again next time) and an error: io.EOF
// when the peer sent close_notify (plaintext before it is still returned),
// an error wrapping ErrTLS when the record layer fails (an alert from the
// peer, a record that does not authenticate), ErrClosed after Close, or the
// handshake's error after a failed handshake.
//
// A partial record at the end of in is consumed and kept inside crypto/tls;
// the Session never holds a complete undecrypted record or undelivered
// plaintext between calls, so "consumed == 0 and no plaintext" means more
// bytes are needed. Reading may produce output (a KeyUpdate reply, an alert):
// check HasOutput after Decrypt and send it. Loop only, after done(nil).
func (s *Session) Decrypt(dst, in []byte, maxOut int) (out []byte, consumed int, err error) {
	if err := s.ready(); err != nil {
		return dst, 0, err
	}
	if s.readErr != nil {
		return dst, 0, s.readErr
	}
	if maxOut <= 0 {
		maxOut = math.MaxInt
	}
	if s.layer != nil {
		return s.decryptInPlace(dst, in, maxOut)
	}
	s.adoptFed()
	s.src, s.srcOff = in, 0
	start := len(dst)
	// crypto/tls holds at most a partial record between calls (the adapter
	// stops at record ends and each Read drains the plaintext), so with no
	// input left there is nothing it could deliver: stop without a Read.
	for s.carryOff < len(s.carry) || (s.srcOff < len(s.src) && len(dst)-start < maxOut) {
		if cap(dst)-len(dst) < maxPlaintext {
			// A buffer of a whole record's plaintext makes each Read drain
			// crypto/tls's plaintext, so none is left behind on return.
			dst = slices.Grow(dst, maxPlaintext)
		}
		n, rerr := s.tc.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if rerr != nil {
			if _, ok := rerr.(wouldBlock); !ok {
				err = s.readError(rerr)
				s.readErr = err
			}
			break
		}
		if n == 0 { // cannot happen with a non-empty buffer; never spin
			break
		}
	}
	consumed = s.srcOff
	s.src, s.srcOff = nil, 0
	if s.carryOff == len(s.carry) {
		s.carry, s.carryOff = nil, 0
	}
	return dst, consumed, err
}

// adoptFed moves input fed during the handshake to the loop-owned carry.
func (s *Session) adoptFed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fedOff == len(s.fed) {
		if s.fed != nil {
			s.fed, s.fedOff = nil, 0
		}
		return
	}
	if s.carryOff == len(s.carry) {
		s.carry, s.carryOff = s.fed[s.fedOff:], 0
	} else {
		s.carry = append(s.carry, s.fed[s.fedOff:]...)
	}
	s.fed, s.fedOff = nil, 0
}

func (s *Session) readError(err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return io.EOF
	case s.closing.Load() || errors.Is(err, net.ErrClosed):
		return ErrClosed
	}
	return fmt.Errorf("%w (%s): %w", ErrTLS, s.role, err)
}

func (s *Session) writeError(err error) error {
	switch {
	case err == nil:
		return nil
	case s.closing.Load() || errors.Is(err, net.ErrClosed):
		return ErrClosed
	}
	return fmt.Errorf("%w (%s): %w", ErrTLS, s.role, err)
}

// Encrypt seals plain into TLS records (one per 16 KiB) and appends them to
// the pending output; collect them with TakeOutput. Pass a whole batch of
// frames in one call: each record costs a fixed AEAD set-up, so one call
// with many small messages is far cheaper than one call per message. After
// done(nil), from any goroutine, one Encrypt or AppendEncrypt at a time
// (see AppendEncrypt).
func (s *Session) Encrypt(plain []byte) error {
	if err := s.ready(); err != nil {
		return err
	}
	if len(plain) == 0 {
		return nil
	}
	if s.layer != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		out, err := s.layer.Seal(s.out, plain)
		s.out = out
		if err != nil {
			return s.layerError(err)
		}
		return nil
	}
	_, err := s.tc.Write(plain)
	return s.writeError(err)
}

// SealedLen bounds the ciphertext AppendEncrypt makes of n bytes of
// plaintext (pending output aside): each record of up to 16 KiB adds a
// header, an inner content type and an AEAD tag, and may be preceded by a
// KeyUpdate (record.SealedLen).
func SealedLen(n int) int {
	return record.SealedLen(n)
}

// DecryptRoom is the free capacity Decrypt wants in dst for n bytes of
// ciphertext: with it (and no carried handshake input), Decrypt never has
// to grow dst, so a caller can supply pooled buffers.
func DecryptRoom(n int) int {
	return n + maxPlaintext // plaintext never exceeds its ciphertext; each Read wants a record's room
}

// AppendEncrypt is Encrypt followed by TakeOutput without the intermediate
// copy: it appends the pending output, then the records sealing plain, to
// dst and returns it. The Session keeps no buffer for them. After done(nil),
// from any goroutine, one AppendEncrypt or Encrypt at a time (the caller
// orders them: the records go out in the order sealed), and alongside the
// loop's Decrypt: a KeyUpdate reply that Decrypt produces meanwhile lands
// in dst, in its place in the record sequence.
func (s *Session) AppendEncrypt(dst, plain []byte) ([]byte, error) {
	if err := s.ready(); err != nil {
		return dst, err
	}
	if s.layer != nil {
		return s.sealInPlace(dst, plain, false)
	}
	s.mu.Lock()
	if len(s.out) > 0 {
		dst = append(dst, s.out...)
		s.out = nil
	}
	if len(plain) == 0 {
		s.mu.Unlock()
		return dst, nil
	}
	s.seal, s.sealing = dst, true
	s.mu.Unlock()
	_, err := s.tc.Write(plain)
	s.mu.Lock()
	dst, s.seal, s.sealing = s.seal, nil, false
	s.mu.Unlock()
	return dst, s.writeError(err)
}

// Close marks the Session closed. If the handshake has completed it appends
// a close_notify alert to the pending output (send it with TakeOutput before
// closing the socket); if a handshake is running or queued it ends it (done
// then gets ErrClosed). Later record calls return ErrClosed. Safe from any
// goroutine, and idempotent.
func (s *Session) Close() {
	if !s.closing.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	j := s.job
	s.mu.Unlock()
	if j != nil {
		j.cancel()
	}
	if l := s.records(); l != nil {
		l.Close() // close_notify with the layer's keys; crypto/tls's are stale
		_ = (*adapter)(s).Close()
		return
	}
	_ = s.tc.Close() // close_notify if complete, then adapter.Close
}

// PeerClosed tells the Session that the peer closed its side of the
// connection: no more ciphertext will be fed. A running (or queued)
// handshake still consumes what was fed, which may hold the alert that says
// why the peer gave up, and then fails on the end of input (io.EOF): done
// gets that alert's error, or the EOF, never ErrClosed. (Close would also
// cancel the handshake's context, and crypto/tls then reports the context's
// error instead of an alert it has already read.) After the handshake it
// changes nothing: the bytes fed during it stay readable by Decrypt until
// Close. Call Close once done has run. Safe from any goroutine.
func (s *Session) PeerClosed() {
	s.mu.Lock()
	s.peerEOF = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

// ConnectionState returns crypto/tls's view of the connection: version,
// cipher suite, the peer's verified certificates. Meaningful after done(nil).
func (s *Session) ConnectionState() tls.ConnectionState { return s.tc.ConnectionState() }

// framer follows TLS record boundaries in the ciphertext handed to
// crypto/tls, so that each adapter Read stops at the end of a record.
// crypto/tls asks for exactly a header, then exactly the rest of the record;
// without this bound it reads ahead into its own buffer, and records it
// holds could then wait for input that never comes. It only reads the
// 5-byte header's length field; crypto/tls validates everything.
type framer struct {
	hdr  [recordHeaderLen]byte
	hn   int // header bytes seen
	body int // body bytes still to hand out
}

// take copies into p the next bytes of b without crossing the end of the
// current record, and returns how many it copied. At a record boundary it
// hands over the header and as much of the body as fits, so crypto/tls gets
// a whole record with one read (each of its reads allocates).
func (f *framer) take(p, b []byte) int {
	n := 0
	for n < len(p) && n < len(b) {
		if f.body > 0 {
			k := copy(p[n:], b[n:min(len(b), n+f.body)])
			f.body -= k
			n += k
			break // end of the record, or p or b exhausted
		}
		k := copy(p[n:], b[n:min(len(b), n+recordHeaderLen-f.hn)])
		copy(f.hdr[f.hn:], p[n:n+k])
		f.hn += k
		n += k
		if f.hn < recordHeaderLen {
			break // p or b exhausted inside the header
		}
		f.hn = 0
		f.body = int(f.hdr[3])<<8 | int(f.hdr[4])
		if f.body == 0 {
			break // an empty record ends with its header
		}
	}
	return n
}

// wouldBlock is the error the adapter's Read returns after the handshake
// when it has no more input. crypto/tls treats a net.Error whose Temporary()
// is true as retryable: it keeps a partial record and sets no sticky error.
// It must be returned unwrapped (crypto/tls uses a type assertion).
type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tlsstate: no more input (would block)" }
func (wouldBlock) Timeout() bool   { return false }
func (wouldBlock) Temporary() bool { return true }

var _ net.Error = wouldBlock{}

// adapter is the net.Conn crypto/tls runs over: the Session's buffers.
type adapter Session

var _ net.Conn = (*adapter)(nil)

// Read hands crypto/tls ciphertext, at most up to a record boundary. During
// the handshake (handshake goroutine) it blocks until Feed, Close or the
// deadline (which closes the adapter), giving its Limiter slot up while it
// waits and taking one back once input has arrived. After it (loop, inside Decrypt) it
// never blocks: carried bytes, then Decrypt's input, then wouldBlock.
func (a *adapter) Read(p []byte) (int, error) {
	s := (*Session)(a)
	if phase(s.phase.Load()) == phaseDone {
		if s.carryOff < len(s.carry) {
			n := s.fr.take(p, s.carry[s.carryOff:])
			s.carryOff += n
			return n, nil
		}
		if s.srcOff < len(s.src) {
			n := s.fr.take(p, s.src[s.srcOff:])
			s.srcOff += n
			return n, nil
		}
		return 0, wouldBlock{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parked := false // gave the Limiter slot up while waiting for input
	for {
		switch {
		case s.inErr != nil:
			return 0, s.inErr
		case s.connClosed:
			return 0, net.ErrClosed
		case s.fedOff < len(s.fed) && parked:
			s.mu.Unlock()
			err := s.job.lim.resume(s.job)
			s.mu.Lock()
			if err != nil {
				return 0, err
			}
			parked = false
			continue
		case s.fedOff < len(s.fed):
			n := s.fr.take(p, s.fed[s.fedOff:])
			s.fedOff += n
			if s.fedOff == len(s.fed) {
				s.fed, s.fedOff = s.fed[:0], 0
			}
			return n, nil
		case s.peerEOF:
			return 0, io.EOF
		}
		if !parked {
			s.mu.Unlock()
			s.job.lim.park(s.job)
			s.mu.Lock()
			parked = true
			continue
		}
		s.cond.Wait()
	}
}

// Write never blocks and never fails except after Close: crypto/tls's
// write errors are sticky, and tls.Conn.Read writes (KeyUpdate replies,
// alerts) while holding its locks. It appends to the pending output (or to
// AppendEncrypt's destination) and, during the handshake, wakes the loop.
//
// Bound: during the handshake output is a few flights of handshake messages;
// after it, output grows only by what the loop asks for (Encrypt's
// plaintext plus 22 bytes per 16 KiB record), one close_notify, and replies
// crypto/tls writes while reading (alerts; KeyUpdate replies, of which it
// allows 16 between application records). Whoever seals next (the loop, or
// a sender writing directly) drains it, and the loop after each Decrypt, so
// it stays proportional to one batch.
func (a *adapter) Write(p []byte) (int, error) {
	s := (*Session)(a)
	s.mu.Lock()
	if s.connClosed {
		s.mu.Unlock()
		return 0, net.ErrClosed
	}
	if s.sealing {
		s.seal = append(s.seal, p...)
	} else {
		s.out = append(s.out, p...)
	}
	s.responded.Store(true)
	wake := s.wake != nil && phase(s.phase.Load()) != phaseDone
	s.mu.Unlock()
	if wake {
		s.wake()
	}
	return len(p), nil
}

// Close marks the adapter closed and wakes a blocked Read. crypto/tls calls
// it from tls.Conn.Close and when the handshake's context ends.
func (a *adapter) Close() error {
	s := (*Session)(a)
	s.mu.Lock()
	s.connClosed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	return nil
}

// LocalAddr returns a placeholder; the Session has no socket.
func (a *adapter) LocalAddr() net.Addr { return sessionAddr{} }

// RemoteAddr returns a placeholder; the Session has no socket.
func (a *adapter) RemoteAddr() net.Addr { return sessionAddr{} }

// SetDeadline is a no-op: deadlines come from StartHandshake's context.
func (a *adapter) SetDeadline(time.Time) error { return nil }

// SetReadDeadline is a no-op.
func (a *adapter) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline is a no-op (Write never blocks).
func (a *adapter) SetWriteDeadline(time.Time) error { return nil }

type sessionAddr struct{}

func (sessionAddr) Network() string { return "tlsstate" }
func (sessionAddr) String() string  { return "tlsstate-session" }
