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
		for b := *seg; len(b) > 0; {
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
		q.push(hdr[:], p)
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
