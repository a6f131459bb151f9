package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// decode applies a TOML document over n: the sections present are opened,
// then every key is checked against the table and applied (the
// rate-limit presets first). Errors name the key and its line; all of
// them are returned, in the order of the lines.
func (n *Node) decode(data []byte, dir string) error {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return syntaxError(err)
	}
	d := document{lines: keyLines(data), values: map[string]any{}, opened: map[string]bool{}}
	d.walk(doc)
	for _, sec := range sections {
		if d.opened[sec.name] && sec.open != nil {
			sec.open(n)
		}
	}
	for _, first := range []bool{true, false} {
		for _, s := range table {
			v, ok := d.values[s.Key]
			if ok && s.first == first {
				if err := s.setTOML(n, v, dir); err != nil {
					d.fail(s.Key, err)
				}
			}
		}
	}
	return d.err()
}

// document is a decoded TOML document being checked against the table.
type document struct {
	lines  map[string]int  // line of each key (keyLines)
	values map[string]any  // the value of each setting present, by key
	opened map[string]bool // the sections present
	errs   []*KeyError
}

// walk sorts the document's keys into settings and sections, and refuses
// the others.
func (d *document) walk(doc map[string]any) {
	for k, v := range doc {
		if !isSection(k) {
			d.setting(k, v)
			continue
		}
		t, ok := v.(map[string]any)
		if !ok {
			d.fail(k, mismatch(v, "a table"))
			continue
		}
		d.opened[k] = true
		for sk, sv := range t {
			d.setting(k+"."+sk, sv)
		}
	}
}

// setting records the value of key, or refuses an unknown key.
func (d *document) setting(key string, v any) {
	if _, ok := byKey[key]; !ok {
		d.fail(key, ErrUnknownKey)
		return
	}
	d.values[key] = v
}

// fail records an error about key.
func (d *document) fail(key string, err error) {
	d.errs = append(d.errs, &KeyError{Key: key, Line: d.line(key), Err: err})
}

// line returns the line of key, or of the nearest of its tables that has
// one; 0 if none has.
func (d *document) line(key string) int {
	for {
		if l, ok := d.lines[key]; ok {
			return l
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
}

// err joins the errors in the order of their lines.
func (d *document) err() error {
	slices.SortFunc(d.errs, func(a, b *KeyError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Key, b.Key))
	})
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// isSection reports whether name is a section of the table.
func isSection(name string) bool {
	return slices.ContainsFunc(sections, func(s section) bool { return s.name == name })
}

// keyLines returns the line on which each key of a valid TOML document
// first appears, by dotted key: key-values ("pool_size", or "tls.cert_path"
// in [tls]), their tables ("tls", from the header or a dotted key) and the
// keys of inline tables.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			it := e.Key()
			table = recordKey(&p, lines, nil, &it)
		case unstable.KeyValue:
			recordKeyValue(&p, lines, table, e)
		}
	}
	return lines
}

// recordKeyValue records the key of a key-value under the table prefix,
// and those of its value if it is an inline table.
func recordKeyValue(p *unstable.Parser, lines map[string]int, prefix []string, kv *unstable.Node) {
	it := kv.Key()
	key := recordKey(p, lines, prefix, &it)
	if v := kv.Value(); v.Kind == unstable.InlineTable {
		children := v.Children()
		for children.Next() {
			if c := children.Node(); c.Kind == unstable.KeyValue {
				recordKeyValue(p, lines, key, c)
			}
		}
	}
}

// recordKey records the line of the dotted key it iterates, and of each of
// its prefixes, under prefix, unless already seen; it returns the whole key.
func recordKey(p *unstable.Parser, lines map[string]int, prefix []string, it *unstable.Iterator) []string {
	key := slices.Clone(prefix)
	for it.Next() {
		part := it.Node()
		key = append(key, string(part.Data))
		name := strings.Join(key, ".")
		if _, seen := lines[name]; !seen {
			lines[name] = p.Shape(part.Raw).Start.Line
		}
	}
	return key
}

// syntaxError describes an error of go-toml's decoder: a DecodeError names
// its line and column (and its key when it has one: a key defined twice).
func syntaxError(err error) error {
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return because(ErrSyntax, err)
	}
	line, col := de.Position()
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	if len(de.Key()) == 0 {
		return &reason{msg: fmt.Sprintf("syntax error at line %d, column %d: %s", line, col, msg), sentinel: ErrSyntax, cause: de}
	}
	key := strings.Join(de.Key(), ".")
	for _, prefix := range []string{"key " + key + " is ", "key " + key + " ", "table " + key + " "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return &KeyError{Key: key, Line: line, Err: &reason{msg: msg, sentinel: ErrSyntax, cause: de}}
}

// mismatch refuses a TOML value of the wrong type.
func mismatch(v any, want string) error {
	return invalid("got a TOML %s, want %s", typeName(v), want)
}

// typeName names the TOML type of a decoded value.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	case time.Time:
		return "offset date-time"
	case toml.LocalDateTime:
		return "local date-time"
	case toml.LocalDate:
		return "local date"
	case toml.LocalTime:
		return "local time"
	}
	return fmt.Sprintf("%T", v)
}
