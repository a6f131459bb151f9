package codec_test

import (
	"fmt"

	"github.com/tensorchain/transport/codec"
)

// Frames are encoded by appending and decoded in place.
func Example() {
	wire := codec.AppendFrame(nil, 0, []byte("vote granted"))
	f, n, err := codec.Decode(wire, 1<<20)
	fmt.Printf("%d bytes: %q compressed=%v err=%v\n", n, f.Payload, f.Compressed(), err)
	// Output: 17 bytes: "vote granted" compressed=false err=<nil>
}

// Payloads worth compressing are sent as LZ4 with FlagCompressed.
func ExampleCompressor_AppendCompressed() {
	var c codec.Compressor
	payload := []byte(`{"op":"append","entries":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}`)
	body, ok := c.AppendCompressed(nil, payload)
	fmt.Println(ok, len(payload), "->", len(body))

	n, _ := codec.DecompressedLen(body, 1<<20)
	out := make([]byte, n)
	err := codec.Decompress(out, body)
	fmt.Println(string(out) == string(payload), err)
	// Output:
	// true 87 -> 49
	// true <nil>
}
