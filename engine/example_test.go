package engine_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"time"

	"github.com/tensorchain/transport/engine"
)

// Two nodes on loopback, plaintext (Development mode), exchange a message.
// In production use Strict mode: cfg.TLS = tlsstate.NewSecureConfig(cert,
// key, ca), with certificates from scripts/gen-certs.sh.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	start := func(id string) *engine.Transport {
		cfg := engine.NewConfig(id, "127.0.0.1:0")
		cfg.SecurityMode = engine.Development // no TLS: local testing only
		cfg.Logger = quiet
		t, err := engine.New(cfg)
		if err != nil {
			log.Fatal(err)
		}
		if err := t.Start(ctx); err != nil {
			log.Fatal(err)
		}
		return t
	}
	node1, node2 := start("node1"), start("node2")
	defer node1.Close()
	defer node2.Close()

	if err := node1.Connect(ctx, engine.PeerConfig{NodeID: "node2", Address: node2.Addr().String()}); err != nil {
		log.Fatal(err)
	}
	if err := node1.Send(ctx, "node2", []byte("RequestVote term=7")); err != nil {
		log.Fatal(err)
	}
	msg, err := node2.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s\n", msg.From, msg.Payload)
	msg.Release()

	// node2 answers over the connection node1 opened.
	_ = node2.Send(ctx, "node1", []byte("VoteGranted"))
	reply, _ := node1.Recv(ctx)
	fmt.Printf("%s: %s\n", reply.From, reply.Payload)
	reply.Release()
	// Output:
	// node1: RequestVote term=7
	// node2: VoteGranted
}

// The inline handler runs on the event loop with a zero-copy payload that
// is valid only during the call: the lowest-latency way to receive.
func ExampleConfig_handler() {
	got := make(chan string, 1)
	cfg := engine.NewConfig("node2", "127.0.0.1:0")
	cfg.SecurityMode = engine.Development
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Handler = func(from string, payload []byte) {
		got <- from + " says " + string(payload) // copy what you keep
	}
	ctx := context.Background()
	node2, _ := engine.New(cfg)
	_ = node2.Start(ctx)
	defer node2.Close()

	cfg1 := engine.NewConfig("node1", "127.0.0.1:0")
	cfg1.SecurityMode = engine.Development
	cfg1.Logger = cfg.Logger
	node1, _ := engine.New(cfg1)
	_ = node1.Start(ctx)
	defer node1.Close()
	_ = node1.Connect(ctx, engine.PeerConfig{NodeID: "node2", Address: node2.Addr().String()})
	_ = node1.TrySend("node2", []byte("AppendEntries"))
	fmt.Println(<-got)
	// Output: node1 says AppendEntries
}

// A leader replicates log entries on ordered bulk streams and sends its
// heartbeats on the control class, which never waits behind the entries:
// its own connection, queue, window and inbound ring, and Recv returns
// control messages first. A heartbeat with a deadline is dropped unsent
// (Stats.MessagesExpired) rather than delivered late; FailFast refuses at
// once when the peer is down.
func ExampleTransport_SendWith() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := func(id string) *engine.Transport {
		cfg := engine.NewConfig(id, "127.0.0.1:0")
		cfg.SecurityMode = engine.Development // no TLS: local testing only
		cfg.Logger = quiet
		t, err := engine.New(cfg)
		if err != nil {
			log.Fatal(err)
		}
		if err := t.Start(ctx); err != nil {
			log.Fatal(err)
		}
		return t
	}
	leader, follower := start("leader"), start("follower")
	defer leader.Close()
	defer follower.Close()
	if err := leader.Connect(ctx, engine.PeerConfig{NodeID: "follower", Address: follower.Addr().String()}); err != nil {
		log.Fatal(err)
	}

	// Entries 1..3 on stream 0: they arrive in this order, whatever PoolSize.
	for i := 1; i <= 3; i++ {
		entry := fmt.Appendf(nil, "AppendEntries index=%d", i)
		if err := leader.SendWith(ctx, "follower", entry, engine.SendOptions{Stream: 0}); err != nil {
			log.Fatal(err)
		}
	}
	heartbeat := engine.SendOptions{Class: engine.Control, Deadline: time.Now().Add(50 * time.Millisecond), FailFast: true}
	if err := leader.SendWith(ctx, "follower", []byte("Heartbeat term=7"), heartbeat); err != nil {
		log.Fatal(err)
	}

	// The follower takes the heartbeat first if it is already there; the
	// entries come in order.
	var entries []string
	for beat := false; len(entries) < 3 || !beat; {
		m, err := follower.Recv(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if m.Class == engine.Control {
			fmt.Printf("%s (%s)\n", m.Payload, m.Class)
			beat = true
		} else {
			entries = append(entries, string(m.Payload))
		}
		m.Release()
	}
	fmt.Println(entries)
	// Unordered output:
	// Heartbeat term=7 (control)
	// [AppendEntries index=1 AppendEntries index=2 AppendEntries index=3]
}

// A node follows its peers' state from Events instead of polling Peers.
func ExampleTransport_Events() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := func(id string) *engine.Transport {
		cfg := engine.NewConfig(id, "127.0.0.1:0")
		cfg.SecurityMode = engine.Development // no TLS: local testing only
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		t, err := engine.New(cfg)
		if err != nil {
			log.Fatal(err)
		}
		if err := t.Start(ctx); err != nil {
			log.Fatal(err)
		}
		return t
	}
	leader, follower := start("leader"), start("follower")
	defer leader.Close()
	if err := leader.Connect(ctx, engine.PeerConfig{NodeID: "follower", Address: follower.Addr().String()}); err != nil {
		log.Fatal(err)
	}
	fmt.Println((<-leader.Events()).Kind) // the follower is up
	follower.Close()
	ev := <-leader.Events() // the follower went away: the leader redials it
	fmt.Println(ev.NodeID, ev.Kind)
	// Output:
	// up
	// follower reconnecting
}

// A request and its reply: node2 answers on its Recv loop, node1 waits
// for the answer (or its ctx, or the connection's loss).
func ExampleTransport_Request() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node1, node2 := startExamplePair(ctx)
	defer node1.Close()
	defer node2.Close()

	go func() {
		for {
			msg, err := node2.Recv(ctx)
			if err != nil {
				return
			}
			if msg.IsRequest() {
				_ = node2.Reply(ctx, &msg, []byte("VoteGranted term=7"))
			}
			msg.Release()
		}
	}()
	reply, err := node1.Request(ctx, "node2", []byte("RequestVote term=7"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s\n", reply.From, reply.Payload)
	reply.Release()
	// Output:
	// node2: VoteGranted term=7
}

// Pipelined requests without a goroutine per request: node1 sends three
// appends at once, and each reply arrives in its callback, which runs on
// the event loop and only hands the result on.
func ExampleTransport_RequestAsync() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node1, node2 := startExamplePair(ctx)
	defer node1.Close()
	defer node2.Close()

	go func() {
		for {
			msg, err := node2.Recv(ctx)
			if err != nil {
				return
			}
			if msg.IsRequest() {
				_ = node2.Reply(ctx, &msg, append([]byte("ack "), msg.Payload...))
			}
			msg.Release()
		}
	}()
	acks := make(chan string, 3)
	for i := 1; i <= 3; i++ {
		err := node1.RequestAsync(ctx, "node2", fmt.Appendf(nil, "append %d", i), engine.SendOptions{Stream: 1},
			func(reply engine.Message, err error) {
				if err != nil {
					acks <- err.Error()
					return
				}
				acks <- string(reply.Payload) // a copy: the payload goes back with Release
				reply.Release()
			})
		if err != nil {
			log.Fatal(err)
		}
	}
	for range 3 {
		fmt.Println(<-acks)
	}
	// Output:
	// ack append 1
	// ack append 2
	// ack append 3
}

// A stream of any length (a snapshot, say): node1 sends an io.Reader,
// node2 reads it from the Message's Stream; each side holds at most the
// stream's window of it.
func ExampleTransport_SendStream() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node1, node2 := startExamplePair(ctx)
	defer node1.Close()
	defer node2.Close()

	snapshot := strings.NewReader(strings.Repeat("state ", 1<<20)) // 6 MiB
	go func() {
		if err := node1.SendStream(ctx, "node2", []byte("snapshot index=42"), snapshot); err != nil {
			log.Print(err)
		}
	}()
	msg, err := node2.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer msg.Release()
	n, err := io.Copy(io.Discard, msg.Stream)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s sent %q: %d bytes\n", msg.From, msg.Payload, n)
	// Output:
	// node1 sent "snapshot index=42": 6291456 bytes
}

// startExamplePair starts two plaintext nodes on loopback, node1 connected
// to node2.
func startExamplePair(ctx context.Context) (*engine.Transport, *engine.Transport) {
	start := func(id string) *engine.Transport {
		cfg := engine.NewConfig(id, "127.0.0.1:0")
		cfg.SecurityMode = engine.Development
		cfg.Logger = slog.New(slog.DiscardHandler)
		t, err := engine.New(cfg)
		if err != nil {
			log.Fatal(err)
		}
		if err := t.Start(ctx); err != nil {
			log.Fatal(err)
		}
		return t
	}
	node1, node2 := start("node1"), start("node2")
	if err := node1.Connect(ctx, engine.PeerConfig{NodeID: "node2", Address: node2.Addr().String()}); err != nil {
		log.Fatal(err)
	}
	return node1, node2
}
