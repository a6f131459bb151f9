package engine

import (
	"bytes"
	"testing"

	"github.com/tensorchain/transport/codec"
)

// queuedFrames decodes every frame of q in order.
func queuedFrames(t *testing.T, q *frameQueue) [][]byte {
	t.Helper()
	var out [][]byte
	for _, seg := range q.segs {
		for b := *seg.buf; len(b) > 0; {
			f, n, err := codec.Decode(b, 1<<30)
			if err != nil || n == 0 {
				t.Fatalf("bad frame in queue: n=%d err=%v", n, err)
			}
			out = append(out, append([]byte(nil), f.Payload...))
			b = b[n:]
		}
	}
	return out
}

func pushPayloads(q *frameQueue, sizes ...int) [][]byte {
	var want [][]byte
	for i, n := range sizes {
		p := bytes.Repeat([]byte{byte(i + 1)}, n)
		var hdr [codec.HeaderSize]byte
		codec.PutHeader(hdr[:], 0, n)
		q.push(hdr[:], p, 0)
		want = append(want, p)
	}
	return want
}

func TestFrameQueuePacksSegments(t *testing.T) {
	tests := []struct {
		name  string
		sizes []int
		segs  int
	}{
		{"empty", nil, 0},
		{"small frames share a segment", []int{0, 1, 64, 100, 1000}, 1},
		{"segment boundary", []int{segmentSize - codec.HeaderSize, 1}, 2},
		{"large frame gets a segment of its size", []int{10, 3 * segmentSize, 10}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var q frameQueue
			defer q.release()
			want := pushPayloads(&q, tc.sizes...)
			if q.msgs != len(tc.sizes) || len(q.segs) != tc.segs {
				t.Fatalf("msgs=%d segs=%d, want %d and %d", q.msgs, len(q.segs), len(tc.sizes), tc.segs)
			}
			got := queuedFrames(t, &q)
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("frame %d differs", i)
				}
			}
		})
	}
}

func TestSendCursorUnsentKeepsOrder(t *testing.T) {
	var lane frameQueue
	want := pushPayloads(&lane, 10, 20, segmentSize, 30, 40)
	var cur sendCursor
	cur.q, lane = lane, frameQueue{}
	// the first frame was written: the cursor stops inside segment 0
	cur.pos = cur.after(codec.HeaderSize + 10)
	rest := cur.unsent()
	defer rest.release()
	if !cur.empty() || len(cur.q.segs) != 0 {
		t.Fatal("cursor not reset by unsent")
	}
	if rest.msgs != 4 || rest.bytes != 4*codec.HeaderSize+20+segmentSize+30+40 {
		t.Fatalf("unsent msgs=%d bytes=%d", rest.msgs, rest.bytes)
	}
	// requeue in front of frames queued meanwhile
	later := pushPayloads(&lane, 50)
	lane.prepend(&rest)
	got := queuedFrames(t, &lane)
	want = append(want[1:], later...)
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d out of order or corrupt", i)
		}
	}
	lane.release()
}

// TestExpiredFramesAreSkippedWhole: a frame with a deadline has a segment
// of its own, so the cursor can drop it unwritten once it expires, without
// touching the frames around it; a frame already begun is never dropped.
func TestExpiredFramesAreSkippedWhole(t *testing.T) {
	var q frameQueue
	push := func(payload string, deadline int64) {
		var hdr [codec.HeaderSize]byte
		codec.PutHeader(hdr[:], 0, len(payload))
		q.push(hdr[:], []byte(payload), deadline)
	}
	push("a", 0)
	push("hb1", 100) // expires at 100
	push("hb2", 300) // expires at 300
	push("b", 0)
	push("c", 0)
	if len(q.segs) != 4 || q.msgs != 5 {
		t.Fatalf("%d segments, %d frames: want a, hb1, hb2 on their own, then b and c together", len(q.segs), q.msgs)
	}
	var s sendCursor
	s.q = q
	if m, _ := s.skipExpired(200); m != 0 {
		t.Fatalf("skipped %d frames at the front, which has no deadline", m)
	}
	s.pos = cursorPos{seg: 1} // "a" written
	m, b := s.skipExpired(200)
	if m != 1 || b != codec.FrameLen(3) || s.pos.seg != 2 {
		t.Fatalf("skipped %d frames, %d bytes, cursor at %v: want hb1 only", m, b, s.pos)
	}
	if m, _ := s.skipExpired(250); m != 0 {
		t.Fatal("hb2 skipped before its deadline")
	}
	s.pos.off = 2 // hb2 begun
	if m, _ := s.skipExpired(1000); m != 0 {
		t.Fatal("a frame already begun was dropped")
	}
	s.reset()
}
