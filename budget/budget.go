// Package budget accounts for memory against a process-wide limit.
//
// A Pool is the limit; each holder (a connection) opens an Account with a
// reserve, a share of the pool set aside for it alone when it opens, so
// that no other holder can take it away. Beyond its reserve an account
// draws on what the pool has left, first come first served, and a charge
// the pool cannot grant is refused rather than allowed to overshoot. What
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
	limit   int64
	used    atomic.Int64 // reserves of open accounts, plus what accounts hold beyond them
	refused atomic.Uint64
}

// NewPool returns a pool of limit bytes.
func NewPool(limit int64) *Pool { return &Pool{limit: limit} }

// Limit is the pool's size in bytes.
func (p *Pool) Limit() int64 { return p.limit }

// Used is what the pool has granted: open accounts' reserves and what
// accounts hold beyond them.
func (p *Pool) Used() int64 { return p.used.Load() }

// Refused counts the charges and opens the pool could not grant.
func (p *Pool) Refused() uint64 { return p.refused.Load() }

// grant takes n bytes from the pool if they fit.
func (p *Pool) grant(n int64) bool {
	if n <= 0 {
		p.used.Add(n)
		return true
	}
	if p.used.Add(n) > p.limit {
		p.used.Add(-n)
		p.refused.Add(1)
		return false
	}
	return true
}

// Open returns an account with reserve bytes set aside, or false (and
// nothing taken) when the pool cannot spare them.
func (p *Pool) Open(reserve int64) (*Account, bool) {
	if !p.grant(reserve) {
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
func (a *Account) Take(n int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.pool.grant(a.over(a.held+n) - a.over(a.held)) {
		return false
	}
	a.held += n
	return true
}

// Give returns n bytes charged by Take. Any goroutine, before or after
// Close.
func (a *Account) Give(n int64) {
	a.mu.Lock()
	a.pool.grant(a.over(a.held-n) - a.over(a.held))
	a.held -= n
	a.mu.Unlock()
}

// Held is what the account holds now.
func (a *Account) Held() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.held
}

// Close returns the reserve to the pool. What the account still holds
// stays charged until it is given back.
func (a *Account) Close() {
	a.mu.Lock()
	before := max(a.reserve, a.held)
	a.reserve = 0
	a.pool.grant(a.held - before)
	a.mu.Unlock()
}
