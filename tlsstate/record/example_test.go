package record_test

import (
	"bytes"
	"crypto/tls"
	"fmt"

	"github.com/tensorchain/transport/tlsstate/record"
)

// Two ends of a TLS 1.3 connection after the handshake: each seals with
// its own traffic secret and opens with the other's. (In tlsstate the
// secrets come from crypto/tls's handshake; fixed ones stand in here.)
func Example() {
	clientSecret, serverSecret := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	client, _ := record.New(record.Config{Suite: tls.TLS_AES_128_GCM_SHA256, Client: true, ReadSecret: serverSecret, WriteSecret: clientSecret})
	server, _ := record.New(record.Config{Suite: tls.TLS_AES_128_GCM_SHA256, ReadSecret: clientSecret, WriteSecret: serverSecret})

	_ = client.UpdateKeys(true) // rotate the client's key and ask the server to rotate its own
	wire, _ := client.Seal(nil, []byte("hello, server"))
	for len(wire) > 0 {
		plain, n, err := server.Open(wire) // in place: plain aliases wire
		if err != nil {
			fmt.Println(err)
			return
		}
		if plain != nil {
			fmt.Printf("server read %q\n", plain)
		}
		wire = wire[n:]
	}
	reply, _ := server.Seal(nil, []byte("hello, client")) // the KeyUpdate answer goes first
	for len(reply) > 0 {
		plain, n, _ := client.Open(reply)
		if plain != nil {
			fmt.Printf("client read %q\n", plain)
		}
		reply = reply[n:]
	}
	sent, received := client.KeyUpdates()
	fmt.Println("client KeyUpdates sent", sent, "received", received)
	// Output:
	// server read "hello, server"
	// client read "hello, client"
	// client KeyUpdates sent 1 received 1
}
