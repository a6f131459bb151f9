package bench

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// TestNewCDF summarises sample sets of several sizes and checks each
// CDF: it runs from the fastest sample (Q 0) to the slowest (Q 1), both
// columns ascend, it stops its grid where the samples run out, and every
// point is the nearest-rank quantile.
func TestNewCDF(t *testing.T) {
	cases := []struct {
		name    string
		samples []time.Duration
		points  int // want exactly, or 0 for "the tail as deep as n allows"
	}{
		{"none", nil, -1},
		{"one", []time.Duration{7 * time.Microsecond}, 2},
		{"ten", exponentialRTTs(10, 10*time.Microsecond, 1), 0},
		{"thousand", exponentialRTTs(1000, 10*time.Microsecond, 1), 0},
		{"half a million", exponentialRTTs(500_000, 10*time.Microsecond, 1), len(cdfGrid) + 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cdf := newCDF(c.samples)
			if c.points < 0 {
				if cdf != nil {
					t.Fatalf("CDF of no samples: %v", cdf)
				}
				return
			}
			if c.points > 0 && len(cdf) != c.points {
				t.Errorf("%d points, want %d", len(cdf), c.points)
			}
			n := len(c.samples)
			first, last := cdf[0], cdf[len(cdf)-1]
			if first.Q != 0 || first.RTT != c.samples[0] || last.Q != 1 || last.RTT != c.samples[n-1] {
				t.Errorf("ends %+v .. %+v, want the fastest at 0 and the slowest at 1", first, last)
			}
			for i, p := range cdf {
				if i > 0 && (p.Q <= cdf[i-1].Q || p.RTT < cdf[i-1].RTT) {
					t.Errorf("point %d %+v after %+v: not ascending", i, p, cdf[i-1])
				}
				if p.Q < 1 && p.Q > 1-1/float64(n) {
					t.Errorf("point %d at q %v: past the samples' depth 1-1/%d", i, p.Q, n)
				}
				if p.RTT != percentile(c.samples, p.Q) {
					t.Errorf("point %d: %v at q %v, nearest rank is %v", i, p.RTT, p.Q, percentile(c.samples, p.Q))
				}
			}
		})
	}
}

// TestMedianCDF takes the pointwise median of three runs' CDFs over the
// quantiles they share.
func TestMedianCDF(t *testing.T) {
	cdfOf := func(base time.Duration, n int) Result {
		return Result{CDF: newCDF(exponentialRTTs(n, base, 1))}
	}
	runs := []Result{cdfOf(10*time.Microsecond, 1000), cdfOf(30*time.Microsecond, 100_000), cdfOf(20*time.Microsecond, 1000)}
	m := medianCDF(runs)
	if want := len(runs[0].CDF); len(m) != want {
		t.Fatalf("%d points, want the %d all three runs have", len(m), want)
	}
	for i, p := range m {
		if p != runs[2].CDF[i] { // the 20µs run is the middle one at every quantile
			t.Errorf("point %d = %+v, want %+v", i, p, runs[2].CDF[i])
		}
	}
	if got := medianCDF([]Result{runs[0], {}}); got != nil {
		t.Errorf("a run without a CDF: median %v, want none", got)
	}
}

// TestCDFJSON checks the CDF's JSON: two parallel arrays, the round trips
// as duration strings, and back to the same CDF.
func TestCDFJSON(t *testing.T) {
	cdf := newCDF(exponentialRTTs(2000, 12*time.Microsecond, 0.5))
	b, err := json.Marshal(cdf)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Q   []float64 `json:"q"`
		RTT []string  `json:"rtt"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if len(raw.Q) != len(cdf) || len(raw.RTT) != len(cdf) || raw.RTT[0] != cdf[0].RTT.String() {
		t.Fatalf("JSON %s does not hold %d points as q and rtt strings", b, len(cdf))
	}
	var back CDF
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back, cdf) {
		t.Errorf("round trip changed the CDF:\n%v\n%v", back, cdf)
	}
	if err := json.Unmarshal([]byte(`{"q":[0,1],"rtt":["1µs"]}`), &back); err == nil {
		t.Error("arrays of different lengths accepted")
	}
}
