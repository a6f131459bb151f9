package bucket

import "math/bits"

// mul64 returns the 128-bit product of two non-negative int64s.
func mul64(a, b int64) (hi, lo uint64) { return bits.Mul64(uint64(a), uint64(b)) }

// div128 divides a 128-bit value by a positive int64. The quotient is
// saturated to MaxInt64 when it would not fit.
func div128(hi, lo uint64, d int64) (q int64, r uint64) {
	if hi >= uint64(d) {
		return 1<<63 - 1, 0
	}
	qu, ru := bits.Div64(hi, lo, uint64(d))
	if qu > 1<<63-1 {
		return 1<<63 - 1, 0
	}
	return int64(qu), ru
}
