package engine

import (
	"bytes"
	"context"
	"testing"
	"time"
)

func TestSmokePlaintext(t *testing.T) {
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	ctx := context.Background()
	if err := a.Send(ctx, "b", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	m := recvTimeout(t, b, 5*time.Second)
	if m.From != "a" || !bytes.Equal(m.Payload, []byte("hello")) {
		t.Fatalf("got %q from %q", m.Payload, m.From)
	}
	m.Release()
	// b replies over its inbound connection from a
	if err := b.Send(ctx, "a", []byte("world")); err != nil {
		t.Fatal(err)
	}
	m = recvTimeout(t, a, 5*time.Second)
	if m.From != "b" || string(m.Payload) != "world" {
		t.Fatalf("got %q from %q", m.Payload, m.From)
	}
	t.Logf("a stats: %+v", a.Stats())
}
