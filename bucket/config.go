package bucket

import (
	"fmt"
	"math"
	"strings"
)

// Config is a token-bucket setting (TOML section [rate_limit]).
type Config struct {
	// Enabled turns limiting on; a disabled bucket always allows.
	Enabled bool `toml:"enabled"`
	// BucketSize is the burst capacity, in tokens (messages).
	BucketSize int `toml:"bucket_size"`
	// RefillRate is the number of tokens added per second.
	RefillRate float64 `toml:"refill_rate"`
}

// Default allows bursts of 100 messages and 50 per second after that.
func Default() Config { return Config{Enabled: true, BucketSize: 100, RefillRate: 50} }

// Aggressive allows bursts of 50 messages and 25 per second.
func Aggressive() Config { return Config{Enabled: true, BucketSize: 50, RefillRate: 25} }

// Permissive allows bursts of 200 messages and 100 per second.
func Permissive() Config { return Config{Enabled: true, BucketSize: 200, RefillRate: 100} }

// Disabled never limits.
func Disabled() Config { return Config{} }

// Preset returns the named preset: default, aggressive, permissive or
// disabled (case-insensitive).
func Preset(name string) (Config, error) {
	switch strings.ToLower(name) {
	case "default":
		return Default(), nil
	case "aggressive":
		return Aggressive(), nil
	case "permissive":
		return Permissive(), nil
	case "disabled", "off", "none":
		return Disabled(), nil
	}
	return Config{}, fmt.Errorf("unknown rate-limit preset %q (want default, aggressive, permissive or disabled)", name)
}

// maxRefillRate bounds RefillRate so that the refill count (milli-tokens
// since the clock's origin) fits an int64 for centuries; a million messages
// per second per peer is beyond what a limit is for (disable it instead).
const maxRefillRate = 1e6

// Validate reports a configuration that cannot work, naming the field.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	if c.BucketSize <= 0 || c.BucketSize > 1<<30 {
		return fmt.Errorf("bucket_size: %d, want 1..%d", c.BucketSize, 1<<30)
	}
	if math.IsNaN(c.RefillRate) || c.RefillRate <= 0 || c.RefillRate > maxRefillRate {
		return fmt.Errorf("refill_rate: %v, want > 0 and <= %g", c.RefillRate, float64(maxRefillRate))
	}
	return nil
}
