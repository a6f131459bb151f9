package config

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// update rewrites SETTINGS.md: go test ./config -run TestReference -update
var update = flag.Bool("update", false, "rewrite SETTINGS.md from the table")

// TestReference keeps SETTINGS.md what the table generates.
func TestReference(t *testing.T) {
	var b strings.Builder
	if err := writeReference(&b); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("SETTINGS.md", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("SETTINGS.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != b.String() {
		t.Error("SETTINGS.md is not what the table generates: run go test ./config -run TestReference -update")
	}
}

// exampleFile is the annotated configuration file of the docs.
var exampleFile = filepath.Join("..", "docs", "node.example.toml")

// nodeSpecific are the keys whose value in the example file is the
// example node's own, not the default.
var nodeSpecific = map[string]bool{"node_id": true, "peers": true, "tls.cert_path": true, "tls.key_path": true, "tls.ca_path": true}

// TestExampleFileAgrees keeps docs/node.example.toml and the table in
// agreement: it shows every key of the table, in its section (set, or
// commented out as "# key = value"), and no other; it loads; and every
// value it sets but the node's own is the default.
func TestExampleFileAgrees(t *testing.T) {
	shown := exampleKeys(t)
	for _, s := range table {
		if _, ok := shown[s.Key]; !ok {
			t.Errorf("%s does not show key %s", exampleFile, s.Key)
		}
	}
	for key := range shown {
		if _, ok := byKey[key]; !ok {
			t.Errorf("%s shows key %s, which is not a setting", exampleFile, key)
		}
	}
	n := Default()
	if err := n.LoadFile(exampleFile); err != nil {
		t.Fatal(err)
	}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	def := Default()
	for _, s := range table {
		if set := shown[s.Key]; set && !nodeSpecific[s.Key] && s.Value(&n) != s.Value(&def) {
			t.Errorf("%s sets %s to %s, not its default %s", exampleFile, s.Key, s.Value(&n), s.Value(&def))
		}
	}
}

// exampleKeys returns the keys the example file shows: true when set,
// false when commented out.
func exampleKeys(t *testing.T) map[string]bool {
	f, err := os.Open(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	header := regexp.MustCompile(`^\[([a-z_]+)\]`)
	keyval := regexp.MustCompile(`^(#\s*)?([a-z_]+)\s*=`)
	keys := map[string]bool{}
	sec := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := header.FindStringSubmatch(line); m != nil {
			sec = m[1] + "."
			continue
		}
		if m := keyval.FindStringSubmatch(line); m != nil {
			keys[sec+m[2]] = m[1] == ""
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}
