package engine

import (
	"sync"
	"sync/atomic"
)

// pendingShards spreads the table of requests awaiting replies over
// locks, so that concurrent requesters and the loops delivering replies
// rarely meet on one.
const pendingShards = 16

// pendingTable holds the requests awaiting a reply, by id. A waiter is
// taken out of the table by exactly one party, the event loop delivering
// its reply, a connection loss, Close, or the requester giving up, and
// only that party may complete it.
type pendingTable struct {
	seq    atomic.Uint64 // ids of requests and streams; never 0
	shards [pendingShards]pendingShard
	pool   sync.Pool // *waiter
}

type pendingShard struct {
	mu sync.Mutex
	m  map[uint64]*waiter
	_  [40]byte // a shard per cache line: the loops and requesters touch different ones
}

// waiter is one request's wait for its reply. It is pooled: its channel
// is made once and reused, which keeps a round trip free of allocations.
type waiter struct {
	ch    chan reply // capacity 1: completing never blocks
	peer  *peer
	class Class
}

// reply is what completes a waiter: the reply message, or why there is none.
type reply struct {
	m   Message
	err error
}

func (pt *pendingTable) shard(id uint64) *pendingShard { return &pt.shards[id%pendingShards] }

// nextID returns a fresh request or stream id.
func (pt *pendingTable) nextID() uint64 { return pt.seq.Add(1) }

// add registers a waiter for request id to p on class.
func (pt *pendingTable) add(id uint64, p *peer, class Class) *waiter {
	w, _ := pt.pool.Get().(*waiter)
	if w == nil {
		w = &waiter{ch: make(chan reply, 1)}
	}
	w.peer, w.class = p, class
	s := pt.shard(id)
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[uint64]*waiter)
	}
	s.m[id] = w
	s.mu.Unlock()
	return w
}

// take removes and returns the waiter for id if it is still there and
// belongs to p (a reply from another peer does not complete it).
func (pt *pendingTable) take(id uint64, p *peer) *waiter {
	s := pt.shard(id)
	s.mu.Lock()
	w := s.m[id]
	if w != nil && (p == nil || w.peer == p) {
		delete(s.m, id)
	} else {
		w = nil
	}
	s.mu.Unlock()
	return w
}

// recycle returns a completed waiter to the pool; its channel is empty.
func (pt *pendingTable) recycle(w *waiter) {
	w.peer = nil
	pt.pool.Put(w)
}

// failWhere completes, with err, every waiter match selects.
func (pt *pendingTable) failWhere(match func(*waiter) bool, err error) int {
	n := 0
	for i := range pt.shards {
		s := &pt.shards[i]
		s.mu.Lock()
		for id, w := range s.m {
			if match(w) {
				delete(s.m, id)
				w.ch <- reply{err: err}
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

// len is the number of requests awaiting replies.
func (pt *pendingTable) len() int {
	n := 0
	for i := range pt.shards {
		s := &pt.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
