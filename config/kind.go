package config

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tensorchain/transport/engine"
)

// tomlType is the TOML type a setting is written as.
type tomlType string

// The TOML types of settings.
const (
	tomlString  tomlType = "string"
	tomlInteger tomlType = "integer"
	tomlFloat   tomlType = "float"
	tomlBool    tomlType = "bool"
	tomlArray   tomlType = "array"
)

// kind is how the settings of one Go type T are written: parsed from the
// text of a flag (or of a TOML string), formatted back, and taken from a
// decoded TOML value. The kinds are below and in textkinds.go; the table
// (table.go) gives each setting one.
type kind[T any] struct {
	// name says what the setting takes, in words, for the docs.
	name string
	// toml is the TOML type it is written as, and want says it in an
	// error about a value of another type ("an integer").
	toml tomlType
	want string
	// parse reads a flag's text (also a TOML string's, for string kinds);
	// its errors say what is wanted and wrap ErrInvalidValue.
	parse  func(string) (T, error)
	format func(T) string
	// fromTOML converts a value decoded from TOML (int64, float64, bool,
	// string, []any, ...); dir is the document's directory. Nil means a
	// TOML string read with parse.
	fromTOML func(v any, dir string) (T, error)
	// literal writes a value as TOML; nil means format's text, quoted
	// for string kinds.
	literal func(T) string
	// boolean flags may stand alone: -keepalive is -keepalive=true.
	boolean bool
	// add, for a list, appends the values of one flag to the list:
	// the flag is repeatable.
	add func(list, more T) T
}

// fromTOMLValue converts a decoded TOML value with k.fromTOML, or as a
// TOML string read with k.parse.
func (k kind[T]) fromTOMLValue(v any, dir string) (T, error) {
	if k.fromTOML != nil {
		return k.fromTOML(v, dir)
	}
	s, ok := v.(string)
	if !ok {
		var zero T
		return zero, mismatch(v, k.want)
	}
	return k.parse(s)
}

// literalOf writes v as TOML.
func (k kind[T]) literalOf(v T) string {
	if k.literal != nil {
		return k.literal(v)
	}
	if k.toml == tomlString {
		return quote(k.format(v))
	}
	return k.format(v)
}

// text is the kind of a setting written as a TOML string and parsed by
// parse, such as a node id, a mode or a log level.
func text[T any](name string, parse func(string) (T, error), format func(T) string) kind[T] {
	return kind[T]{name: name, toml: tomlString, want: "a string", parse: parse, format: format}
}

// integer is the kind of int settings: sizes, counts.
var integer = kind[int]{
	name: "integer", toml: tomlInteger, want: "an integer",
	parse:  parseInt,
	format: strconv.Itoa,
	fromTOML: func(v any, _ string) (int, error) {
		i, ok := v.(int64)
		if !ok {
			return 0, mismatch(v, "an integer")
		}
		if int64(int(i)) != i {
			return 0, invalid("%d does not fit an int", i)
		}
		return int(i), nil
	},
}

// integer64 is the kind of int64 settings (memory_budget: more than 32 bits).
var integer64 = kind[int64]{
	name: "integer", toml: tomlInteger, want: "an integer",
	parse: func(s string) (int64, error) {
		return parseNumber(s, "an integer", func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) })
	},
	format: func(n int64) string { return strconv.FormatInt(n, 10) },
	fromTOML: func(v any, _ string) (int64, error) {
		i, ok := v.(int64)
		if !ok {
			return 0, mismatch(v, "an integer")
		}
		return i, nil
	},
}

// float is the kind of float64 settings: rates, factors. TOML integers are
// taken too ("refill_rate = 50").
var float = kind[float64]{
	name: "number", toml: tomlFloat, want: "a number",
	parse: func(s string) (float64, error) {
		return parseNumber(s, "a number", func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
	},
	format: func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) },
	fromTOML: func(v any, _ string) (float64, error) {
		switch f := v.(type) {
		case float64:
			return f, nil
		case int64:
			return float64(f), nil
		}
		return 0, mismatch(v, "a number")
	},
	literal: func(f float64) string {
		s := strconv.FormatFloat(f, 'g', -1, 64)
		switch {
		case math.IsInf(f, 1):
			return "inf"
		case math.IsInf(f, -1):
			return "-inf"
		case math.IsNaN(f):
			return "nan"
		case !strings.ContainsAny(s, ".e"):
			return s + ".0"
		}
		return s
	},
}

// boolean is the kind of on/off settings.
var boolean = kind[bool]{
	name: "boolean", toml: tomlBool, want: "true or false", boolean: true,
	parse: func(s string) (bool, error) {
		v, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return false, invalid("%q is not a boolean (want true or false)", s)
		}
		return v, nil
	},
	format: strconv.FormatBool,
	fromTOML: func(v any, _ string) (bool, error) {
		b, ok := v.(bool)
		if !ok {
			return false, mismatch(v, "true or false")
		}
		return b, nil
	},
}

// duration is the kind of time.Duration settings, written as Go durations
// ("5s", "250ms", "1m30s"): a bare TOML integer is refused, not taken as
// nanoseconds.
var duration = kind[time.Duration]{
	name: "duration", toml: tomlString, want: `a duration string such as "5s"`,
	parse: func(s string) (time.Duration, error) {
		v, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return 0, invalid("%q is not a duration (want e.g. \"5s\", \"250ms\", \"1m30s\")", s)
		}
		return v, nil
	},
	format: time.Duration.String,
}

// filePath is the kind of file names. In a TOML file, a relative name is taken
// from the file's directory; on the command line, from the working
// directory.
var filePath = kind[string]{
	name: "path", toml: tomlString, want: "a string",
	parse:  func(s string) (string, error) { return s, nil },
	format: func(s string) string { return s },
	fromTOML: func(v any, dir string) (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", mismatch(v, "a string")
		}
		return resolve(dir, s), nil
	},
}

// peerList is the kind of the peers: "ID=HOST:PORT" strings, an array in
// TOML, one per flag on the command line (-peer is repeatable).
var peerList = kind[[]engine.PeerConfig]{
	name: "ID=HOST:PORT list", toml: tomlArray, want: `an array of "ID=HOST:PORT" strings`,
	parse: func(s string) ([]engine.PeerConfig, error) {
		p, err := parsePeer(s)
		if err != nil {
			return nil, err
		}
		return []engine.PeerConfig{p}, nil
	},
	format: func(ps []engine.PeerConfig) string {
		parts := make([]string, len(ps))
		for i, p := range ps {
			parts[i] = formatPeer(p)
		}
		return strings.Join(parts, ",")
	},
	fromTOML: func(v any, _ string) ([]engine.PeerConfig, error) {
		list, ok := v.([]any)
		if !ok {
			return nil, mismatch(v, `an array of "ID=HOST:PORT" strings`)
		}
		peers := make([]engine.PeerConfig, 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return nil, invalid("got an array holding a TOML %s, want an array of \"ID=HOST:PORT\" strings", typeName(e))
			}
			p, err := parsePeer(s)
			if err != nil {
				return nil, err
			}
			peers = append(peers, p)
		}
		return peers, nil
	},
	literal: func(ps []engine.PeerConfig) string {
		parts := make([]string, len(ps))
		for i, p := range ps {
			parts[i] = quote(formatPeer(p))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	},
	add: func(list, more []engine.PeerConfig) []engine.PeerConfig { return append(list, more...) },
}

// parseInt parses a decimal int.
func parseInt(s string) (int, error) { return parseNumber(s, "an integer", strconv.Atoi) }

// parseNumber parses s with parse, which refuses a number with a unit
// ("512MiB": sizes are plain integers) or out of the type's range; what
// names the wanted type in the error.
func parseNumber[T any](s, what string, parse func(string) (T, error)) (T, error) {
	v, err := parse(strings.TrimSpace(s))
	if err != nil {
		var zero T
		return zero, invalid("%q is not %s", s, what)
	}
	return v, nil
}
