package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/tensorchain/transport/codec"
)

// The scale scenario's senders live in a child process of their own (this
// executable re-run with loadEnv set), like the conns scenario's holders,
// so the receiving node's process does the receiving only: its CPU time
// per message and per byte is then the node's cost. Each sender is one
// raw connection that speaks the protocol (hello, data frames, the
// receiver's credit) with no transport behind it.

const loadEnv = "TCBENCH_LOAD"

// loadSpec configures the load generator (JSON in loadEnv).
type loadSpec struct {
	Addr    string `json:"addr"`
	Server  string `json:"server"`            // the receiver's node id (TLS server name)
	PKIDir  string `json:"pki_dir,omitempty"` // mTLS with certificates holderIDPattern from here
	Senders int    `json:"senders"`
	Size    int    `json:"size"`
	// Window is the credit the receiver grants each connection at the
	// start (its ReceiveWindow); 0 means it does not do flow control (the
	// baseline), so the senders write as fast as the socket takes.
	Window int64 `json:"window"`
}

// loadBatchBytes is about how much one write carries: many small frames
// per system call, as a transport's sender would batch them.
const loadBatchBytes = 64 << 10

// runLoad opens the senders' connections, prints "ready", streams frames
// on all of them until stdin ends, then closes them.
func runLoad(specJSON string, stdin io.Reader, stdout io.Writer) error {
	var spec loadSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return fmt.Errorf("bad %s: %w", loadEnv, err)
	}
	raiseFDLimit()
	conns := make([]net.Conn, spec.Senders)
	for i := range conns {
		c, err := holdOne(spec.Addr, spec.Server, spec.PKIDir, fmt.Sprintf(holderIDPattern, i))
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return fmt.Errorf("sender %d: %w", i, err)
		}
		conns[i] = c
	}
	frame := codec.AppendFrame(nil, 0, payloadFor(spec.Size, false))
	per := max(1, loadBatchBytes/len(frame))
	batch := make([]byte, 0, per*len(frame))
	for range per {
		batch = append(batch, frame...)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		s := &loadSender{c: c, frame: len(frame), cost: int64(codec.CreditCost(frame)), batch: batch, window: spec.Window > 0,
			wake: make(chan struct{}, 1)}
		s.credit.Store(spec.Window)
		wg.Add(2)
		go func() { defer wg.Done(); s.write() }()
		go func() { defer wg.Done(); s.read() }()
	}
	fmt.Fprintln(stdout, "ready")
	_, _ = io.Copy(io.Discard, stdin)
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	return nil
}

// loadSender is one sending connection.
type loadSender struct {
	c      net.Conn
	frame  int   // bytes per frame
	cost   int64 // credit per frame
	batch  []byte
	window bool // the receiver does flow control: write only within credit
	credit atomic.Int64
	wake   chan struct{} // credit arrived
}

// write sends batches of frames, within the receiver's credit, until the
// connection closes.
func (s *loadSender) write() {
	for {
		n := len(s.batch) / s.frame
		if s.window {
			avail := s.credit.Load()
			if avail <= 0 {
				if _, ok := <-s.wake; !ok {
					return
				}
				continue
			}
			n = int(min(int64(n), (avail+s.cost-1)/s.cost)) // a sender may go negative by one frame
			s.credit.Add(-int64(n) * s.cost)
		}
		if _, err := s.c.Write(s.batch[:n*s.frame]); err != nil {
			return
		}
	}
}

// read takes the receiver's frames, adding its credit, until the
// connection closes.
func (s *loadSender) read() {
	defer close(s.wake)
	r := bufio.NewReaderSize(s.c, 4<<10)
	var hdr [codec.HeaderSize]byte
	for {
		flags, p, err := readFrame(r, &hdr)
		if err != nil {
			return
		}
		if flags != codec.FlagControl {
			continue
		}
		if m, err := codec.DecodeControl(p); err == nil && m.Type == codec.TypeCredit {
			s.credit.Add(int64(m.Credit.Bytes))
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}
