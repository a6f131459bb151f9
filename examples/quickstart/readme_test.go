package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The README's quick start is node.go's excerpt, between these lines.
const (
	excerptBegin = "// README:begin\n"
	excerptEnd   = "// README:end\n"
	// readmeSection is the README section holding the excerpt, as its
	// first ```go block.
	readmeSection = "## Quick start (library)\n"
)

// TestReadmeQuickStart keeps the README's quick start what the example
// runs: its first Go block is node.go from README:begin to README:end,
// verbatim. Edit node.go, then copy the excerpt into README.md.
func TestReadmeQuickStart(t *testing.T) {
	src, err := os.ReadFile("node.go")
	if err != nil {
		t.Fatal(err)
	}
	excerpt, ok := between(src, []byte(excerptBegin), []byte(excerptEnd))
	if !ok {
		t.Fatalf("node.go has no %q ... %q", excerptBegin, excerptEnd)
	}
	excerpt = bytes.TrimRight(excerpt, "\n")

	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := bytes.Cut(readme, []byte(readmeSection))
	if !ok {
		t.Fatalf("README.md has no section %q", readmeSection)
	}
	block, ok := between(section, []byte("```go\n"), []byte("\n```\n"))
	if !ok {
		t.Fatalf("README.md's section %q has no ```go block", readmeSection)
	}
	if !bytes.Equal(block, excerpt) {
		t.Errorf("README.md's quick start is not examples/quickstart/node.go's excerpt; copy it:\n%s", excerpt)
	}
}

// between returns what is in b between the first begin and the end after
// it.
func between(b, begin, end []byte) ([]byte, bool) {
	_, rest, ok := bytes.Cut(b, begin)
	if !ok {
		return nil, false
	}
	inside, _, ok := bytes.Cut(rest, end)
	return inside, ok
}
