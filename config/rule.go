package config

import "fmt"

// number is the Go type of a numeric setting (time.Duration included).
type number interface{ ~int | ~int64 | ~float64 }

// rule is the range a numeric setting accepts: a lower bound, an upper
// bound or both, each inclusive or exclusive. The same rule checks a flag
// and a TOML value; engine.Config.Validate checks what is left (relations
// between settings, such as conn_memory_reserve <= memory_budget).
type rule[T number] struct {
	lo, hi         T
	hasLo, hasHi   bool
	loOpen, hiOpen bool // the bound itself is refused
}

// between accepts lo <= v <= hi.
func between[T number](lo, hi T) rule[T] {
	return rule[T]{lo: lo, hi: hi, hasLo: true, hasHi: true}
}

// atLeast accepts v >= lo.
func atLeast[T number](lo T) rule[T] { return rule[T]{lo: lo, hasLo: true} }

// above accepts v > lo.
func above[T number](lo T) rule[T] { return rule[T]{lo: lo, hasLo: true, loOpen: true} }

// aboveAtMost accepts lo < v <= hi.
func aboveAtMost[T number](lo, hi T) rule[T] {
	r := between(lo, hi)
	r.loOpen = true
	return r
}

// atLeastBelow accepts lo <= v < hi.
func atLeastBelow[T number](lo, hi T) rule[T] {
	r := between(lo, hi)
	r.hiOpen = true
	return r
}

// accepts reports whether v is in range. NaN never is.
func (r rule[T]) accepts(v T) bool {
	if r.hasLo && !(v > r.lo || (!r.loOpen && v == r.lo)) {
		return false
	}
	if r.hasHi && !(v < r.hi || (!r.hiOpen && v == r.hi)) {
		return false
	}
	return true
}

// check refuses a value out of range, saying what is wanted:
// "must be between 1 and 64".
func (r rule[T]) check(v T) error {
	if !r.accepts(v) {
		return invalid("must be %s", r)
	}
	return nil
}

// String describes the range: "between 1 and 64", ">= 1", "> 0s",
// "> 0 and <= 1e+06".
func (r rule[T]) String() string {
	lo, hi := ">=", "<="
	if r.loOpen {
		lo = ">"
	}
	if r.hiOpen {
		hi = "<"
	}
	switch {
	case r.hasLo && r.hasHi && !r.loOpen && !r.hiOpen:
		return fmt.Sprintf("between %v and %v", r.lo, r.hi)
	case r.hasLo && r.hasHi:
		return fmt.Sprintf("%s %v and %s %v", lo, r.lo, hi, r.hi)
	case r.hasLo:
		return fmt.Sprintf("%s %v", lo, r.lo)
	case r.hasHi:
		return fmt.Sprintf("%s %v", hi, r.hi)
	}
	return "any"
}

// outside returns the values next to the range that it refuses: the tests
// check that each is refused, naming the key.
func (r rule[T]) outside() []T {
	var vs []T
	if r.hasLo {
		if r.loOpen {
			vs = append(vs, r.lo)
		} else {
			vs = append(vs, r.lo-1)
		}
	}
	if r.hasHi {
		if r.hiOpen {
			vs = append(vs, r.hi)
		} else {
			vs = append(vs, r.hi+1)
		}
	}
	return vs
}
