package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// describeTOMLError rewrites a go-toml error so that it names the key and
// the line: unknown keys (toml.StrictMissingError, one error per key), type
// mismatches and invalid values (toml.DecodeError with a key), and syntax
// errors (toml.DecodeError without one).
func describeTOMLError(err error) error {
	var missing *toml.StrictMissingError
	if errors.As(err, &missing) {
		errs := make([]error, len(missing.Errors))
		for i := range missing.Errors {
			e := &missing.Errors[i]
			line, _ := e.Position()
			errs[i] = fmt.Errorf("unknown key %q (line %d)", keyName(e.Key()), line)
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := decodeMessage(de, keyName(de.Key()))
		if len(de.Key()) == 0 {
			return fmt.Errorf("syntax error at line %d, column %d: %s", line, col, msg)
		}
		return fmt.Errorf("key %s: %s (line %d)", keyName(de.Key()), msg, line)
	}
	return err
}

// keyName joins a TOML key's parts with dots: "tls.cert_path".
func keyName(k toml.Key) string { return strings.Join(k, ".") }

// mismatch matches go-toml's type-mismatch message.
var mismatch = regexp.MustCompile(`^cannot decode TOML (\w+) into .* of type (\S+)$`)

// typeNames says in words what each Go type of fileConfig wants.
var typeNames = map[string]string{
	"string":   "a string",
	"int":      "an integer",
	"int64":    "an integer",
	"float64":  "a number",
	"bool":     "true or false",
	"[]string": `an array of "ID=HOST:PORT" strings`,
}

// decodeMessage returns a DecodeError's message without the "toml: "
// prefix, with type mismatches put in words.
func decodeMessage(de *toml.DecodeError, key string) string {
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	m := mismatch.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want, ok := typeNames[m[2]]
	if _, isDuration := durationRules[key]; isDuration {
		want = `a duration string such as "5s"`
	}
	if !ok {
		want = "a table"
		if !strings.Contains(m[2], "File") {
			want = m[2]
		}
	}
	return fmt.Sprintf("got a TOML %s, want %s", m[1], want)
}
