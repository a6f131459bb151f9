package hashicorpraft_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// readmeSection is the repository README's section whose first Go block
// is Example's excerpt between README:begin and README:end.
const readmeSection = "## hashicorp/raft: swapping in for `raft.NewTCPTransport`\n"

// TestReadmeSnippet keeps the README's snippet what Example runs: edit
// example_test.go, then copy the excerpt (one tab less) into README.md.
func TestReadmeSnippet(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(src, []byte("\t// README:begin\n"))
	excerpt, _, ok2 := bytes.Cut(rest, []byte("\t// README:end\n"))
	if !ok || !ok2 {
		t.Fatal("example_test.go has no README:begin ... README:end")
	}
	var want bytes.Buffer
	for _, line := range bytes.SplitAfter(excerpt, []byte("\n")) {
		want.Write(bytes.TrimPrefix(line, []byte("\t")))
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := bytes.Cut(readme, []byte(readmeSection))
	if !ok {
		t.Fatalf("README.md has no section %q", readmeSection)
	}
	_, block, ok := bytes.Cut(section, []byte("```go\n"))
	block, _, ok2 = bytes.Cut(block, []byte("```\n"))
	if !ok || !ok2 {
		t.Fatalf("README.md's section %q has no ```go block", readmeSection)
	}
	if !bytes.Equal(block, want.Bytes()) {
		t.Errorf("README.md's hashicorp/raft snippet is not Example's excerpt; copy it:\n%s", want.Bytes())
	}
}
