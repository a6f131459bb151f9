package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRun runs the cluster and checks its summary: every follower applied
// the whole log in order and got heartbeats, and the leader committed it.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out strings.Builder
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	got := out.String()
	lines := []string{`leader n1, followers n2 and n3: strict mode, mutual TLS`}
	for _, id := range followerIDs {
		lines = append(lines, fmt.Sprintf(`%s: applied entries 1\.\.%d in order; (\d+) heartbeats, received \S+ after their sending \(median; at most \S+\)`, id, entries))
	}
	lines = append(lines, fmt.Sprintf(`n1: committed %d entries \(%d KiB to each follower\) in \S+; (\d+) heartbeats sent to each follower, \d+ expired unsent`,
		entries, entries*entrySize>>10))
	want := regexp.MustCompile("^" + strings.Join(lines, "\n") + "\n$")
	m := want.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("output:\n%s\nwant it to match:\n%s", got, want)
	}
	sent, _ := strconv.Atoi(m[3])
	for i, id := range followerIDs {
		// The first heartbeat goes out before any entry, with a TTL of
		// several intervals: at least it arrives.
		if n, _ := strconv.Atoi(m[1+i]); n < 1 || n > sent {
			t.Errorf("%s received %d heartbeats of %d sent, want 1 to %d", id, n, sent, sent)
		}
	}
	if appends := entries / batch; sent < appends {
		t.Errorf("%d heartbeats sent, want at least one per append (%d)", sent, appends)
	}
}
