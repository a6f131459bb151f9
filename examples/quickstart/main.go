// Command quickstart is the README's quick start, run: two nodes in one
// process, in Strict mode (mutual TLS, node ids checked against the
// certificates, made at start-up in a temporary directory), exchange a
// message, then a request and its reply, and exit 0.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tensorchain/transport/examples/internal/devpki"
)

// main runs the quick start within 10 seconds.
func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := run(ctx, os.Stdout)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run makes the certificates of node1 and node2, starts both, lets them
// talk, and closes them.
func run(ctx context.Context, out io.Writer) (err error) {
	certs, err := os.MkdirTemp("", "quickstart-certs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(certs)
	if err := devpki.Write(certs, "node1", "node2"); err != nil {
		return err
	}
	node2, err := startNode(ctx, "node2", certs)
	if err != nil {
		return fmt.Errorf("start node2: %w", err)
	}
	defer func() { err = errors.Join(err, node2.Close()) }()
	node1, err := startNode(ctx, "node1", certs)
	if err != nil {
		return fmt.Errorf("start node1: %w", err)
	}
	defer func() { err = errors.Join(err, node1.Close()) }()
	fmt.Fprintf(out, "node1 on %s, node2 on %s: strict mode, mutual TLS\n", node1.Addr(), node2.Addr())
	return talk(ctx, node1, node2, out)
}
