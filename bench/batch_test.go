package bench

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/tensorchain/transport/codec"
)

// TestOnewayBatches runs oneway with batches, plaintext and with LZ4 (the
// baseline's compressed frames and its reader's hand-over of buffered
// frames), and checks both implementations' figures and the settings line.
func TestOnewayBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the harness")
	}
	for _, lz4 := range []bool{false, true} {
		o := tinyOptions()
		o.Scenarios = []string{ScenarioOneway}
		o.Sizes = []int{64, 4 << 10}
		o.Batch, o.LZ4 = 16, lz4
		rep, err := Run(o, nil)
		if err != nil {
			t.Fatalf("lz4=%v: Run: %v", lz4, err)
		}
		for _, im := range []string{"engine", "baseline"} {
			for _, size := range o.Sizes {
				r, ok := findLoose(rep.Results, ScenarioOneway, sizeName(size), im)
				if !ok {
					t.Fatalf("lz4=%v: no %s result for %s", lz4, im, sizeName(size))
				}
				checkResult(t, r)
			}
		}
		if line := rep.settingsLine(); !strings.Contains(line, "batch=16") {
			t.Errorf("settings line does not say the batch: %s", line)
		}
	}
}

// TestBufferedFrame: the baseline's reader hands over only frames wholly
// in its buffer, so that taking them never blocks.
func TestBufferedFrame(t *testing.T) {
	frame := codec.AppendFrame(nil, 0, []byte("payload"))
	for _, tc := range []struct {
		name string
		have int
		want bool
	}{
		{"nothing", 0, false},
		{"part of the header", 3, false},
		{"the header", codec.HeaderSize, false},
		{"all but a byte", len(frame) - 1, false},
		{"the frame", len(frame), true},
	} {
		r := bufio.NewReader(bytes.NewReader(frame[:tc.have]))
		if tc.have > 0 {
			if _, err := r.Peek(tc.have); err != nil { // fill the buffer with what there is
				t.Fatal(err)
			}
		}
		if got := bufferedFrame(r); got != tc.want {
			t.Errorf("%s (%d of %d bytes buffered): %v, want %v", tc.name, tc.have, len(frame), got, tc.want)
		}
	}
}
