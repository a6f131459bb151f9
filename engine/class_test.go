package engine

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tensorchain/transport/bucket"
)

// Tests of the delivery classes (class.go): the control class's own
// connection, queue, window and ring, its exemption from the outbound rate
// limit, SendOptions.Deadline and FailFast, the immediate redial when a
// peer we wait to redial connects to us, and the refusal of protocol
// version 1.

// restartable starts a node and returns it with its listen address, so
// that a successor can be started on the same address after it closes.
func restartable(t *testing.T, cfg Config) (*Transport, string) {
	t.Helper()
	tr := startTransport(t, cfg)
	return tr, tr.Addr().String()
}

// restartAt starts a new node with cfg on addr (a closed node's address).
func restartAt(t *testing.T, cfg Config, addr string) *Transport {
	t.Helper()
	cfg.ListenAddr = addr
	return startTransport(t, cfg)
}

// peerStats returns tr's statistics for one peer.
func peerStats(t testing.TB, tr *Transport, id string) PeerStats {
	t.Helper()
	for _, p := range tr.Stats().Peers {
		if p.NodeID == id {
			return p
		}
	}
	t.Fatalf("%s has no peer %s: %+v", tr.cfg.NodeID, id, tr.Peers())
	return PeerStats{}
}

// expectNothing fails if tr receives any message within d.
func expectNothing(t *testing.T, tr *Transport, d time.Duration, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if m, err := tr.Recv(ctx); err == nil {
		t.Errorf("%s: %s received %q (%v, from %s)", what, tr.cfg.NodeID, m.Payload, m.Class, m.From)
		m.Release()
	}
}

// waitDown waits until tr has no established connection and its view of
// peer shows no Active lane: every outbound lane is reconnecting.
func waitDown(t *testing.T, tr *Transport, peer string) {
	t.Helper()
	waitFor(t, 5*time.Second, func() bool {
		if tr.Stats().ConnectionCount != 0 {
			return false
		}
		for _, p := range tr.Peers() {
			if p.NodeID == peer {
				for _, s := range p.Lanes {
					if s == StateActive {
						return false
					}
				}
				return len(p.Lanes) > 0
			}
		}
		return false
	})
}

// TestControlOvertakesBulkInRing: the receiver's bulk ring is full (nobody
// calls Recv) and the sender's bulk queue is backed up to
// MaxPendingMessages behind the exhausted bulk window. Control messages must
// still get through at once: a burst of them is accepted by TrySendWith
// (control has a queue of its own: a burst cannot all take the direct-write
// shortcut, and over TLS none can), a blocking SendWith returns at once,
// they are read off their own connection into their own ring, and the
// receiver's next Recvs return them first, in order, with Class == Control.
// Every bulk message then follows, in order.
func TestControlOvertakesBulkInRing(t *testing.T) {
	ca := newTestCA(t, "ca")
	for _, mode := range []string{"plain", "tls"} {
		t.Run(mode, func(t *testing.T) {
			acfg, bcfg := devConfig("a"), devConfig("b")
			if mode == "tls" {
				acfg = tlsConfig("a", ca.issue(t, "a", certOpts{}))
				bcfg = tlsConfig("b", ca.issue(t, "b", certOpts{}))
			}
			acfg.MaxPendingMessages = 64
			acfg.CloseTimeout = time.Second // a failed run leaves the queue full: do not wait 5 s to flush it
			acfg.Compression.Enabled = false
			bcfg.RecvBufferSize = 8
			bcfg.ReceiveWindow = 64 << 10 // the minimum: the bulk window runs out fast
			a := startTransport(t, acfg)
			b := startTransport(t, bcfg)
			connect(t, a, b)
			controlOvertakesBulk(t, a, b, bcfg.RecvBufferSize)
		})
	}
}

func controlOvertakesBulk(t *testing.T, a, b *Transport, ringSize int) {
	payload := make([]byte, 1<<10)
	sent := 0
	fill := func() (full bool) {
		for range 5000 {
			binary.BigEndian.PutUint32(payload, uint32(sent))
			err := a.TrySend("b", payload)
			switch {
			case errors.Is(err, ErrQueueFull):
				return true
			case err != nil:
				t.Fatalf("bulk send %d: %v", sent, err)
			}
			sent++
		}
		return false
	}
	// Fill until the queue is full, let the loop push what the window
	// allows, and again, until a settled queue takes nothing more.
	deadline := time.Now().Add(10 * time.Second)
	for {
		fill()
		time.Sleep(100 * time.Millisecond)
		before := sent
		full := fill()
		if full && sent == before && b.Stats().RecvQueueDepth >= ringSize {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not back the bulk class up: %d sent, queue full %v, b's ring depth %d, a's queue depth %d",
				sent, full, b.Stats().RecvQueueDepth, peerStats(t, a, "b").QueueDepth)
		}
	}
	t.Logf("bulk backed up after %d sends; a's queue depth %d, b's ring depth %d",
		sent, peerStats(t, a, "b").QueueDepth, b.Stats().RecvQueueDepth)

	const burst = 5 // fits the control ring (RecvBufferSize) with the blocking send below
	recvBefore := b.Stats().MessagesReceived
	for i := range burst {
		if err := a.TrySendWith("b", []byte(fmt.Sprintf("vote-%d", i)), SendOptions{Class: Control}); err != nil {
			t.Fatalf("control TrySendWith %d with the bulk queue full: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := a.SendWith(ctx, "b", []byte(fmt.Sprintf("vote-%d", burst)), SendOptions{Class: Control}); err != nil {
		t.Fatalf("control SendWith with the bulk queue full: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("control send took %v: it waited behind the bulk queue", d)
	}
	// The control messages have reached b's (control) ring when b counts them.
	waitFor(t, 5*time.Second, func() bool { return b.Stats().MessagesReceived >= recvBefore+burst+1 })

	for i := range burst + 1 {
		m := recvTimeout(t, b, 5*time.Second)
		if want := fmt.Sprintf("vote-%d", i); m.Class != Control || string(m.Payload) != want {
			t.Fatalf("Recv %d after the control sends: %v message of %d bytes (%q...), want the control message %q",
				i, m.Class, len(m.Payload), m.Payload[:min(len(m.Payload), 8)], want)
		}
		m.Release()
	}
	for i := range sent {
		m := recvTimeout(t, b, 10*time.Second)
		if m.Class != Bulk || len(m.Payload) != len(payload) {
			t.Fatalf("bulk message %d: %v, %d bytes", i, m.Class, len(m.Payload))
		}
		if seq := binary.BigEndian.Uint32(m.Payload); seq != uint32(i) {
			t.Fatalf("bulk message %d carries seq %d: order broken", i, seq)
		}
		m.Release()
	}
	expectNothing(t, b, 200*time.Millisecond, "after the backlog")
}

// TestControlNotRateLimited: with a five-token outbound bucket that never
// noticeably refills, bulk sends beyond the burst fail with ErrRateLimited,
// but control sends neither take tokens nor are refused: 20 before the bulk
// burst (which must still get all five tokens) and 20 after it (with the
// bucket empty) all succeed and arrive, in order.
func TestControlNotRateLimited(t *testing.T) {
	acfg := devConfig("a")
	acfg.RateLimit = bucket.Config{Enabled: true, BucketSize: 5, RefillRate: 0.01}
	a := startTransport(t, acfg)
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = 20
	ctlSent := 0
	sendControl := func() {
		for range n {
			if err := a.SendWith(ctx, "b", []byte(fmt.Sprintf("ctl-%02d", ctlSent)), SendOptions{Class: Control}); err != nil {
				t.Fatalf("control send %d: %v", ctlSent, err)
			}
			ctlSent++
		}
	}
	sendControl()
	ok, limited := 0, 0
	for i := range n {
		err := a.SendWith(ctx, "b", []byte(fmt.Sprintf("bulk-%02d", i)), SendOptions{Class: Bulk})
		switch {
		case err == nil:
			if limited > 0 {
				t.Fatalf("bulk send %d succeeded after a refusal", i)
			}
			ok++
		case errors.Is(err, ErrRateLimited):
			limited++
		default:
			t.Fatalf("bulk send %d: %v", i, err)
		}
	}
	if ok != 5 || limited != n-5 {
		t.Fatalf("bulk: %d sent, %d rate limited; want 5 and %d (control sends must not take tokens)", ok, limited, n-5)
	}
	sendControl() // the bucket is empty now
	gotCtl, gotBulk := 0, 0
	for range ctlSent + ok {
		m := recvTimeout(t, b, 5*time.Second)
		switch m.Class {
		case Control:
			if want := fmt.Sprintf("ctl-%02d", gotCtl); string(m.Payload) != want {
				t.Fatalf("control message %q, want %q", m.Payload, want)
			}
			gotCtl++
		case Bulk:
			if want := fmt.Sprintf("bulk-%02d", gotBulk); string(m.Payload) != want {
				t.Fatalf("bulk message %q, want %q", m.Payload, want)
			}
			gotBulk++
		default:
			t.Fatalf("message of class %v", m.Class)
		}
		m.Release()
	}
	if gotCtl != 2*n || gotBulk != 5 {
		t.Fatalf("received %d control and %d bulk messages, want %d and 5", gotCtl, gotBulk, 2*n)
	}
	expectNothing(t, b, 200*time.Millisecond, "after the last expected message")
	if st := a.Stats(); st.RateLimited != n-5 || peerStats(t, a, "b").RateLimited != n-5 {
		t.Fatalf("rate limited: %d (peer %d), want %d", st.RateLimited, peerStats(t, a, "b").RateLimited, n-5)
	}
}

// TestDeadlineExpiresQueuedHeartbeats: messages queued for a peer that is
// down, with a deadline that passes before it is back, are dropped unsent,
// counted in MessagesExpired (transport and peer), release their queue
// room, and are never delivered to the restarted peer; a later message
// without a deadline is delivered. For the control class (heartbeats) and
// for bulk.
func TestDeadlineExpiresQueuedHeartbeats(t *testing.T) {
	for _, class := range []Class{Control, Bulk} {
		t.Run(class.String(), func(t *testing.T) {
			const n = 10
			a, addr := peerGoneDown(t, 50*time.Millisecond, 200*time.Millisecond)

			deadline := time.Now().Add(100 * time.Millisecond)
			for i := range n {
				err := a.TrySendWith("b", []byte(fmt.Sprintf("stale-%d", i)), SendOptions{Class: class, Deadline: deadline})
				if err != nil {
					t.Fatalf("queueing message %d for a peer being redialed: %v", i, err)
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("queueing took longer than the deadline: the test cannot tell expiry from delivery")
			}
			// While the peer is still down, the ticker drops them and gives
			// their queue room back: heartbeats to a dead peer must not fill
			// its queue until it returns.
			waitFor(t, 2*time.Second, func() bool {
				ps := peerStats(t, a, "b")
				return ps.MessagesExpired == n && ps.QueueDepth == 0
			})

			b2 := restartAt(t, devConfig("b"), addr)
			waitLanesActive(t, a, "b", 1, 5*time.Second)
			expectNothing(t, b2, 500*time.Millisecond, "expired messages")
			waitFor(t, 5*time.Second, func() bool { return a.Stats().MessagesExpired >= n })
			st, ps := a.Stats(), peerStats(t, a, "b")
			if st.MessagesExpired != n || ps.MessagesExpired != n {
				t.Fatalf("MessagesExpired %d (peer %d), want %d", st.MessagesExpired, ps.MessagesExpired, n)
			}
			waitFor(t, 2*time.Second, func() bool { return peerStats(t, a, "b").QueueDepth == 0 })
			t.Logf("stats after expiry: expired %d dropped %d unconfirmed %d reconnects %d",
				st.MessagesExpired, st.MessagesDropped, st.MessagesUnconfirmed, st.ReconnectAttempts)

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := a.SendWith(ctx, "b", []byte("fresh"), SendOptions{Class: class}); err != nil {
				t.Fatal(err)
			}
			m := recvTimeout(t, b2, 5*time.Second)
			if string(m.Payload) != "fresh" || m.Class != class {
				t.Fatalf("b2 received %q (%v), want the fresh %v message", m.Payload, m.Class, class)
			}
			m.Release()
			expectNothing(t, b2, 200*time.Millisecond, "after the fresh message")
			if st := a.Stats(); st.MessagesExpired != n {
				t.Fatalf("MessagesExpired moved to %d after a send without deadline", st.MessagesExpired)
			}
		})
	}
}

// TestFailFastWhenPeerDown: with the peer closed and being redialed, a
// FailFast send fails at once with ErrUnreachable (not ErrTimeout, though
// its context would allow seconds), for bulk and control, from SendWith and
// TrySendWith; the same send without FailFast is queued and delivered once
// the peer is back; then FailFast sends succeed. Refused sends are never
// delivered.
func TestFailFastWhenPeerDown(t *testing.T) {
	a, addr := peerGoneDown(t, 100*time.Millisecond, 300*time.Millisecond)

	classes := []Class{Bulk, Control}
	for _, c := range classes {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		err := a.SendWith(ctx, "b", []byte("refused"), SendOptions{Class: c, FailFast: true})
		elapsed := time.Since(start)
		cancel()
		if !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrTimeout) {
			t.Errorf("%v FailFast SendWith to a peer being redialed: %v (after %v), want ErrUnreachable", c, err, elapsed)
		}
		if elapsed > time.Second {
			t.Errorf("%v FailFast SendWith blocked for %v", c, elapsed)
		}
		if err := a.TrySendWith("b", []byte("refused"), SendOptions{Class: c, FailFast: true}); !errors.Is(err, ErrUnreachable) {
			t.Errorf("%v FailFast TrySendWith to a peer being redialed: %v, want ErrUnreachable", c, err)
		}
		// Bulk stream 7 may map to another connection than stream 0: it is
		// down too.
		if c == Bulk {
			if err := a.TrySendWith("b", []byte("refused"), SendOptions{Stream: 7, FailFast: true}); !errors.Is(err, ErrUnreachable) {
				t.Errorf("bulk stream 7 FailFast TrySendWith: %v, want ErrUnreachable", err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range classes {
		if err := a.SendWith(ctx, "b", []byte("queued-"+c.String()), SendOptions{Class: c}); err != nil {
			t.Fatalf("%v send without FailFast to a peer being redialed: %v, want it queued", c, err)
		}
	}

	b2 := restartAt(t, devConfig("b"), addr)
	waitLanesActive(t, a, "b", 1, 5*time.Second)
	for _, c := range classes {
		if err := a.SendWith(ctx, "b", []byte("fast-"+c.String()), SendOptions{Class: c, FailFast: true}); err != nil {
			t.Errorf("%v FailFast send with the peer back: %v", c, err)
		}
	}
	got := map[Class][]string{}
	for range 2 * len(classes) {
		m := recvTimeout(t, b2, 5*time.Second)
		got[m.Class] = append(got[m.Class], string(m.Payload))
		m.Release()
	}
	expectNothing(t, b2, 300*time.Millisecond, "refused FailFast sends")
	for _, c := range classes {
		want := []string{"queued-" + c.String(), "fast-" + c.String()}
		if fmt.Sprint(got[c]) != fmt.Sprint(want) {
			t.Errorf("b2 received %v messages %q, want %q", c, got[c], want)
		}
	}
}

// TestDialBackRedialsAtOnce: a lost its connections to b and waits out a
// 5 s backoff before redialing; b restarts on the same address and dials
// a. That inbound handshake tells a that b is back: a's own outbound lanes
// must redial at once, not 5 s later.
func TestDialBackRedialsAtOnce(t *testing.T) {
	const backoff = 5 * time.Second
	acfg := devConfig("a")
	acfg.Reconnect.InitialBackoff = backoff
	acfg.Reconnect.MaxBackoff = 2 * backoff
	acfg.Reconnect.Jitter = 0
	a := startTransport(t, acfg)
	b1, addr := restartable(t, devConfig("b"))
	connect(t, a, b1)
	waitLanesActive(t, a, "b", 1, 5*time.Second)
	outbound := a.Stats().ConnectionCount // a's own lanes to b: bulk pool and control
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	waitDown(t, a, "b")
	lost := time.Now()

	b2 := restartAt(t, devConfig("b"), addr)
	connect(t, b2, a)
	// a holds its redialed outbound connections and as many inbound ones
	// from b2 (same configuration: same pool and control lane).
	want := 2 * outbound
	for !(a.Stats().ConnectionCount >= want && lanesActive(a, "b", want)) {
		if time.Since(lost) > 2*time.Second {
			t.Fatalf("a's lanes to b not back 2 s after the loss (backoff %v): a holds %d connections, want %d; a's peers %+v; b2's peers %+v",
				backoff, a.Stats().ConnectionCount, want, a.Peers(), b2.Peers())
		}
		time.Sleep(5 * time.Millisecond)
	}
	redialed := time.Since(lost)
	t.Logf("a's %d outbound connections back %v after the loss (backoff %v); a holds %d connections", outbound, redialed.Round(time.Millisecond), backoff, a.Stats().ConnectionCount)
	if redialed >= backoff/2 {
		t.Fatalf("a redialed after %v: it waited for the backoff", redialed)
	}
	waitFor(t, 2*time.Second, func() bool { return b2.Stats().ConnectionCount >= want })

	// Both directions carry traffic.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range []Class{Bulk, Control} {
		if err := a.SendWith(ctx, "b", []byte("a->b"), SendOptions{Class: c}); err != nil {
			t.Fatal(err)
		}
		if m := recvTimeout(t, b2, 5*time.Second); string(m.Payload) != "a->b" || m.Class != c {
			t.Fatalf("b2 got %q (%v)", m.Payload, m.Class)
		}
		if err := b2.SendWith(ctx, "a", []byte("b->a"), SendOptions{Class: c}); err != nil {
			t.Fatal(err)
		}
		if m := recvTimeout(t, a, 5*time.Second); string(m.Payload) != "b->a" || m.Class != c {
			t.Fatalf("a got %q (%v)", m.Payload, m.Class)
		}
	}
}

// protocolVector returns the bytes of a "vector NAME: HEX" line of
// docs/PROTOCOL.md.
func protocolVector(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open("../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "vector "+name+":"); ok {
			b, err := hex.DecodeString(strings.ReplaceAll(rest, " ", ""))
			if err != nil {
				t.Fatalf("vector %s: %v", name, err)
			}
			return b
		}
	}
	t.Fatalf("docs/PROTOCOL.md has no vector %s", name)
	return nil
}

// TestOldProtocolVersionRefused: a raw client sends the version 1 Hello of
// PROTOCOL.md (refused-hello-v1). The node closes the connection without
// sending a byte back, counts a "version" handshake failure, lists no peer
// for it, and a good peer's traffic is undisturbed.
func TestOldProtocolVersionRefused(t *testing.T) {
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	stop := keepTraffic(t, a, b)
	hello := protocolVector(t, "refused-hello-v1")
	before := b.Stats().HandshakeFailures["version"]

	nc, err := net.DialTimeout("tcp", b.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(hello); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	answered := 0
	for {
		n, err := nc.Read(buf)
		answered += n
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the connection is still open 5 s after a version 1 Hello")
		}
		break // EOF or reset: closed
	}
	if answered != 0 {
		t.Errorf("the node answered a version 1 Hello with %d bytes (% x)", answered, buf[:min(answered, len(buf))])
	}
	waitFor(t, 3*time.Second, func() bool { return b.Stats().HandshakeFailures["version"] == before+1 })
	sent, got := stop()
	if sent == 0 || got != sent {
		t.Fatalf("good peer's traffic disturbed: sent %d, received %d", sent, got)
	}
	for _, p := range b.Peers() {
		if p.NodeID != "a" {
			t.Errorf("the refused client is listed as peer %q", p.NodeID)
		}
	}
	if st := b.Stats(); st.HandshakeFailures["version"] != before+1 {
		t.Errorf("version failures %d, want %d", st.HandshakeFailures["version"], before+1)
	}
}

// peerGoneDown starts node a, redialing with the given backoff, connects
// it to a node b, closes b and waits until a sees it down. It returns a
// and b's address, for restartAt.
func peerGoneDown(t *testing.T, initial, maxBackoff time.Duration) (*Transport, string) {
	t.Helper()
	acfg := devConfig("a")
	acfg.Reconnect.InitialBackoff = initial
	acfg.Reconnect.MaxBackoff = maxBackoff
	a := startTransport(t, acfg)
	b1, addr := restartable(t, devConfig("b"))
	connect(t, a, b1)
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	waitDown(t, a, "b")
	return a, addr
}
