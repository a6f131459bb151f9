package engine

import (
	"fmt"
	"sync"

	"github.com/tensorchain/transport/codec"
)

// streamTable is every open stream, both ends. Streams are few and their
// frames large, so one lock serves.
type streamTable struct {
	mu   sync.Mutex
	send map[uint64]*outStream // ours, by id
	recv map[recvKey]*Stream   // the peers', by peer and id
	open map[*peer]int         // the peers' open streams, per peer
}

type recvKey struct {
	p  *peer
	id uint64
}

func newStreamTable() streamTable {
	return streamTable{send: map[uint64]*outStream{}, recv: map[recvKey]*Stream{}, open: map[*peer]int{}}
}

func (st *streamTable) addSend(id uint64, p *peer) *outStream {
	s := &outStream{peer: p, credit: codec.StreamInitialWindow, wake: make(chan struct{}, 1)}
	st.mu.Lock()
	st.send[id] = s
	st.mu.Unlock()
	return s
}

func (st *streamTable) removeSend(id uint64) {
	st.mu.Lock()
	delete(st.send, id)
	st.mu.Unlock()
}

// addRecv registers a peer's new stream, unless the peer has limit open.
func (st *streamTable) addRecv(s *Stream, limit int) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	k := recvKey{s.peer, s.id}
	if _, dup := st.recv[k]; dup || st.open[s.peer] >= limit {
		return false
	}
	st.recv[k] = s
	st.open[s.peer]++
	return true
}

func (st *streamTable) removeRecv(s *Stream) {
	st.mu.Lock()
	k := recvKey{s.peer, s.id}
	if st.recv[k] == s {
		delete(st.recv, k)
		if st.open[s.peer]--; st.open[s.peer] <= 0 {
			delete(st.open, s.peer)
		}
	}
	st.mu.Unlock()
}

func (st *streamTable) recvStream(p *peer, id uint64) *Stream {
	st.mu.Lock()
	s := st.recv[recvKey{p, id}]
	st.mu.Unlock()
	return s
}

// credit adds credit from p to our stream id.
func (st *streamTable) credit(p *peer, id uint64, n int64) {
	st.mu.Lock()
	s := st.send[id]
	st.mu.Unlock()
	if s != nil && s.peer == p {
		s.grant(n)
	}
}

// reset fails the stream a reset from p names: one of ours when its
// receiver sent it, one of p's when its sender did.
func (st *streamTable) reset(p *peer, id uint64, reason byte) {
	err := resetError{reason}
	if reason != codec.ResetAborted {
		st.mu.Lock()
		s := st.send[id]
		st.mu.Unlock()
		if s != nil && s.peer == p {
			s.fail(err)
		}
		return
	}
	if s := st.recvStream(p, id); s != nil {
		st.removeRecv(s)
		s.fail(err)
	}
}

// failPeer fails every stream with p (every stream, when p is nil), both
// ends, with err.
func (st *streamTable) failPeer(p *peer, err error) int {
	var recv []*Stream
	var send []*outStream
	st.mu.Lock()
	for k, s := range st.recv {
		if p == nil || k.p == p {
			recv = append(recv, s)
			delete(st.recv, k)
			if st.open[k.p]--; st.open[k.p] <= 0 {
				delete(st.open, k.p)
			}
		}
	}
	for _, s := range st.send {
		if p == nil || s.peer == p {
			send = append(send, s)
		}
	}
	st.mu.Unlock()
	for _, s := range recv {
		s.fail(err)
	}
	for _, s := range send {
		s.fail(err)
	}
	return len(recv) + len(send)
}

// connClosed fails what depended on an established connection with p of
// class that closed: the requests of that class, and every stream with p.
func (t *Transport) connClosed(p *peer, class Class, reason error) {
	err := fmt.Errorf("%w: %v", ErrConnectionLost, reason)
	t.failRequests(p, class, err)
	t.stats.streamsFailed.Add(uint64(t.streams.failPeer(p, err)))
}
