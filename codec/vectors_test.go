package codec

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

// readVectors returns the "vector NAME: HEX" lines of docs/PROTOCOL.md.
func readVectors(t *testing.T) map[string][]byte {
	t.Helper()
	f, err := os.Open("../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, hexBytes, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "vector "), ":")
		if !ok || !strings.HasPrefix(sc.Text(), "vector ") {
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(hexBytes, " ", ""))
		if err != nil {
			t.Fatalf("vector %s: %v", name, err)
		}
		out[name] = b
	}
	return out
}

func TestProtocolDocVectors(t *testing.T) {
	vectors := readVectors(t)
	encoders := map[string]func() []byte{
		"data-hi":    func() []byte { return AppendFrame(nil, 0, []byte("hi")) },
		"data-empty": func() []byte { return AppendFrame(nil, 0, nil) },
		"hello-node1": func() []byte {
			return AppendHello(nil, Hello{Version: 2, Caps: CapLZ4, MaxMessage: 16 << 20, Window: 4 << 20,
				Incarnation: 0x0102030405060708, Class: ClassBulk, Lane: 1, NodeID: "node1"})
		},
		"hello-node1-control": func() []byte {
			return AppendHello(nil, Hello{Version: 2, Caps: CapLZ4, MaxMessage: 16 << 20, Window: 4 << 20,
				Incarnation: 0x0102030405060708, Class: ClassControl, Lane: 0, NodeID: "node1"})
		},
		"refused-hello-v1": func() []byte { // version 1's layout: no class or lane
			return []byte{0, 0, 0, 0x1b, 2, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0x40, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 5, 'n', 'o', 'd', 'e', '1'}
		},
		"credit-1MiB-16": func() []byte { return AppendCredit(nil, Credit{Bytes: 1 << 20, Messages: 16}) },
		"goodbye":        func() []byte { return AppendGoodbye(nil) },
		"ping-echo-1":    func() []byte { return AppendPing(nil, 1, false) },
		"request-7-hi":   func() []byte { return taggedFrame(Tag{KindRequest, 7}, []byte("hi")) },
		"reply-7-ok":     func() []byte { return taggedFrame(Tag{KindReply, 7}, []byte("ok")) },
		"stream-end-9":   func() []byte { return taggedFrame(Tag{KindStreamEnd, 9}, nil) },
		"stream-credit-9-1MiB": func() []byte {
			return taggedFrame(Tag{KindStreamCredit, 9}, AppendStreamCredit(nil, 1<<20))
		},
		"stream-reset-9-cancelled": func() []byte { return taggedFrame(Tag{KindStreamReset, 9}, []byte{ResetCancelled}) },
	}
	if len(vectors) != len(encoders) {
		t.Fatalf("PROTOCOL.md has %d vectors, test knows %d", len(vectors), len(encoders))
	}
	for name, enc := range encoders {
		want, ok := vectors[name]
		if !ok {
			t.Fatalf("vector %s missing from PROTOCOL.md", name)
		}
		if got := enc(); !bytes.Equal(got, want) {
			t.Errorf("vector %s: encoder gives %x, document says %x", name, got, want)
		}
		f, n, err := Decode(want, 1<<20)
		if err != nil || n != len(want) {
			t.Fatalf("vector %s does not decode: n=%d err=%v", name, n, err)
		}
		if f.Tagged() {
			if _, _, err := SplitTag(f.Payload); err != nil {
				t.Errorf("vector %s: SplitTag: %v", name, err)
			}
		}
		if f.Control() {
			if strings.HasPrefix(name, "refused-") {
				if _, err := DecodeHello(f.Payload); !errors.Is(err, ErrVersion) {
					t.Errorf("vector %s: DecodeHello error %v, want ErrVersion", name, err)
				}
			} else if strings.HasPrefix(name, "hello-") {
				h, err := DecodeHello(f.Payload)
				if err != nil || h.NodeID != "node1" || h.Window != 4<<20 {
					t.Errorf("vector %s: DecodeHello = %+v, %v", name, h, err)
				}
			} else if _, err := DecodeControl(f.Payload); err != nil {
				t.Errorf("vector %s: DecodeControl: %v", name, err)
			}
		}
	}
}

// taggedFrame is a tagged data frame with body after its tag.
func taggedFrame(tag Tag, body []byte) []byte {
	var b [TagSize]byte
	PutTag(b[:], tag)
	return AppendFrame(nil, FlagTagged, append(b[:], body...))
}
