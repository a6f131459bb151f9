package main

// The README's quick start is this file from README:begin to README:end,
// verbatim (readme_test.go checks): edit it here.

// README:begin
import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/tlsstate"
)

// startNode starts node id in Strict mode, the default: mutual TLS, each
// peer's node id checked against its certificate's common name. certs
// holds ca.pem, ID.pem and ID.key, as scripts/gen-certs.sh writes them.
func startNode(ctx context.Context, id, certs string) (*engine.Transport, error) {
	cfg := engine.NewConfig(id, "127.0.0.1:0") // port 0: any free port (Addr says which)
	cfg.TLS = tlsstate.NewSecureConfig(
		filepath.Join(certs, id+".pem"), filepath.Join(certs, id+".key"), filepath.Join(certs, "ca.pem"))
	t, err := engine.New(cfg) // validates the configuration, loads the certificates
	if err != nil {
		return nil, err
	}
	if err := t.Start(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// talk connects node1 to node2, sends node2 a message, then asks it a
// question and waits for the answer.
func talk(ctx context.Context, node1, node2 *engine.Transport, out io.Writer) error {
	err := node1.Connect(ctx, engine.PeerConfig{NodeID: "node2", Address: node2.Addr().String()})
	if err != nil {
		return err
	}
	// Send copies the payload; it blocks only while node2's queue is full.
	if err := node1.Send(ctx, "node2", []byte("AppendEntries index=1")); err != nil {
		return err
	}
	msg, err := node2.Recv(ctx) // msg.From is the id node1's certificate proved
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "node2 received %q from %s\n", msg.Payload, msg.From)
	msg.Release() // hands the buffer back: msg.Payload is not to be used after

	// A request goes on the control class; node2 answers it on its
	// receive loop, over the connection node1 opened.
	go answer(ctx, node2)
	reply, err := node1.Request(ctx, "node2", []byte("RequestVote term=7"))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "node1 received %q from %s\n", reply.Payload, reply.From)
	reply.Release()
	return nil
}

// answer grants every vote it is asked for, until node closes or ctx ends.
func answer(ctx context.Context, node *engine.Transport) {
	for {
		msg, err := node.Recv(ctx)
		if err != nil {
			return // engine.ErrClosed, or ctx's error
		}
		if msg.IsRequest() {
			err = node.Reply(ctx, &msg, []byte("VoteGranted term=7"))
		}
		msg.Release()
		if err != nil {
			return
		}
	}
}

// README:end
