package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tensorchain/transport/codec"
)

// The conns scenario measures the accepting side only: the idle clients
// live in a child process (this same executable, re-run with holderEnv
// set), so that their sockets and buffers are not counted.
const (
	holderEnv       = "TCBENCH_HOLDER" // "addr count server-id [pki-dir]"
	holderDialers   = 16               // concurrent dials in the child
	holderIDPattern = "h%d"
)

// RunChildIfRequested turns the process into a helper another scenario
// started it as, and then exits: a connection holder (conns), the node
// under attack (hostile), a stream's sender or receiver (stream) or the
// senders of scale. Call it first thing in main (and in TestMain of tests
// that run those scenarios).
func RunChildIfRequested() {
	if spec, ok := os.LookupEnv(loadEnv); ok {
		if err := runLoad(spec, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "load generator:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if spec, ok := os.LookupEnv(streamEnv); ok {
		if err := runStreamNode(spec, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "stream node:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if spec, ok := os.LookupEnv(hostileEnv); ok {
		if err := runHostileNode(spec, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "node under attack:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	spec, ok := os.LookupEnv(holderEnv)
	if !ok {
		return
	}
	if err := runHolder(spec, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "holder:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runHolder opens the connections, each through TLS (when a pki dir is
// given) and the hello exchange, prints "ready", and keeps them open until
// stdin ends.
func runHolder(spec string, stdin io.Reader, stdout io.Writer) error {
	f := strings.Fields(spec)
	if len(f) < 3 || len(f) > 4 {
		return fmt.Errorf("bad %s %q: want addr count server-id [pki-dir]", holderEnv, spec)
	}
	addr, server, dir := f[0], f[2], ""
	count, err := strconv.Atoi(f[1])
	if err != nil || count < 1 {
		return fmt.Errorf("bad %s count %q", holderEnv, f[1])
	}
	if len(f) == 4 {
		dir = f[3]
	}
	conns := make([]net.Conn, count)
	errs := make(chan error, holderDialers)
	var wg sync.WaitGroup
	for w := range holderDialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < count; i += holderDialers {
				c, err := holdOne(addr, server, dir, fmt.Sprintf(holderIDPattern, i))
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	close(errs)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	if err := <-errs; err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ready")
	_, _ = io.Copy(io.Discard, stdin)
	return nil
}

// holdOne dials one connection as node id and completes the handshake.
func holdOne(addr, server, dir, id string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		if c, err = holderTLS(ctx, c, dir, server, id); err != nil {
			return nil, err
		}
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	h := codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1 << 20, Window: 1 << 20, Incarnation: 1, NodeID: id}
	if _, err := c.Write(codec.AppendHello(nil, h)); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := readHello(bufio.NewReaderSize(c, 64)); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

func holderTLS(ctx context.Context, c net.Conn, dir, server, id string) (net.Conn, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, id+".pem"), filepath.Join(dir, id+".key"))
	if err != nil {
		c.Close()
		return nil, err
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		c.Close()
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		c.Close()
		return nil, errors.New("no CA in ca.pem")
	}
	tc := tls.Client(c, &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, ServerName: server, MinVersion: tls.VersionTLS13})
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}
