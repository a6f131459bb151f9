package engine

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestCreditWrittenDirectly: a receiver that takes large messages returns
// credit from its Recv goroutine (Stats.DirectCredits) while its loop is
// idle, in plaintext and over TLS, and the sender, which needs that
// credit to go on, delivers every message whole and in order.
func TestCreditWrittenDirectly(t *testing.T) {
	for _, mode := range []string{"plaintext", "tls"} {
		t.Run(mode, func(t *testing.T) {
			acfg, bcfg := devConfig("a"), devConfig("b")
			if mode == "tls" {
				ca := newTestCA(t, "ca")
				acfg, bcfg = tlsConfig("a", ca.issue(t, "a", certOpts{})), tlsConfig("b", ca.issue(t, "b", certOpts{}))
			}
			acfg.PoolSize = 1
			bcfg.ReceiveWindow = 256 << 10 // credit due every 64 KiB consumed: the sender depends on it
			a := startTransport(t, acfg)
			b := startTransport(t, bcfg)
			connect(t, a, b)
			const n, size = 400, 64 << 10
			errc := make(chan error, 1)
			go func() {
				for i := range n {
					if err := a.Send(context.Background(), "b", payloadOf(i, size)); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			for i := range n {
				m := recvTimeout(t, b, 10*time.Second)
				if !bytes.Equal(m.Payload, payloadOf(i, size)) {
					t.Fatalf("message %d corrupted or out of order", i)
				}
				m.Release()
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			st := b.Stats()
			if st.DirectCredits == 0 {
				t.Fatalf("no credit written directly in %d messages of %d bytes (stats %+v)", n, size, st)
			}
			t.Logf("%d of the credit updates written directly", st.DirectCredits)
		})
	}
}
