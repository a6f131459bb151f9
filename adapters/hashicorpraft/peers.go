package hashicorpraft

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/engine"
)

// peerSet remembers the address the engine dials each server at, so that
// an RPC to a known server costs one read-locked map lookup.
type peerSet struct {
	mu sync.RWMutex
	m  map[raft.ServerID]*peerState
}

// peerState is one server's registration with the engine.
type peerState struct {
	mu   sync.Mutex         // serialises (re)connecting
	addr raft.ServerAddress // the address registered; under mu, and under peerSet.mu for reading
}

func (ps *peerSet) init() { ps.m = make(map[raft.ServerID]*peerState) }

// registered reports whether id is registered at addr.
func (ps *peerSet) registered(id raft.ServerID, addr raft.ServerAddress) (*peerState, bool) {
	ps.mu.RLock()
	p := ps.m[id]
	ok := p != nil && p.addr == addr
	ps.mu.RUnlock()
	return p, ok
}

// state returns id's entry, creating it.
func (ps *peerSet) state(id raft.ServerID) *peerState {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p := ps.m[id]
	if p == nil {
		p = &peerState{}
		ps.m[id] = p
	}
	return p
}

func (ps *peerSet) setAddr(p *peerState, addr raft.ServerAddress) {
	ps.mu.Lock()
	p.addr = addr
	ps.mu.Unlock()
}

// forget drops id's registration.
func (ps *peerSet) forget(id raft.ServerID) {
	ps.mu.Lock()
	delete(ps.m, id)
	ps.mu.Unlock()
}

// ensurePeer makes sure the engine knows server id at addr before an RPC
// to it: the first RPC connects (waiting up to the connect timeout), and a
// server the engine dials at another address is disconnected and
// connected anew. Once registered, the engine keeps the connections up
// and redials in the background; ensurePeer then costs a map lookup. The
// error of a first connect that failed is returned (the engine keeps
// trying).
func (t *Transport) ensurePeer(id raft.ServerID, addr raft.ServerAddress) error {
	if _, ok := t.peers.registered(id, addr); ok {
		return nil
	}
	p := t.peers.state(id)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.addr == addr {
		return nil // registered while we waited
	}
	if old := t.dialedAt(id); old != "" && old != string(addr) {
		t.log.Info("server address changed: reconnecting", "id", id, "from", old, "to", addr)
		if err := t.eng.Disconnect(string(id)); err != nil && !errors.Is(err, engine.ErrPeerNotFound) {
			return fmt.Errorf("disconnect from the old address %s: %w", old, err)
		}
		t.peers.setAddr(p, "")
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.opts.connectTimeout)
	defer cancel()
	err := t.eng.Connect(ctx, engine.PeerConfig{NodeID: string(id), Address: string(addr)})
	if err != nil && (errors.Is(err, engine.ErrInvalidConfig) || errors.Is(err, engine.ErrClosed) || errors.Is(err, engine.ErrNotStarted)) {
		return fmt.Errorf("connect: %w", err) // nothing was registered
	}
	t.peers.setAddr(p, addr) // registered: the engine dials it from now on
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}

// dialedAt returns the address the engine dials server id at, "" when it
// does not dial it (unknown, or known only by its inbound connections).
func (t *Transport) dialedAt(id raft.ServerID) string {
	for _, pi := range t.eng.Peers() {
		if pi.NodeID == string(id) {
			return pi.Address
		}
	}
	return ""
}

// peerGone forgets server id's registration when an RPC found the engine
// does not know it (someone disconnected it): the next RPC connects again.
func (t *Transport) peerGone(id raft.ServerID, err error) {
	if errors.Is(err, engine.ErrPeerNotFound) {
		t.peers.forget(id)
	}
}
