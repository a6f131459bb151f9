package hashicorpraft

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// Commands of the test FSM: an op byte and an 8-byte argument.
const (
	opAdd  byte = 1 // count command id
	opBlob byte = 2 // replace the blob with blobSize bytes made from seed
)

// blobSize is the blob an opBlob makes: what the snapshot test ships.
const blobSize = 64 << 20

func command(op byte, arg uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{op}, arg)
}

// testFSM records what it applied: how many commands, the last index, a
// running FNV-1a hash of every command in order, and the ids it saw; and,
// after an opBlob, a 64 MiB blob that travels in its snapshots.
type testFSM struct {
	mu       sync.Mutex
	count    int
	last     uint64
	hash     uint64
	seen     map[uint64]struct{}
	blob     []byte
	blobSum  [sha256.Size]byte
	restores int
	hold     atomic.Pointer[chan struct{}] // when set, Apply waits for the channel to close
}

// fsmState is what tests compare. Count is every command applied,
// Distinct the distinct opAdd ids among them.
type fsmState struct {
	Count, Distinct int
	Last, Hash      uint64
	BlobSum         [sha256.Size]byte
	Restores        int
}

const fnvOffset, fnvPrime = 14695981039346656037, 1099511628211

func newTestFSM() *testFSM { return &testFSM{hash: fnvOffset, seen: make(map[uint64]struct{})} }

// Apply implements raft.FSM.
func (f *testFSM) Apply(l *raft.Log) any {
	if hold := f.hold.Load(); hold != nil {
		<-*hold
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range l.Data {
		f.hash = (f.hash ^ uint64(c)) * fnvPrime
	}
	f.hash = (f.hash ^ uint64(len(l.Data))) * fnvPrime
	f.count++
	f.last = l.Index
	if len(l.Data) == 9 {
		arg := binary.BigEndian.Uint64(l.Data[1:])
		switch l.Data[0] {
		case opAdd:
			f.seen[arg] = struct{}{}
		case opBlob:
			f.blob, f.blobSum = theBlob(arg)
		}
	}
	return f.count
}

// theBlob is the blob of seed and its sum, made once per process: every
// node of a test cluster runs in this process, and making 64 MiB on each
// at once would starve the heartbeats of CPU (2 cores, race detector),
// which is not what the tests are about. A node that restores the blob
// from a snapshot still reads and hashes every byte it received.
func theBlob(seed uint64) ([]byte, [sha256.Size]byte) {
	blobsMu.Lock()
	defer blobsMu.Unlock()
	b, ok := blobs[seed]
	if !ok {
		b.data = makeBlob(seed, blobSize)
		b.sum = blobSum(b.data)
		blobs[seed] = b
	}
	return b.data, b.sum
}

var (
	blobsMu sync.Mutex
	blobs   = map[uint64]struct {
		data []byte
		sum  [sha256.Size]byte
	}{}
)

// makeBlob returns n pseudo-random bytes from seed (AES-CTR: fast, even
// under the race detector, and incompressible, so all of it travels).
func makeBlob(seed uint64, n int) []byte {
	key := binary.BigEndian.AppendUint64(make([]byte, 8, 16), seed)
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	ctr := cipher.NewCTR(block, make([]byte, aes.BlockSize))
	b := make([]byte, n)
	for off := 0; off < n; off += blobChunk {
		p := b[off:min(off+blobChunk, n)]
		ctr.XORKeyStream(p, p)
	}
	return b
}

// blobChunk is how much of a blob one assembly call (AES, SHA-256) takes:
// a call over all 64 MiB cannot be preempted, and a GC stopping the world
// meanwhile would stall every goroutine, heartbeats too, for its length.
const blobChunk = 1 << 20

// blobSum is the SHA-256 of b, a chunk at a time.
func blobSum(b []byte) (sum [sha256.Size]byte) {
	h := sha256.New()
	for off := 0; off < len(b); off += blobChunk {
		h.Write(b[off:min(off+blobChunk, len(b))])
	}
	h.Sum(sum[:0])
	return sum
}

func (f *testFSM) state() fsmState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fsmState{Count: f.count, Distinct: len(f.seen), Last: f.last, Hash: f.hash, BlobSum: f.blobSum, Restores: f.restores}
}

// has reports whether command id was applied.
func (f *testFSM) has(id uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.seen[id]
	return ok
}

// Snapshot implements raft.FSM.
func (f *testFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &fsmSnapshot{count: uint64(f.count), last: f.last, hash: f.hash, blob: f.blob} // the blob is never modified, only replaced
	for id := range f.seen {
		s.seen = append(s.seen, id)
	}
	slices.Sort(s.seen)
	return s, nil
}

// Restore implements raft.FSM.
func (f *testFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var hdr [5 * 8]byte
	if _, err := io.ReadFull(rc, hdr[:]); err != nil {
		return fmt.Errorf("restore header: %w", err)
	}
	u := func(i int) uint64 { return binary.BigEndian.Uint64(hdr[8*i:]) }
	nSeen, nBlob := u(3), u(4)
	if nSeen > 1<<24 || nBlob > 1<<30 {
		return fmt.Errorf("restore: implausible sizes %d, %d", nSeen, nBlob)
	}
	ids := make([]byte, 8*nSeen)
	if _, err := io.ReadFull(rc, ids); err != nil {
		return fmt.Errorf("restore ids: %w", err)
	}
	var blob []byte
	if nBlob > 0 {
		blob = make([]byte, nBlob)
		if _, err := io.ReadFull(rc, blob); err != nil {
			return fmt.Errorf("restore blob: %w", err)
		}
	}
	seen := make(map[uint64]struct{}, nSeen)
	for i := range nSeen {
		seen[binary.BigEndian.Uint64(ids[8*i:])] = struct{}{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count, f.last, f.hash, f.seen, f.blob = int(u(0)), u(1), u(2), seen, blob
	f.blobSum = [sha256.Size]byte{}
	if blob != nil {
		f.blobSum = blobSum(blob)
	}
	f.restores++
	return nil
}

// fsmSnapshot is a point-in-time copy of a testFSM.
type fsmSnapshot struct {
	count, last, hash uint64
	seen              []uint64
	blob              []byte
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	b := make([]byte, 0, 5*8+8*len(s.seen))
	for _, v := range []uint64{s.count, s.last, s.hash, uint64(len(s.seen)), uint64(len(s.blob))} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	for _, id := range s.seen {
		b = binary.BigEndian.AppendUint64(b, id)
	}
	if _, err := sink.Write(b); err != nil {
		_ = sink.Cancel()
		return err
	}
	if _, err := sink.Write(s.blob); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}
