package bench

import (
	"testing"
)

// TestStreamOneGiBOverMTLS sends a 1 GiB stream between two node
// processes (a tcbench built without the race detector, whose shadow
// memory would make RSS meaningless) over mutual TLS, and asserts that it
// arrives whole and that neither process's peak resident memory reaches
// 64 MiB: the stream is flow-controlled end to end.
func TestStreamOneGiBOverMTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 1 GiB between two processes")
	}
	exe := buildTarget(t)
	p, err := newPKI()
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	const size = 1 << 30
	run, err := runStream(exe, p, size)
	if err != nil {
		t.Fatal(err)
	}
	if run.bytes != size || !run.intact {
		t.Fatalf("received %d of %d bytes, checksum equal: %v", run.bytes, size, run.intact)
	}
	for side, peak := range map[string]int64{"sender": run.senderPeak, "receiver": run.recvPeak} {
		if peak >= streamRSSLimit {
			t.Errorf("%s peak RSS %d MiB, limit %d MiB", side, peak>>20, streamRSSLimit>>20)
		}
	}
	t.Logf("1 GiB over mTLS in %v: sender peak %d MiB, receiver peak %d MiB", run.elapsed, run.senderPeak>>20, run.recvPeak>>20)
}
