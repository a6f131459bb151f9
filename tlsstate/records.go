package tlsstate

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/tensorchain/transport/tlsstate/record"
)

// RecordLayer selects what protects records once a handshake is done.
// The zero value is EngineRecords.
type RecordLayer int

const (
	// EngineRecords (the default): after a TLS 1.3 handshake, package
	// record protects the records, opening each in place in the caller's
	// input buffer (Open) and sealing straight into its output buffer.
	// TLS 1.2 connections, and any whose traffic secrets crypto/tls did
	// not log, keep crypto/tls's record layer.
	EngineRecords RecordLayer = iota
	// CryptoTLSRecords leaves every record to crypto/tls's own layer.
	CryptoTLSRecords
)

var recordLayerNames = [...]string{EngineRecords: "engine", CryptoTLSRecords: "crypto/tls"}

// String returns "engine" or "crypto/tls".
func (r RecordLayer) String() string {
	if r >= 0 && int(r) < len(recordLayerNames) {
		return recordLayerNames[r]
	}
	return fmt.Sprintf("RecordLayer(%d)", int(r))
}

// ParseRecordLayer parses a name as written by String.
func ParseRecordLayer(s string) (RecordLayer, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for r, n := range recordLayerNames {
		if n == name {
			return RecordLayer(r), nil
		}
	}
	return EngineRecords, fmt.Errorf("%w: record_layer: unknown value %q (want engine or crypto/tls)", ErrInvalidConfig, s)
}

// MarshalText implements encoding.TextMarshaler (TOML, JSON).
func (r RecordLayer) MarshalText() ([]byte, error) {
	if r < 0 || int(r) >= len(recordLayerNames) {
		return nil, fmt.Errorf("%w: record_layer: invalid value %d", ErrInvalidConfig, int(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (TOML, JSON).
func (r *RecordLayer) UnmarshalText(b []byte) error { return r.Set(string(b)) }

// Set implements flag.Value.
func (r *RecordLayer) Set(s string) error {
	v, err := ParseRecordLayer(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// SessionOptions are a Session's settings beyond its tls.Config.
type SessionOptions struct {
	// Records selects the record layer (EngineRecords by default).
	Records RecordLayer
	// KeyUpdateInterval is, for EngineRecords, how many records a key
	// protects before the Session rotates its own and asks the peer to
	// rotate its (0: record.DefaultKeyUpdateInterval, 2^24).
	KeyUpdateInterval uint64
	// KeyUpdateTotals, if set, is added to as the engine's record layer
	// sends and receives KeyUpdates (a transport's statistics).
	KeyUpdateTotals *record.Counters
}

// secrets captures the application traffic secrets that crypto/tls
// reports through Config.KeyLogWriter (its documented interface for
// them), for the Session's own record layer. Lines for other secrets are
// ignored; every line also goes to the writer the caller configured, if
// any.
type secrets struct {
	mu             sync.Mutex
	client, server []byte
	chain          io.Writer
}

// Write parses one NSS key log line: "<label> <client random> <secret>".
func (k *secrets) Write(line []byte) (int, error) {
	fields := bytes.Fields(line)
	if len(fields) == 3 {
		var dst *[]byte
		switch string(fields[0]) {
		case "CLIENT_TRAFFIC_SECRET_0":
			dst = &k.client
		case "SERVER_TRAFFIC_SECRET_0":
			dst = &k.server
		}
		if dst != nil {
			secret := make([]byte, hex.DecodedLen(len(fields[2])))
			if _, err := hex.Decode(secret, fields[2]); err == nil {
				k.mu.Lock()
				*dst = secret
				k.mu.Unlock()
			}
		}
		defer clear(fields[2]) // after the chained writer, which must not keep line
	}
	if k.chain != nil {
		return k.chain.Write(line)
	}
	return len(line), nil
}

// forget clears secrets never taken (a handshake that failed after
// crypto/tls logged them).
func (k *secrets) forget() {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.client)
	clear(k.server)
	k.client, k.server = nil, nil
}

// take returns the peer's and this side's secrets and forgets them.
func (k *secrets) take(role Role) (read, write []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	read, write = k.server, k.client
	if role == Server {
		read, write = write, read
	}
	k.client, k.server = nil, nil
	return read, write
}

// prepareConfig returns the tls.Config a Session runs: always a copy, with
// full-size records from the first byte, and for EngineRecords the secret
// capture and (on a server) no session tickets, which crypto/tls would
// otherwise send with the application key before handing over.
func (s *Session) prepareConfig(tc *tls.Config) *tls.Config {
	if tc == nil {
		tc = &tls.Config{}
	}
	tc = tc.Clone()
	tc.DynamicRecordSizingDisabled = true
	if s.opts.Records == EngineRecords {
		s.keys.chain = tc.KeyLogWriter
		tc.KeyLogWriter = &s.keys
		if s.role == Server {
			tc.SessionTicketsDisabled = true
		}
	}
	return tc
}

// adoptRecords moves an established TLS 1.3 connection's records to the
// engine's record layer, when configured and possible. Called by the
// handshake goroutine before the phase becomes done.
func (s *Session) adoptRecords() {
	read, write := s.keys.take(s.role)
	defer clear(read)
	defer clear(write)
	st := s.tc.ConnectionState()
	if s.opts.Records != EngineRecords || st.Version != tls.VersionTLS13 || !record.Supports(st.CipherSuite) || read == nil || write == nil {
		return
	}
	l, err := record.New(record.Config{
		Suite: st.CipherSuite, Client: s.role == Client,
		ReadSecret: read, WriteSecret: write, KeyUpdateInterval: s.opts.KeyUpdateInterval,
		Totals: s.opts.KeyUpdateTotals,
	})
	if err != nil {
		// Nothing has been sealed or opened with the application keys
		// yet, so crypto/tls can keep the records: e.g. in FIPS 140-only
		// mode, where crypto/cipher refuses GCM with caller-built nonces.
		return
	}
	s.layer = l
}

// records returns the engine's record layer once the handshake is done
// (the phase orders the handshake goroutine's write of layer before it),
// or nil while crypto/tls keeps the records.
func (s *Session) records() *record.Layer {
	if phase(s.phase.Load()) != phaseDone {
		return nil
	}
	return s.layer
}

// InPlace reports whether the engine's record layer protects this
// Session's records, so Open may be used. Meaningful after done(nil).
func (s *Session) InPlace() bool { return s.records() != nil }

// Open returns the content of the next application data record at the
// front of in, decrypted in place there (or, for a record that arrived in
// pieces, in the Session's own buffer), and how many bytes of in it
// consumed. The content stays valid until the next Open; discard consumed
// bytes from the socket buffer only once it has been used. Bytes fed during
// the handshake (Buffered) are opened first, consuming nothing of in. A
// record of another type (a ticket, a KeyUpdate, an ignored alert) or an
// incomplete record is consumed with no content; no content and nothing
// consumed means nothing more can be done until more input arrives. Errors
// are as Decrypt's, and sticky. After each call, check HasOutput: a
// KeyUpdate reply or an alert may be waiting. Loop only, after done(nil),
// when InPlace.
func (s *Session) Open(in []byte) (plain []byte, consumed int, err error) {
	if err := s.ready(); err != nil {
		return nil, 0, err
	}
	if s.layer == nil {
		return nil, 0, fmt.Errorf("%w: Open needs the engine's record layer (InPlace)", ErrTLS)
	}
	s.adoptFed()
	plain, consumed, err = s.openRecord(in)
	if err != nil {
		err = s.layerError(err)
	}
	return plain, consumed, err
}

// openRecord opens the next record: from the carried handshake input
// first, then from in.
func (s *Session) openRecord(in []byte) ([]byte, int, error) {
	if s.carry != nil && s.carryOff == len(s.carry) { // its last content has been used
		s.carry, s.carryOff = nil, 0
	}
	for s.carryOff < len(s.carry) {
		plain, n, err := s.layer.Open(s.carry[s.carryOff:])
		s.carryOff += n
		if err != nil || plain != nil {
			return plain, 0, err
		}
	}
	return s.layer.Open(in)
}

// decryptInPlace is Decrypt over the engine's record layer.
func (s *Session) decryptInPlace(dst, in []byte, maxOut int) ([]byte, int, error) {
	s.adoptFed()
	consumed, start := 0, len(dst)
	for {
		plain, n, err := s.openRecord(in[consumed:]) // with nothing left: the sticky error, if any
		consumed += n
		dst = append(dst, plain...)
		if err != nil {
			return dst, consumed, s.layerError(err)
		}
		if (plain == nil && n == 0) || (s.carryOff == len(s.carry) && (consumed == len(in) || len(dst)-start >= maxOut)) {
			break
		}
	}
	if s.carryOff == len(s.carry) {
		s.carry, s.carryOff = nil, 0
	}
	return dst, consumed, nil
}

// layerError maps a record layer error to the Session's.
func (s *Session) layerError(err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.Is(err, record.ErrClosed) || s.closing.Load():
		return ErrClosed
	}
	return fmt.Errorf("%w (%s): %w", ErrTLS, s.role, err)
}

// AppendEncryptOwned is AppendEncrypt for plaintext the caller owns
// outright (a send queue's buffer): with the engine's record layer, the
// byte after each record's content, within cap(plain), is borrowed while
// the record is encrypted straight from plain, so nothing is copied
// first (record.Layer.SealOwned). Nothing else may touch plain or its
// spare capacity during the call; dst must not overlap them. With
// crypto/tls's layer it is AppendEncrypt.
func (s *Session) AppendEncryptOwned(dst, plain []byte) ([]byte, error) {
	if err := s.ready(); err != nil {
		return dst, err
	}
	if s.layer == nil {
		return s.AppendEncrypt(dst, plain)
	}
	return s.sealInPlace(dst, plain, true)
}

// sealInPlace is AppendEncrypt over the engine's record layer: the
// handshake's last output, then what the layer has pending, then plain's
// records, all under mu so that TakeOutput cannot come between them.
func (s *Session) sealInPlace(dst, plain []byte, owned bool) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.out) > 0 {
		dst = append(dst, s.out...)
		s.out = nil
	}
	var err error
	if owned {
		dst, err = s.layer.SealOwned(dst, plain)
	} else {
		dst, err = s.layer.Seal(dst, plain)
	}
	if err != nil {
		return dst, s.layerError(err)
	}
	return dst, nil
}

// UpdateKeys sends a KeyUpdate (with the next TakeOutput or sealed
// records) and moves this side to its next write key; with requestPeer it
// asks the peer to update its own. The engine's record layer only: with
// crypto/tls's, which never initiates one, it returns an error. Any
// goroutine, after done(nil).
func (s *Session) UpdateKeys(requestPeer bool) error {
	if err := s.ready(); err != nil {
		return err
	}
	if s.layer == nil {
		return fmt.Errorf("%w: crypto/tls's record layer cannot initiate a KeyUpdate", ErrTLS)
	}
	if err := s.layer.UpdateKeys(requestPeer); err != nil {
		return s.layerError(err)
	}
	return nil
}

// KeyUpdates returns how many KeyUpdates the engine's record layer has
// sent and received (zeros with crypto/tls's).
func (s *Session) KeyUpdates() (sent, received uint64) {
	if !s.InPlace() {
		return 0, 0
	}
	return s.layer.KeyUpdates()
}
