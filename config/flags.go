package config

import (
	"flag"
	"fmt"
	"io"
)

// ParseArgs builds a node's configuration from its command line: the
// defaults (Default), then the TOML file of -config FILE if given, then the
// flags given, one per setting (see Settings for their names), and
// validates the result (Node.Validate). Only the flags present override
// the file; the first -peer replaces the file's peers and the next ones
// add to them; a rate-limit preset (-rate-limit, -inbound-rate-limit)
// replaces its section before that section's other flags apply, whatever
// their order. Bad flags are refused before the file is read.
//
// -h and -help return flag.ErrHelp (see PrintDefaults). Other errors name
// the flag or the key: `invalid value "0" for flag -pool-size: must be
// between 1 and 64` wraps ErrInvalidValue.
func ParseArgs(args []string) (Node, error) {
	cl := newCommandLine(io.Discard)
	if err := cl.fs.Parse(args); err != nil {
		if cl.lastErr != nil {
			return Node{}, &flagError{msg: err.Error(), cause: cl.lastErr}
		}
		return Node{}, err
	}
	if cl.fs.NArg() > 0 {
		return Node{}, invalid("unexpected argument %q (only flags are accepted)", cl.fs.Arg(0))
	}
	n := Default()
	if cl.path != "" {
		if err := n.LoadFile(cl.path); err != nil {
			return Node{}, err
		}
	}
	if err := cl.apply(&n); err != nil {
		return Node{}, err
	}
	if err := n.Validate(); err != nil {
		return Node{}, err
	}
	return n, nil
}

// PrintDefaults writes the usage of every flag ParseArgs takes, with its
// key, its rule and its default, as flag.PrintDefaults does.
func PrintDefaults(w io.Writer) {
	cl := newCommandLine(w)
	cl.fs.PrintDefaults()
}

// RegisterFlags defines one flag per setting on fs, each storing into n
// when it is parsed: call it after loading a file into n for flags that
// override the file. Flags apply in the order given, so give a rate-limit
// preset before its section's other flags (ParseArgs does not need that);
// the first -peer replaces n's peers.
func (n *Node) RegisterFlags(fs *flag.FlagSet) {
	for i := range table {
		s := &table[i]
		fs.Var(&flagValue{setting: s, node: n}, s.Flag, usage(s))
	}
}

// commandLine is ParseArgs' flag set. Its flags store into a scratch Node
// (so that a bad value is refused when parsed, before any file is read) and
// record what was given; apply replays that over the real Node.
type commandLine struct {
	fs      *flag.FlagSet
	path    string // -config
	scratch Node
	given   []givenFlag
	lastErr error // the last value refused, for errors.Is
}

// givenFlag is one flag of the command line.
type givenFlag struct {
	setting *Setting
	text    string
}

// newCommandLine returns the command line's flags; usage goes to w.
func newCommandLine(w io.Writer) *commandLine {
	cl := &commandLine{fs: flag.NewFlagSet("flags", flag.ContinueOnError), scratch: Default()}
	cl.fs.SetOutput(w)
	cl.fs.Usage = func() {}
	cl.fs.StringVar(&cl.path, "config", "", "read settings from this TOML `file`; flags given override it")
	for i := range table {
		s := &table[i]
		cl.fs.Var(&flagValue{setting: s, node: &cl.scratch, cl: cl}, s.Flag, usage(s))
	}
	return cl
}

// apply sets the flags given over n: the rate-limit presets, then the
// others, each group in command-line order.
func (cl *commandLine) apply(n *Node) error {
	replaced := map[*Setting]bool{}
	for _, first := range []bool{true, false} {
		for _, g := range cl.given {
			if g.setting.first != first {
				continue
			}
			if g.setting.repeatable && !replaced[g.setting] {
				g.setting.reset(n)
				replaced[g.setting] = true
			}
			if err := g.setting.set(n, g.text); err != nil {
				return fmt.Errorf("flag -%s: %w", g.setting.Flag, err)
			}
		}
	}
	return nil
}

// flagValue is the flag.Value of a setting.
type flagValue struct {
	setting  *Setting
	node     *Node
	cl       *commandLine // ParseArgs: records each value; nil for RegisterFlags
	replaced bool         // a repeatable setting has dropped its old values
}

// Set implements flag.Value: it parses text, checks it and stores it.
func (v *flagValue) Set(text string) error {
	if v.setting.repeatable && !v.replaced {
		v.setting.reset(v.node)
		v.replaced = true
	}
	if err := v.setting.set(v.node, text); err != nil {
		if v.cl != nil {
			v.cl.lastErr = err
		}
		return err
	}
	if v.cl != nil {
		v.cl.given = append(v.cl.given, givenFlag{v.setting, text})
	}
	return nil
}

// String implements flag.Value. The zero flagValue, which
// flag.PrintDefaults makes to tell a default from the zero value, is "".
func (v *flagValue) String() string {
	if v == nil || v.setting == nil {
		return ""
	}
	return v.setting.Value(v.node)
}

// IsBoolFlag lets a boolean flag stand alone: -keepalive is -keepalive=true.
func (v *flagValue) IsBoolFlag() bool { return v != nil && v.setting != nil && v.setting.boolean }

// usage is a setting's flag usage: its doc, its key and its rule.
func usage(s *Setting) string {
	u := s.Doc + " (key " + s.Key
	if s.Rule != "" {
		u += ", " + s.Rule
	}
	return u + ")"
}

// flagError is the flag package's error about a refused value (which it
// formats with %v) with that value's error back in its chain.
type flagError struct {
	msg   string
	cause error
}

// Error returns the flag package's message.
func (e *flagError) Error() string { return e.msg }

// Unwrap returns the value's error.
func (e *flagError) Unwrap() error { return e.cause }
