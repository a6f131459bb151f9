package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// patternReader yields n deterministic pseudo-random bytes and counts
// what has been read from it.
type patternReader struct {
	rng  *rand.ChaCha8
	left int64
	read atomic.Int64
}

func newPattern(n int64, seed byte) *patternReader {
	return &patternReader{rng: rand.NewChaCha8([32]byte{seed}), left: n}
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.left)]
	_, _ = r.rng.Read(p)
	r.left -= int64(len(p))
	r.read.Add(int64(len(p)))
	return len(p), nil
}

func patternSum(n int64, seed byte) [32]byte {
	h := sha256.New()
	_, _ = io.Copy(h, newPattern(n, seed))
	return [32]byte(h.Sum(nil))
}

// recvStream receives the next message on tr, which must open a stream.
func recvStream(t *testing.T, tr *Transport) Message {
	t.Helper()
	m := recvTimeout(t, tr, 10*time.Second)
	if m.Stream == nil {
		t.Fatalf("message %q opens no stream", m.Payload)
	}
	return m
}

func TestStreamCarriesItsBody(t *testing.T) {
	ca := newTestCA(t, "ca")
	setups := []struct {
		name string
		cfg  func(id string) Config
		size int64
	}{
		{"plaintext empty", devConfig, 0},
		{"plaintext one byte", devConfig, 1},
		{"plaintext one chunk", devConfig, 64 << 10},
		{"plaintext 40 MiB", devConfig, 40 << 20},
		{"mTLS 16 MiB", func(id string) Config { return tlsConfig(id, ca.issue(t, id, certOpts{})) }, 16 << 20},
	}
	for i, tc := range setups {
		t.Run(tc.name, func(t *testing.T) {
			a, b := startTransport(t, tc.cfg("a")), startTransport(t, tc.cfg("b"))
			connect(t, a, b)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			sent := make(chan error, 1)
			go func() { sent <- a.SendStream(ctx, "b", []byte("snapshot-7"), newPattern(tc.size, byte(i))) }()
			m := recvStream(t, b)
			defer m.Release()
			if string(m.Payload) != "snapshot-7" || m.IsRequest() {
				t.Fatalf("header %q, request %v", m.Payload, m.IsRequest())
			}
			h := sha256.New()
			n, err := io.Copy(h, m.Stream)
			if err != nil || n != tc.size {
				t.Fatalf("read %d of %d bytes: %v", n, tc.size, err)
			}
			if [32]byte(h.Sum(nil)) != patternSum(tc.size, byte(i)) {
				t.Fatal("stream body differs from what was sent")
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			_ = m.Stream.Close()
			if st := b.Stats(); st.StreamsOpened != 1 || st.StreamsCancelled != 0 {
				t.Fatalf("opened %d cancelled %d", st.StreamsOpened, st.StreamsCancelled)
			}
		})
	}
}

func TestRequestStreamGetsTheReply(t *testing.T) {
	a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
	connect(t, a, b)
	go func() {
		m, err := b.Recv(context.Background())
		if err != nil {
			return
		}
		n, err := io.Copy(io.Discard, m.Stream)
		_ = b.Reply(context.Background(), &m, fmt.Appendf(nil, "%d %v", n, err))
		m.Release()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := a.RequestStream(ctx, "b", []byte("install"), newPattern(3<<20+5, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if string(r.Payload) != fmt.Sprint(3<<20+5, " <nil>") {
		t.Fatalf("reply %q", r.Payload)
	}
}

// A receiver that stops reading stops its sender after one window, holds
// no more than that, and costs other traffic between the two nothing.
func TestStreamReceiverThatStopsReadingBlocksOnlyItsSender(t *testing.T) {
	bcfg := devConfig("b")
	bcfg.StreamWindow = 1 << 20
	a, b := startTransport(t, devConfig("a")), startTransport(t, bcfg)
	connect(t, a, b)
	body := newPattern(64<<20, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sent := make(chan error, 1)
	go func() { sent <- a.SendStream(ctx, "b", nil, body) }()
	m := recvStream(t, b)
	defer m.Release()
	// Let the sender run into the window, then check it stays there.
	waitFor(t, 10*time.Second, func() bool { return body.read.Load() >= 1<<20 })
	time.Sleep(300 * time.Millisecond)
	if n := body.read.Load(); n > int64(bcfg.StreamWindow)+64<<10 {
		t.Fatalf("sender read %d bytes of its body with a %d-byte window and nothing read", n, bcfg.StreamWindow)
	}
	select {
	case err := <-sent:
		t.Fatalf("SendStream returned %v while the receiver was not reading", err)
	default:
	}
	if inUse := b.Stats().MemoryInUse; inUse > 16<<20 {
		t.Fatalf("receiver holds %d bytes for a stalled 1 MiB-window stream", inUse)
	}
	// Other traffic flows: a control request and bulk messages on other streams.
	echo := make(chan struct{})
	go func() {
		defer close(echo)
		for range 2 {
			r, err := b.Recv(ctx)
			if err != nil {
				return
			}
			if r.IsRequest() {
				_ = b.Reply(ctx, &r, []byte("pong"))
			}
			r.Release()
		}
	}()
	if err := a.SendWith(ctx, "b", make([]byte, 100<<10), SendOptions{Stream: 99}); err != nil {
		t.Fatal(err)
	}
	if r, err := a.Request(ctx, "b", []byte("ping")); err != nil || string(r.Payload) != "pong" {
		t.Fatalf("control request during a stalled stream: %q %v", r.Payload, err)
	}
	<-echo
	// Reading resumes the sender, to the end.
	n, err := io.Copy(io.Discard, m.Stream)
	if err != nil || n != 64<<20 {
		t.Fatalf("read %d: %v", n, err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

func TestStreamCancelledByTheReceiver(t *testing.T) {
	a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
	connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sent := make(chan error, 1)
	go func() { sent <- a.SendStream(ctx, "b", nil, newPattern(1<<30, 4)) }()
	m := recvStream(t, b)
	defer m.Release()
	if _, err := io.CopyN(io.Discard, m.Stream, 1<<20); err != nil {
		t.Fatal(err)
	}
	_ = m.Stream.Close()
	select {
	case err := <-sent:
		if !errors.Is(err, ErrStreamReset) {
			t.Fatalf("sender's error %v, want ErrStreamReset", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sender did not learn of the cancel")
	}
	if _, err := m.Stream.Read(make([]byte, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
	if st := b.Stats(); st.StreamsCancelled != 1 {
		t.Fatalf("cancelled %d", st.StreamsCancelled)
	}
}

func TestStreamCancelledByTheSender(t *testing.T) {
	a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
	connect(t, a, b)
	ctx, cancel := context.WithCancel(context.Background())
	body := newPattern(1<<30, 5)
	sent := make(chan error, 1)
	go func() { sent <- a.SendStream(ctx, "b", nil, body) }()
	m := recvStream(t, b)
	defer m.Release()
	if _, err := io.CopyN(io.Discard, m.Stream, 1<<20); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-sent; !errors.Is(err, context.Canceled) {
		t.Fatalf("sender's error %v, want context.Canceled", err)
	}
	_, err := io.Copy(io.Discard, m.Stream)
	if !errors.Is(err, ErrStreamReset) {
		t.Fatalf("receiver's error %v, want ErrStreamReset", err)
	}
}

func TestPeerDeathFailsStreamsOnBothSides(t *testing.T) {
	for _, dies := range []string{"sender", "receiver"} {
		t.Run(dies, func(t *testing.T) {
			acfg, bcfg := devConfig("a"), devConfig("b")
			acfg.Reconnect.Enabled, bcfg.Reconnect.Enabled = false, false
			a, b := startTransport(t, acfg), startTransport(t, bcfg)
			connect(t, a, b)
			sent := make(chan error, 1)
			go func() { sent <- a.SendStream(context.Background(), "b", nil, newPattern(1<<30, 6)) }()
			m := recvStream(t, b)
			defer m.Release()
			if _, err := io.CopyN(io.Discard, m.Stream, 1<<20); err != nil {
				t.Fatal(err)
			}
			if dies == "sender" {
				_ = a.Close()
				if _, err := io.Copy(io.Discard, m.Stream); !errors.Is(err, ErrConnectionLost) && !errors.Is(err, ErrStreamReset) {
					t.Fatalf("receiver's error %v, want ErrConnectionLost", err)
				}
				if err := <-sent; !errors.Is(err, ErrClosed) {
					t.Fatalf("sender's error %v, want ErrClosed", err)
				}
				return
			}
			_ = b.Close()
			select {
			case err := <-sent:
				if !errors.Is(err, ErrConnectionLost) {
					t.Fatalf("sender's error %v, want ErrConnectionLost", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the sender outlived its receiver")
			}
			if _, err := io.Copy(io.Discard, m.Stream); err == nil {
				t.Fatal("the dead receiver's stream read to a clean end")
			}
		})
	}
}

func TestStreamsOverTheLimitAreRefused(t *testing.T) {
	bcfg := devConfig("b")
	bcfg.MaxStreamsPerPeer = 1
	a, b := startTransport(t, devConfig("a")), startTransport(t, bcfg)
	connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first := make(chan error, 1)
	go func() { first <- a.SendStream(ctx, "b", []byte("1"), newPattern(8<<20, 7)) }()
	m := recvStream(t, b)
	defer m.Release()
	err := a.SendStream(ctx, "b", []byte("2"), bytes.NewReader(make([]byte, 1<<20)))
	if !errors.Is(err, ErrStreamReset) {
		t.Fatalf("second stream: %v, want ErrStreamReset", err)
	}
	if n, err := io.Copy(io.Discard, m.Stream); err != nil || n != 8<<20 {
		t.Fatalf("first stream: %d %v", n, err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.StreamsRefused != 1 {
		t.Fatalf("refused %d", st.StreamsRefused)
	}
}

// TestStreamFailFastWhenPeerDown: with the peer closed and being redialed,
// SendStreamWith and RequestStreamWith with FailFast fail at once with
// ErrUnreachable, though their context would allow seconds, and read
// nothing of the body; without FailFast the same stream waits for the
// reconnect until its context ends.
func TestStreamFailFastWhenPeerDown(t *testing.T) {
	a, _ := peerGoneDown(t, 100*time.Millisecond, 300*time.Millisecond)
	calls := []struct {
		name string
		call func(ctx context.Context, body io.Reader, o StreamOptions) error
	}{
		{"SendStreamWith", func(ctx context.Context, body io.Reader, o StreamOptions) error {
			return a.SendStreamWith(ctx, "b", []byte("snapshot"), body, o)
		}},
		{"RequestStreamWith", func(ctx context.Context, body io.Reader, o StreamOptions) error {
			m, err := a.RequestStreamWith(ctx, "b", []byte("snapshot"), body, o)
			m.Release()
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			body := &countingReader{r: bytes.NewReader(make([]byte, 1<<20))}
			start := time.Now()
			err := c.call(ctx, body, StreamOptions{FailFast: true})
			if elapsed := time.Since(start); !errors.Is(err, ErrUnreachable) || elapsed > time.Second {
				t.Fatalf("FailFast to a peer being redialed: %v after %v, want ErrUnreachable at once", err, elapsed)
			}
			if body.n != 0 {
				t.Fatalf("%d bytes of the body read for a stream that never opened", body.n)
			}
			short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancelShort()
			start = time.Now()
			// Larger than the window the opening grants: it must wait for credit.
			err = c.call(short, bytes.NewReader(make([]byte, 1<<20)), StreamOptions{})
			if elapsed := time.Since(start); !errors.Is(err, ErrTimeout) || elapsed > 2*time.Second {
				t.Fatalf("without FailFast: %v after %v, want it to wait for the reconnect until ErrTimeout", err, elapsed)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
