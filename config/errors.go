package config

import (
	"fmt"

	"github.com/tensorchain/transport/engine"
)

// Sentinel errors. Every error about the content of a configuration wraps
// one of them and, through it, engine.ErrInvalidConfig, so that
// errors.Is(err, engine.ErrInvalidConfig) holds whichever layer refused the
// configuration. Their own text is never shown: the errors that wrap them
// read as described on each.
var (
	// ErrUnknownKey: a TOML key that is not a setting, read as
	// `unknown key "tls.cert_pth" (line 7)`.
	ErrUnknownKey = fmt.Errorf("config: unknown key: %w", engine.ErrInvalidConfig)
	// ErrInvalidValue: a value of the wrong TOML type, that does not parse
	// or that is out of its setting's range, read as
	// "key pool_size: must be between 1 and 64 (line 3)" (from a file) or
	// `invalid value "0" for flag -pool-size: must be between 1 and 64`
	// (from the command line).
	ErrInvalidValue = fmt.Errorf("config: invalid value: %w", engine.ErrInvalidConfig)
	// ErrSyntax: a document that is not TOML, read as
	// "syntax error at line 3, column 13: ...".
	ErrSyntax = fmt.Errorf("config: TOML syntax error: %w", engine.ErrInvalidConfig)
	// ErrMissing: a required setting (node_id) that no file or flag gave.
	ErrMissing = fmt.Errorf("config: required setting missing: %w", engine.ErrInvalidConfig)
)

// KeyError is a refused key of a TOML document: which key, on which line,
// and why. Err wraps ErrUnknownKey, ErrInvalidValue or ErrSyntax.
type KeyError struct {
	// Key is the dotted TOML key: "pool_size", "tls.cert_path".
	Key string
	// Line is the key's line in the document, from 1; 0 when unknown.
	Line int
	// Err is the reason.
	Err error
}

// Error returns `unknown key "K" (line N)` or "key K: reason (line N)".
func (e *KeyError) Error() string {
	var s string
	if e.Err == ErrUnknownKey {
		s = fmt.Sprintf("unknown key %q", e.Key)
	} else {
		s = fmt.Sprintf("key %s: %v", e.Key, e.Err)
	}
	if e.Line > 0 {
		s += fmt.Sprintf(" (line %d)", e.Line)
	}
	return s
}

// Unwrap returns Err.
func (e *KeyError) Unwrap() error { return e.Err }

// reason is an error that reads as its message and wraps a sentinel whose
// text it does not show (and, optionally, the error it was made from).
type reason struct {
	msg      string
	sentinel error
	cause    error
}

// Error returns the message.
func (r *reason) Error() string { return r.msg }

// Unwrap returns the sentinel and the cause.
func (r *reason) Unwrap() []error {
	if r.cause == nil {
		return []error{r.sentinel}
	}
	return []error{r.sentinel, r.cause}
}

// invalid returns an error reading as the formatted message that wraps
// ErrInvalidValue.
func invalid(format string, args ...any) error {
	return &reason{msg: fmt.Sprintf(format, args...), sentinel: ErrInvalidValue}
}

// because returns an error reading as cause's text that wraps sentinel and
// cause: a value error the flag package or a caller formats with %v, and
// that errors.Is still relates to sentinel.
func because(sentinel, cause error) error {
	return &reason{msg: cause.Error(), sentinel: sentinel, cause: cause}
}
