package config

import (
	"slices"
	"strings"

	"github.com/tensorchain/transport/tlsstate"
)

// Setting is one entry of the table of settings: a TOML key, its flag, what
// it takes, its rule and where it goes in a Node. Everything else derives
// from the table: the TOML loader, the flags, the checks of single values
// and the reference (SETTINGS.md).
type Setting struct {
	// Key is the TOML key, dotted with its section: "pool_size",
	// "tls.cert_path", "rate_limit.bucket_size".
	Key string
	// Flag is the command-line flag, without its dash: the key in kebab
	// case ("reconnect-max-backoff"), or a shorter name ("id", "peer",
	// "tls-cert", "rate-limit").
	Flag string
	// Type says what it takes: "integer", "duration", "path",
	// "strict | permissive | development | legacy".
	Type string
	// Rule is the range it accepts ("between 1 and 64", "> 0s"); empty
	// when any value of its type that parses is accepted.
	Rule string
	// Doc says what it sets. In flag usage, its first word in backquotes
	// names the flag's argument.
	Doc string
	// Example is a value, as a flag's text, that the setting accepts and
	// that differs from its default (but for compression.method, whose
	// only value is its default).
	Example string

	// first settings (the rate-limit presets) replace their whole section:
	// they are applied before the section's other keys and flags, in
	// whatever order those come.
	first bool
	// boolean flags may stand alone.
	boolean bool
	// repeatable flags add to a list; the first replaces the list.
	repeatable bool
	// toml is the TOML type of the key.
	toml tomlType
	// defaultText, when set, describes the default instead of its value
	// (event_loops: "number of CPUs").
	defaultText string
	// outside are flag texts just outside the rule (tests).
	outside []string

	get     func(n *Node) string                   // the value, as a flag's text
	literal func(n *Node) string                   // the value, as TOML
	set     func(n *Node, text string) error       // parse, check, store (a repeatable one adds)
	setTOML func(n *Node, v any, dir string) error // convert, check, store
	reset   func(n *Node)                          // empty a list
}

// Value returns the setting's value in n as a flag's text: "2", "5s",
// "strict". A TLS setting without a TLS configuration shows its Strict
// default; a rate-limit preset shows "".
func (s Setting) Value(n *Node) string { return s.get(n) }

// Set parses text as the flag does, checks it against the rule and stores
// it in n; a repeatable setting (peers) adds one value. Errors say what is
// wanted and wrap ErrInvalidValue; they do not name the key.
func (s Setting) Set(n *Node, text string) error { return s.set(n, text) }

// Default describes the default value: as TOML ("2", `"5s"`), or in words
// when it depends on the machine or has none.
func (s Setting) Default() string {
	if s.defaultText != "" {
		return s.defaultText
	}
	d := Default()
	return s.literal(&d)
}

// Settings returns the table of settings, in the order of the reference:
// the top-level keys, then each section's.
func Settings() []Setting { return slices.Clone(table) }

// Lookup returns the setting of a TOML key.
func Lookup(key string) (Setting, bool) {
	i, ok := byKey[key]
	if !ok {
		return Setting{}, false
	}
	return table[i], true
}

// byKey indexes the table by key.
var byKey = func() map[string]int {
	m := make(map[string]int, len(table))
	for i, s := range table {
		m[s.Key] = i
	}
	return m
}()

// access reads and writes one field of a Node.
type access[T any] struct {
	get func(n *Node) T
	set func(n *Node, v T)
}

// field accesses the field p points to.
func field[T any](p func(n *Node) *T) access[T] {
	return access[T]{get: func(n *Node) T { return *p(n) }, set: func(n *Node, v T) { *p(n) = v }}
}

// tlsField accesses a field of the TLS configuration. Writing creates the
// configuration with the Strict defaults (tlsstate.NewSecureConfig) when
// there is none; reading never does, and reads those defaults.
func tlsField[T any](p func(c *tlsstate.Config) *T) access[T] {
	return access[T]{
		get: func(n *Node) T {
			if n.Engine.TLS == nil {
				return *p(tlsstate.NewSecureConfig("", "", ""))
			}
			return *p(n.Engine.TLS)
		},
		set: func(n *Node, v T) { *p(openTLS(n)) = v },
	}
}

// openTLS returns n's TLS configuration, creating it with the Strict
// defaults when there is none.
func openTLS(n *Node) *tlsstate.Config {
	if n.Engine.TLS == nil {
		n.Engine.TLS = tlsstate.NewSecureConfig("", "", "")
	}
	return n.Engine.TLS
}

// newSetting makes the entry of key, of kind k, stored by a and checked by
// check (nil: every value that parses).
func newSetting[T any](key string, k kind[T], a access[T], check func(T) error, example, doc string) Setting {
	store := func(n *Node, v T) error {
		if check != nil {
			if err := check(v); err != nil {
				return err
			}
		}
		a.set(n, v)
		return nil
	}
	return Setting{
		Key: key, Flag: flagName(key), Type: k.name, Doc: doc, Example: example,
		boolean: k.boolean, repeatable: k.add != nil, toml: k.toml,
		get:     func(n *Node) string { return k.format(a.get(n)) },
		literal: func(n *Node) string { return k.literalOf(a.get(n)) },
		set: func(n *Node, text string) error {
			v, err := k.parse(text)
			if err != nil {
				return err
			}
			if k.add != nil {
				v = k.add(a.get(n), v)
			}
			return store(n, v)
		},
		setTOML: func(n *Node, raw any, dir string) error {
			v, err := k.fromTOMLValue(raw, dir)
			if err != nil {
				return err
			}
			return store(n, v)
		},
		reset: func(n *Node) {
			var zero T
			a.set(n, zero)
		},
	}
}

// value is the entry of a setting that any value of its kind suits.
func value[T any](key string, k kind[T], a access[T], example, doc string) Setting {
	return newSetting(key, k, a, nil, example, doc)
}

// ranged is the entry of a numeric setting checked by r.
func ranged[T number](key string, k kind[T], r rule[T], a access[T], example, doc string) Setting {
	s := newSetting(key, k, a, r.check, example, doc)
	s.Rule = r.String()
	for _, v := range r.outside() {
		s.outside = append(s.outside, k.format(v))
	}
	return s
}

// flagNamed gives the setting a flag other than its key in kebab case.
func (s Setting) flagNamed(name string) Setting {
	s.Flag = name
	return s
}

// appliedFirst makes the setting apply before the other settings of its
// section.
func (s Setting) appliedFirst() Setting {
	s.first = true
	return s
}

// defaultIs describes the default in words.
func (s Setting) defaultIs(text string) Setting {
	s.defaultText = text
	return s
}

// flagName returns the flag of a key: the key in kebab case, the section
// first ("reconnect.max_backoff" is "reconnect-max-backoff").
func flagName(key string) string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(key)
}

// sectionOf returns the section of a key ("tls" for "tls.cert_path"; ""
// for a top-level key).
func sectionOf(key string) string {
	sec, _, ok := strings.Cut(key, ".")
	if !ok {
		return ""
	}
	return sec
}
