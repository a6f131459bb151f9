package engine_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"time"

	"github.com/tensorchain/transport/engine"
)

// A leader hands a follower the messages of one round in a single call,
// and the follower takes what has arrived in a single call too: order and
// every guarantee of Send and Recv hold, the per-call costs are paid once.
func ExampleTransport_SendBatch() {
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

	entries := [][]byte{[]byte("entry 1"), []byte("entry 2"), []byte("entry 3")}
	if n, err := leader.SendBatch(ctx, "follower", entries, engine.SendOptions{}); err != nil {
		log.Fatalf("%d of %d queued: %v", n, len(entries), err) // n is always a prefix
	}

	msgs := make([]engine.Message, 16)
	for got := 0; got < len(entries); {
		n, err := follower.RecvBatch(ctx, msgs) // waits for one, takes what is there
		if err != nil {
			log.Fatal(err)
		}
		for i := range msgs[:n] {
			fmt.Printf("%s: %s\n", msgs[i].From, msgs[i].Payload)
			msgs[i].Release()
		}
		got += n
	}
	// Output:
	// leader: entry 1
	// leader: entry 2
	// leader: entry 3
}
