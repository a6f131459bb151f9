package bench

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// jsonDuration is a time.Duration that JSON carries as its String form
// ("1.5ms", "25.312µs"), which time.ParseDuration reads back exactly.
// The report's own fields stay time.Duration; their MarshalJSON methods
// (result_json.go) swap this type in.
type jsonDuration time.Duration

// MarshalJSON writes the duration as a string.
func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, time.Duration(d).String()), nil
}

// UnmarshalJSON reads a duration string; null leaves d as it is.
func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration %s: want a string such as \"1.5ms\"", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = jsonDuration(v)
	return nil
}
