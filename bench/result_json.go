package bench

import (
	"encoding/json"
	"math"
	"time"
)

// The report's JSON is snake_case throughout, with durations as strings
// (jsonDuration). Result and Options keep typed Go fields; their
// MarshalJSON and UnmarshalJSON swap each duration for a jsonDuration of
// the same JSON name: a field of the outer struct hides the embedded one
// it shares a name with.

// resultFields is Result without its methods, so that encoding it does
// not recurse into MarshalJSON.
type resultFields Result

// resultJSON is Result as JSON carries it.
type resultJSON struct {
	*resultFields
	Elapsed      jsonDuration `json:"elapsed,omitempty"`
	P50          jsonDuration `json:"p50,omitempty"`
	P99          jsonDuration `json:"p99,omitempty"`
	P999         jsonDuration `json:"p999,omitempty"`
	BaseP50      jsonDuration `json:"base_p50,omitempty"`
	BaseP99      jsonDuration `json:"base_p99,omitempty"`
	FreshConnect jsonDuration `json:"fresh_connect,omitempty"`
	CPUPerMsg    jsonDuration `json:"cpu_per_msg,omitempty"`
	CPUPerKiB    jsonDuration `json:"cpu_per_kib,omitempty"`
}

// asJSON wraps r, its durations copied into the JSON form.
func (r *Result) asJSON() resultJSON {
	return resultJSON{
		resultFields: (*resultFields)(r),
		Elapsed:      jsonDuration(r.Elapsed),
		P50:          jsonDuration(r.P50),
		P99:          jsonDuration(r.P99),
		P999:         jsonDuration(r.P999),
		BaseP50:      jsonDuration(r.BaseP50),
		BaseP99:      jsonDuration(r.BaseP99),
		FreshConnect: jsonDuration(r.FreshConnect),
		CPUPerMsg:    jsonDuration(math.Round(r.CPUPerMsg)),
		CPUPerKiB:    jsonDuration(math.Round(r.CPUPerKiB)),
	}
}

// MarshalJSON writes the result with its durations as strings.
func (r Result) MarshalJSON() ([]byte, error) { return json.Marshal(r.asJSON()) }

// UnmarshalJSON reads what MarshalJSON writes; fields the JSON lacks keep
// their values, as with any struct.
func (r *Result) UnmarshalJSON(b []byte) error {
	j := r.asJSON()
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	r.Elapsed, r.P50, r.P99, r.P999 = time.Duration(j.Elapsed), time.Duration(j.P50), time.Duration(j.P99), time.Duration(j.P999)
	r.BaseP50, r.BaseP99, r.FreshConnect = time.Duration(j.BaseP50), time.Duration(j.BaseP99), time.Duration(j.FreshConnect)
	r.CPUPerMsg, r.CPUPerKiB = float64(j.CPUPerMsg), float64(j.CPUPerKiB)
	return nil
}

// optionsFields is Options without its methods.
type optionsFields Options

// optionsJSON is Options as JSON carries it.
type optionsJSON struct {
	*optionsFields
	Duration jsonDuration `json:"duration"`
}

// MarshalJSON writes the options with Duration as a string.
func (o Options) MarshalJSON() ([]byte, error) {
	return json.Marshal(optionsJSON{optionsFields: (*optionsFields)(&o), Duration: jsonDuration(o.Duration)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (o *Options) UnmarshalJSON(b []byte) error {
	j := optionsJSON{optionsFields: (*optionsFields)(o), Duration: jsonDuration(o.Duration)}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	o.Duration = time.Duration(j.Duration)
	return nil
}
