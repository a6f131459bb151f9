package bench

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/tensorchain/transport/codec"
)

// The attacks of the hostile scenario, one per class of issue #14: each
// opens its connections from its own loopback addresses (127.1.x.y, as
// attackers elsewhere on a network would: the per-address limit is a
// separate attack), runs until its context ends, bounded in count, and
// closes everything it opened when it returns.

// attackIDs is how many attacker identities (certificates, node ids)
// there are: attackers cycle through them.
const attackIDs = 64

// attackTarget is what an attacker needs to reach the node.
type attackTarget struct {
	addr       string
	tls        []*tls.Config // per attacker id (Strict); nil in Development
	hello      []byte        // a ClientHello (Strict) or a hello (Development), for the handshake attacks
	maxMessage int
}

// attack is one class of hostile behaviour.
type attack struct {
	name string
	// broadcast makes the node broadcast this many bytes every 50 ms
	// during the attack (stuck peers only matter to a sender).
	broadcast int
	run       func(ctx context.Context, at *attackTarget) error
	// defence names the Stats counters (as defences prints them; "|"
	// between alternatives) one of which must show the node fought this
	// attack, in modes where that is certain.
	defence   string
	plainOnly bool // defence is certain in Development mode only
}

// attacks lists the attack classes in the order they run.
var attacks = []attack{
	{name: "partial-frames", run: partialFrames, defence: "memory_cuts"},
	{name: "decompression-bombs", run: decompressionBombs, defence: "memory_stalls"},
	{name: "credit-ignoring", run: creditIgnoring}, // cut for overrunning credit only when delivery lags (protocol_errors)
	{name: "big-within-credit", run: bigWithinCredit},
	{name: "tiny-frame-flood", run: tinyFrameFlood},
	{name: "stuck-readers", broadcast: 1 << 20, run: stuckReaders},
	{name: "connect-storm", run: connectStorm},
	{name: "slowloris", run: slowloris, defence: "idle_timeouts|evicted"},
	{name: "silent-connections", run: silentConnections, defence: "idle_timeouts|evicted"},
	{name: "stalled-handshakes", run: stalledHandshakes, defence: "idle_timeouts|evicted", plainOnly: true},
	{name: "one-identity-1500", run: oneIdentityMany, defence: "refused:max_connections_per_peer"},
}

// attackerID names attacker i.
func attackerID(i int) string { return fmt.Sprintf("atk-%d", i%attackIDs) }

// dialTCP connects attacker i from its own loopback address.
func (at *attackTarget) dialTCP(ctx context.Context, i int) (net.Conn, error) {
	src := &net.TCPAddr{IP: net.IPv4(127, 1, byte(i/250), byte(i%250+1))}
	d := net.Dialer{LocalAddr: src, Timeout: 5 * time.Second}
	return d.DialContext(ctx, "tcp", at.addr)
}

// dial connects attacker i and completes TLS (Strict) and the hello
// exchange as a well-behaved peer would, with the given capabilities and
// receive window. It returns the connection and the node's hello.
func (at *attackTarget) dial(ctx context.Context, i int, caps uint16, window uint32) (net.Conn, codec.Hello, error) {
	nc, err := at.dialTCP(ctx, i)
	if err != nil {
		return nil, codec.Hello{}, err
	}
	if at.tls != nil {
		tc := tls.Client(nc, at.tls[i%attackIDs])
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, codec.Hello{}, err
		}
		nc = tc
	}
	// One incarnation per identity, as one process holding a certificate
	// has: its connections are one peer's (and meet the per-peer limit).
	h := codec.Hello{Version: codec.ProtocolVersion, Caps: caps, MaxMessage: 16 << 20, Window: window,
		Incarnation: uint64(i%attackIDs) + 1, NodeID: attackerID(i)}
	if _, err := nc.Write(codec.AppendHello(nil, h)); err != nil {
		nc.Close()
		return nil, codec.Hello{}, err
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := readRawFrame(nc)
	if err == nil {
		h, err = codec.DecodeHello(f.Payload)
	}
	_ = nc.SetReadDeadline(time.Time{})
	if err != nil {
		nc.Close()
		return nil, codec.Hello{}, err
	}
	return nc, h, nil
}

// readRawFrame reads one frame (header and payload) from r.
func readRawFrame(r io.Reader) (codec.Frame, error) {
	var hdr [codec.HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return codec.Frame{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n == 0 || n > 17<<20 {
		return codec.Frame{}, fmt.Errorf("frame length %d", n)
	}
	body := make([]byte, n-1)
	_, err := io.ReadFull(r, body)
	return codec.Frame{Flags: hdr[4], Payload: body}, err
}

// swarm runs n attackers at once, each with its index, and closes the
// connections they return once ctx ends.
func swarm(ctx context.Context, n int, one func(ctx context.Context, i int) net.Conn) error {
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // dial at most 64 at a time
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if c := one(ctx, i); c != nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
	}
	<-ctx.Done()
	wg.Wait() // attackers still dialing when ctx ended return their connection too
	for _, c := range conns {
		c.Close()
	}
	return nil
}

// partialFrames: 64 authenticated peers each send all but the last byte
// of a frame of the largest size.
func partialFrames(ctx context.Context, at *attackTarget) error {
	chunk := make([]byte, 1<<20)
	return swarm(ctx, 64, func(ctx context.Context, i int) net.Conn {
		nc, _, err := at.dial(ctx, i, 0, 1<<20)
		if err != nil {
			return nil
		}
		go func() {
			var hdr [codec.HeaderSize]byte
			codec.PutHeader(hdr[:], 0, at.maxMessage)
			if _, err := nc.Write(hdr[:]); err != nil {
				return
			}
			for left := at.maxMessage - 1; left > 0 && ctx.Err() == nil; left -= len(chunk) {
				if _, err := nc.Write(chunk[:min(left, len(chunk))]); err != nil {
					return // cut by the node
				}
			}
		}()
		return nc
	})
}

// decompressionBombs: 96 peers each send one 64 KiB LZ4 frame that
// decompresses to the largest message: 1.5 GiB asked of a 64 MiB budget.
// Not more peers: each well-behaved connection is owed ConnMemoryReserve,
// and 256 of them took all the budget's room for reserves, so the node
// rightly refused the fresh legitimate connection (memory_budget) that
// this attack is not about; connect-storm measures connection floods.
func decompressionBombs(ctx context.Context, at *attackTarget) error {
	var zc codec.Compressor
	bomb, _ := zc.AppendCompressed(nil, make([]byte, at.maxMessage))
	frame := codec.AppendFrame(nil, codec.FlagCompressed, bomb)
	return swarm(ctx, 96, func(ctx context.Context, i int) net.Conn {
		nc, _, err := at.dial(ctx, i, codec.CapLZ4, 1<<20)
		if err != nil {
			return nil
		}
		_, _ = nc.Write(frame)
		return nc
	})
}

// creditIgnoring: 4 peers write 1 MiB frames as fast as they can,
// whatever credit they hold; each reconnects when it is cut, 20 times at
// most.
func creditIgnoring(ctx context.Context, at *attackTarget) error {
	frame := codec.AppendFrame(nil, 0, make([]byte, 1<<20))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for try := 0; try < 20 && ctx.Err() == nil; try++ {
				nc, _, err := at.dial(ctx, w*20+try, 0, 1<<20)
				if err != nil {
					continue
				}
				stop := context.AfterFunc(ctx, func() { nc.Close() })
				for ctx.Err() == nil {
					if _, err := nc.Write(frame); err != nil {
						break
					}
				}
				stop()
				nc.Close()
			}
		}()
	}
	wg.Wait()
	return nil
}

// creditSender writes frame over and over, never beyond the credit the
// node granted (its hello's window plus the Credit frames it sends).
func creditSender(ctx context.Context, nc net.Conn, window uint32, frame []byte) {
	credit := make(chan int64, 64)
	go func() { // read the node's Credit frames
		for {
			f, err := readRawFrame(nc)
			if err != nil {
				close(credit)
				return
			}
			if m, err := codec.DecodeControl(f.Payload); err == nil && m.Type == codec.TypeCredit {
				credit <- int64(m.Credit.Bytes)
			}
		}
	}()
	have := int64(window)
	cost := int64(codec.CreditCost(frame))
	for ctx.Err() == nil {
		for have <= 0 {
			select {
			case c, ok := <-credit:
				if !ok {
					return
				}
				have += c
			case <-ctx.Done():
				return
			}
		}
		if _, err := nc.Write(frame); err != nil {
			return
		}
		have -= cost
	}
}

// bigWithinCredit: 16 peers send messages of the largest size, as fast as
// their credit allows.
func bigWithinCredit(ctx context.Context, at *attackTarget) error {
	frame := codec.AppendFrame(nil, 0, make([]byte, at.maxMessage))
	return swarm(ctx, 16, func(ctx context.Context, i int) net.Conn {
		nc, h, err := at.dial(ctx, i, 0, 1<<20)
		if err != nil {
			return nil
		}
		go creditSender(ctx, nc, h.Window, frame)
		return nc
	})
}

// tinyFrameFlood: 8 peers send batches of 4096 empty frames as fast as
// their credit allows: the most frames per byte.
func tinyFrameFlood(ctx context.Context, at *attackTarget) error {
	var batch []byte
	for range 4096 {
		batch = codec.AppendFrame(batch, 0, nil)
	}
	return swarm(ctx, 8, func(ctx context.Context, i int) net.Conn {
		nc, h, err := at.dial(ctx, i, 0, 1<<20)
		if err != nil {
			return nil
		}
		go creditSender(ctx, nc, h.Window, batch)
		return nc
	})
}

// stuckReaders: 4 peers grant one byte of credit and never read their
// socket, while the node broadcasts 1 MiB messages.
func stuckReaders(ctx context.Context, at *attackTarget) error {
	return swarm(ctx, 4, func(ctx context.Context, i int) net.Conn {
		nc, _, err := at.dial(ctx, i, 0, 1)
		if err != nil {
			return nil
		}
		return nc
	})
}

// connectStorm: 8 workers connect, say hello and hang up, over and over
// (2000 times each at most).
func connectStorm(ctx context.Context, at *attackTarget) error {
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 2000 && ctx.Err() == nil; n++ {
				if nc, _, err := at.dial(ctx, w*attackIDs/8+n%(attackIDs/8), 0, 1<<20); err == nil {
					nc.Close()
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

// slowloris: 500 connections send their first message (hello or
// ClientHello) one byte every 300 ms.
func slowloris(ctx context.Context, at *attackTarget) error {
	return swarm(ctx, 500, func(ctx context.Context, i int) net.Conn {
		nc, err := at.dialTCP(ctx, i)
		if err != nil {
			return nil
		}
		go func() {
			for _, b := range at.hello {
				if _, err := nc.Write([]byte{b}); err != nil {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(300 * time.Millisecond):
				}
			}
		}()
		return nc
	})
}

// silentConnections: 2500 connections that send nothing.
func silentConnections(ctx context.Context, at *attackTarget) error {
	return swarm(ctx, 2500, func(ctx context.Context, i int) net.Conn {
		nc, err := at.dialTCP(ctx, i)
		if err != nil {
			return nil
		}
		return nc
	})
}

// stalledHandshakes: 1000 connections send a complete first message (a
// ClientHello in Strict mode, which the node answers; the first half of a
// hello in Development) and then nothing.
func stalledHandshakes(ctx context.Context, at *attackTarget) error {
	first := at.hello
	if at.tls == nil {
		first = first[:len(first)/2]
	}
	return swarm(ctx, 1000, func(ctx context.Context, i int) net.Conn {
		nc, err := at.dialTCP(ctx, i)
		if err != nil {
			return nil
		}
		_, _ = nc.Write(first)
		return nc
	})
}

// oneIdentityMany: 1500 connections with one identity (one certificate in
// Strict mode), each completing its handshake and then idle.
func oneIdentityMany(ctx context.Context, at *attackTarget) error {
	return swarm(ctx, 1500, func(ctx context.Context, i int) net.Conn {
		nc, _, err := at.dial(ctx, i*attackIDs, 0, 1<<20) // i*attackIDs: always attacker id 0, from address i
		if err != nil {
			return nil
		}
		return nc
	})
}

// attackNames lists the attack classes, comma-separated.
func attackNames() string {
	names := make([]string, len(attacks))
	for i, a := range attacks {
		names[i] = a.name
	}
	return strings.Join(names, ",")
}
