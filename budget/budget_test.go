package budget

import (
	"sync"
	"testing"
)

func TestAccountReserveAndSharedPool(t *testing.T) {
	p := NewPool(100, 100)
	a, ok := p.Open(30)
	if !ok || p.Used() != 30 {
		t.Fatalf("open: ok %v used %d, want 30", ok, p.Used())
	}
	b, _ := p.Open(30)
	steps := []struct {
		name     string
		acct     *Account
		take     int64 // < 0 gives back
		ok       bool
		wantUsed int64
	}{
		{"within a's reserve", a, 30, true, 60},
		{"beyond it, from the pool", a, 30, true, 90},
		{"more than the pool has left", a, 11, false, 90},
		{"b's reserve is still b's", b, 30, true, 90},
		{"b beyond its reserve", b, 10, true, 100},
		{"pool exhausted", b, 1, false, 100},
		{"a gives back its excess", a, -30, true, 70},
		{"a gives back into its reserve", a, -10, true, 70},
		{"now b can grow", b, 30, true, 100},
	}
	for _, s := range steps {
		ok := true
		if s.take >= 0 {
			ok = s.acct.Take(s.take)
		} else {
			s.acct.Give(-s.take)
		}
		if ok != s.ok || p.Used() != s.wantUsed {
			t.Fatalf("%s: ok %v used %d, want %v %d", s.name, ok, p.Used(), s.ok, s.wantUsed)
		}
	}
	if p.Refused() != 2 {
		t.Fatalf("refused %d, want 2", p.Refused())
	}
}

func TestCloseReturnsReserveAndKeepsHeld(t *testing.T) {
	p := NewPool(100, 100)
	a, _ := p.Open(40)
	a.Take(10)
	a.Close() // 10 still held (e.g. by messages not yet released)
	if p.Used() != 10 {
		t.Fatalf("after close used %d, want 10", p.Used())
	}
	a.Give(10)
	if p.Used() != 0 || a.Held() != 0 {
		t.Fatalf("after give used %d held %d", p.Used(), a.Held())
	}
	big, _ := p.Open(10)
	big.Take(70)
	big.Close()
	if p.Used() != 70 {
		t.Fatalf("closing an account over its reserve: used %d, want 70", p.Used())
	}
}

func TestOpenRefusedWhenPoolFull(t *testing.T) {
	p := NewPool(50, 50)
	if _, ok := p.Open(40); !ok {
		t.Fatal("first open refused")
	}
	if _, ok := p.Open(20); ok {
		t.Fatal("second open granted beyond the limit")
	}
	if p.Used() != 40 || p.Refused() != 1 {
		t.Fatalf("used %d refused %d", p.Used(), p.Refused())
	}
}

// TestConcurrentChargesBalance: loops take, other goroutines give back;
// the pool ends where it started and never exceeds its limit.
func TestConcurrentChargesBalance(t *testing.T) {
	p := NewPool(1<<20, 1<<20)
	var wg sync.WaitGroup
	for range 8 {
		a, _ := p.Open(1 << 10)
		wg.Add(1)
		go func() {
			defer wg.Done()
			gives := make(chan int64, 64)
			done := make(chan struct{})
			go func() {
				for n := range gives {
					a.Give(n)
				}
				close(done)
			}()
			for i := range 10000 {
				n := int64(i%7) * 512
				if a.Take(n) {
					gives <- n
				}
				if u := p.Used(); u > p.Limit() {
					t.Errorf("used %d over limit", u)
				}
			}
			close(gives)
			<-done
			a.Close()
		}()
	}
	wg.Wait()
	if p.Used() != 0 {
		t.Fatalf("used %d after everything was given back", p.Used())
	}
}

func BenchmarkTakeGive(b *testing.B) {
	p := NewPool(1<<30, 1<<30)
	a, _ := p.Open(1 << 20)
	b.ReportAllocs()
	for b.Loop() {
		a.Take(32 << 10)
		a.Give(32 << 10)
	}
}

// TestSharedCapLeavesRoomToOpen: accounts that fill the shared part
// cannot stop another account from opening with its reserve.
func TestSharedCapLeavesRoomToOpen(t *testing.T) {
	p := NewPool(100, 60)
	a, _ := p.Open(10)
	if !a.Take(70) || a.Take(1) { // 10 within the reserve, 60 shared: the cap
		t.Fatalf("shared %d used %d", p.Shared(), p.Used())
	}
	for i := range 3 {
		if _, ok := p.Open(10); !ok {
			t.Fatalf("open %d refused with the shared part full (used %d)", i, p.Used())
		}
	}
	if _, ok := p.Open(1); ok {
		t.Fatal("opened beyond the limit")
	}
	a.Close()
	if p.Used() != 100 || p.Shared() != 70 {
		t.Fatalf("after close: used %d shared %d, want 100 and 70", p.Used(), p.Shared())
	}
	a.Give(70)
	if p.Used() != 30 || p.Shared() != 0 {
		t.Fatalf("after give: used %d shared %d, want 30 and 0", p.Used(), p.Shared())
	}
}

// TestDeferLeavesRoomToTake: charges that can wait stop at three quarters
// of the shared part; charges that cannot still get the rest.
func TestDeferLeavesRoomToTake(t *testing.T) {
	p := NewPool(200, 100)
	a, _ := p.Open(0)
	if !a.Defer(75) || a.Defer(1) {
		t.Fatalf("deferrable charges: shared %d, want them to stop at 75", p.Shared())
	}
	if !a.Take(25) || a.Take(1) {
		t.Fatalf("firm charges: shared %d, want them to reach 100", p.Shared())
	}
}

// TestSetReserve: a reserve grows when the pool can grant it, and what
// the account held beyond the old reserve moves into the new one.
func TestSetReserve(t *testing.T) {
	p := NewPool(100, 50)
	a, _ := p.Open(10)
	a.Take(30) // 10 within the reserve, 20 shared
	if !a.SetReserve(40) || p.Used() != 40 || p.Shared() != 0 {
		t.Fatalf("grown: used %d shared %d, want 40 and 0", p.Used(), p.Shared())
	}
	if a.SetReserve(101) || p.Used() != 40 {
		t.Fatalf("a reserve beyond the limit was granted (used %d)", p.Used())
	}
	if !a.SetReserve(5) || p.Used() != 30 || p.Shared() != 25 {
		t.Fatalf("shrunk: used %d shared %d, want 30 and 25", p.Used(), p.Shared())
	}
	a.Give(30)
	a.Close()
	if p.Used() != 0 || p.Shared() != 0 {
		t.Fatalf("after close: used %d shared %d", p.Used(), p.Shared())
	}
}
