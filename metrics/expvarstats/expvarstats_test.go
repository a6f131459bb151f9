package expvarstats_test

import (
	"crypto/rand"
	"encoding/json"
	"expvar"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/metrics/expvarstats"
)

// TestPublishServesTransportStats publishes two real transports, moves
// messages between them over loopback, and reads the counters back the
// way an operator would: GET /debug/vars from expvar's own handler over
// HTTP.
func TestPublishServesTransportStats(t *testing.T) {
	a, b := startTransport(t, "a"), startTransport(t, "b")
	nameA, nameB := uniqueName(t, "a"), uniqueName(t, "b")
	expvarstats.Publish(nameA, a)
	expvarstats.Publish(nameB, b)

	const n, size = 5, 100
	payload := make([]byte, size)
	_, _ = rand.Read(payload) // incompressible: wire bytes >= payload bytes
	exchange(t, a, b, n, payload)

	srv := httptest.NewServer(expvar.Handler())
	defer srv.Close()
	vars := scrape(t, srv.URL)
	sa, sb := decodeStats(t, vars, nameA), decodeStats(t, vars, nameB)

	peer := func(s engine.Stats, id string) engine.PeerStats {
		for _, p := range s.Peers {
			if p.NodeID == id {
				return p
			}
		}
		t.Fatalf("no peer %q in %+v", id, s.Peers)
		return engine.PeerStats{}
	}
	pb, pa := peer(sa, "b"), peer(sb, "a")
	for _, tc := range []struct {
		name     string
		got, min uint64
	}{
		{"a messages_sent", sa.MessagesSent, n},
		{"a bytes_sent", sa.BytesSent, n * size},
		{"a payload_bytes_queued", sa.PayloadBytesQueued, n * size},
		{"a peer_count", uint64(sa.PeerCount), 1},
		{"a connection_count", uint64(sa.ConnectionCount), 1},
		{"a peers[b].messages_sent", pb.MessagesSent, n},
		{"a peers[b].bytes_sent", pb.BytesSent, n * size},
		{"b messages_received", sb.MessagesReceived, n},
		{"b bytes_received", sb.BytesReceived, n * size},
		{"b peers[a].messages_received", pa.MessagesReceived, n},
	} {
		if tc.got < tc.min {
			t.Errorf("%s = %d, want >= %d", tc.name, tc.got, tc.min)
		}
	}
	if sb.MessagesSent != 0 {
		t.Errorf("b messages_sent = %d, want 0 (b sent nothing)", sb.MessagesSent)
	}

	// The variable is read when it is served, not when it was published.
	exchange(t, a, b, 1, []byte("one more"))
	if again := decodeStats(t, scrape(t, srv.URL), nameA); again.MessagesSent <= sa.MessagesSent {
		t.Errorf("messages_sent after one more send = %d, want > %d", again.MessagesSent, sa.MessagesSent)
	}

	// It still reads once the transport is closed.
	_ = a.Close()
	if closed := decodeStats(t, scrape(t, srv.URL), nameA); closed.MessagesSent < n+1 {
		t.Errorf("messages_sent after Close = %d, want >= %d", closed.MessagesSent, n+1)
	}
}

// TestVarJSONKeys checks that the variable's JSON carries every field of
// engine.Stats and engine.PeerStats under its snake_case tag.
func TestVarJSONKeys(t *testing.T) {
	src := fakeSource{stats: engine.Stats{
		MessagesSent:      7,
		HandshakeFailures: map[string]uint64{"timeout": 2},
		Peers:             []engine.PeerStats{{NodeID: "p1", Address: "10.0.0.1:7000", State: "active"}},
	}}
	var got map[string]any
	if err := json.Unmarshal([]byte(expvarstats.Var(&src).String()), &got); err != nil {
		t.Fatalf("Var's value is not JSON: %v", err)
	}
	peers, _ := got["peers"].([]any)
	if len(peers) != 1 {
		t.Fatalf("peers = %v, want one peer", got["peers"])
	}
	for _, tc := range []struct {
		name string
		typ  reflect.Type
		obj  map[string]any
	}{
		{"Stats", reflect.TypeFor[engine.Stats](), got},
		{"PeerStats", reflect.TypeFor[engine.PeerStats](), peers[0].(map[string]any)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for f := range tc.typ.Fields() {
				key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if key == "" || key == "-" {
					t.Errorf("%s.%s has no JSON name", tc.name, f.Name)
					continue
				}
				if _, ok := tc.obj[key]; !ok {
					t.Errorf("%s.%s: no key %q in %v", tc.name, f.Name, key, tc.obj)
				}
			}
		})
	}
	if got["messages_sent"] != 7.0 {
		t.Errorf("messages_sent = %v, want 7", got["messages_sent"])
	}
}

// TestVarTakesOneSnapshotPerRead checks that each read of the variable
// costs exactly one Stats call, and none before the first read.
func TestVarTakesOneSnapshotPerRead(t *testing.T) {
	var src fakeSource
	v := expvarstats.Var(&src)
	if n := src.calls.Load(); n != 0 {
		t.Fatalf("Var called Stats %d times before any read", n)
	}
	for want := int64(1); want <= 3; want++ {
		_ = v.String()
		if n := src.calls.Load(); n != want {
			t.Fatalf("after %d reads: %d Stats calls", want, n)
		}
	}
}

// TestPublishTwicePanics pins down the documented behaviour inherited
// from expvar.Publish.
func TestPublishTwicePanics(t *testing.T) {
	name := uniqueName(t, "twice")
	expvarstats.Publish(name, &fakeSource{})
	defer func() {
		if recover() == nil {
			t.Error("second Publish under the same name did not panic")
		}
	}()
	expvarstats.Publish(name, &fakeSource{})
}

// published numbers the variables the tests publish: expvar names are
// for the life of the process, which -count=N runs the tests N times in.
var published atomic.Int64

// uniqueName returns an expvar name no other test, or run, has used.
func uniqueName(t *testing.T, suffix string) string {
	return fmt.Sprintf("expvarstats_test_%s_%s_%d", t.Name(), suffix, published.Add(1))
}

// fakeSource returns fixed statistics and counts the calls.
type fakeSource struct {
	stats engine.Stats
	calls atomic.Int64
}

func (f *fakeSource) Stats() engine.Stats {
	f.calls.Add(1)
	return f.stats
}

// scrape GETs url (expvar's handler) and returns its variables, undecoded.
func scrape(t *testing.T, url string) map[string]json.RawMessage {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var vars map[string]json.RawMessage
	if err := json.Unmarshal(body, &vars); err != nil {
		t.Fatalf("/debug/vars is not a JSON object: %v\n%s", err, body)
	}
	return vars
}

// decodeStats decodes the variable name of vars as an engine.Stats.
func decodeStats(t *testing.T, vars map[string]json.RawMessage, name string) engine.Stats {
	t.Helper()
	raw, ok := vars[name]
	if !ok {
		t.Fatalf("no variable %q on /debug/vars", name)
	}
	var s engine.Stats
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields() // every key must be one of Stats' tags
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("variable %q: %v\n%s", name, err, raw)
	}
	return s
}
