package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/panjf2000/gnet/v2"

	"github.com/tensorchain/transport/codec"
)

// fakeSocket is a socket over byte slices: tests feed it inbound bytes in
// any split and read what the connection wrote. Like gnet, a slice from
// Peek is valid only until the next feed: older ones are overwritten then,
// so a reader that kept one would deliver garbage.
type fakeSocket struct {
	in     []byte
	out    bytes.Buffer
	peeked [][]byte
	closed bool
	wakes  int
}

func (f *fakeSocket) feed(b []byte) {
	for _, p := range f.peeked {
		for i := range p {
			p[i] = 0xEE
		}
	}
	f.peeked = f.peeked[:0]
	f.in = append(f.in, b...)
}

func (f *fakeSocket) InboundBuffered() int { return len(f.in) }

func (f *fakeSocket) Peek(n int) ([]byte, error) {
	if n > len(f.in) {
		return nil, io.ErrShortBuffer
	}
	if n < 0 {
		n = len(f.in)
	}
	p := bytes.Clone(f.in[:n])
	f.peeked = append(f.peeked, p)
	return p, nil
}

func (f *fakeSocket) Discard(n int) (int, error) {
	if n <= 0 || n > len(f.in) { // gnet: n <= 0 discards everything
		n = len(f.in)
	}
	f.in = f.in[n:]
	return n, nil
}

func (f *fakeSocket) Read(p []byte) (int, error) {
	n := copy(p, f.in)
	f.in = f.in[n:]
	return n, nil
}

func (f *fakeSocket) Write(p []byte) (int, error) { return f.out.Write(p) }

func (f *fakeSocket) Writev(bs [][]byte) (int, error) {
	n := 0
	for _, b := range bs {
		m, _ := f.out.Write(b)
		n += m
	}
	return n, nil
}

func (f *fakeSocket) OutboundBuffered() int         { return 0 }
func (f *fakeSocket) Fd() int                       { return -1 }
func (f *fakeSocket) Wake(gnet.AsyncCallback) error { f.wakes++; return nil }
func (f *fakeSocket) Close() error                  { f.closed = true; return nil }

// socketFree is an inbound connection of a transport that was never
// started, driven through a fakeSocket: the real reader, handshake and
// delivery code, without a network.
type socketFree struct {
	tr   *Transport
	c    *conn
	sock *fakeSocket
	got  [][]byte // payloads delivered, in order
}

// newSocketFree builds the connection and feeds it a dialer's hello.
// handler selects inline delivery; otherwise messages go to the ring.
func newSocketFree(t testing.TB, cfg Config, handler bool) *socketFree {
	t.Helper()
	s := &socketFree{sock: &fakeSocket{}}
	if handler {
		cfg.Handler = func(_ string, p []byte) { s.got = append(s.got, bytes.Clone(p)) }
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.tr = tr
	s.c = tr.newConn(false, nil, "", "fake:1")
	s.c.attach(s.sock, nil)
	s.c.openAccount()
	hello := codec.AppendHello(nil, codec.Hello{Version: codec.ProtocolVersion, Caps: codec.CapLZ4,
		MaxMessage: 1 << 20, Window: 1 << 30, Incarnation: 9, NodeID: "dialer"})
	if a := s.traffic(hello); a != gnet.None || !s.c.established() {
		t.Fatalf("hello refused: action %v, err %v", a, s.c.failErr())
	}
	return s
}

// traffic feeds b and runs the connection's traffic callback, as gnet
// would after a read, then takes what reached the ring.
func (s *socketFree) traffic(b []byte) gnet.Action {
	s.sock.feed(b)
	a := s.c.onTraffic()
	s.drainRing()
	return a
}

// drainRing takes every message from the ring as Recv would.
func (s *socketFree) drainRing() {
	for {
		m, ok := s.tr.pop() // as Recv does: credit returns, stalled readers resume
		if !ok {
			return
		}
		s.got = append(s.got, bytes.Clone(m.Payload))
		m.Release()
	}
}

// testPayload is payload i of a stream: its index, then a pattern.
func testPayload(i, size int) []byte {
	p := make([]byte, size)
	for j := range p {
		p[j] = byte(i*7 + j)
	}
	if size >= 4 {
		binary.BigEndian.PutUint32(p, uint32(i))
	}
	return p
}

// encodeStream frames payloads, compressing the compressible ones.
func encodeStream(t testing.TB, payloads [][]byte) []byte {
	var out []byte
	var comp codec.Compressor
	for _, p := range payloads {
		if body, ok := comp.AppendCompressed(nil, p); ok && len(p) > 0 && len(p)%2 == 0 {
			out = codec.AppendFrame(out, codec.FlagCompressed, body)
			continue
		}
		out = codec.AppendFrame(out, 0, p)
	}
	return out
}

// splitFeed feeds stream in chunks of the sizes next returns.
func (s *socketFree) splitFeed(stream []byte, next func() int) gnet.Action {
	for len(stream) > 0 {
		n := min(max(next(), 1), len(stream))
		if a := s.traffic(stream[:n]); a != gnet.None {
			return a
		}
		stream = stream[n:]
	}
	return gnet.None
}

func checkDelivered(t testing.TB, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("delivered %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("message %d: %d bytes differ from the %d sent", i, len(got[i]), len(want[i]))
		}
	}
}

// TestReassemblyAcrossSplits feeds one stream of frames (empty, small,
// compressed, larger than a scratch buffer, larger than gnet's read) in
// many different read splits, to the ring and to the inline handler.
func TestReassemblyAcrossSplits(t *testing.T) {
	sizes := []int{0, 1, 5, 64, 300, 1024, 4096, 40 << 10, 70 << 10, 3, 256 << 10}
	var payloads [][]byte
	for i, n := range sizes {
		payloads = append(payloads, testPayload(i, n))
	}
	stream := encodeStream(t, payloads)
	rng := rand.New(rand.NewPCG(1, 2))
	splits := []struct {
		name string
		next func() int
	}{
		{"whole stream at once", func() int { return len(stream) }},
		{"one byte at a time", func() int { return 1 }},
		{"three bytes", func() int { return 3 }},
		{"header sized", func() int { return codec.HeaderSize }},
		{"4 KiB", func() int { return 4 << 10 }},
		{"random up to 100 KiB", func() int { return 1 + rng.IntN(100<<10) }},
	}
	for _, sp := range splits {
		for _, handler := range []bool{false, true} {
			name := sp.name + "/ring"
			if handler {
				name = sp.name + "/handler"
			}
			t.Run(name, func(t *testing.T) {
				cfg := devConfig("node")
				cfg.MaxMessageSize = 1 << 20
				s := newSocketFree(t, cfg, handler)
				if a := s.splitFeed(stream, sp.next); a != gnet.None {
					t.Fatalf("connection closed: %v", s.c.failErr())
				}
				checkDelivered(t, s.got, payloads)
				if s.c.rd.in.box != nil || s.c.rd.plain.box != nil {
					t.Fatal("an idle connection still holds a reassembly buffer")
				}
			})
		}
	}
}

// TestReassemblyRefusesBadInput checks that each malformed input closes
// the connection with the typed error docs/PROTOCOL.md promises, and that
// nothing from it is delivered.
func TestReassemblyRefusesBadInput(t *testing.T) {
	corrupt := codec.AppendFrame(nil, codec.FlagCompressed, []byte{0x10, 0xff, 0xff, 0xff}) // declares 16 bytes, garbage block
	bomb := codec.AppendFrame(nil, codec.FlagCompressed, binary.AppendUvarint(nil, 1<<30))
	cases := []struct {
		name  string
		input []byte
		want  error
	}{
		{"zero length", []byte{0, 0, 0, 0, 0}, ErrProtocol},
		{"length above the maximum", []byte{0x7f, 0, 0, 0, 0}, ErrProtocol},
		{"reserved flag bit", codec.AppendFrame(nil, 0x80, []byte("x")), ErrProtocol},
		{"compressed control frame", codec.AppendFrame(nil, codec.FlagCompressed|codec.FlagControl, []byte("x")), ErrProtocol},
		{"second hello", codec.AppendHello(nil, codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1, Window: 1, Incarnation: 1, NodeID: "x"}), ErrProtocol},
		{"unknown control type", codec.AppendFrame(nil, codec.FlagControl, []byte{0x7f}), ErrProtocol},
		{"corrupt LZ4", corrupt, ErrCompression},
		{"decompression bomb", bomb, ErrCompression},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSocketFree(t, devConfig("node"), false)
			ok := codec.AppendFrame(nil, 0, []byte("before"))
			input := append(append(ok, tc.input...), codec.AppendFrame(nil, 0, []byte("after"))...)
			if a := s.splitFeed(input, func() int { return 2 }); a != gnet.Close {
				t.Fatalf("action %v, want Close", a)
			}
			if err := s.c.failErr(); !errors.Is(err, tc.want) {
				t.Fatalf("failure %v, want %v", err, tc.want)
			}
			checkDelivered(t, s.got, [][]byte{[]byte("before")})
		})
	}
}

// TestReassemblyPausesOnFullRing: with a 4-slot inbox nobody drains,
// delivery pauses, resumes when Recv makes room, and loses nothing.
func TestReassemblyPausesOnFullRing(t *testing.T) {
	cfg := devConfig("node")
	cfg.RecvBufferSize = 4
	s := newSocketFree(t, cfg, false)
	var payloads [][]byte
	for i := range 20 {
		payloads = append(payloads, testPayload(i, 100))
	}
	s.sock.feed(encodeStream(t, payloads))
	if a := s.c.onTraffic(); a != gnet.None {
		t.Fatal(s.c.failErr())
	}
	if n := s.c.peer.Load().inbox[Bulk].len(); s.c.rd.paused() != inboxFull || n != 4 {
		t.Fatalf("pause %v, inbox %d: want a full inbox and a paused reader", s.c.rd.paused(), n)
	}
	s.drainRing() // as Recv does: taking messages resumes the reader
	if s.c.rd.paused() != running || s.sock.wakes == 0 {
		t.Fatalf("draining the ring did not resume the reader (pause %v, wakes %d)", s.c.rd.paused(), s.sock.wakes)
	}
	for round := 0; len(s.got) < len(payloads) && round < 20; round++ {
		s.traffic(nil) // the wake: deliver until the ring is full again, then drain it
	}
	checkDelivered(t, s.got, payloads)
	if st := s.tr.Stats(); st.RecvStalls < 4 {
		t.Fatalf("%d stalls for 20 messages through a 4-slot ring", st.RecvStalls)
	}
}

// TestPausedReaderHoldsBacklog: bytes that arrive while delivery is paused
// move into the connection's own buffer at once, not left in gnet's (whose
// ring copies them as it grows, and again on the way out), and still come
// out whole and in order; a peer that sends past its credit meanwhile is
// refused.
func TestPausedReaderHoldsBacklog(t *testing.T) {
	cfg := devConfig("node")
	cfg.RecvBufferSize = 4
	s := newSocketFree(t, cfg, false)
	var payloads [][]byte
	for i := range 40 {
		payloads = append(payloads, testPayload(i, 100))
	}
	s.sock.feed(encodeStream(t, payloads[:20]))
	if a := s.c.onTraffic(); a != gnet.None || s.c.rd.paused() != inboxFull {
		t.Fatalf("action %v, pause %v: want a paused reader", a, s.c.rd.paused())
	}
	s.sock.feed(encodeStream(t, payloads[20:])) // arrives while paused
	if a := s.c.onTraffic(); a != gnet.None {
		t.Fatal(s.c.failErr())
	}
	if n := s.sock.InboundBuffered(); n != 0 || s.c.rd.paused() != inboxFull {
		t.Fatalf("%d bytes left in gnet's buffer while paused (pause %v), want 0", n, s.c.rd.paused())
	}
	for round := 0; len(s.got) < len(payloads) && round < 40; round++ {
		s.traffic(nil) // drain the ring; the wake delivers the next four
	}
	checkDelivered(t, s.got, payloads)

	t.Run("past its credit", func(t *testing.T) {
		cfg := devConfig("node")
		cfg.RecvBufferSize = 4
		cfg.ReceiveWindow = 64 << 10
		cfg.MaxMessageSize = 1 << 10
		s := newSocketFree(t, cfg, false)
		var flood [][]byte
		for i := range 400 { // 400 KiB, odd lengths, which encodeStream sends uncompressed: past window + frame + slack (129 KiB)
			flood = append(flood, testPayload(i, 1<<10-1))
		}
		s.sock.feed(encodeStream(t, flood))
		if a := s.c.onTraffic(); a != gnet.Close || !errors.Is(s.c.failErr(), ErrProtocol) {
			t.Fatalf("action %v, err %v: want the flood refused with ErrProtocol", a, s.c.failErr())
		}
	})
}

// FuzzReassembly feeds a stream of valid frames, whose sizes and read
// splits come from the fuzzer, and requires every payload delivered once,
// intact and in order.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 0, 9}, []byte{1})
	f.Add([]byte{255, 255, 10, 0}, []byte{7, 3, 250})
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, sizes, splits []byte) {
		if len(sizes) > 64 {
			sizes = sizes[:64]
		}
		var payloads [][]byte
		for i, b := range sizes {
			payloads = append(payloads, testPayload(i, int(b)*int(b)))
		}
		stream := encodeStream(t, payloads)
		s := newSocketFree(t, devConfig("node"), len(sizes)%2 == 0)
		i := 0
		next := func() int {
			if len(splits) == 0 {
				return len(stream)
			}
			i++
			return int(splits[i%len(splits)])*int(splits[i%len(splits)]) + 1
		}
		if a := s.splitFeed(stream, next); a != gnet.None {
			t.Fatalf("valid stream refused: %v", s.c.failErr())
		}
		checkDelivered(t, s.got, payloads)
	})
}

// FuzzReadArbitrary feeds arbitrary bytes after a valid hello: the reader
// must never panic, and must either deliver or refuse with a typed error.
func FuzzReadArbitrary(f *testing.F) {
	f.Add(codec.AppendFrame(nil, 0, []byte("hi")), uint8(1))
	f.Add([]byte{0, 0, 0, 2, 1, 0x04, 0xff}, uint8(3))
	f.Add(codec.AppendCredit(nil, codec.Credit{Bytes: 10, Messages: 1}), uint8(0))
	f.Add(codec.AppendGoodbye(nil), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		s := newSocketFree(t, devConfig("node"), split%2 == 0)
		step := int(split) + 1
		if s.splitFeed(data, func() int { return step }) == gnet.None {
			return
		}
		err := s.c.failErr()
		if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrCompression) && !errors.Is(err, ErrClosed) {
			t.Fatalf("refused with an untyped error: %v", err)
		}
	})
}

// TestDataAfterGoodbyeIsRefused: a Goodbye says no more data follows; a
// data frame or a second Goodbye after it is a protocol error, while the
// Credit a closer may still return is not.
func TestDataAfterGoodbyeIsRefused(t *testing.T) {
	cases := []struct {
		name  string
		after []byte
		want  error // nil: accepted
	}{
		{"credit", codec.AppendCredit(nil, codec.Credit{Bytes: 10, Messages: 1}), nil},
		{"data", codec.AppendFrame(nil, 0, []byte("late")), ErrProtocol},
		{"second goodbye", codec.AppendGoodbye(nil), ErrProtocol},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSocketFree(t, devConfig("node"), false)
			if a := s.traffic(codec.AppendGoodbye(nil)); a != gnet.None {
				t.Fatalf("goodbye refused: %v", s.c.failErr())
			}
			a := s.traffic(tc.after)
			if tc.want == nil {
				if a != gnet.None {
					t.Fatalf("refused: %v", s.c.failErr())
				}
				return
			}
			if a != gnet.Close || !errors.Is(s.c.failErr(), tc.want) {
				t.Fatalf("action %v, failure %v; want Close with %v", a, s.c.failErr(), tc.want)
			}
			if len(s.got) != 0 {
				t.Fatalf("delivered %q after the goodbye", s.got)
			}
		})
	}
}

// TestListenerHelloGoesFirst: between bind, which publishes an inbound
// connection to Send, and the listener's hello that onHello writes after
// it, no Send may write to the socket directly, or the dialer would see a
// data frame before the hello and refuse the connection.
func TestListenerHelloGoesFirst(t *testing.T) {
	tr, err := New(devConfig("node"))
	if err != nil {
		t.Fatal(err)
	}
	c := tr.newConn(false, nil, "", "fake:1")
	sock := &fakeSocket{}
	c.attach(sock, nil)
	c.openAccount()
	h := codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1 << 20, Window: 1 << 20, Incarnation: 9, NodeID: "dialer"}
	if err := tr.bind(c, h); err != nil {
		t.Fatal(err)
	}
	c.wr.mu.Lock()
	off := c.wr.directOff
	c.wr.mu.Unlock()
	if !off {
		t.Fatal("direct writes are open on a bound inbound connection whose hello is not written yet")
	}

	s := newSocketFree(t, devConfig("node2"), false) // the whole path: hello in, hello out
	f, _, err := codec.Decode(s.sock.out.Bytes(), 512)
	if err != nil || !f.Control() {
		t.Fatalf("first bytes written are not a frame: %v", err)
	}
	if _, err := codec.DecodeHello(f.Payload); err != nil {
		t.Fatalf("first frame written is not the listener's hello: %v", err)
	}
	s.c.wr.mu.Lock()
	off = s.c.wr.directOff
	s.c.wr.mu.Unlock()
	if off {
		t.Fatal("direct writes stay off after the listener's hello")
	}
}

// TestReadYieldsAfterItsTurn: one read holding far more tiny frames than
// a turn delivers turnFrames of them, asks for a Wake and keeps the rest,
// and the wakes deliver everything in order. A turn ends at turnFrames
// frames or turnBytes bytes, whichever comes first.
func TestReadYieldsAfterItsTurn(t *testing.T) {
	cases := []struct {
		name        string
		count, size int
		firstTurn   int
	}{
		{"tiny frames", 3 * turnFrames, 8, turnFrames},
		{"large frames", 40, 64 << 10, turnBytes/(64<<10+codec.HeaderSize) + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSocketFree(t, devConfig("node"), false)
			rng := rand.New(rand.NewPCG(1, 2))
			var payloads [][]byte
			for range tc.count {
				p := make([]byte, tc.size)
				for j := range p { // incompressible: every frame is tc.size on the wire
					p[j] = byte(rng.Uint32())
				}
				payloads = append(payloads, p)
			}
			wakes := s.sock.wakes
			if a := s.traffic(encodeStream(t, payloads)); a != gnet.None {
				t.Fatal(s.c.failErr())
			}
			if len(s.got) != tc.firstTurn || s.sock.wakes == wakes {
				t.Fatalf("first callback delivered %d (want %d), wakes %d -> %d", len(s.got), tc.firstTurn, wakes, s.sock.wakes)
			}
			for round := 0; len(s.got) < tc.count && round < 2*tc.count; round++ {
				s.traffic(nil) // the wake
			}
			checkDelivered(t, s.got, payloads)
		})
	}
}

// TestFrameOverBudgetIsRefused: a header announcing a frame the budget
// cannot cover fails the connection with ErrOverloaded as soon as the
// length is known, before the frame's buffer exists, and is counted.
func TestFrameOverBudgetIsRefused(t *testing.T) {
	cfg := devConfig("node")
	cfg.MemoryBudget, cfg.ConnMemoryReserve = 4<<20, 64<<10 // at most 2 MiB beyond reserves
	s := newSocketFree(t, cfg, false)
	var hdr [codec.HeaderSize]byte
	codec.PutHeader(hdr[:], 0, 3<<20)
	if a := s.traffic(append(hdr[:], "first bytes"...)); a != gnet.Close {
		t.Fatalf("action %v, want Close", a)
	}
	if err := s.c.failErr(); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("failure %v, want ErrOverloaded", err)
	}
	if s.c.rd.in.size() >= 3<<20 {
		t.Fatalf("a %d-byte buffer was allocated for the refused frame", s.c.rd.in.size())
	}
	if n := s.tr.Stats().MemoryCuts; n != 1 {
		t.Fatalf("memory cuts %d, want 1", n)
	}
}
