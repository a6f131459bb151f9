package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// CDF is a round-trip distribution in compact form: the round trip at
// each quantile of a fixed grid (cdfGrid), from the fastest sample (Q 0)
// to the slowest (Q 1). The grid is even over the body (every 2%) and
// even in nines over the tail (90% to 99.999% in 100 steps), stopping
// where the samples run out, so at most 146 points draw the whole curve,
// tail included. In JSON it is {"q": [...], "rtt": ["25.3µs", ...]}.
type CDF []Quantile

// Quantile is one point of a CDF: RTT is the Q-quantile (nearest rank).
type Quantile struct {
	Q   float64
	RTT time.Duration
}

// cdfGrid is the quantiles a CDF keeps, ascending, 1 excluded: 0 to 0.88
// by 0.02, then 1-10^-t for t from 1 to 5 by 0.04, each rounded to 7
// decimals so that JSON prints them short.
var cdfGrid = func() []float64 {
	var g []float64
	for i := 0; i < 45; i++ {
		g = append(g, float64(i)/50)
	}
	for i := 0; i <= 100; i++ {
		q := 1 - math.Pow(10, -(1+float64(i)*0.04))
		g = append(g, math.Round(q*1e7)/1e7)
	}
	return g
}()

// newCDF summarises sorted samples: the grid's quantiles up to 1-1/n (past
// it nearest rank only repeats the slowest sample), then the slowest.
func newCDF(sorted []time.Duration) CDF {
	n := len(sorted)
	if n == 0 {
		return nil
	}
	c := make(CDF, 0, len(cdfGrid)+1)
	for _, q := range cdfGrid {
		if q > 1-1/float64(n) {
			break
		}
		c = append(c, Quantile{q, percentile(sorted, q)})
	}
	return append(c, Quantile{1, sorted[n-1]})
}

// medianCDF is the pointwise median of the runs' CDFs over the quantiles
// they all have (a short run's tail stops sooner), or nil if any has none.
func medianCDF(rs []Result) CDF {
	if len(rs) == 0 || len(rs[0].CDF) == 0 {
		return nil
	}
	at := make(map[float64][]float64, len(rs[0].CDF))
	for _, r := range rs {
		if len(r.CDF) == 0 {
			return nil
		}
		for _, p := range r.CDF {
			at[p.Q] = append(at[p.Q], float64(p.RTT))
		}
	}
	var out CDF
	for _, p := range rs[0].CDF {
		if v := at[p.Q]; len(v) == len(rs) {
			out = append(out, Quantile{p.Q, time.Duration(medianFloat(v))})
		}
	}
	return out
}

// cdfJSON is a CDF as JSON carries it: quantiles and round trips in two
// parallel arrays.
type cdfJSON struct {
	Q   []float64      `json:"q"`
	RTT []jsonDuration `json:"rtt"`
}

// MarshalJSON writes the CDF as parallel arrays of quantiles and
// round-trip strings.
func (c CDF) MarshalJSON() ([]byte, error) {
	j := cdfJSON{Q: make([]float64, len(c)), RTT: make([]jsonDuration, len(c))}
	for i, p := range c {
		j.Q[i], j.RTT[i] = p.Q, jsonDuration(p.RTT)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *CDF) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var j cdfJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if len(j.Q) != len(j.RTT) {
		return fmt.Errorf("cdf: %d quantiles but %d round trips", len(j.Q), len(j.RTT))
	}
	out := make(CDF, len(j.Q))
	for i := range j.Q {
		out[i] = Quantile{j.Q[i], time.Duration(j.RTT[i])}
	}
	*c = out
	return nil
}
