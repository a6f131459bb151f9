package engine

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tensorchain/transport/tlsstate"
)

// benchPair starts two plaintext transports, a -> b, for benchmarks.
func benchPair(b *testing.B, handler func(string, []byte)) (*Transport, *Transport) {
	acfg, bcfg := devConfig("a"), devConfig("b")
	bcfg.Handler = handler
	a := startTransport(b, acfg)
	r := startTransport(b, bcfg)
	connect(b, a, r)
	return a, r
}

// waitCount waits until counter reaches want.
func waitCount(b *testing.B, counter *atomic.Int64, want int64) {
	for deadline := time.Now().Add(time.Minute); counter.Load() < want; {
		if time.Now().After(deadline) {
			b.Fatalf("received %d of %d messages", counter.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// sendLoop sends payload to "b" once per iteration and waits until got
// counts every message delivered.
func sendLoop(b *testing.B, a *Transport, payload []byte, got *atomic.Int64) {
	ctx := context.Background()
	var sent int64
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N { // not b.Loop, which stops the timer on its way out: the wait for delivery is part of the cost
		if err := a.Send(ctx, "b", payload); err != nil {
			b.Fatal(err)
		}
		sent++
	}
	waitCount(b, got, sent)
	b.StopTimer()
	st := a.Stats()
	b.ReportMetric(float64(st.DirectWrites)/float64(sent), "direct/op")
	b.ReportMetric(float64(st.MessagesSent)/float64(max(st.DataWrites, 1)), "msgs/write")
}

// BenchmarkSendRecv64 measures one-way 64-byte messages from Send to Recv.
func BenchmarkSendRecv64(b *testing.B) {
	a, r := benchPair(b, nil)
	payload := make([]byte, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got atomic.Int64
	go func() {
		for {
			m, err := r.Recv(ctx)
			if err != nil {
				return
			}
			m.Release()
			got.Add(1)
		}
	}()
	sendLoop(b, a, payload, &got)
}

// BenchmarkSendHandler64 measures one-way 64-byte messages into the inline
// (zero-copy) handler.
func BenchmarkSendHandler64(b *testing.B) {
	var got atomic.Int64
	a, _ := benchPair(b, func(string, []byte) { got.Add(1) })
	payload := make([]byte, 64)
	sendLoop(b, a, payload, &got)
}

// BenchmarkOneWay compares plaintext and TLS one-way throughput into the
// inline handler, at 64 B and 64 KiB, in the same run; TLS with the
// engine's record layer (tls) and with crypto/tls's (tls-cryptotls).
func BenchmarkOneWay(b *testing.B) {
	ca := newTestCA(b, "ca")
	for _, mode := range []string{"plain", "tls", "tls-cryptotls"} {
		for _, size := range []int{64, 64 << 10} {
			b.Run(fmt.Sprintf("%s/%dB", mode, size), func(b *testing.B) {
				var got atomic.Int64
				acfg, bcfg := devConfig("a"), devConfig("b")
				if mode != "plain" {
					ta, tb := ca.issue(b, "a", certOpts{}), ca.issue(b, "b", certOpts{})
					if mode == "tls-cryptotls" {
						ta.RecordLayer, tb.RecordLayer = tlsstate.CryptoTLSRecords, tlsstate.CryptoTLSRecords
					}
					acfg, bcfg = tlsConfig("a", ta), tlsConfig("b", tb)
				}
				acfg.Compression.Enabled = false
				bcfg.Handler = func(string, []byte) { got.Add(1) }
				a := startTransport(b, acfg)
				r := startTransport(b, bcfg)
				connect(b, a, r)
				payload := make([]byte, size)
				sendLoop(b, a, payload, &got)
			})
		}
	}
}

// BenchmarkCloseIdle measures New, Start and Close of a plaintext transport
// that never had a connection: the cost of an idle Close.
func BenchmarkCloseIdle(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		tr, err := New(devConfig("a"))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = tr.Start(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		if err := tr.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPingPong64 measures 64-byte round trips, one at a time: b
// echoes each message from its Recv loop (or, with -handler, its inline
// handler), and the percentiles are reported as metrics.
func BenchmarkPingPong64(b *testing.B) {
	for _, mode := range []string{"recv", "handler"} {
		b.Run(mode, func(b *testing.B) {
			acfg, rcfg := devConfig("a"), devConfig("r")
			var r *Transport
			if mode == "handler" {
				rcfg.Handler = func(from string, p []byte) { _ = r.TrySend(from, p) }
			}
			a := startTransport(b, acfg)
			r = startTransport(b, rcfg)
			connect(b, a, r)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if mode == "recv" {
				go func() {
					for {
						m, err := r.Recv(ctx)
						if err != nil {
							return
						}
						_ = r.TrySend(m.From, m.Payload)
						m.Release()
					}
				}()
			}
			payload := make([]byte, 64)
			samples := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				if err := a.Send(ctx, "r", payload); err != nil {
					b.Fatal(err)
				}
				m, err := a.Recv(ctx)
				if err != nil {
					b.Fatal(err)
				}
				m.Release()
				if len(samples) < cap(samples) {
					samples = append(samples, time.Since(t0))
				}
			}
			slices.Sort(samples)
			sa, sr := a.Stats(), r.Stats()
			b.ReportMetric(float64(sa.DirectWrites)/float64(sa.MessagesSent), "a-direct/msg")
			b.ReportMetric(float64(sr.DirectWrites)/float64(max(sr.MessagesSent, 1)), "r-direct/msg")
			if n := len(samples); n > 0 {
				b.ReportMetric(float64(samples[n/2].Nanoseconds()), "p50-ns")
				b.ReportMetric(float64(samples[n*99/100].Nanoseconds()), "p99-ns")
			}
		})
	}
}
