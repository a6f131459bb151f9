// Package pool holds the connections a node keeps to one peer and picks the
// one a message takes.
//
// Selection keeps order. A message belongs to a class (control or bulk) and,
// within bulk, to a stream; all messages of one stream must take the same
// member, so that they arrive in order:
//
//   - For a peer this node dials, only its own outbound members of the class
//     carry messages, and stream k takes the (k mod n)-th of the n added,
//     always the same one: while it reconnects, messages queue on it rather
//     than move to another member and overtake what is already queued.
//     Inbound members from that peer carry nothing of ours.
//   - For a peer known only because it dialed us, the oldest usable inbound
//     member of the class carries all of that class, and keeps carrying it
//     until it goes away. A newer member never takes over while an older one
//     lives, so nothing overtakes; a class never borrows another's member.
//
// Membership changes are copy-on-write: Pick reads an immutable snapshot
// with one atomic load and takes no lock.
package pool

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Member is one connection slot in a pool.
type Member interface {
	// Class is the member's traffic class; Pick selects within one.
	Class() uint8
	// Outbound reports whether this node dialed the member's connection.
	Outbound() bool
	// Usable reports whether the member can accept messages to queue:
	// established, or (outbound) reconnecting.
	Usable() bool
}

// Pool is a set of members. The zero value is an empty pool ready to use.
type Pool[M Member] struct {
	mu      sync.Mutex // serialises writers
	members atomic.Pointer[[]M]
}

// Add appends m to the pool.
func (p *Pool[M]) Add(m M) {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := append(slices.Clone(p.Members()), m)
	p.members.Store(&next)
}

// Remove deletes m from the pool and reports whether it was there.
func (p *Pool[M]) Remove(match func(M) bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.Members()
	i := slices.IndexFunc(cur, match)
	if i < 0 {
		return false
	}
	next := slices.Delete(slices.Clone(cur), i, i+1)
	p.members.Store(&next)
	return true
}

// Members returns a snapshot of the pool; do not modify it.
func (p *Pool[M]) Members() []M {
	if s := p.members.Load(); s != nil {
		return *s
	}
	return nil
}

// Len returns the number of members.
func (p *Pool[M]) Len() int { return len(p.Members()) }

// Pick returns the member a message of class on stream takes (see the
// package doc). dialed says whether this node dials the peer. ok is false
// when that member is not usable (it failed, or there is none).
func (p *Pool[M]) Pick(class uint8, stream uint32, dialed bool) (m M, ok bool) {
	members := p.Members()
	if dialed {
		n := 0
		for _, c := range members {
			if c.Outbound() && c.Class() == class {
				n++
			}
		}
		if n == 0 {
			return m, false
		}
		k := int(stream % uint32(n))
		for _, c := range members {
			if c.Outbound() && c.Class() == class {
				if k == 0 {
					return c, c.Usable()
				}
				k--
			}
		}
	}
	for _, c := range members {
		if !c.Outbound() && c.Usable() && c.Class() == class {
			return c, true
		}
	}
	return m, false
}
