package tlsstate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Example shows the calling protocol an event loop follows: start the
// handshakes, relay handshake bytes with Feed and TakeOutput until done
// fires, then Encrypt/Decrypt and Close. Here the two "sockets" are the
// relay in this function.
func Example() {
	// Normally: creds, err := tlsstate.NewSecureConfig(cert, key, ca).Load()
	p := newPKI(panicker{})
	cfg := NewSecureConfig("node.pem", "node.key", "ca.pem")
	clientCreds := p.node1.creds(cfg, p.ca.pool())
	serverCreds := p.node2.creds(cfg, p.ca.pool())

	wake := make(chan struct{}, 2)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	client := NewSession(clientCreds.ClientConfig(Strict, "node2"), Client, signal)
	server := NewSession(serverCreds.ServerConfig(Strict), Server, signal)

	lim := NewLimiter(64) // shared by all connections of a transport
	deadline := time.Now().Add(5 * time.Second)
	done := make(chan string, 2)
	client.StartHandshake(context.Background(), lim, deadline, func(err error) { done <- fmt.Sprint("client: ", err) })
	server.StartHandshake(context.Background(), lim, deadline, func(err error) { done <- fmt.Sprint("server: ", err) })

	// The loop: move handshake output to the other side until both are done.
	var results []string
	for len(results) < 2 {
		if out := client.TakeOutput(nil); len(out) > 0 {
			server.Feed(out) // in the engine: gnet Write, the peer's OnTraffic Feeds
		}
		if out := server.TakeOutput(nil); len(out) > 0 {
			client.Feed(out)
		}
		select {
		case r := <-done:
			results = append(results, r)
		case <-wake:
		}
	}
	server.Feed(client.TakeOutput(nil)) // the client's last flight, if still pending
	fmt.Println(len(results), "handshakes done")
	fmt.Println("server sees node", server.ConnectionState().PeerCertificates[0].Subject.CommonName)
	fmt.Println("node id check:", VerifyNodeID(server.ConnectionState(), "node1", cfg.NodeIDVerificationFor(Strict)))

	// After the handshake: batches in, records out.
	wire, _ := client.AppendEncrypt(nil, []byte("frame1 frame2 frame3"))
	plain, consumed, err := server.Decrypt(nil, wire, 256<<10)
	fmt.Printf("server got %q (consumed %d of %d bytes, err %v)\n", plain, consumed, len(wire), err)

	// Closing sends close_notify.
	server.Close()
	_, _, err = client.Decrypt(nil, server.TakeOutput(nil), 0)
	fmt.Println("client reads EOF:", errors.Is(err, io.EOF))
	client.Close()
	// Output:
	// 2 handshakes done
	// server sees node node1
	// node id check: <nil>
	// server got "frame1 frame2 frame3" (consumed 42 of 42 bytes, err <nil>)
	// client reads EOF: true
}

func ExampleValidateMode() {
	cfg := NewSecureConfig("node1.pem", "node1.key", "ca.pem")
	fmt.Println(ValidateMode(Strict, cfg))

	cfg.RequireClientAuth = false
	err := ValidateMode(Strict, cfg)
	fmt.Println(errors.Is(err, ErrMTLSRequired))
	fmt.Println(err)

	fmt.Println(ValidateMode(Permissive, nil))
	fmt.Println(ValidateMode(Development, nil))
	// Output:
	// <nil>
	// true
	// mutual TLS (client certificates) required: strict mode needs [tls] require_client_auth = true
	// TLS required: permissive mode needs a [tls] section with cert_path, key_path and ca_path
	// <nil>
}

func ExampleParseSecurityMode() {
	m, err := ParseSecurityMode("permissive")
	fmt.Println(m, err)
	_, err = ParseSecurityMode("yolo")
	fmt.Println(err)
	// Output:
	// permissive <nil>
	// invalid TLS configuration: security_mode: unknown mode "yolo" (want strict, permissive, development or legacy)
}
