package bucket

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a hand-driven Clock.
type fakeClock struct{ now atomic.Int64 }

func (f *fakeClock) clock() time.Duration    { return time.Duration(f.now.Load()) }
func (f *fakeClock) advance(d time.Duration) { f.now.Add(int64(d)) }

func TestPresets(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		burst int
		rate  float64
	}{
		{"default", Default(), 100, 50},
		{"aggressive", Aggressive(), 50, 25},
		{"permissive", Permissive(), 200, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Preset(tc.name)
			if err != nil || got != tc.cfg {
				t.Fatalf("Preset(%q) = %+v, %v", tc.name, got, err)
			}
			fc := &fakeClock{}
			b := New(tc.cfg, fc.clock)
			for i := range tc.burst {
				if !b.Allow() {
					t.Fatalf("burst: token %d refused", i)
				}
			}
			if b.Allow() {
				t.Fatal("allowed past the burst")
			}
			fc.advance(time.Second)
			n := 0
			for b.Allow() {
				n++
			}
			if n != int(tc.rate) {
				t.Fatalf("after 1 s, %d tokens, want %v", n, tc.rate)
			}
		})
	}
	if _, err := Preset("bogus"); err == nil {
		t.Fatal("unknown preset accepted")
	}
	if d, _ := Preset("disabled"); d.Enabled {
		t.Fatal("disabled preset is enabled")
	}
}

func TestRefillArithmetic(t *testing.T) {
	fc := &fakeClock{}
	b := New(Config{Enabled: true, BucketSize: 10, RefillRate: 5}, fc.clock)
	if got := b.Tokens(); got != 10 {
		t.Fatalf("new bucket has %v tokens, want 10", got)
	}
	if !b.AllowN(10) || b.Allow() {
		t.Fatal("a full bucket of 10 must give exactly 10")
	}
	steps := []struct {
		advance time.Duration
		want    float64
	}{
		{100 * time.Millisecond, 0.5},
		{100 * time.Millisecond, 1},
		{time.Second, 6},
		{10 * time.Second, 10}, // capped at capacity
	}
	for _, s := range steps {
		fc.advance(s.advance)
		if got := b.Tokens(); got != s.want {
			t.Fatalf("after +%v: %v tokens, want %v", s.advance, got, s.want)
		}
	}
	if b.AllowN(11) {
		t.Fatal("AllowN above capacity succeeded")
	}
	if !b.AllowN(0) || !b.AllowN(10) || b.Tokens() != 0 {
		t.Fatal("AllowN(0) must be free and AllowN(10) must empty the bucket")
	}
}

func TestNoDriftOverAMillionRefills(t *testing.T) {
	fc := &fakeClock{}
	b := New(Config{Enabled: true, BucketSize: 1_000_000, RefillRate: 3}, fc.clock)
	if !b.AllowN(1_000_000) {
		t.Fatal("could not empty the bucket")
	}
	// A million refills of 1 µs each: exactly 1 s, exactly 3 tokens.
	for range 1_000_000 {
		fc.advance(time.Microsecond)
		_ = b.Tokens()
	}
	if got := b.Tokens(); got != 3 {
		t.Fatalf("after a million 1 µs refills: %v tokens, want exactly 3", got)
	}
	// The level depends on elapsed time only, not on how often it was
	// observed: one 1 s step and a million 1 µs steps agree to the micro-token.
	fc2 := &fakeClock{}
	one := New(Config{Enabled: true, BucketSize: 1_000_000, RefillRate: 3}, fc2.clock)
	one.AllowN(1_000_000)
	fc2.advance(time.Second)
	if one.Tokens() != b.Tokens() {
		t.Fatalf("one step gives %v tokens, a million steps %v", one.Tokens(), b.Tokens())
	}
	// And a million tiny take/refill cycles at a rate that does not divide a
	// second evenly stay within one token of the ideal.
	b = New(Config{Enabled: true, BucketSize: 1, RefillRate: 3}, fc.clock)
	taken := 0
	for range 1_000_000 {
		fc.advance(time.Second / 3) // 333.333... ms, truncated to 333333333 ns
		if b.Allow() {
			taken++
		}
	}
	if taken < 999_998 || taken > 1_000_000 { // the ideal is 999999.999
		t.Fatalf("took %d tokens over a million refill periods, want about 1000000", taken)
	}
}

func TestConcurrentAllowNeverOvergrants(t *testing.T) {
	fc := &fakeClock{}
	b := New(Config{Enabled: true, BucketSize: 1000, RefillRate: 1}, fc.clock)
	var granted atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				if b.Allow() {
					granted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if granted.Load() != 1000 {
		t.Fatalf("granted %d of a 1000-token bucket to 4000 concurrent requests", granted.Load())
	}
}

// TestRefund: refunded tokens can be taken again, and a refund never
// fills the bucket past its size.
func TestRefund(t *testing.T) {
	fc := &fakeClock{}
	b := New(Config{Enabled: true, BucketSize: 10, RefillRate: 1}, fc.clock)
	if !b.AllowN(10) || b.Allow() {
		t.Fatal("a full bucket of 10 did not give exactly 10")
	}
	b.Refund(4)
	if got := b.Tokens(); got != 4 {
		t.Fatalf("after a refund of 4: %v tokens", got)
	}
	if !b.AllowN(4) || b.Allow() {
		t.Fatal("the 4 refunded tokens were not there to take, or more were")
	}
	b.Refund(25)
	if got := b.Tokens(); got != 10 {
		t.Fatalf("after a refund of 25 into an empty bucket of 10: %v tokens", got)
	}
	fc.advance(time.Hour)
	b.Refund(3) // into a full bucket: nothing changes
	if got := b.Tokens(); got != 10 {
		t.Fatalf("a refund into a full bucket gave %v tokens", got)
	}
	New(Disabled(), nil).Refund(5) // a disabled bucket ignores it
}

func TestDisabledAlwaysAllows(t *testing.T) {
	b := New(Disabled(), nil)
	for range 10_000 {
		if !b.Allow() {
			t.Fatal("disabled bucket refused")
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg     Config
		wantErr string
	}{
		{Default(), ""},
		{Disabled(), ""},
		{Config{Enabled: false, BucketSize: -1}, ""},
		{Config{Enabled: true, BucketSize: 0, RefillRate: 1}, "bucket_size"},
		{Config{Enabled: true, BucketSize: 10, RefillRate: 0}, "refill_rate"},
		{Config{Enabled: true, BucketSize: 10, RefillRate: -1}, "refill_rate"},
		{Config{Enabled: true, BucketSize: 10, RefillRate: 1e7}, "refill_rate"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if (err == nil) != (tc.wantErr == "") || (err != nil && !contains(err.Error(), tc.wantErr)) {
			t.Errorf("Validate(%+v) = %v, want error naming %q", tc.cfg, err, tc.wantErr)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func BenchmarkAllow(b *testing.B) {
	bk := New(Config{Enabled: true, BucketSize: 1 << 30, RefillRate: 1e6}, nil)
	b.ReportAllocs()
	for b.Loop() {
		bk.Allow()
	}
}

func BenchmarkAllowParallel(b *testing.B) {
	bk := New(Config{Enabled: true, BucketSize: 1 << 30, RefillRate: 1e6}, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bk.Allow()
		}
	})
}
