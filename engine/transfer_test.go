package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"
)

// The exchange tests send a deterministic stream from every node to every
// other: sizes cycle 0 B, 1 B, 64 B; every 1000th message is 64 KiB and two
// messages are 16 MiB (MaxMessageSize). Messages of 8 bytes or more start
// with their sequence number, and every byte after it is derived from it, so
// the receiver checks content and per-connection order.

const bigMsg = 16 << 20

func streamSize(seq, n int) int {
	switch {
	case seq == n/3 || seq == 2*n/3:
		return bigMsg
	case seq%1000 == 999:
		return 64 << 10
	}
	return [...]int{0, 1, 64}[seq%3]
}

func fillPayload(buf []byte, seq int) {
	if len(buf) < 8 {
		for i := range buf {
			buf[i] = 0xA5
		}
		return
	}
	binary.BigEndian.PutUint64(buf, uint64(seq))
	for i := 8; i < len(buf); i++ {
		buf[i] = byte(seq + i)
	}
}

// checkPayload verifies a payload's bytes and returns its sequence number
// (-1 for a payload too short to carry one).
func checkPayload(p []byte) (int, error) {
	if len(p) < 8 {
		for _, b := range p {
			if b != 0xA5 {
				return -1, fmt.Errorf("short payload byte %#x", b)
			}
		}
		return -1, nil
	}
	seq := int(binary.BigEndian.Uint64(p))
	for i := 8; i < len(p); i++ {
		if p[i] != byte(seq+i) {
			return seq, fmt.Errorf("seq %d byte %d = %#x, want %#x", seq, i, p[i], byte(seq+i))
		}
	}
	return seq, nil
}

// sendStream sends n messages from tr to peer.
func sendStream(ctx context.Context, tr *Transport, to string, n int) error {
	buf := make([]byte, bigMsg)
	for seq := range n {
		p := buf[:streamSize(seq, n)]
		fillPayload(p, seq)
		if err := tr.Send(ctx, to, p); err != nil {
			return fmt.Errorf("send seq %d to %s: %w", seq, to, err)
		}
	}
	return nil
}

// streamCheck collects one node's received streams.
type streamCheck struct {
	n       int
	count   map[string]int            // messages per sender
	sizes   map[string]map[int]int    // per sender: size -> count
	lastSeq map[string]map[uint64]int // per sender and connection: last seq seen
	seenSeq map[string]map[int]bool   // per sender: seqs seen (8+ byte messages)
	errs    []error
}

func newStreamCheck(n int) *streamCheck {
	return &streamCheck{n: n, count: map[string]int{}, sizes: map[string]map[int]int{},
		lastSeq: map[string]map[uint64]int{}, seenSeq: map[string]map[int]bool{}}
}

func (s *streamCheck) add(m Message) {
	from := m.From
	if s.sizes[from] == nil {
		s.sizes[from], s.lastSeq[from], s.seenSeq[from] = map[int]int{}, map[uint64]int{}, map[int]bool{}
	}
	s.count[from]++
	s.sizes[from][len(m.Payload)]++
	seq, err := checkPayload(m.Payload)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("from %s: %w", from, err))
		return
	}
	if seq < 0 {
		return
	}
	if want := streamSize(seq, s.n); want != len(m.Payload) {
		s.errs = append(s.errs, fmt.Errorf("from %s seq %d: %d bytes, want %d", from, seq, len(m.Payload), want))
	}
	if last, ok := s.lastSeq[from][m.ConnID]; ok && seq <= last {
		s.errs = append(s.errs, fmt.Errorf("from %s conn %d: seq %d after %d: order broken", from, m.ConnID, seq, last))
	}
	s.lastSeq[from][m.ConnID] = seq
	if s.seenSeq[from][seq] {
		s.errs = append(s.errs, fmt.Errorf("from %s: seq %d delivered twice", from, seq))
	}
	s.seenSeq[from][seq] = true
}

// verify checks that every sender's full stream arrived exactly once.
func (s *streamCheck) verify(t *testing.T, node string, senders []string) {
	t.Helper()
	for _, err := range s.errs[:min(len(s.errs), 10)] {
		t.Errorf("%s: %v", node, err)
	}
	for _, from := range senders {
		want := map[int]int{}
		long := 0
		for seq := range s.n {
			sz := streamSize(seq, s.n)
			want[sz]++
			if sz >= 8 {
				long++
			}
		}
		if s.count[from] != s.n {
			t.Errorf("%s got %d messages from %s, want %d", node, s.count[from], from, s.n)
		}
		for sz, c := range want {
			if s.sizes[from][sz] != c {
				t.Errorf("%s got %d messages of %d bytes from %s, want %d", node, s.sizes[from][sz], sz, from, c)
			}
		}
		if len(s.seenSeq[from]) != long {
			t.Errorf("%s saw %d distinct sequenced messages from %s, want %d", node, len(s.seenSeq[from]), from, long)
		}
	}
}

// runExchange connects every pair of nodes and streams n messages each way.
func runExchange(t *testing.T, nodes int, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	trs := make([]*Transport, nodes)
	ids := make([]string, nodes)
	for i := range trs {
		ids[i] = fmt.Sprintf("n%d", i)
		trs[i] = startTransport(t, devConfig(ids[i]))
	}
	for i := range trs {
		for j := range trs {
			if i != j {
				connect(t, trs[i], trs[j])
			}
		}
	}
	var wg sync.WaitGroup
	checks := make([]*streamCheck, nodes)
	recvErr := make([]error, nodes)
	for i, tr := range trs {
		checks[i] = newStreamCheck(n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n * (nodes - 1) {
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
	sendErr := make(chan error, nodes*nodes)
	for i, tr := range trs {
		for j := range trs {
			if i != j {
				wg.Add(1)
				go func() { defer wg.Done(); sendErr <- sendStream(ctx, tr, ids[j], n) }()
			}
		}
	}
	wg.Wait()
	close(sendErr)
	for err := range sendErr {
		if err != nil {
			t.Error(err)
		}
	}
	for i := range trs {
		if recvErr[i] != nil {
			t.Fatalf("%s: recv: %v", ids[i], recvErr[i])
		}
		var senders []string
		for j := range ids {
			if j != i {
				senders = append(senders, ids[j])
			}
		}
		checks[i].verify(t, ids[i], senders)
		waitCounted(t, func() uint64 { return trs[i].Stats().MessagesSent }, uint64(n*(nodes-1)))
		waitCounted(t, func() uint64 { return trs[i].Stats().MessagesReceived }, uint64(n*(nodes-1)))
		st := trs[i].Stats()
		if st.MessagesReceived != uint64(n*(nodes-1)) || st.MessagesSent != uint64(n*(nodes-1)) {
			t.Errorf("%s stats: sent %d received %d, want %d each", ids[i], st.MessagesSent, st.MessagesReceived, n*(nodes-1))
		}
		if st.ProtocolErrors+st.MessagesDropped+st.MessagesUnconfirmed != 0 {
			t.Errorf("%s stats report errors: %+v", ids[i], st)
		}
	}
}

func TestExchangeTwoNodes(t *testing.T)   { runExchange(t, 2, 100_000) }
func TestExchangeThreeNodes(t *testing.T) { runExchange(t, 3, 100_000) }

func TestPayloadBytesIntact(t *testing.T) {
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	for _, size := range []int{0, 1, 64, 64 << 10, bigMsg} {
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(i*7 + size)
		}
		if err := a.Send(context.Background(), "b", p); err != nil {
			t.Fatalf("send %d bytes: %v", size, err)
		}
		m := recvTimeout(t, b, 20*time.Second)
		if !bytes.Equal(m.Payload, p) {
			t.Fatalf("%d-byte payload corrupted (got %d bytes)", size, len(m.Payload))
		}
		m.Release()
	}
	if err := a.Send(context.Background(), "b", make([]byte, bigMsg+1)); err == nil {
		t.Fatal("a payload above MaxMessageSize was accepted")
	}
}
