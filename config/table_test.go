package config

import (
	"errors"
	"flag"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tensorchain/transport/engine"
)

// unparsable is, by setting type, a flag text its parser refuses; every
// type but "path" (any text is a file name) has one.
var unparsable = map[string]string{
	"integer":           "two",
	"number":            "many",
	"boolean":           "maybe",
	"duration":          "soon",
	"node id":           "n 1",
	"host:port":         "9100",
	"ID=HOST:PORT list": "n2",
}

// sameByNecessity are the settings whose only valid value is the default:
// their example cannot change the configuration.
var sameByNecessity = map[string]bool{"compression.method": true}

// fieldOf names the field of the keys whose field is not the key without
// its underscores (see TestEverySetting).
var fieldOf = map[string]string{"listen": "listenaddr"}

// TestEverySetting walks the table. For each setting, its example set from
// TOML and from its flag gives the same Node; it changes the field the key
// names, and only it (a preset changes its section); and each bad value,
// of the wrong TOML type, out of the rule or unparsable, is refused from
// TOML naming the key and its line, and from the command line naming the
// flag, both wrapping ErrInvalidValue.
func TestEverySetting(t *testing.T) {
	for _, s := range table {
		t.Run(s.Key, func(t *testing.T) {
			fromTOML, err := decodeOne(s, tomlLiteral(s, s.Example))
			if err != nil {
				t.Fatalf("TOML %s = %s: %v", s.Key, tomlLiteral(s, s.Example), err)
			}
			fromFlag, err := parseOneFlag(s, s.Example)
			if err != nil {
				t.Fatalf("flag -%s=%s: %v", s.Flag, s.Example, err)
			}
			if !reflect.DeepEqual(fromTOML, fromFlag) {
				t.Errorf("key %s and flag -%s differ:\n%+v\n%+v", s.Key, s.Flag, fromTOML, fromFlag)
			}
			checkReachesItsField(t, s, fromTOML)
			for _, bad := range badValues(s) {
				checkRefused(t, s, bad)
			}
		})
	}
}

// decodeOne decodes a document setting key = literal over the defaults,
// after a comment line, so that the key is on line 2 (top level) or 3 (in
// its section).
func decodeOne(s Setting, literal string) (Node, error) {
	n := Default()
	err := n.decode([]byte(oneKeyDoc(s.Key, literal)), "")
	return n, err
}

// oneKeyDoc is a TOML document holding key = literal.
func oneKeyDoc(key, literal string) string {
	doc := "# one key\n"
	if sec, name, ok := strings.Cut(key, "."); ok {
		doc += "[" + sec + "]\n"
		key = name
	}
	return doc + key + " = " + literal + "\n"
}

// lineOf is the line of the key in oneKeyDoc.
func lineOf(key string) int {
	if sectionOf(key) != "" {
		return 3
	}
	return 2
}

// parseOneFlag parses -flag=text over the defaults.
func parseOneFlag(s Setting, text string) (Node, error) {
	n := Default()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	n.RegisterFlags(fs)
	err := fs.Parse([]string{"-" + s.Flag + "=" + text})
	return n, err
}

// tomlLiteral writes a flag's text as the TOML value of the setting.
func tomlLiteral(s Setting, text string) string {
	switch s.toml {
	case tomlString:
		return quote(text)
	case tomlArray:
		return "[" + quote(text) + "]"
	}
	return text
}

// badValue is a value a setting refuses, as TOML and as a flag's text (""
// when it has no such form).
type badValue struct{ toml, flag string }

// badValues are the values s refuses: one of the wrong TOML type, those
// just outside its rule, and a text its parser refuses.
func badValues(s Setting) []badValue {
	wrongType := map[tomlType]string{tomlString: "1", tomlInteger: `"1"`, tomlFloat: `"1.5"`, tomlBool: `"yes"`, tomlArray: `"n2=h:1"`}
	bad := []badValue{{toml: wrongType[s.toml]}}
	for _, text := range s.outside {
		bad = append(bad, badValue{toml: tomlLiteral(s, text), flag: text})
	}
	if s.Type != "path" {
		text, ok := unparsable[s.Type]
		if !ok {
			text = "bogus" // an enumeration
		}
		b := badValue{flag: text}
		if s.toml == tomlString || s.toml == tomlArray {
			b.toml = tomlLiteral(s, text)
		}
		bad = append(bad, b)
	}
	return bad
}

// checkRefused checks that bad is refused from TOML and from the flag.
func checkRefused(t *testing.T, s Setting, bad badValue) {
	t.Helper()
	if bad.toml != "" {
		_, err := decodeOne(s, bad.toml)
		var ke *KeyError
		switch {
		case !errors.As(err, &ke):
			t.Errorf("TOML %s = %s: error %v, want a *KeyError", s.Key, bad.toml, err)
		case ke.Key != s.Key || ke.Line != lineOf(s.Key) || !errors.Is(err, ErrInvalidValue):
			t.Errorf("TOML %s = %s: error %q (key %q, line %d), want key %s, line %d, ErrInvalidValue",
				s.Key, bad.toml, err, ke.Key, ke.Line, s.Key, lineOf(s.Key))
		case !strings.HasPrefix(err.Error(), "key "+s.Key+": "):
			t.Errorf("TOML %s = %s: error %q does not start with the key", s.Key, bad.toml, err)
		}
	}
	if bad.flag != "" {
		_, err := parseOneFlag(s, bad.flag)
		if err == nil || !strings.Contains(err.Error(), "-"+s.Flag+":") {
			t.Errorf("flag -%s=%s: error %v, want one naming -%s", s.Flag, bad.flag, err, s.Flag)
		}
		if _, err := ParseArgs([]string{"-" + s.Flag + "=" + bad.flag}); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("ParseArgs -%s=%s: error %v, want ErrInvalidValue", s.Flag, bad.flag, err)
		}
	}
}

// checkReachesItsField checks that setting s's example, applied over the
// defaults, changed the field its key names, and nothing else.
func checkReachesItsField(t *testing.T, s Setting, got Node) {
	t.Helper()
	base := Default()
	if sectionOf(s.Key) == "tls" {
		openTLS(&base) // the section is present: TLS is on, with the Strict defaults
	}
	changed := changedFields(reflect.ValueOf(base), reflect.ValueOf(got), "")
	if len(changed) == 0 {
		if !sameByNecessity[s.Key] {
			t.Errorf("example %s = %s changed nothing", s.Key, s.Example)
		}
		return
	}
	want := fieldOf[s.Key]
	if want == "" {
		want = strings.ReplaceAll(s.Key, "_", "")
	}
	for _, f := range changed {
		if s.first && strings.HasPrefix(f, strings.ReplaceAll(sectionOf(s.Key), "_", "")+".") {
			continue // a preset sets its section
		}
		if f != want {
			t.Errorf("example %s = %s changed field %s, want only %s", s.Key, s.Example, f, want)
		}
	}
}

// changedFields lists the leaf fields that differ between a and b, by path
// in lower case without "engine." ("poolsize", "tls.certpath").
func changedFields(a, b reflect.Value, path string) []string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return []string{path}
			}
			return nil
		}
		return changedFields(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		var changed []string
		for i := range a.NumField() {
			f := a.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			p := strings.ToLower(f.Name)
			if path != "" && path != "engine" {
				p = path + "." + p
			}
			changed = append(changed, changedFields(a.Field(i), b.Field(i), p)...)
		}
		return changed
	case reflect.Func:
		if a.IsNil() != b.IsNil() {
			return []string{path}
		}
		return nil
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return []string{path}
	}
	return nil
}

// code are the engine.Config fields that a program sets in code, not from
// a configuration.
var code = []string{"handler", "messagehandler", "logger"}

// TestEveryConfigFieldHasASetting keeps the table complete: every field of
// engine.Config (and of its sections and TLS configuration) but code is set
// by the setting whose key names it.
func TestEveryConfigFieldHasASetting(t *testing.T) {
	keys := map[string]bool{}
	for _, s := range table {
		f := fieldOf[s.Key]
		if f == "" {
			f = strings.ReplaceAll(s.Key, "_", "")
		}
		keys[f] = true
	}
	for _, f := range leafFields(reflect.TypeFor[engine.Config](), "") {
		if !keys[f] && !slices.Contains(code, f) {
			t.Errorf("engine.Config field %s has no setting: add one to config/table.go", f)
		}
	}
}

// leafFields lists the leaf fields of t by path, as changedFields names
// them.
func leafFields(t reflect.Type, path string) []string {
	var fields []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		p := strings.ToLower(f.Name)
		if path != "" {
			p = path + "." + p
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct && ft.Elem().PkgPath() != "log/slog" {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() != "time" {
			fields = append(fields, leafFields(ft, p)...)
			continue
		}
		fields = append(fields, p)
	}
	return fields
}

// TestTableShape checks the table's own consistency: keys and flags are
// unique, every key's section is declared and every section has keys,
// every setting is documented with an example, every numeric setting has
// a rule, and only presets apply first.
func TestTableShape(t *testing.T) {
	flags := map[string]string{"config": "-config"}
	for _, s := range table {
		if other, dup := flags[s.Flag]; dup {
			t.Errorf("flag -%s is both %s and %s", s.Flag, other, s.Key)
		}
		flags[s.Flag] = s.Key
		if sec := sectionOf(s.Key); sec != "" && !isSection(sec) {
			t.Errorf("key %s: section %s is not declared in sections", s.Key, sec)
		}
		if s.Doc == "" || s.Example == "" || s.Type == "" {
			t.Errorf("key %s: doc %q, example %q, type %q: want all three", s.Key, s.Doc, s.Example, s.Type)
		}
		if numeric := s.toml == tomlInteger || s.toml == tomlFloat || s.Type == "duration"; numeric && s.Rule == "" {
			t.Errorf("key %s: a numeric setting without a rule", s.Key)
		}
		if s.first != strings.HasSuffix(s.Key, ".preset") {
			t.Errorf("key %s: applied first = %v", s.Key, s.first)
		}
		if i, ok := byKey[s.Key]; !ok || table[i].Key != s.Key {
			t.Errorf("key %s is not indexed", s.Key)
		}
	}
	for _, sec := range sections {
		if !slices.ContainsFunc(table, func(s Setting) bool { return sectionOf(s.Key) == sec.name }) {
			t.Errorf("section %s has no keys", sec.name)
		}
	}
}

// TestSettingMethods checks the exported view of the table: Lookup,
// Value, Set (a repeatable setting adds) and Default, and that Settings
// returns a copy.
func TestSettingMethods(t *testing.T) {
	pool, ok := Lookup("pool_size")
	if !ok || pool.Flag != "pool-size" || pool.Rule != "between 1 and 64" {
		t.Fatalf("Lookup(pool_size) = %+v, %v", pool, ok)
	}
	if _, ok := Lookup("pool_sise"); ok {
		t.Error("Lookup(pool_sise) found a setting")
	}
	n := Default()
	if err := pool.Set(&n, "9"); err != nil || pool.Value(&n) != "9" || n.Engine.PoolSize != 9 {
		t.Errorf("Set 9: %v; Value %q, PoolSize %d", err, pool.Value(&n), n.Engine.PoolSize)
	}
	if err := pool.Set(&n, "65"); !errors.Is(err, ErrInvalidValue) || err.Error() != "must be between 1 and 64" || n.Engine.PoolSize != 9 {
		t.Errorf("Set 65: %v, PoolSize %d; want the rule's refusal, 9 kept", err, n.Engine.PoolSize)
	}
	peers, _ := Lookup("peers")
	for _, p := range []string{"n2=h:1", "n3=h:2"} {
		if err := peers.Set(&n, p); err != nil {
			t.Fatal(err)
		}
	}
	if got := peers.Value(&n); got != "n2=h:1,n3=h:2" {
		t.Errorf("peers = %q after two Sets", got)
	}
	for key, want := range map[string]string{"connect_timeout": `"5s"`, "event_loops": "number of CPUs",
		"rate_limit.refill_rate": "50.0", "tls.require_client_auth": "true", "peers": "[]"} {
		if s, _ := Lookup(key); s.Default() != want {
			t.Errorf("%s: Default() = %s, want %s", key, s.Default(), want)
		}
	}
	all := Settings()
	all[0].Key = "changed"
	if table[0].Key == "changed" {
		t.Error("Settings returned the table itself")
	}
}
