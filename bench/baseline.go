package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tensorchain/transport/codec"
)

// The baseline is the transport written the ordinary Go way: per
// connection a reader and a writer goroutine over net.Conn (or
// crypto/tls), 64 KiB bufio on both sides, a bounded channel per peer for
// outbound frames and one for inbound messages (or, with -deliver handler,
// the callback called by the reading goroutine itself). It speaks the same frames
// and the same hello as the engine, so the comparison is of architecture.
const (
	baselineQueue   = 1000     // per-peer outbound queue, like MaxPendingMessages
	baselineInbox   = 1000     // inbound queue, like RecvBufferSize
	baselineMaxMsg  = 16 << 20 // like MaxMessageSize
	baselineMinComp = 256      // like Compression.MinSize
	baselineBufSize = 64 << 10 // bufio on each side: a sane size for a transport, not bufio's 4 KiB default
)

// baselineNode is a node of the baseline transport.
type baselineNode struct {
	id      string
	lz4     bool
	tlsConf *tls.Config // nil for plaintext
	ln      net.Listener
	inbox   chan inboundMsg
	batches chan []inboundMsg // instead of inbox when batch > 1
	batch   int
	deliver func(string, []byte)
	inline  bool      // deliver on the reading goroutine (-deliver handler), not through inbox
	comps   sync.Pool // *codec.Compressor

	payloadOut, wireOut atomic.Uint64

	mu    sync.Mutex
	peers map[string]chan []byte
	conns map[net.Conn]struct{}
	done  chan struct{}
	wg    sync.WaitGroup
}

type inboundMsg struct {
	from    string
	payload []byte
}

func startBaselineNode(s nodeSpec) (node, error) {
	n := &baselineNode{
		id: s.id, lz4: s.opts.LZ4, deliver: s.deliver, inline: s.opts.Deliver == "handler",
		inbox: make(chan inboundMsg, baselineInbox), batch: s.batch,
		batches: make(chan []inboundMsg, max(baselineInbox/max(s.batch, 1), 1)), // about as many messages as inbox
		peers:   map[string]chan []byte{}, conns: map[net.Conn]struct{}{}, done: make(chan struct{}),
	}
	n.comps.New = func() any { return new(codec.Compressor) }
	if s.pki != nil {
		var err error
		if n.tlsConf, err = s.pki.baselineTLS(s.id); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n.ln = ln
	n.wg.Add(1)
	go n.acceptLoop()
	if !s.pull || n.inline {
		n.wg.Add(1)
		go n.consume()
	}
	return n, nil
}

func (n *baselineNode) addr() string { return n.ln.Addr().String() }

func (n *baselineNode) acceptLoop() {
	defer n.wg.Done()
	for {
		c, err := n.ln.Accept()
		if err != nil {
			return
		}
		n.wg.Add(1)
		go n.serve(c)
	}
}

// serve runs an accepted connection: TLS and hello, then it becomes the
// connection's reader goroutine.
func (n *baselineNode) serve(c net.Conn) {
	defer n.wg.Done()
	if n.tlsConf != nil {
		c = tls.Server(c, n.tlsConf)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReaderSize(c, baselineBufSize)
	peer, err := readHello(r)
	if err == nil {
		_, err = c.Write(n.hello())
	}
	_ = c.SetDeadline(time.Time{})
	if err != nil || !n.track(c) {
		_ = c.Close()
		return
	}
	n.startWriter(c, peer)
	n.readLoop(c, r, peer)
}

func (n *baselineNode) connect(ctx context.Context, id, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if n.tlsConf != nil {
		cfg := n.tlsConf.Clone()
		cfg.ServerName = id // the server's certificate must name the peer
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return err
		}
		c = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	r := bufio.NewReaderSize(c, baselineBufSize)
	_, err = c.Write(n.hello())
	if err == nil {
		_, err = readHello(r)
	}
	_ = c.SetDeadline(time.Time{})
	if err != nil || !n.track(c) {
		_ = c.Close()
		return fmt.Errorf("hello with %s: %v", id, err)
	}
	n.startWriter(c, id)
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.readLoop(c, r, id) }()
	return nil
}

func (n *baselineNode) hello() []byte {
	h := codec.Hello{Version: codec.ProtocolVersion, MaxMessage: baselineMaxMsg, Window: 1 << 30, NodeID: n.id}
	if n.lz4 {
		h.Caps = codec.CapLZ4
	}
	return codec.AppendHello(nil, h)
}

func readHello(r *bufio.Reader) (string, error) {
	var hdr [codec.HeaderSize]byte
	flags, p, err := readFrame(r, &hdr)
	if err != nil {
		return "", err
	}
	if flags != codec.FlagControl {
		return "", errors.New("expected a hello")
	}
	h, err := codec.DecodeHello(p)
	return h.NodeID, err
}

// track registers a live connection; false once the node is closing.
func (n *baselineNode) track(c net.Conn) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	select {
	case <-n.done:
		return false
	default:
	}
	n.conns[c] = struct{}{}
	return true
}

// startWriter gives the connection its writer goroutine and its queue,
// which becomes the peer's queue unless the peer already has one.
func (n *baselineNode) startWriter(c net.Conn, peer string) {
	q := make(chan []byte, baselineQueue)
	n.mu.Lock()
	if _, ok := n.peers[peer]; !ok {
		n.peers[peer] = q
	}
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		w := bufio.NewWriterSize(c, baselineBufSize)
		for {
			select {
			case f := <-q:
				if _, err := w.Write(f); err != nil {
					return
				}
				if len(q) == 0 { // flush when the queue runs dry
					if w.Flush() != nil {
						return
					}
				}
			case <-n.done:
				return
			}
		}
	}()
}

// readLoop reads frames into the inbox until the connection ends.
func (n *baselineNode) readLoop(c net.Conn, r *bufio.Reader, peer string) {
	defer c.Close()
	var hdr [codec.HeaderSize]byte
	for {
		p, err := readMessage(r, &hdr)
		if err != nil {
			return
		}
		if n.inline { // the engine's handler mode has its counterpart: no channel hop
			if n.deliver != nil {
				n.deliver(peer, p)
			}
			continue
		}
		if n.batch > 1 {
			if !n.readBatch(r, &hdr, peer, inboundMsg{from: peer, payload: p}) {
				return
			}
			continue
		}
		select {
		case n.inbox <- inboundMsg{from: peer, payload: p}:
		case <-n.done:
			return
		}
	}
}

// readBatch is the reader's batched hand-over (Options.Batch): first and
// the frames already whole in r's buffer, up to batch, go to the consumer
// as one item. It reports false when the connection or the node ends.
func (n *baselineNode) readBatch(r *bufio.Reader, hdr *[codec.HeaderSize]byte, peer string, first inboundMsg) bool {
	batch := append(make([]inboundMsg, 0, n.batch), first)
	for len(batch) < n.batch && bufferedFrame(r) {
		p, err := readMessage(r, hdr)
		if err != nil {
			return false
		}
		batch = append(batch, inboundMsg{from: peer, payload: p})
	}
	select {
	case n.batches <- batch:
		return true
	case <-n.done:
		return false
	}
}

// bufferedFrame reports whether r holds a whole frame: reading it will
// not block.
func bufferedFrame(r *bufio.Reader) bool {
	b, err := r.Peek(min(r.Buffered(), codec.HeaderSize))
	if err != nil || len(b) < codec.HeaderSize {
		return false
	}
	return r.Buffered() >= 4+int(binary.BigEndian.Uint32(b[:4])) // the length counts the flags byte
}

func (n *baselineNode) recv(ctx context.Context) error {
	select {
	case <-n.inbox:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return net.ErrClosed
	}
}

func (n *baselineNode) consume() {
	defer n.wg.Done()
	for {
		select {
		case m := <-n.inbox:
			if n.deliver != nil {
				n.deliver(m.from, m.payload)
			}
		case ms := <-n.batches:
			for _, m := range ms {
				if n.deliver != nil {
					n.deliver(m.from, m.payload)
				}
			}
		case <-n.done:
			return
		}
	}
}

// frame encodes a payload into a new frame, compressed when it pays.
func (n *baselineNode) frame(p []byte) []byte {
	if n.compresses(p) {
		c := n.comps.Get().(*codec.Compressor)
		defer n.comps.Put(c)
		f := make([]byte, codec.HeaderSize, codec.HeaderSize+codec.CompressedBound(len(p)))
		if f, ok := c.AppendCompressed(f, p); ok {
			codec.PutHeader(f, codec.FlagCompressed, len(f)-codec.HeaderSize)
			return f
		}
	}
	return codec.AppendFrame(make([]byte, 0, codec.FrameLen(len(p))), 0, p)
}

// compresses reports whether a payload is sent LZ4-compressed when that
// pays (frame decides).
func (n *baselineNode) compresses(p []byte) bool { return n.lz4 && len(p) >= baselineMinComp }

// count books a frame queued for sending.
func (n *baselineNode) count(payload int, frame []byte) []byte {
	n.payloadOut.Add(uint64(payload))
	n.wireOut.Add(uint64(len(frame)))
	return frame
}

func (n *baselineNode) bytesQueued() (uint64, uint64) {
	return n.payloadOut.Load(), n.wireOut.Load()
}

func (n *baselineNode) queue(to string) (chan []byte, error) {
	n.mu.Lock()
	q, ok := n.peers[to]
	n.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("baseline: unknown peer %q", to)
	}
	return q, nil
}

func (n *baselineNode) send(ctx context.Context, to string, p []byte) error {
	q, err := n.queue(to)
	if err != nil {
		return err
	}
	select {
	case q <- n.count(len(p), n.frame(p)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sendBatch queues the payloads' frames with as few channel items as
// bufio would flush: frames packed side by side up to baselineBufSize per
// item (one allocation each), a larger frame as an item of its own.
func (n *baselineNode) sendBatch(ctx context.Context, to string, payloads [][]byte) error {
	q, err := n.queue(to)
	if err != nil {
		return err
	}
	var pack []byte
	put := func(item []byte) error {
		select {
		case q <- item:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, p := range payloads {
		var f []byte // the frame, when encoding it needs a buffer of its own (LZ4)
		size := codec.FrameLen(len(p))
		if n.compresses(p) {
			f = n.frame(p)
			size = len(f)
		}
		if len(pack) > 0 && len(pack)+size > baselineBufSize {
			if err := put(pack); err != nil {
				return err
			}
			pack = nil
		}
		if size > baselineBufSize { // alone, as send queues it
			if f == nil {
				f = n.frame(p)
			}
			if err := put(n.count(len(p), f)); err != nil {
				return err
			}
			continue
		}
		if pack == nil {
			pack = make([]byte, 0, baselineBufSize)
		}
		if f != nil {
			pack = append(pack, f...)
		} else {
			pack = codec.AppendFrame(pack, 0, p)
		}
		n.count(len(p), pack[len(pack)-size:])
	}
	if len(pack) == 0 {
		return nil
	}
	return put(pack)
}

func (n *baselineNode) trySend(to string, p []byte) error {
	q, err := n.queue(to)
	if err != nil {
		return err
	}
	select {
	case q <- n.count(len(p), n.frame(p)):
		return nil
	default:
		return errQueueFull
	}
}

// sendControl is send: like hashicorp/raft without its heartbeat
// connection, the baseline has one connection per peer pair, and a
// heartbeat waits in the same queue and socket as the bulk data before it.
func (n *baselineNode) sendControl(ctx context.Context, to string, p []byte) error {
	return n.send(ctx, to, p)
}

// trySendControl is trySend, for the same reason.
func (n *baselineNode) trySendControl(to string, p []byte) error { return n.trySend(to, p) }

func (n *baselineNode) connCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.conns)
}

func (n *baselineNode) close() {
	n.mu.Lock()
	close(n.done)
	for c := range n.conns {
		_ = c.Close()
	}
	n.mu.Unlock()
	_ = n.ln.Close()
	n.wg.Wait()
}

// readMessage reads one data frame and returns its payload, decompressed.
func readMessage(r *bufio.Reader, hdr *[codec.HeaderSize]byte) ([]byte, error) {
	flags, p, err := readFrame(r, hdr)
	if err != nil || flags&codec.FlagCompressed == 0 {
		return p, err
	}
	return decompress(p)
}

// readFrame reads one frame into a new payload buffer.
func readFrame(r *bufio.Reader, hdr *[codec.HeaderSize]byte) (byte, []byte, error) {
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 1 || n-1 > baselineMaxMsg+1024 {
		return 0, nil, fmt.Errorf("frame length %d out of range", n)
	}
	p := make([]byte, n-1)
	_, err := io.ReadFull(r, p)
	return hdr[4], p, err
}

func decompress(p []byte) ([]byte, error) {
	size, err := codec.DecompressedLen(p, baselineMaxMsg)
	if err != nil {
		return nil, err
	}
	out := make([]byte, size)
	return out, codec.Decompress(out, p)
}
