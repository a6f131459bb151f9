package engine

import (
	"bufio"
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tensorchain/transport/codec"
)

// TestDirectWritesKeepOrder mixes spaced sends (written directly by Send)
// with bursts (queued for the loop) on one connection: every message must
// arrive once, in order, and both paths must have been taken. Over TLS the
// direct path seals records in the sending goroutine while the loop seals
// and decrypts others: a record out of sequence fails the connection.
func TestDirectWritesKeepOrder(t *testing.T) {
	for _, mode := range []string{"plaintext", "tls"} {
		t.Run(mode, func(t *testing.T) { testDirectWritesKeepOrder(t, mode == "tls") })
	}
}

func testDirectWritesKeepOrder(t *testing.T, useTLS bool) {
	acfg, bcfg := devConfig("a"), devConfig("b")
	if useTLS {
		ca := newTestCA(t, "ca")
		acfg, bcfg = tlsConfig("a", ca.issue(t, "a", certOpts{})), tlsConfig("b", ca.issue(t, "b", certOpts{}))
	}
	acfg.PoolSize = 1
	a := startTransport(t, acfg)
	b := startTransport(t, bcfg)
	connect(t, a, b)
	echoStop := make(chan struct{})
	defer close(echoStop)
	go func() { // traffic the other way: b's sends are decrypted by a's loop meanwhile
		for i := 0; ; i++ {
			select {
			case <-echoStop:
				return
			case <-time.After(100 * time.Microsecond):
			}
			_ = b.TrySend("a", []byte("the other way"))
		}
	}()
	go func() { // and taken, so that a's loop keeps decrypting them
		for {
			m, err := a.Recv(context.Background())
			if err != nil {
				return // a closed
			}
			m.Release()
		}
	}()
	// Two senders, each on its own ordered stream: one goroutine's direct
	// write makes the other's sends take the queue meanwhile.
	const rounds, burst, senders = 100, 50, 2
	for s := range senders {
		go func() {
			var p [9]byte
			p[0] = byte(s)
			o := SendOptions{Stream: uint32(s + 1)}
			for i := range rounds * burst {
				binary.BigEndian.PutUint64(p[1:], uint64(i))
				if err := a.SendWith(context.Background(), "b", p[:], o); err != nil {
					t.Error(err)
					return
				}
				if i%burst == 0 {
					time.Sleep(200 * time.Microsecond) // idle: the next send may go direct
				}
			}
		}()
	}
	var next [senders]uint64
	for i := range rounds * burst * senders {
		m := recvTimeout(t, b, 10*time.Second)
		if len(m.Payload) != 9 || m.Payload[0] >= senders {
			t.Fatalf("message %d: %q", i, m.Payload)
		}
		s := m.Payload[0]
		if got := binary.BigEndian.Uint64(m.Payload[1:]); got != next[s] {
			t.Fatalf("stream %d: message %d arrived as %d", s+1, next[s], got)
		}
		next[s]++
		m.Release()
	}
	st := a.Stats()
	// Over TLS under the race detector, sealing alone can space a sender's
	// sends beyond directIdleGap: then nearly every frame goes direct.
	if st.DirectWrites == 0 || (!useTLS && st.DirectWrites == st.MessagesSent) {
		t.Fatalf("direct writes %d of %d messages: want both paths used", st.DirectWrites, st.MessagesSent)
	}
	t.Logf("%d of %d messages written directly", st.DirectWrites, st.MessagesSent)
}

// TestDirectPartialWrite fills the socket of a peer that stops reading with
// spaced 64 KiB sends, so that direct writes end half-way: the rest must go
// out first, and the byte stream must stay a valid sequence of frames.
func TestDirectPartialWrite(t *testing.T) {
	acfg := devConfig("a")
	acfg.PoolSize = 1
	acfg.MaxPendingBytes = 1 << 30
	acfg.MaxPendingMessages = 100_000
	a := startTransport(t, acfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for range 2 { // the bulk connection and the control connection
			c, _ := ln.Accept()
			accepted <- c
		}
	}()
	go func() { _ = a.Connect(context.Background(), PeerConfig{NodeID: "raw", Address: ln.Addr().String()}) }()
	var nc net.Conn
	var r *bufio.Reader
	h := codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1 << 20, Window: 1 << 31, Incarnation: 1, NodeID: "raw"}
	for range 2 {
		c := <-accepted
		if c == nil {
			t.Fatal("accept failed")
		}
		defer c.Close()
		br := bufio.NewReaderSize(c, 1<<20)
		their, err := codec.DecodeHello(readFrameFrom(t, br).Payload)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(codec.AppendHello(nil, h)); err != nil {
			t.Fatal(err)
		}
		if their.Class == codec.ClassBulk {
			nc, r = c, br
		}
	}
	if nc == nil {
		t.Fatal("no bulk connection")
	}
	waitFor(t, 5*time.Second, func() bool { return a.Stats().ConnectionCount == 2 })

	const n = 400 // 25 MiB: far beyond the socket buffers while nobody reads
	payload := make([]byte, 64<<10-codec.HeaderSize)
	for i := range n {
		binary.BigEndian.PutUint32(payload, uint32(i))
		if err := a.Send(context.Background(), "raw", payload); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Microsecond)
	}
	_ = nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := range n {
		f := readFrameFrom(t, r)
		if f.Flags != 0 || len(f.Payload) != len(payload) || binary.BigEndian.Uint32(f.Payload) != uint32(i) {
			t.Fatalf("frame %d: flags %x, %d bytes, seq %d", i, f.Flags, len(f.Payload), binary.BigEndian.Uint32(f.Payload))
		}
	}
	if a.stats.directPartial.Load() == 0 {
		t.Fatalf("no direct write was partial (%d direct writes): the test did not exercise the tail", a.Stats().DirectWrites)
	}
	t.Logf("%d direct writes, %d partial", a.Stats().DirectWrites, a.stats.directPartial.Load())
}

// TestDirectPartialWriteTLS stalls the receiver's event loop (its handler
// blocks) while spaced 16 KiB sends (one record each, the largest sealed
// directly) are written directly over TLS, so that
// sealed records end half-way in the socket: the loop must send the rest
// raw before anything else, and every message must then decrypt and arrive
// in order.
func TestDirectPartialWriteTLS(t *testing.T) {
	ca := newTestCA(t, "ca")
	acfg, bcfg := tlsConfig("a", ca.issue(t, "a", certOpts{})), tlsConfig("b", ca.issue(t, "b", certOpts{}))
	acfg.PoolSize = 1
	acfg.MaxPendingBytes = 1 << 30
	acfg.MaxPendingMessages = 100_000
	acfg.Compression.Enabled = false // the payloads are zeros: LZ4 would fit them all in the socket buffers
	bcfg.EventLoops = 1
	bcfg.ReceiveWindow = 1 << 30 // credit for all of it: only the socket holds the sender back
	release := make(chan struct{})
	var stallOnce sync.Once
	got := make(chan uint32, 2000)
	bcfg.Handler = func(_ string, p []byte) {
		stallOnce.Do(func() { <-release }) // the first message holds b's only loop
		if len(p) == directSealMax-codec.HeaderSize {
			got <- binary.BigEndian.Uint32(p)
		}
	}
	a := startTransport(t, acfg)
	b := startTransport(t, bcfg)
	connect(t, a, b)

	const n = 1600 // 25 MiB: far beyond the socket buffers while b's loop is stuck
	payload := make([]byte, directSealMax-codec.HeaderSize)
	for i := range n {
		binary.BigEndian.PutUint32(payload, uint32(i))
		if err := a.Send(context.Background(), "b", payload); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Microsecond)
	}
	partial := a.stats.directPartial.Load()
	close(release)
	for i := range n {
		select {
		case seq := <-got:
			if seq != uint32(i) {
				t.Fatalf("message %d arrived as %d", i, seq)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("message %d never arrived (%+v)", i, b.Stats())
		}
	}
	if partial == 0 {
		t.Fatalf("no direct write was partial (%d direct writes): the test did not exercise the sealed tail", a.Stats().DirectWrites)
	}
	if st := a.Stats(); st.ReconnectAttempts != 0 || b.Stats().ProtocolErrors != 0 {
		t.Fatalf("the connection broke: %d reconnects, %d protocol errors at the receiver", st.ReconnectAttempts, b.Stats().ProtocolErrors)
	}
	t.Logf("%d direct writes, %d partial", a.Stats().DirectWrites, partial)
}

// TestKeepTailSavesTheUnwrittenRest covers every place a partial write can
// end: inside the header, at its end, inside the body.
func TestKeepTailSavesTheUnwrittenRest(t *testing.T) {
	hdr, body := []byte("HHHHH"), []byte("body-bytes")
	frame := string(hdr) + string(body)
	for _, written := range []int{0, 1, 4, 5, 6, len(frame) - 1} {
		var c conn
		c.keepTail(hdr, body, written)
		if got := string(c.wr.tail); got != frame[written:] {
			t.Errorf("written %d: tail %q, want %q", written, got, frame[written:])
		}
		c.releaseTail()
	}
}
