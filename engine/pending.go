package engine

import (
	"fmt"
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
// An asynchronous request (RequestAsync) has a callback instead of a
// goroutine reading the channel.
type waiter struct {
	ch    chan reply // capacity 1: completing never blocks
	peer  *peer
	class Class
	done  func(Message, error) // RequestAsync's callback, or nil
	stop  func() bool          // stops the callback's context.AfterFunc
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
	return pt.addAsync(id, p, class, nil, nil)
}

// addAsync registers a waiter whose outcome goes to done (nil: to its
// channel); stop, if set, is called once it is complete.
func (pt *pendingTable) addAsync(id uint64, p *peer, class Class, done func(Message, error), stop func() bool) *waiter {
	w, _ := pt.pool.Get().(*waiter)
	if w == nil {
		w = &waiter{ch: make(chan reply, 1)}
	}
	w.peer, w.class, w.done, w.stop = p, class, done, stop
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
	w.peer, w.done, w.stop = nil, nil, nil
	pt.pool.Put(w)
}

// complete hands a waiter taken out of the table its outcome: to the
// goroutine waiting on its channel, or, for an asynchronous request, to
// its callback, here and now.
func (pt *pendingTable) complete(w *waiter, r reply) {
	if w.done == nil {
		w.ch <- r
		return
	}
	done, stop, to := w.done, w.stop, w.peer.id
	pt.recycle(w)
	if stop != nil {
		stop()
	}
	if r.err != nil {
		done(Message{}, fmt.Errorf("request to %s: %w", to, r.err))
		return
	}
	done(r.m, nil)
}

// failWhere completes, with err, every waiter match selects, and adds
// them to failed first: a caller that hears of its request's failure
// finds it counted. Callbacks run after the shard's lock is released: one
// may start another request.
func (pt *pendingTable) failWhere(match func(*waiter) bool, err error, failed *atomic.Uint64) {
	var taken []*waiter
	for i := range pt.shards {
		s := &pt.shards[i]
		s.mu.Lock()
		for id, w := range s.m {
			if match(w) {
				delete(s.m, id)
				taken = append(taken, w)
			}
		}
		s.mu.Unlock()
		failed.Add(uint64(len(taken)))
		for _, w := range taken {
			pt.complete(w, reply{err: err})
		}
		taken = taken[:0]
	}
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
