// Package pool holds the connections a node keeps to one peer and picks the
// one a message should take.
//
// Selection policy: the healthy member with the fewest queued bytes; ties go
// to the earliest-added member, so an idle pool keeps using one connection
// (and one connection's ordering) until load spreads it. When no member is
// healthy, Pick falls back to the least-loaded member that can still become
// healthy (a reconnecting one), so messages queue for it instead of failing.
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
	// Queued is the number of bytes waiting to be written on this member.
	Queued() int64
	// Healthy reports whether the member has an established connection.
	Healthy() bool
	// Usable reports whether the member can accept messages to queue:
	// healthy, or reconnecting.
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

// Pick returns the member a new message should go to (see the package
// doc); ok is false when no member is usable.
func (p *Pool[M]) Pick() (m M, ok bool) {
	var best M
	var bestQ int64
	found, foundHealthy := false, false
	for _, c := range p.Members() {
		healthy := c.Healthy()
		if !healthy && (foundHealthy || !c.Usable()) {
			continue
		}
		q := c.Queued()
		if !found || (healthy && !foundHealthy) || q < bestQ {
			best, bestQ, found, foundHealthy = c, q, true, healthy
		}
	}
	return best, found
}
