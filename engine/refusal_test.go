package engine

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestPermanentRefusalFailsTheLane: a dial refused for a reason retrying
// cannot fix (the listener refuses our certificate; we refuse its
// certificate) puts the lanes in Failed after maxRefusals tries, with the
// reason in Peers(); a dial that fails for an outage keeps reconnecting.
func TestPermanentRefusalFailsTheLane(t *testing.T) {
	ca, other := newTestCA(t, "ca"), newTestCA(t, "other")
	b := startTransport(t, tlsConfig("b", ca.issue(t, "b", certOpts{})))
	cases := []struct {
		name   string
		dialer func() *Transport
		addr   string
		failed bool
		reason string
	}{
		{"listener refuses our certificate", func() *Transport {
			return fastRedial(t, tlsConfig("foreign", trustBoth(t, other.issue(t, "foreign", certOpts{}), ca, other)))
		}, b.Addr().String(), true, "unknown certificate authority"},
		{"we refuse the listener's certificate", func() *Transport {
			return fastRedial(t, tlsConfig("wary", other.issue(t, "wary", certOpts{})))
		}, b.Addr().String(), true, "certificate signed by unknown authority"},
		{"nobody listens: an outage", func() *Transport {
			return fastRedial(t, tlsConfig("hopeful", ca.issue(t, "hopeful", certOpts{})))
		}, closedAddr(t), false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.dialer()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := a.Connect(ctx, PeerConfig{NodeID: "b", Address: tc.addr}); err == nil {
				t.Fatal("Connect succeeded")
			}
			if !tc.failed {
				time.Sleep(500 * time.Millisecond) // many more than maxRefusals redials
				if st := a.Peers()[0]; st.State != StateReconnecting && st.State != StateConnecting {
					t.Fatalf("an outage made the peer %v (%s)", st.State, st.FailReason)
				}
				return
			}
			waitFor(t, 5*time.Second, func() bool { return a.Peers()[0].State == StateFailed })
			info := a.Peers()[0]
			if !strings.Contains(info.FailReason, tc.reason) {
				t.Fatalf("failed for %q, want it to mention %q", info.FailReason, tc.reason)
			}
			for _, s := range info.Lanes {
				if s != StateFailed {
					t.Fatalf("lanes %v: every lane should have failed", info.Lanes)
				}
			}
		})
	}
}

// fastRedial starts a transport that redials every few milliseconds.
func fastRedial(t *testing.T, cfg Config) *Transport {
	cfg.Reconnect.InitialBackoff, cfg.Reconnect.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	return startTransport(t, cfg)
}

// closedAddr is a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
