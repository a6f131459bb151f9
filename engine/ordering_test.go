package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tensorchain/transport/codec"
)

// Ordering contract (SendOptions.Stream): messages one node sends to one
// peer on one stream arrive in the order of the sends that returned nil,
// whatever PoolSize and whoever dialed, with TLS and LZ4 on or off. Bulk
// streams may be spread over the peer's connections (outbound and inbound
// alike); Control is one stream; Send is bulk stream 0.
//
// Every payload carries its origin, so the receiver needs no side channel:
//
//	[0]      magic 0x5A
//	[1]      sender node index
//	[2]      class
//	[3]      0
//	[4:8]    stream, u32 BE (0 for Control)
//	[8:16]   sequence number within (sender, receiver, class, stream), u64 BE
//	[16:20]  total payload length, u32 BE
//	[20:]    filler derived from all of the above and the byte offset
const (
	ordMagic = 0x5A
	ordHdr   = 20
)

// ordStreams are the bulk streams every node runs to every peer, next to
// the control class. Stream 0 is the one Send uses; the large id checks
// that stream ids are not assumed to be small.
var ordStreams = []uint32{0, 1, 1<<31 + 5}

// ordSize is the payload size of message seq on a stream of class c:
// control messages are small (heartbeat-like); bulk ones are mostly small,
// with 1-4 KiB, 16 KiB and up to 64 KiB ones mixed in, and every 50th a
// 256 KiB one (larger than a 64 KiB socket read, several TLS records).
func ordSize(c Class, seq int) int {
	if c == Control {
		return ordHdr + (seq*37)%180
	}
	switch seq % 10 {
	case 6, 7:
		return 1024 + (seq*131)%3072
	case 8:
		return 16<<10 + seq%1000
	case 9:
		if seq%50 == 49 {
			return 256<<10 + seq
		}
		return 32<<10 + (seq*7919)%(32<<10)
	}
	return ordHdr + (seq*53)%300
}

const ordMaxSize = 256<<10 + 1<<16

// ordFill writes message (node, class, stream, seq) into p (len(p) >=
// ordHdr). Compressible filler is runs of letters LZ4 shrinks well; the
// other is xorshift noise it cannot shrink.
func ordFill(p []byte, node byte, c Class, stream uint32, seq uint64, compressible bool) {
	p[0], p[1], p[2], p[3] = ordMagic, node, byte(c), 0
	binary.BigEndian.PutUint32(p[4:], stream)
	binary.BigEndian.PutUint64(p[8:], seq)
	binary.BigEndian.PutUint32(p[16:], uint32(len(p)))
	key := (uint64(node)<<56 ^ uint64(c)<<48 ^ uint64(stream)<<17 ^ seq) * 0x9E3779B97F4A7C15
	body := p[ordHdr:]
	if compressible {
		for i := range body {
			body[i] = byte('a' + (uint64(i/16)+key)%26)
		}
		return
	}
	x := key | 1
	for i := 0; i < len(body); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], x)
		copy(body[i:], w[:])
	}
}

type ordKey struct {
	from   string
	class  Class
	stream uint32
}

// ordCheck is one receiver's ledger: per (sender, class, stream) the next
// sequence number expected and which ones were seen.
type ordCheck struct {
	node      string
	ids       []string // node index -> id
	compress  bool
	fixedSize int // when not 0, every payload has this size (else ordSize)
	next      map[ordKey]uint64
	seen      map[ordKey][]bool
	count     map[ordKey]int
	reordered int // arrived after a later message of its stream
	gaps      int // arrived while an earlier one of its stream was missing
	dups      int
	corrupt   int
	errs      []string
	scratch   []byte
}

func newOrdCheck(node string, ids []string, compress bool) *ordCheck {
	return &ordCheck{node: node, ids: ids, compress: compress, next: map[ordKey]uint64{},
		seen: map[ordKey][]bool{}, count: map[ordKey]int{}, scratch: make([]byte, ordMaxSize)}
}

func (o *ordCheck) errorf(format string, args ...any) {
	if len(o.errs) < 20 {
		o.errs = append(o.errs, fmt.Sprintf(format, args...))
	}
}

func (o *ordCheck) add(m Message) {
	p := m.Payload
	if len(p) < ordHdr || p[0] != ordMagic || int(p[1]) >= len(o.ids) || int(binary.BigEndian.Uint32(p[16:])) != len(p) {
		o.corrupt++
		o.errorf("from %s: malformed %d-byte payload (header % x)", m.From, len(p), p[:min(len(p), ordHdr)])
		return
	}
	node, class := p[1], Class(p[2])
	stream, seq := binary.BigEndian.Uint32(p[4:]), binary.BigEndian.Uint64(p[8:])
	if o.ids[node] != m.From {
		o.corrupt++
		o.errorf("payload of node %s arrived as From %q", o.ids[node], m.From)
		return
	}
	if m.Class != class {
		o.corrupt++
		o.errorf("from %s: %v message (stream %d seq %d) delivered with Class %v", m.From, class, stream, seq, m.Class)
	}
	want := o.scratch[:len(p)]
	ordFill(want, node, class, stream, seq, o.compress)
	if !bytes.Equal(p, want) {
		i := 0
		for i < len(p) && p[i] == want[i] {
			i++
		}
		o.corrupt++
		o.errorf("from %s %v stream %d seq %d: byte %d of %d is %#x, want %#x", m.From, class, stream, seq, i, len(p), p[i], want[i])
		return
	}
	sz := o.fixedSize
	if sz == 0 {
		sz = ordSize(class, int(seq))
	}
	if sz != len(p) {
		o.corrupt++
		o.errorf("from %s %v stream %d seq %d: %d bytes, want %d", m.From, class, stream, seq, len(p), sz)
	}
	k := ordKey{m.From, class, stream}
	o.count[k]++
	seen := o.seen[k]
	for uint64(len(seen)) <= seq {
		seen = append(seen, false)
	}
	o.seen[k] = seen
	switch exp := o.next[k]; {
	case seen[seq]:
		o.dups++
		o.errorf("from %s %v stream %d: seq %d delivered twice", m.From, class, stream, seq)
	case seq < exp:
		o.reordered++
		o.errorf("from %s %v stream %d: seq %d arrived after seq %d (conn %d)", m.From, class, stream, seq, exp-1, m.ConnID)
	case seq > exp:
		o.gaps++
		o.errorf("from %s %v stream %d: seq %d arrived while seq %d was still missing (conn %d)", m.From, class, stream, seq, exp, m.ConnID)
	}
	seen[seq] = true
	if seq >= o.next[k] {
		o.next[k] = seq + 1
	}
}

// ordCase is one cell of the matrix.
type ordCase struct {
	pool   int
	tls    bool
	lz4    bool
	oneWay bool // only the lower-numbered node of each pair dials
}

func (c ordCase) name() string {
	sec, comp := "plain", "lz4off"
	if c.tls {
		sec = "tls"
	}
	if c.lz4 {
		comp = "lz4on"
	}
	dial := ""
	if c.oneWay {
		dial = "/oneway"
	}
	return fmt.Sprintf("pool%d/%s/%s%s", c.pool, sec, comp, dial)
}

// TestOrderingFullMesh: three nodes, each Connecting to both others (so
// every pair holds connections dialed by each side), every node sending on
// three bulk streams and the control class to each peer at once, one
// goroutine per stream. Each receiver must see, per (sender, class,
// stream), sequence numbers 0..n-1 exactly once and strictly in order:
// zero reordered, zero gaps, zero duplicates, nothing missing (no
// connection is lost here), every byte intact, Message.Class right.
//
// The matrix (kept affordable, 10 cells): PoolSize 1, 2, 3, 4 in plaintext
// with LZ4 off; PoolSize 2 and 4 for each of plaintext+LZ4 (compressible
// payloads), Strict mTLS with LZ4 off, and Strict mTLS+LZ4.
func TestOrderingFullMesh(t *testing.T) {
	var cases []ordCase
	for pool := 1; pool <= 4; pool++ {
		cases = append(cases, ordCase{pool: pool})
	}
	for _, c := range []ordCase{{tls: false, lz4: true}, {tls: true, lz4: false}, {tls: true, lz4: true}} {
		for _, pool := range []int{2, 4} {
			c.pool = pool
			cases = append(cases, c)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name(), func(t *testing.T) { runOrderingMesh(t, tc) })
	}
}

// TestOrderingOneWayDial is TestOrderingFullMesh with only one dialer per
// pair (n0 dials n1 and n2, n1 dials n2): half the streams travel over
// connections the receiver dialed. PoolSize 2 and 4 in plaintext, and 2
// with Strict mTLS and LZ4.
func TestOrderingOneWayDial(t *testing.T) {
	for _, tc := range []ordCase{{pool: 2, oneWay: true}, {pool: 4, oneWay: true}, {pool: 2, tls: true, lz4: true, oneWay: true}} {
		t.Run(tc.name(), func(t *testing.T) { runOrderingMesh(t, tc) })
	}
}

func runOrderingMesh(t *testing.T, tc ordCase) {
	const (
		nodes = 3
		nBulk = 100 // per bulk stream, per (sender, receiver)
		nCtl  = 200 // control messages per (sender, receiver)
	)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var ca *testCA
	if tc.tls {
		ca = newTestCA(t, "ca")
	}
	ids := make([]string, nodes)
	trs := make([]*Transport, nodes)
	for i := range trs {
		ids[i] = fmt.Sprintf("n%d", i)
		cfg := devConfig(ids[i])
		if tc.tls {
			cfg = tlsConfig(ids[i], ca.issue(t, ids[i], certOpts{}))
			cfg.ConnectTimeout = 5 * time.Second // the race detector on 2 shared cores
		}
		cfg.PoolSize = tc.pool
		cfg.Compression.Enabled = tc.lz4
		trs[i] = startTransport(t, cfg)
	}
	for i := range trs {
		for j := range trs {
			if i != j && (!tc.oneWay || i < j) {
				connect(t, trs[i], trs[j])
			}
		}
	}
	// The whole mesh is up before the first send: no connection joins or
	// leaves while the streams run.
	minConns := 2 * tc.pool
	if tc.oneWay {
		minConns = tc.pool
	}
	for i, tr := range trs {
		for j := range trs {
			if i != j {
				waitLanesActive(t, tr, ids[j], minConns, 15*time.Second)
			}
		}
	}
	setup := time.Since(start)

	perReceiver := (nodes - 1) * (len(ordStreams)*nBulk + nCtl)
	checks := make([]*ordCheck, nodes)
	recvErr := make([]error, nodes)
	var wg sync.WaitGroup
	for i, tr := range trs {
		checks[i] = newOrdCheck(ids[i], ids, tc.lz4)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perReceiver {
				m, err := tr.Recv(ctx)
				if err != nil {
					recvErr[i] = err
					return
				}
				checks[i].add(m)
				m.Release()
			}
		}()
	}
	sendErrs := make(chan error, nodes*nodes*(len(ordStreams)+1))
	for i, tr := range trs {
		for j := range trs {
			if i == j {
				continue
			}
			to := ids[j]
			type stream struct {
				class Class
				id    uint32
				n     int
			}
			streams := []stream{{Control, 0, nCtl}}
			for _, s := range ordStreams {
				streams = append(streams, stream{Bulk, s, nBulk})
			}
			for _, s := range streams {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, ordMaxSize)
					for seq := range s.n {
						p := buf[:ordSize(s.class, seq)]
						ordFill(p, byte(i), s.class, s.id, uint64(seq), tc.lz4)
						var err error
						if s.class == Bulk && s.id == 0 && seq%2 == 0 {
							err = tr.Send(ctx, to, p) // Send is bulk stream 0: it interleaves with SendWith
						} else {
							err = tr.SendWith(ctx, to, p, SendOptions{Class: s.class, Stream: s.id})
						}
						if err != nil {
							sendErrs <- fmt.Errorf("%s -> %s %v stream %d seq %d: %w", ids[i], to, s.class, s.id, seq, err)
							cancel() // the receivers would wait for it in vain
							return
						}
					}
				}()
			}
		}
	}
	wg.Wait()
	close(sendErrs)
	for err := range sendErrs {
		t.Error(err)
	}
	var compressed uint64
	for i, tr := range trs {
		o := checks[i]
		for _, e := range o.errs {
			t.Errorf("%s: %s", ids[i], e)
		}
		if recvErr[i] != nil {
			t.Errorf("%s: recv: %v", ids[i], recvErr[i])
		}
		if o.reordered+o.gaps+o.dups+o.corrupt != 0 {
			t.Errorf("%s: %d reordered, %d gaps, %d duplicates, %d corrupt", ids[i], o.reordered, o.gaps, o.dups, o.corrupt)
		}
		for j := range trs {
			if i == j {
				continue
			}
			want := map[ordKey]int{{ids[j], Control, 0}: nCtl}
			for _, s := range ordStreams {
				want[ordKey{ids[j], Bulk, s}] = nBulk
			}
			for k, n := range want {
				if got := o.count[k]; got != n {
					t.Errorf("%s got %d of %d messages from %s on %v stream %d", ids[i], got, n, k.from, k.class, k.stream)
				}
			}
		}
		st := tr.Stats()
		if st.MessagesExpired+st.MessagesDropped+st.MessagesUnconfirmed+st.ProtocolErrors+st.CompressionErrors != 0 {
			t.Errorf("%s stats report losses or errors: expired %d dropped %d unconfirmed %d protocol %d compression %d",
				ids[i], st.MessagesExpired, st.MessagesDropped, st.MessagesUnconfirmed, st.ProtocolErrors, st.CompressionErrors)
		}
		if st.ReconnectAttempts != 0 {
			t.Errorf("%s: %d reconnects: a connection was lost, which this test assumes never happens", ids[i], st.ReconnectAttempts)
		}
		compressed += st.CompressedFrames
	}
	if tc.lz4 && compressed == 0 {
		t.Error("LZ4 on with compressible payloads, but no frame was compressed")
	}
	if !tc.lz4 && compressed != 0 {
		t.Errorf("LZ4 off, but %d frames were compressed", compressed)
	}
	t.Logf("%s: setup %v, exchange %v; %d messages per receiver; %d compressed frames",
		tc.name(), setup.Round(time.Millisecond), (time.Since(start) - setup).Round(time.Millisecond), perReceiver, compressed)
}

// waitLanesActive waits until tr's view of peer has at least minConns
// established connections and every lane it lists is Active.
func waitLanesActive(t testing.TB, tr *Transport, peer string, minConns int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !lanesActive(tr, peer, minConns) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: lanes to %s not all active within %v (want >= %d connections): %+v",
				tr.cfg.NodeID, peer, within, minConns, tr.Peers())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lanesActive reports whether tr's view of peer has at least minConns
// established connections and no lane in any state but Active.
func lanesActive(tr *Transport, peer string, minConns int) bool {
	for _, p := range tr.Peers() {
		if p.NodeID != peer {
			continue
		}
		if p.Connections < minConns || len(p.Lanes) == 0 {
			return false
		}
		for _, s := range p.Lanes {
			if s != StateActive {
				return false
			}
		}
		return true
	}
	return false
}

// TestOrderingAcrossConnect: b dials a; a sends to b over the connections
// b opened (a knows b only as an inbound peer), until a's queue for b is
// backed up behind b's full ring; then a Connects to b too, and keeps
// sending on the same streams. "Whoever dialed" includes a dialer that
// changes mid-stream: the messages sent after a's Connect must not
// overtake those still queued on b's connections.
func TestOrderingAcrossConnect(t *testing.T) {
	o, _, _ := runAcrossConnect(t, 5*time.Second)
	for _, e := range o.errs {
		t.Error(e)
	}
	if o.reordered+o.gaps+o.dups+o.corrupt != 0 {
		t.Errorf("%d reordered, %d gaps, %d duplicates, %d corrupt", o.reordered, o.gaps, o.dups, o.corrupt)
	}
}

// TestConnectHandoverDoesNotStall is TestOrderingAcrossConnect's scenario
// seen for latency: b consumes everything as soon as a has Connected, so
// nothing justifies holding a's own lanes back for a ConnectTimeout-long
// grace period (past which, moreover, order would be left to chance).
// Not the ordering contract itself: a heartbeat held for ConnectTimeout is
// an election.
func TestConnectHandoverDoesNotStall(t *testing.T) {
	const connectTimeout = 2 * time.Second
	o, took, total := runAcrossConnect(t, connectTimeout)
	if o.reordered+o.gaps+o.dups+o.corrupt != 0 {
		t.Errorf("%d reordered, %d gaps, %d duplicates, %d corrupt (see TestOrderingAcrossConnect)", o.reordered, o.gaps, o.dups, o.corrupt)
	}
	if took >= connectTimeout {
		t.Errorf("b had all %d messages only %v after a's Connect began, as long as a's ConnectTimeout (%v): a's lanes were held that long",
			total, took.Round(time.Millisecond), connectTimeout)
	}
}

// runAcrossConnect runs the scenario of TestOrderingAcrossConnect, with
// a's ConnectTimeout set, and returns b's ledger, how long after a's
// Connect began b had every message, and how many there were.
func runAcrossConnect(t *testing.T, connectTimeout time.Duration) (*ordCheck, time.Duration, int) {
	acfg, bcfg := devConfig("a"), devConfig("b")
	acfg.MaxPendingMessages = 10_000
	acfg.Compression.Enabled = false
	acfg.CloseTimeout = time.Second
	acfg.ConnectTimeout = connectTimeout
	bcfg.RecvBufferSize = 16
	bcfg.ReceiveWindow = 64 << 10
	a := startTransport(t, acfg)
	b := startTransport(t, bcfg)
	connect(t, b, a)
	waitLanesActive(t, a, "b", 1, 5*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type stream struct {
		class Class
		id    uint32
	}
	streams := []stream{{Control, 0}, {Bulk, 0}, {Bulk, 1}}
	next := make([]uint64, len(streams))
	buf := make([]byte, 2<<10)
	sendRound := func(perStream int) {
		for range perStream {
			for i, s := range streams {
				p := buf[:ordHdr+1000]
				ordFill(p, 0, s.class, s.id, next[i], false)
				if err := a.SendWith(ctx, "b", p, SendOptions{Class: s.class, Stream: s.id}); err != nil {
					t.Fatalf("%v stream %d seq %d: %v", s.class, s.id, next[i], err)
				}
				next[i]++
			}
		}
	}
	// About 200 KiB per stream: more than b's rings (16 messages each) and
	// windows (64 KiB per connection) hold, so most of it waits in a's queue.
	sendRound(200)
	waitFor(t, 5*time.Second, func() bool { return peerStats(t, a, "b").QueueDepth > 0 })
	queued := peerStats(t, a, "b").QueueDepth
	connected := time.Now()
	connect(t, a, b)
	sendRound(50)
	total := 250 * len(streams)
	t.Logf("%d messages queued at a when it connected to b; %d sent in all", queued, total)

	o := newOrdCheck("b", []string{"a"}, false)
	o.fixedSize = ordHdr + 1000
	for got := range total {
		m, err := b.Recv(ctx)
		if err != nil {
			t.Fatalf("recv: %v (%d of %d received)", err, got, total)
		}
		o.add(m)
		m.Release()
	}
	took := time.Since(connected)
	t.Logf("b had all %d messages %v after a's Connect began", total, took.Round(time.Millisecond))
	return o, took, total
}

// rawClassConn dials tr as node id with a version 2 Hello declaring class
// and lane, granting window bytes of credit, and reads tr's Hello.
func rawClassConn(t *testing.T, tr *Transport, id string, class uint8, lane uint8, window uint32, incarnation uint64) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", tr.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	h := codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1 << 20, Window: window,
		Incarnation: incarnation, Class: class, Lane: lane, NodeID: id}
	if _, err := nc.Write(codec.AppendHello(nil, h)); err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, nc); !f.Control() {
		t.Fatalf("%s: first frame from %s is not its Hello", id, tr.cfg.NodeID)
	}
	return nc
}

// readDataFrame reads frames from nc until a data frame, within d; ok is
// false when none comes.
func readDataFrame(t *testing.T, nc net.Conn, d time.Duration) (payload string, ok bool) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(d))
	var hdr [codec.HeaderSize]byte
	for {
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			return "", false
		}
		body := make([]byte, binary.BigEndian.Uint32(hdr[:])-1)
		if _, err := io.ReadFull(nc, body); err != nil {
			t.Fatalf("read frame body: %v", err)
		}
		if hdr[4]&codec.FlagControl == 0 {
			return string(body), true
		}
	}
}

// TestOrderingControlBeforePeersControlConn: a peer that dialed us (here a
// raw client) has opened its bulk connection but not yet its control one,
// and grants that bulk connection almost no credit. Control messages a
// sends to it meanwhile must not be overtaken by control messages sent
// after the peer's control connection arrives: Control is one ordered
// stream, whoever dialed.
func TestOrderingControlBeforePeersControlConn(t *testing.T) {
	a := startTransport(t, devConfig("a"))
	inc := uint64(time.Now().UnixNano()) | 1
	bulk := rawClassConn(t, a, "r", codec.ClassBulk, 0, 1, inc) // one byte of credit: one frame, then nothing
	waitLanesActive(t, a, "r", 1, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, p := range []string{"c0", "c1"} {
		if err := a.SendWith(ctx, "r", []byte(p), SendOptions{Class: Control}); err != nil {
			t.Fatal(err)
		}
	}
	ctl := rawClassConn(t, a, "r", codec.ClassControl, 0, 1<<20, inc)
	waitLanesActive(t, a, "r", 2, 5*time.Second)
	if err := a.SendWith(ctx, "r", []byte("c2"), SendOptions{Class: Control}); err != nil {
		t.Fatal(err)
	}
	// What reached the peer before it grants the bulk connection more credit.
	var early []string
	for _, nc := range []net.Conn{bulk, ctl} {
		for {
			p, ok := readDataFrame(t, nc, 300*time.Millisecond)
			if !ok {
				break
			}
			early = append(early, p)
		}
	}
	if _, err := bulk.Write(codec.AppendCredit(nil, codec.Credit{Bytes: 1 << 20, Messages: 1})); err != nil {
		t.Fatal(err)
	}
	var late []string
	for _, nc := range []net.Conn{bulk, ctl} {
		for {
			p, ok := readDataFrame(t, nc, 300*time.Millisecond)
			if !ok {
				break
			}
			late = append(late, p)
		}
	}
	t.Logf("before the credit the peer could read %q, after it %q", early, late)
	// c2 may only be readable once c0 and c1 have been: it must not be in
	// early while c1 is in late.
	got := fmt.Sprint(append(append([]string{}, early...), late...))
	if got != fmt.Sprint([]string{"c0", "c1", "c2"}) {
		t.Fatalf("control messages readable in the order %s, want [c0 c1 c2] (before the bulk connection's credit: %q)", got, early)
	}
}
