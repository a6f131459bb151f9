package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRun runs the quick start and checks what it prints: both nodes up,
// the message received with node1's proven id, and node2's reply.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out strings.Builder
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	want := regexp.MustCompile(`^node1 on 127\.0\.0\.1:\d+, node2 on 127\.0\.0\.1:\d+: strict mode, mutual TLS
node2 received "AppendEntries index=1" from node1
node1 received "VoteGranted term=7" from node2
$`)
	if !want.MatchString(out.String()) {
		t.Errorf("output:\n%s\nwant it to match:\n%s", out.String(), want)
	}
}
