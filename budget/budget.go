// Package budget accounts for memory against a process-wide limit.
//
// A Pool is the limit; each holder (a connection) opens an Account with a
// reserve, a share of the pool set aside for it alone when it opens, so
// that no other holder can take it away. Beyond its reserve an account
// draws on the pool's shared part, first come first served, and a charge
// the pool cannot grant is refused rather than allowed to overshoot. The
// shared part is capped below the limit, so that holders who fill it
// cannot stop new accounts from opening; and charges that can wait (Defer)
// may fill only three quarters of it, so that what cannot wait (Take)
// still finds room when they have. What
// an account holds may be returned from any goroutine, after the account
// is closed too: the reserve goes back to the pool at Close, the rest as
// it is returned.
//
// The package does no allocation of its own and no I/O: the numbers are
// what callers say they hold.
package budget

import (
	"sync"
	"sync/atomic"
)

// Pool is a memory limit shared by accounts.
type Pool struct {
	limit, sharedLimit int64
	used               atomic.Int64 // reserves of open accounts, plus what accounts hold beyond them
	shared             atomic.Int64 // what accounts hold beyond their reserves
	refused            atomic.Uint64
}

// NewPool returns a pool of limit bytes of which accounts may hold at
// most shared beyond their reserves (shared is clamped to 0..limit).
func NewPool(limit, shared int64) *Pool {
	return &Pool{limit: limit, sharedLimit: min(max(shared, 0), limit)}
}

// Limit is the pool's size in bytes.
func (p *Pool) Limit() int64 { return p.limit }

// Used is what the pool has granted: open accounts' reserves and what
// accounts hold beyond them.
func (p *Pool) Used() int64 { return p.used.Load() }

// Refused counts the charges and opens the pool could not grant.
func (p *Pool) Refused() uint64 { return p.refused.Load() }

// grant takes n bytes from the pool if they fit, n of them beyond a
// reserve when over is set; a deferrable grant fits in three quarters of
// the shared part only.
func (p *Pool) grant(n int64, over, deferrable bool) bool {
	if n <= 0 {
		p.used.Add(n)
		if over {
			p.shared.Add(n)
		}
		return true
	}
	ceiling := p.sharedLimit
	if deferrable {
		ceiling -= ceiling / 4
	}
	if over && p.shared.Add(n) > ceiling {
		p.shared.Add(-n)
		p.refused.Add(1)
		return false
	}
	if p.used.Add(n) > p.limit {
		p.used.Add(-n)
		if over {
			p.shared.Add(-n)
		}
		p.refused.Add(1)
		return false
	}
	return true
}

// Shared is what accounts hold beyond their reserves.
func (p *Pool) Shared() int64 { return p.shared.Load() }

// Open returns an account with reserve bytes set aside, or false (and
// nothing taken) when the pool cannot spare them.
func (p *Pool) Open(reserve int64) (*Account, bool) {
	if !p.grant(reserve, false, false) {
		return nil, false
	}
	return &Account{pool: p, reserve: reserve}, true
}

// Account is one holder's charges against a Pool.
type Account struct {
	pool *Pool

	mu      sync.Mutex
	reserve int64 // 0 once closed
	held    int64
}

// over is what held bytes take from the pool beyond the reserve.
func (a *Account) over(held int64) int64 { return max(0, held-a.reserve) }

// Take charges n bytes to the account. Within the reserve it always
// succeeds; beyond it, it succeeds only if the pool can grant the rest,
// and otherwise charges nothing and reports false.
func (a *Account) Take(n int64) bool { return a.take(n, false) }

// Defer is Take for a charge that can wait: beyond the reserve it may use
// only three quarters of the pool's shared part.
func (a *Account) Defer(n int64) bool { return a.take(n, true) }

func (a *Account) take(n int64, deferrable bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.pool.grant(a.over(a.held+n)-a.over(a.held), true, deferrable) {
		return false
	}
	a.held += n
	return true
}

// Give returns n bytes charged by Take. Any goroutine, before or after
// Close.
func (a *Account) Give(n int64) {
	a.mu.Lock()
	a.pool.grant(a.over(a.held-n)-a.over(a.held), true, false)
	a.held -= n
	a.mu.Unlock()
}

// Held is what the account holds now.
func (a *Account) Held() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.held
}

// SetReserve changes the account's reserve to r, and reports false (and
// changes nothing) when the pool cannot grant a larger one.
func (a *Account) SetReserve(r int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	used := max(r, a.held) - max(a.reserve, a.held)
	if !a.pool.grant(used, false, false) {
		return false
	}
	a.pool.shared.Add(max(0, a.held-r) - max(0, a.held-a.reserve))
	a.reserve = r
	return true
}

// Close returns the reserve to the pool. What the account still holds
// stays charged until it is given back.
func (a *Account) Close() {
	a.mu.Lock()
	// What was within the reserve becomes a plain holding beyond a zero
	// reserve; the rest of the reserve goes back.
	within := min(a.held, a.reserve)
	a.pool.used.Add(within - a.reserve)
	a.pool.shared.Add(within) // may pass the shared cap: it is held already, and only shrinks
	a.reserve = 0
	a.mu.Unlock()
}
