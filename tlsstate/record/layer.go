package record

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/tensorchain/transport/internal/bufpool"
)

// DefaultKeyUpdateInterval is how many records a key protects before the
// layer rotates it: 2^24, under RFC 8446 §5.5's limit of 2^24.5 full-size
// records for AES-GCM.
const DefaultKeyUpdateInterval = 1 << 24

const (
	maxRecord    = HeaderLen + maxCiphertext
	maxHandshake = 64 << 10 // largest post-handshake message accepted
	maxUseless   = 16       // records in a row without application data
)

// ErrClosed is returned by Seal and UpdateKeys after Close.
var ErrClosed = errors.New("tls record: closed")

// Config is what a Layer starts from: the handshake's outcome.
type Config struct {
	Suite       uint16 // the negotiated TLS 1.3 suite (tls.TLS_*)
	Client      bool   // this side is the client (it may receive tickets)
	ReadSecret  []byte // the peer's application traffic secret 0
	WriteSecret []byte // this side's application traffic secret 0
	// KeyUpdateInterval is how many records a key protects before this
	// side rotates its write key, and before it asks the peer to rotate
	// its own (0: DefaultKeyUpdateInterval).
	KeyUpdateInterval uint64
	// Totals, if set, is added to as this layer sends and receives
	// KeyUpdates, besides its own counts (KeyUpdates): totals shared by
	// many layers, such as a transport's statistics.
	Totals *Counters
}

// Counters are KeyUpdate totals that any number of layers add to, from
// any goroutine.
type Counters struct {
	Sent, Received atomic.Uint64
}

// Layer is the record layer of one established TLS 1.3 connection. See
// the package documentation for which goroutine may call what.
type Layer struct {
	client   bool
	interval uint64

	// Read side: Open's goroutine only.
	in      *direction
	part    []byte          // a record that arrived in pieces, being assembled
	partHdr [HeaderLen]byte // part's storage until its header is whole
	partBuf *[]byte         // part's pooled buffer, sized from the header
	partOut bool            // part holds the record last returned: reset on the next call
	hs      []byte          // a post-handshake message that spans records
	useless int             // records in a row without application data
	asked   bool            // this side asked the peer to update since its last KeyUpdate
	readErr error           // sticky: io.EOF (close_notify) or an *Alert
	updIn   atomic.Uint64
	totals  *Counters // nil: none

	// Write side, under mu.
	mu       sync.Mutex
	out      *direction
	pending  []byte // sealed records waiting to go out: KeyUpdates, alerts
	owed     bool   // the peer asked for a KeyUpdate: one answers every request made since (§4.6.3)
	ask      bool   // ask the peer to update, with this side's next application data
	writeErr error  // sticky: ErrClosed, or the fatal alert sent
	updOut   atomic.Uint64
}

// New returns the record layer for a connection whose handshake ended
// with cfg. The secrets are copied; the caller should clear its own.
func New(cfg Config) (*Layer, error) {
	s := suiteByID(cfg.Suite)
	if s == nil {
		return nil, fmt.Errorf("tls record: cipher suite %#04x is not a TLS 1.3 suite", cfg.Suite)
	}
	if len(cfg.ReadSecret) != s.hashLen || len(cfg.WriteSecret) != s.hashLen {
		return nil, fmt.Errorf("tls record: traffic secrets of %d and %d bytes, want %d", len(cfg.ReadSecret), len(cfg.WriteSecret), s.hashLen)
	}
	in, err := newDirection(s, cfg.ReadSecret)
	if err != nil {
		return nil, err
	}
	out, err := newDirection(s, cfg.WriteSecret)
	if err != nil {
		return nil, err
	}
	l := &Layer{client: cfg.Client, interval: cfg.KeyUpdateInterval, in: in, out: out, totals: cfg.Totals}
	if l.interval == 0 {
		l.interval = DefaultKeyUpdateInterval
	}
	return l, nil
}

// KeyUpdates returns how many KeyUpdates this side has sent and received.
// Safe from any goroutine.
func (l *Layer) KeyUpdates() (sent, received uint64) { return l.updOut.Load(), l.updIn.Load() }

// Open opens the record at the front of in. It returns the content of an
// application data record, decrypted in place in in (or, for a record that
// arrived in pieces, in the layer's own buffer), valid until the next
// call; and how many bytes of in it consumed. A record of another type (a
// post-handshake message, an alert) is consumed and acted on, and yields
// no content; so does an incomplete record at the end of in, which the
// layer keeps (at most one record) until the rest arrives. Open consumes
// something whenever in is not empty. Errors are sticky: io.EOF after the
// peer's close_notify, an *Alert otherwise.
func (l *Layer) Open(in []byte) (plain []byte, consumed int, err error) {
	if l.partOut {
		l.releasePart()
	}
	if l.readErr != nil {
		return nil, 0, l.readErr
	}
	if len(in) == 0 {
		return nil, 0, nil
	}
	var rec []byte
	if l.part != nil {
		n, done, a := l.fillPart(in)
		if a != nil {
			return nil, n, l.fail(a)
		}
		if !done {
			return nil, n, nil
		}
		rec, consumed, l.partOut = l.part, n, true
	} else {
		size, a := recordSize(in)
		if a != nil {
			return nil, 0, l.fail(a)
		}
		if size == 0 || size > len(in) {
			l.startPart(in)
			return nil, len(in), nil
		}
		rec, consumed = in[:size], size
	}
	plain, err = l.process(rec)
	return plain, consumed, err
}

// recordSize validates the header at the front of b and returns the size
// of the whole record, or 0 if b does not hold the header yet.
func recordSize(b []byte) (int, *Alert) {
	if len(b) < HeaderLen {
		return 0, nil
	}
	if b[0] != typeApplicationData {
		return 0, alertf(AlertUnexpectedMessage, "unprotected record of type %d after the handshake", b[0])
	}
	n := int(b[3])<<8 | int(b[4])
	if n > maxCiphertext {
		return 0, alertf(AlertRecordOverflow, "record of %d bytes (at most %d)", n, maxCiphertext)
	}
	return HeaderLen + n, nil
}

// startPart keeps the start of a record (less than a whole one), whose
// header is valid as far as it goes.
func (l *Layer) startPart(b []byte) {
	l.part = l.partHdr[:0]
	_, _, _ = l.fillPart(b) // recordSize has checked the header: no alert
}

// fillPart adds bytes of in to the partial record until it is whole. The
// header is kept in partHdr; once it is whole, a buffer of the record's
// size takes the record.
func (l *Layer) fillPart(in []byte) (used int, done bool, a *Alert) {
	for {
		need := HeaderLen
		if len(l.part) >= HeaderLen {
			if need, a = recordSize(l.part); a != nil {
				return used, false, a
			}
			if l.partBuf == nil {
				l.partBuf = bufpool.Get(need)
				l.part = append((*l.partBuf)[:0], l.part...)
			}
		}
		if len(l.part) >= need {
			return used, true, nil
		}
		k := min(need-len(l.part), len(in)-used)
		if k == 0 {
			return used, false, nil
		}
		l.part = append(l.part, in[used:used+k]...)
		used += k
	}
}

func (l *Layer) releasePart() {
	if l.partBuf != nil {
		bufpool.Put(l.partBuf)
	}
	l.part, l.partBuf, l.partOut = nil, nil, false
}

// process opens one whole record and acts on its content.
func (l *Layer) process(rec []byte) ([]byte, error) {
	typ, content, a := l.in.open(rec)
	if a != nil {
		return nil, l.fail(a)
	}
	if len(l.hs) > 0 && typ != typeHandshake {
		return nil, l.fail(alertf(AlertUnexpectedMessage, "record of type %d inside a fragmented handshake message", typ))
	}
	switch typ {
	case typeApplicationData:
		if len(content) == 0 {
			return nil, l.noData()
		}
		l.useless = 0
		l.askIfDue()
		return content, nil
	case typeHandshake:
		return nil, l.onHandshake(content)
	case typeAlert:
		return nil, l.onAlert(content)
	}
	return nil, l.fail(alertf(AlertUnexpectedMessage, "record of content type %d", typ))
}

// noData counts a record or message that carried no application data
// (an empty record, a ticket, a KeyUpdate, an ignored alert): a peer may
// send maxUseless in a row, as crypto/tls allows, and no more.
func (l *Layer) noData() error {
	if l.useless++; l.useless > maxUseless {
		return l.fail(alertf(AlertUnexpectedMessage, "more than %d records in a row without application data", maxUseless))
	}
	return nil
}

// askIfDue arranges to ask the peer for a KeyUpdate once its key has
// protected twice interval records: a peer that rotates by itself (at
// interval, as this layer does) is never asked, one that never does (as
// crypto/tls) is. The request goes out once per peer key, and only in
// front of this side's next application data, so a receiver with nothing
// to send never sends a run of data-less records that its peer would
// refuse (more than 16 in a row).
func (l *Layer) askIfDue() {
	if l.asked || l.in.seq/2 < l.interval {
		return
	}
	l.asked = true
	l.mu.Lock()
	l.ask = l.writeErr == nil
	l.mu.Unlock()
}

// fail makes a fatal error sticky and queues its alert for the peer.
func (l *Layer) fail(a *Alert) error {
	l.endInput(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.writeErr == nil {
		if a.Sent {
			l.pending = l.sealOwed(l.pending)
			l.pending, _ = l.out.seal(l.pending, typeAlert, []byte{2, byte(a.Description)})
		}
		l.endOutput(a) // after the peer's fatal alert nothing more is sent either (§6.2)
	}
	return a
}

// endInput makes err the read side's sticky error and forgets its keys.
func (l *Layer) endInput(err error) {
	l.readErr = err
	l.in.wipe()
	l.hs = nil
}

// endOutput makes err the write side's sticky error and forgets its
// keys, once its last record is sealed. Under mu.
func (l *Layer) endOutput(err error) {
	l.writeErr = err
	l.owed, l.ask = false, false
	l.out.wipe()
}

// onAlert handles an alert record from the peer.
func (l *Layer) onAlert(content []byte) error {
	if len(content) != 2 {
		return l.fail(alertf(AlertDecodeError, "alert of %d bytes", len(content)))
	}
	switch d := AlertDescription(content[1]); d {
	case AlertCloseNotify:
		l.endInput(io.EOF)
		return io.EOF
	case AlertUserCanceled: // a warning; close_notify follows
		return l.noData()
	default:
		return l.fail(&Alert{Description: d})
	}
}
