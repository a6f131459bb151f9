package engine

import (
	"context"
	"sync/atomic"
	"testing"
)

// BenchmarkSendRecvBatch64 is BenchmarkSendRecv64 with SendBatch and
// RecvBatch, 64 messages a call on both sides: ns/op is per message.
func BenchmarkSendRecvBatch64(b *testing.B) {
	const batch = 64
	a, r := benchPair(b, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got atomic.Int64
	go func() {
		var msgs [batch]Message
		for {
			n, err := r.RecvBatch(ctx, msgs[:])
			if err != nil {
				return
			}
			for i := range msgs[:n] {
				msgs[i].Release()
			}
			got.Add(int64(n))
		}
	}()
	payloads := make([][]byte, batch)
	for i := range payloads {
		payloads[i] = make([]byte, 64)
	}
	b.SetBytes(64)
	b.ReportAllocs()
	b.ResetTimer()
	var sent int64
	for sent < int64(b.N) {
		k := min(batch, b.N-int(sent))
		n, err := a.SendBatch(ctx, "b", payloads[:k], SendOptions{})
		if err != nil {
			b.Fatal(err)
		}
		sent += int64(n)
	}
	waitCount(b, &got, sent)
	b.StopTimer()
	st := a.Stats()
	b.ReportMetric(float64(st.MessagesSent)/float64(max(st.DataWrites, 1)), "msgs/write")
	rs := r.Stats()
	b.ReportMetric(float64(rs.RecvStalls+rs.MemoryStalls)*1e6/float64(b.N), "stalls/Mmsg")
}
