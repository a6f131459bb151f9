package main

import (
	"io"
	"strconv"
	"sync"
	"unicode"
	"unicode/utf8"
)

// lockedWriter serializes writes to w, so that log lines written by
// several handlers (the logger and the stats printer) never interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write implements io.Writer.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// appendMessage appends the stdout line of a received message,
// "from: payload\n", to buf. A payload that is valid UTF-8 without control
// characters is written as it is; any other is written as a Go-quoted
// string, so that one message is always one line.
func appendMessage(buf []byte, from string, payload []byte) []byte {
	buf = append(buf, from...)
	buf = append(buf, ": "...)
	if printable(payload) {
		buf = append(buf, payload...)
	} else {
		buf = strconv.AppendQuote(buf, string(payload))
	}
	return append(buf, '\n')
}

// printable reports whether b is UTF-8 text without control characters
// (tabs allowed).
func printable(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if (r == utf8.RuneError && n == 1) || (unicode.IsControl(r) && r != '\t') {
			return false
		}
		b = b[n:]
	}
	return true
}
