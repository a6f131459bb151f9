package engine

import (
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tensorchain/transport/codec"
)

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// sendPartialFrame writes the header of a frame of size payload bytes and
// then part bytes of it, and leaves it incomplete.
func sendPartialFrame(nc net.Conn, size, part int) {
	buf := make([]byte, 5+part)
	binary.BigEndian.PutUint32(buf, uint32(size+1))
	_ = nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = nc.Write(buf) // the node may cut us first
}

// TestPartialFramesStayWithinBudget: a dozen peers each start a 4 MiB
// frame and never finish it. Their buffers are charged before they are
// filled: those the budget cannot cover are cut at once, the node's heap
// grows by no more than the budget, the rest are cut when FrameTimeout
// passes, and a legitimate peer's traffic flows throughout. (Without the
// budget the node held 4 MiB per attacker.)
func TestPartialFramesStayWithinBudget(t *testing.T) {
	const budget, attackers, frame = 16 << 20, 12, 4 << 20
	cfg := devConfig("b")
	cfg.MemoryBudget, cfg.ConnMemoryReserve = budget, 64<<10
	cfg.FrameTimeout = 2 * time.Second
	b := startTransport(t, cfg)
	legit := startTransport(t, devConfig("legit"))
	connect(t, legit, b)
	stop := keepTraffic(t, legit, b)
	before := heapInUse()

	var wg sync.WaitGroup
	conns := make([]net.Conn, attackers)
	for i := range conns {
		conns[i] = rawHello(t, b, "attacker"+itoa(i))
		wg.Add(1)
		go func(nc net.Conn) { defer wg.Done(); sendPartialFrame(nc, frame, frame/2) }(conns[i])
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // let the node read what was sent
	grown := heapInUse() - before
	st := b.Stats()
	if st.MemoryInUse > budget || grown > budget+8<<20 {
		t.Fatalf("budget %d MiB: in use %d MiB, heap grew %d MiB", budget>>20, st.MemoryInUse>>20, grown>>20)
	}
	if st.MemoryCuts == 0 {
		t.Fatalf("no attacker was cut: %d MiB in use", st.MemoryInUse>>20)
	}
	for _, nc := range conns {
		expectClosed(t, nc, 5*time.Second) // cut by the budget, or by FrameTimeout
		nc.Close()
	}
	if sent, got := stop(); sent == 0 || got != sent {
		t.Fatalf("legitimate peer: sent %d, received %d", sent, got)
	}
	waitFor(t, 5*time.Second, func() bool { // the legitimate peer's reserves and inbox rings
		return b.Stats().MemoryInUse <= 3*int64(cfg.ConnMemoryReserve)+2*ringBytes(cfg.RecvBufferSize)
	})
	t.Logf("heap grew %d MiB under a %d MiB budget; %d connections cut by the budget", grown>>20, budget>>20, st.MemoryCuts)
}

// rawLZ4Conn completes a hello advertising LZ4 and returns the socket.
func rawLZ4Conn(t *testing.T, tr *Transport, id string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", tr.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	h := codec.Hello{Version: codec.ProtocolVersion, Caps: codec.CapLZ4, MaxMessage: 1 << 20, Window: 1 << 20,
		Incarnation: uint64(time.Now().UnixNano()) | 1, NodeID: id}
	if _, err := nc.Write(codec.AppendHello(nil, h)); err != nil {
		t.Fatal(err)
	}
	readFrame(t, nc)
	return nc
}

// TestDecompressionBombsStayWithinBudget: sixteen peers each send four
// 16 KiB LZ4 frames that decompress to 4 MiB, within their credit, to an
// application that takes their messages slowly. Decompression output is
// charged before it is allocated, so delivery from the bombers waits for
// the budget (counted) instead of the heap growing by 256 MiB; every bomb
// is still delivered, and a legitimate peer's messages keep arriving
// within a second throughout.
func TestDecompressionBombsStayWithinBudget(t *testing.T) {
	const budget, bombers, perBomber, size = 32 << 20, 16, 4, 4 << 20
	cfg := devConfig("b")
	cfg.MemoryBudget, cfg.ConnMemoryReserve = budget, 64<<10
	b := startTransport(t, cfg)
	legit := startTransport(t, devConfig("legit"))
	connect(t, legit, b)
	before := heapInUse()

	var zc codec.Compressor
	bomb, ok := zc.AppendCompressed(nil, make([]byte, size))
	if !ok {
		t.Fatal("zeros did not compress")
	}
	frame := codec.AppendFrame(nil, codec.FlagCompressed, bomb)
	for i := range bombers {
		nc := rawLZ4Conn(t, b, "bomber"+itoa(i))
		for range perBomber {
			if _, err := nc.Write(frame); err != nil {
				t.Fatal(err)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pings := make(chan error, 1)
	go func() { // a legitimate ping every 10 ms, carrying its send time
		for i := 0; i < 100 && ctx.Err() == nil; i++ {
			var p [8]byte
			binary.BigEndian.PutUint64(p[:], uint64(time.Now().UnixNano()))
			if err := legit.Send(ctx, "b", p[:]); err != nil {
				pings <- err
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		pings <- nil
	}()
	var bombs, legitGot int
	var worst time.Duration
	var peakInUse int64
	for bombs < bombers*perBomber || legitGot < 100 {
		m, err := b.Recv(ctx)
		if err != nil {
			t.Fatalf("after %d bombs and %d pings: %v", bombs, legitGot, err)
		}
		peakInUse = max(peakInUse, b.Stats().MemoryInUse)
		if m.From == "legit" {
			legitGot++
			worst = max(worst, time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(m.Payload)))))
		} else {
			if len(m.Payload) != size {
				t.Fatalf("bomb of %d bytes", len(m.Payload))
			}
			bombs++
			if bombs == bombers { // mid-attack: what the node holds now
				if grown := heapInUse() - before; grown > budget+16<<20 {
					t.Fatalf("heap grew %d MiB under a %d MiB budget", grown>>20, budget>>20)
				}
			}
			time.Sleep(5 * time.Millisecond) // a slow application
		}
		m.Release()
	}
	if err := <-pings; err != nil {
		t.Fatal(err)
	}
	st := b.Stats()
	if peakInUse > budget || st.MemoryStalls == 0 || worst > time.Second {
		t.Fatalf("peak in use %d MiB (budget %d), %d memory stalls, worst legitimate delay %v",
			peakInUse>>20, budget>>20, st.MemoryStalls, worst)
	}
	t.Logf("peak %d MiB in use, %d memory stalls, worst legitimate delay %v", peakInUse>>20, st.MemoryStalls, worst)
}

// TestInboxRingsAreCharged: the ring of a peer's inbox (about 100 KiB at
// the default RecvBufferSize) is charged to the budget when its first
// message arrives and given back when the peer is gone, so peers by the
// thousand cannot hold memory the budget does not see.
func TestInboxRingsAreCharged(t *testing.T) {
	const peers = 20
	cfg := devConfig("b")
	cfg.MemoryBudget, cfg.ConnMemoryReserve = 64<<20, 64<<10
	b := startTransport(t, cfg)
	var conns []net.Conn
	for i := range peers {
		nc := rawHello(t, b, "p"+itoa(i))
		if _, err := nc.Write(codec.AppendFrame(nil, 0, []byte("x"))); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
	}
	waitFor(t, 5*time.Second, func() bool { return b.Stats().RecvQueueDepth == peers })
	ring := ringBytes(cfg.RecvBufferSize)
	if used := b.Stats().MemoryInUse; used < peers*ring {
		t.Fatalf("in use %d with %d peers' inbox rings of %d bytes each", used, peers, ring)
	}
	for range peers {
		m := recvTimeout(t, b, 5*time.Second)
		m.Release()
	}
	for _, nc := range conns {
		nc.Close()
	}
	waitFor(t, 5*time.Second, func() bool { return b.Stats().MemoryInUse == 0 })
}
