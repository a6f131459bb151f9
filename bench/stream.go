package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/tlsstate"
)

// The stream scenario sends one stream of StreamSize bytes between two
// node processes of their own, a sender and a receiver, so that each
// one's peak resident memory (VmHWM) can be read on its own: the measure
// of a stream that is flow-controlled end to end is that neither side's
// memory grows with its length.

const streamEnv = "TCBENCH_STREAM_NODE"

// streamSpec configures one stream node (JSON in streamEnv).
type streamSpec struct {
	Role   string `json:"role"`              // "sender" or "receiver"
	PKIDir string `json:"pki_dir,omitempty"` // Strict mTLS from here; empty: Development
	Size   int64  `json:"size"`              // bytes the sender sends
	Addr   string `json:"addr,omitempty"`    // the receiver's address (sender)
}

const (
	streamSenderID   = "source"
	streamReceiverID = "sink"
)

// runStreamNode is a stream node's whole life: it prints "addr ADDR"
// (receiver) or nothing, then "done BYTES CRC NANOS" once the stream has
// been read or sent, and exits when stdin ends.
func runStreamNode(specJSON string, stdin io.Reader, stdout io.Writer) error {
	var spec streamSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return fmt.Errorf("bad %s: %w", streamEnv, err)
	}
	id := streamReceiverID
	if spec.Role == "sender" {
		id = streamSenderID
	}
	cfg := engine.NewConfig(id, "127.0.0.1:0")
	cfg.RateLimit.Enabled = false
	cfg.Logger = quietLogger
	cfg.SecurityMode = engine.Development
	if spec.PKIDir != "" {
		cfg.SecurityMode = engine.Strict
		cfg.TLS = tlsstate.NewSecureConfig(filepath.Join(spec.PKIDir, id+".pem"),
			filepath.Join(spec.PKIDir, id+".key"), filepath.Join(spec.PKIDir, "ca.pem"))
	}
	t, err := engine.New(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := t.Start(ctx); err != nil {
		return err
	}
	defer t.Close()
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	start := time.Now()
	var n int64
	var sum uint64
	if spec.Role == "sender" {
		if err := t.Connect(ctx, engine.PeerConfig{NodeID: streamReceiverID, Address: spec.Addr}); err != nil {
			return err
		}
		start = time.Now()
		body := &countingPattern{left: spec.Size}
		if err := t.SendStream(ctx, streamReceiverID, []byte("bench"), body); err != nil {
			return err
		}
		n, sum = body.off, body.sum
	} else {
		fmt.Fprintf(out, "addr %s\n", t.Addr())
		out.Flush()
		m, err := t.Recv(ctx)
		if err != nil {
			return err
		}
		if m.Stream == nil {
			return errors.New("the first message opens no stream")
		}
		start = time.Now()
		h := crc64.New(crcTable)
		n, err = io.CopyBuffer(h, m.Stream, make([]byte, 64<<10))
		m.Release()
		if err != nil {
			return err
		}
		sum = h.Sum64()
	}
	fmt.Fprintf(out, "done %d %d %d\n", n, sum, time.Since(start).Nanoseconds())
	out.Flush()
	_, _ = io.Copy(io.Discard, stdin)
	return nil
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// countingPattern yields left bytes of a cheap position-dependent pattern
// (every 8 bytes the little-endian offset times a large odd number), and
// checksums them as it goes.
type countingPattern struct {
	left, off int64
	sum       uint64
}

func (p *countingPattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.left)]
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], uint64(p.off+int64(i))*0x9e3779b97f4a7c15)
		copy(b[i:], w[:])
	}
	p.sum = crc64.Update(p.sum, crcTable, b)
	p.off += int64(len(b))
	p.left -= int64(len(b))
	return len(b), nil
}

// streamRun is the outcome of one stream between two node processes.
type streamRun struct {
	bytes                int64
	elapsed              time.Duration
	senderPeak, recvPeak int64
	intact               bool // the receiver's checksum equals the sender's
}

// runStream sends size bytes from a sender process to a receiver process,
// both exe, over mTLS when p is set.
func runStream(exe string, p *pki, size int64) (streamRun, error) {
	var res streamRun
	spec := streamSpec{Role: "receiver", Size: size}
	if p != nil {
		for _, id := range []string{streamSenderID, streamReceiverID} {
			if _, err := p.issue(id); err != nil {
				return res, err
			}
		}
		spec.PKIDir = p.dir
	}
	recv, err := startStreamNode(exe, spec)
	if err != nil {
		return res, err
	}
	defer recv.Stop()
	addr, err := recv.Line("addr ")
	if err != nil {
		return res, fmt.Errorf("receiver: %w", err)
	}
	spec.Role, spec.Addr = "sender", addr
	send, err := startStreamNode(exe, spec)
	if err != nil {
		return res, err
	}
	defer send.Stop()
	sent, err := send.done()
	if err != nil {
		return res, fmt.Errorf("sender: %w", err)
	}
	got, err := recv.done()
	if err != nil {
		return res, fmt.Errorf("receiver: %w", err)
	}
	res.bytes, res.elapsed, res.intact = got[0], time.Duration(got[2]), got[0] == sent[0] && got[1] == sent[1]
	if _, res.senderPeak, err = peakMemory(send.Pid()); err != nil {
		return res, err
	}
	_, res.recvPeak, err = peakMemory(recv.Pid())
	return res, err
}

// streamNode is a running stream node.
type streamNode struct{ *child }

func startStreamNode(exe string, spec streamSpec) (*streamNode, error) {
	js, _ := json.Marshal(spec)
	ch, err := startChild(exe, streamEnv+"="+string(js), os.Stderr)
	if err != nil {
		return nil, err
	}
	return &streamNode{child: ch}, nil
}

// done reads the node's "done BYTES CRC NANOS" line.
func (n *streamNode) done() ([3]int64, error) {
	var v [3]int64
	line, err := n.Line("done ")
	if err != nil {
		return v, err
	}
	f := strings.Fields(line)
	if len(f) != 3 {
		return v, fmt.Errorf("bad done line %q", line)
	}
	for i := range f {
		u, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return v, fmt.Errorf("bad done line %q", line)
		}
		v[i] = int64(u)
	}
	return v, nil
}

// stream is the scenario: one stream of o.StreamSize bytes.
func stream(o Options, p *pki) (Result, error) {
	r := Result{Scenario: ScenarioStream, Case: sizeName(int(min(o.StreamSize, 1<<40))), Impl: engineImpl.name}
	exe, err := os.Executable()
	if err != nil {
		return r, err
	}
	run, err := runStream(exe, p, o.StreamSize)
	if err != nil {
		return r, err
	}
	if !run.intact || run.bytes != o.StreamSize {
		return r, fmt.Errorf("the receiver read %d of %d bytes, checksum equal: %v", run.bytes, o.StreamSize, run.intact)
	}
	r.Messages, r.Elapsed = 1, run.elapsed
	r.BytesPerSec = float64(run.bytes) / run.elapsed.Seconds()
	r.PeakRSSBytes, r.SenderPeakRSSBytes = run.recvPeak, run.senderPeak
	return r, nil
}

// peakMemory reads a process's resident set now and at its peak.
func peakMemory(pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	if peak == 0 {
		return 0, 0, errors.New("no VmHWM in /proc status")
	}
	return rss, peak, nil
}
