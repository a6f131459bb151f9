package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tensorchain/transport/bucket"
)

// numbered returns n payloads of size bytes (at least 8), numbered from
// first, compressible when lz4 matters: the number, then a repeated text.
func numbered(first, n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		p := bytes.Repeat([]byte("entry "), size/6+1)[:size]
		binary.BigEndian.PutUint64(p, uint64(first+i))
		out[i] = p
	}
	return out
}

// recvNumbered takes want messages with RecvBatch, batch at a time, and
// fails unless they carry the numbers first, first+1, ... in order.
func recvNumbered(t *testing.T, tr *Transport, first, want, batch int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs := make([]Message, batch)
	for got := 0; got < want; {
		n, err := tr.RecvBatch(ctx, msgs[:min(batch, want-got)])
		if err != nil {
			t.Fatalf("RecvBatch after %d of %d: %v", got, want, err)
		}
		if n == 0 {
			t.Fatalf("RecvBatch returned 0 messages without an error")
		}
		for i := range msgs[:n] {
			if len(msgs[i].Payload) < 8 {
				t.Fatalf("message %d: %d bytes", got, len(msgs[i].Payload))
			}
			if seq := binary.BigEndian.Uint64(msgs[i].Payload); seq != uint64(first+got) {
				t.Fatalf("message %d carries number %d: out of order or lost", first+got, seq)
			}
			msgs[i].Release()
			got++
		}
	}
}

// TestSendBatchKeepsOrder: batches longer than a chunk, of sizes that
// compress and sizes that do not, interleaved with single Sends on the
// same stream, arrive whole and in the order sent, through RecvBatch.
func TestSendBatchKeepsOrder(t *testing.T) {
	acfg, bcfg := devConfig("a"), devConfig("b")
	acfg.PoolSize, bcfg.PoolSize = 2, 2
	a := startTransport(t, acfg)
	b := startTransport(t, bcfg)
	connect(t, a, b)
	ctx := context.Background()
	next := 0
	for round, size := range []int{8, 64, 300, 4 << 10, 70 << 10} { // LZ4 from 256 B (Compression.MinSize)
		batch := numbered(next, 150+round, size)
		n, err := a.SendBatch(ctx, "b", batch, SendOptions{})
		if err != nil || n != len(batch) {
			t.Fatalf("SendBatch of %d x %d B: %d queued, %v", len(batch), size, n, err)
		}
		next += n
		if err := a.Send(ctx, "b", numbered(next, 1, size)[0]); err != nil {
			t.Fatal(err)
		}
		next++
	}
	recvNumbered(t, b, 0, next, 37)
	waitCounted(t, func() uint64 { return a.Stats().MessagesSent }, uint64(next))
	st := a.Stats()
	if st.MessagesSent != uint64(next) {
		t.Fatalf("Stats.MessagesSent = %d, want %d", st.MessagesSent, next)
	}
	if st.CompressedFrames == 0 {
		t.Fatal("no frame of the batches was compressed: the LZ4 path went untested")
	}
}

// TestSendBatchRefusesOversizeBeforeQueueing: a batch with a payload over
// MaxMessageSize queues none of its payloads, and says which one it was.
func TestSendBatchRefusesOversizeBeforeQueueing(t *testing.T) {
	acfg := devConfig("a")
	acfg.MaxMessageSize = 1 << 10
	a := startTransport(t, acfg)
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	batch := numbered(0, 5, 100)
	batch[3] = make([]byte, 2<<10)
	n, err := a.SendBatch(context.Background(), "b", batch, SendOptions{})
	if n != 0 || !errors.Is(err, ErrMessageTooLarge) || !strings.Contains(err.Error(), "message 3") {
		t.Fatalf("SendBatch with an oversize payload: %d queued, %v; want 0 and ErrMessageTooLarge naming message 3", n, err)
	}
	if err := a.Send(context.Background(), "b", numbered(0, 1, 100)[0]); err != nil {
		t.Fatal(err)
	}
	recvNumbered(t, b, 0, 1, 4) // the marker, numbered 0, is the first to arrive
	if n, err := a.SendBatch(context.Background(), "nobody", batch[:1], SendOptions{}); n != 0 || !errors.Is(err, ErrPeerNotFound) {
		t.Fatalf("SendBatch to an unknown peer: %d, %v; want 0 and ErrPeerNotFound", n, err)
	}
}

// TestTrySendBatchQueuesWhatFits: against a receiver that takes nothing,
// TrySendBatch queues a prefix of its batch once the queue is full and
// fails the rest with ErrQueueFull; SendBatch waits, then gives up at its
// deadline; every message a call reported queued arrives, in order, and
// no other.
func TestTrySendBatchQueuesWhatFits(t *testing.T) {
	acfg, bcfg := devConfig("a"), devConfig("b")
	acfg.MaxPendingMessages = 40
	bcfg.RecvBufferSize = 8       // a full inbox stops the credit,
	bcfg.ReceiveWindow = 64 << 10 // then, 64 KiB later, the sender's writes
	a := startTransport(t, acfg)
	b := startTransport(t, bcfg)
	connect(t, a, b)
	accepted, partial := 0, false
	for i := 0; i < 2000 && !partial; i++ {
		n, err := a.TrySendBatch("b", numbered(accepted, 16, 1<<10), SendOptions{})
		accepted += n
		switch {
		case err == nil && n == 16:
		case errors.Is(err, ErrQueueFull) && n < 16:
			partial = true
		default:
			t.Fatalf("TrySendBatch: %d of 16 queued, %v", n, err)
		}
		time.Sleep(200 * time.Microsecond) // let the loops move what they can
	}
	if !partial {
		t.Fatalf("the queue never filled after %d messages", accepted)
	}
	t.Logf("partial after %d messages", accepted)
	if st := a.Stats(); st.QueueFull == 0 {
		t.Fatal("Stats.QueueFull does not count the refusal")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	n, err := a.SendBatch(ctx, "b", numbered(accepted, 16, 1<<10), SendOptions{})
	if !errors.Is(err, ErrTimeout) || n == 16 {
		t.Fatalf("SendBatch into a full queue: %d of 16 queued, %v; want a prefix and ErrTimeout", n, err)
	}
	accepted += n
	recvNumbered(t, b, 0, accepted, 5)
	quiet, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	var extra [1]Message
	if n, err := b.RecvBatch(quiet, extra[:]); n != 0 || !errors.Is(err, ErrTimeout) {
		t.Fatalf("after the %d accepted messages RecvBatch returned %d more (%v)", accepted, n, err)
	}
}

// TestSendBatchRateLimited: a bulk batch larger than the bucket queues as
// many payloads as there are tokens and fails the rest with
// ErrRateLimited (counted once); control batches are exempt.
func TestSendBatchRateLimited(t *testing.T) {
	acfg := devConfig("a")
	acfg.RateLimit = bucket.Config{Enabled: true, BucketSize: 10, RefillRate: 1}
	a := startTransport(t, acfg)
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	ctx := context.Background()
	n, err := a.SendBatch(ctx, "b", numbered(0, 25, 16), SendOptions{})
	if n != 10 || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("SendBatch of 25 with 10 tokens: %d queued, %v; want 10 and ErrRateLimited", n, err)
	}
	if st := a.Stats(); st.RateLimited != 1 {
		t.Fatalf("Stats.RateLimited = %d, want 1", st.RateLimited)
	}
	recvNumbered(t, b, 0, 10, 16)
	n, err = a.SendBatch(ctx, "b", numbered(0, 25, 16), SendOptions{Class: Control})
	if n != 25 || err != nil {
		t.Fatalf("control SendBatch with an empty bucket: %d queued, %v; want all 25", n, err)
	}
	recvNumbered(t, b, 0, 25, 16)
}

// TestRecvBatchTakesControlFirst: messages already waiting come out of
// RecvBatch as repeated Recv calls would give them: control first, each
// class in the order sent.
func TestRecvBatchTakesControlFirst(t *testing.T) {
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	ctx := context.Background()
	if n, err := a.SendBatch(ctx, "b", numbered(100, 5, 16), SendOptions{}); n != 5 || err != nil {
		t.Fatal(n, err)
	}
	if n, err := a.SendBatch(ctx, "b", numbered(0, 5, 16), SendOptions{Class: Control}); n != 5 || err != nil {
		t.Fatal(n, err)
	}
	for deadline := time.Now().Add(10 * time.Second); b.queued() < 10; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 10 messages arrived", b.queued())
		}
		time.Sleep(time.Millisecond)
	}
	msgs := make([]Message, 16)
	n, err := b.RecvBatch(ctx, msgs)
	if n != 10 || err != nil {
		t.Fatalf("RecvBatch with 10 waiting: %d, %v", n, err)
	}
	for i, m := range msgs[:n] {
		want, class := uint64(i), Control
		if i >= 5 {
			want, class = uint64(100+i-5), Bulk
		}
		if got := binary.BigEndian.Uint64(m.Payload); got != want || m.Class != class {
			t.Fatalf("message %d: number %d (%s), want %d (%s)", i, got, m.Class, want, class)
		}
		msgs[i].Release()
	}
}

// TestRecvBatchResumesStalledConnections: with an inbox of 8 messages, a
// connection pauses every few messages; RecvBatch's draining restarts it,
// so a thousand messages all arrive.
func TestRecvBatchResumesStalledConnections(t *testing.T) {
	bcfg := devConfig("b")
	bcfg.RecvBufferSize = 8
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, bcfg)
	connect(t, a, b)
	done := make(chan error, 1)
	go func() {
		_, err := a.SendBatch(context.Background(), "b", numbered(0, 1000, 200), SendOptions{})
		done <- err
	}()
	recvNumbered(t, b, 0, 1000, 3)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.RecvStalls == 0 {
		t.Fatal("the inbox never filled: the resume path went untested")
	}
}

// TestRecvBatchEdges: an empty slice returns at once; a transport with a
// Handler has no RecvBatch; after Close it returns what had arrived, then
// ErrClosed.
func TestRecvBatchEdges(t *testing.T) {
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	if n, err := b.RecvBatch(context.Background(), nil); n != 0 || err != nil {
		t.Fatalf("RecvBatch(nil): %d, %v", n, err)
	}
	hcfg := devConfig("h")
	hcfg.Handler = func(string, []byte) {}
	h := startTransport(t, hcfg)
	if _, err := h.RecvBatch(context.Background(), make([]Message, 1)); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("RecvBatch with a Handler: %v, want ErrInvalidConfig", err)
	}
	if n, err := a.SendBatch(context.Background(), "b", numbered(0, 3, 16), SendOptions{}); n != 3 || err != nil {
		t.Fatal(n, err)
	}
	for deadline := time.Now().Add(10 * time.Second); b.queued() < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 messages arrived", b.queued())
		}
		time.Sleep(time.Millisecond)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	recvNumbered(t, b, 0, 3, 2)
	if _, err := b.RecvBatch(context.Background(), make([]Message, 2)); !errors.Is(err, ErrClosed) {
		t.Fatalf("RecvBatch after Close and drain: %v, want ErrClosed", err)
	}
}

// unconfirmedTo is how many messages a's connections to id have written
// that id has not yet confirmed taking (its credit frames count them).
func unconfirmedTo(a *Transport, id string) int64 {
	var u int64
	for _, l := range a.peer(id).lanes.Members() {
		if c := l.conn.Load(); c != nil {
			u += c.unconfirmed.Load()
		}
	}
	return u
}

// TestRecvBatchConfirmsEveryMessage: messages taken by RecvBatch are
// confirmed to their sender one by one, as Recv's are (credit frames
// count messages as well as bytes): nothing stays unconfirmed, so a
// handover or a lost connection has nothing phantom to wait for or count.
func TestRecvBatchConfirmsEveryMessage(t *testing.T) {
	for _, batch := range []bool{false, true} {
		acfg, bcfg := devConfig("a"), devConfig("b")
		acfg.PoolSize, bcfg.PoolSize = 1, 1
		a := startTransport(t, acfg)
		b := startTransport(t, bcfg)
		connect(t, a, b)
		const n = 300
		if k, err := a.SendBatch(context.Background(), "b", numbered(0, n, 16), SendOptions{}); k != n || err != nil {
			t.Fatal(k, err)
		}
		if batch {
			recvNumbered(t, b, 0, n, 64)
		} else {
			for range n {
				m := recvTimeout(t, b, 5*time.Second)
				m.Release()
			}
		}
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && unconfirmedTo(a, "b") > 0; {
			time.Sleep(20 * time.Millisecond)
		}
		if u := unconfirmedTo(a, "b"); u != 0 {
			t.Fatalf("taken with RecvBatch=%v: the sender still has %d of %d messages unconfirmed", batch, u, n)
		}
	}
}

// TestSendBatchSpendsTokensOnlyOnWhatItQueues: a batch that waits for
// queue room chunk by chunk takes one rate-limit token per payload it
// queues, not one for each payload of a chunk that did not fit yet.
func TestSendBatchSpendsTokensOnlyOnWhatItQueues(t *testing.T) {
	acfg := devConfig("a")
	acfg.RateLimit = bucket.Config{Enabled: true, BucketSize: 100, RefillRate: 0.001}
	acfg.MaxPendingMessages = 10 // a chunk of 64 never fits at once
	a := startTransport(t, acfg)
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	n, err := a.SendBatch(context.Background(), "b", numbered(0, 64, 16), SendOptions{})
	if n != 64 || err != nil {
		t.Fatalf("SendBatch of 64 with 100 tokens: %d queued, %v (%.0f tokens left)", n, err, a.peer("b").limiter.Tokens())
	}
	if left := a.peer("b").limiter.Tokens(); left < 35.5 || left > 37 {
		t.Fatalf("%.1f tokens left after 64 payloads from 100, want 36", left)
	}
	recvNumbered(t, b, 0, 64, 64)
}

// TestSendBatchCountsEachCompressedFrameOnce: payloads of a chunk that
// waited for queue room are counted in CompressedFrames once, when queued.
func TestSendBatchCountsEachCompressedFrameOnce(t *testing.T) {
	acfg := devConfig("a")
	acfg.MaxPendingMessages = 10
	a := startTransport(t, acfg)
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	n, err := a.SendBatch(context.Background(), "b", numbered(0, 64, 1<<10), SendOptions{})
	if n != 64 || err != nil {
		t.Fatal(n, err)
	}
	recvNumbered(t, b, 0, n, 64)
	if st := a.Stats(); st.CompressedFrames != 64 {
		t.Fatalf("CompressedFrames = %d for 64 compressed frames", st.CompressedFrames)
	}
}

// TestFailedBatchReservationLeavesRoomForOthers: a batch too large for the
// queue's room must not, while it tries, make a single TrySend to the same
// peer fail on a queue that has room for it.
func TestFailedBatchReservationLeavesRoomForOthers(t *testing.T) {
	const maxMsgs, maxBytes, rounds = 40, 64 << 20, 200_000
	q := newSendQueue()
	q.pending.Add(30) // 30 messages queued: room for 10
	done := make(chan int)
	go func() { // a TrySend's reservations, each given back at once
		refused := 0
		for range rounds {
			if q.tryReserve(21, maxMsgs, maxBytes) {
				q.release(1, 21)
			} else {
				refused++
			}
		}
		done <- refused
	}()
	for range rounds {
		if q.tryReserveN(64, 64*21, maxMsgs, maxBytes) {
			t.Fatal("64 messages fit into room for 10")
		}
	}
	if refused := <-done; refused > 0 {
		t.Fatalf("%d of %d single reservations refused with room for 10, while a batch of 64 tried", refused, rounds)
	}
}
