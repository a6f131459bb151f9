package config

import (
	"fmt"
	"io"
	"strings"
)

// referenceHeader opens SETTINGS.md.
const referenceHeader = `# Settings

<!-- Generated from config/table.go by "go test ./config -run TestReference -update". Do not edit. -->

Every setting of a node, as a TOML key (config.Load, ` + "`tcnode -config`" + `) and as a flag
(config.ParseArgs, ` + "`tcnode`" + `). Flags given override the file. Durations are Go durations
("5s", "250ms", "1m30s"), written as TOML strings; sizes are plain integers in bytes.
Defaults are those of engine.NewConfig; docs/node.example.toml shows them as a file.
`

// writeReference writes SETTINGS.md: one Markdown table per section.
func writeReference(w io.Writer) error {
	var b strings.Builder
	b.WriteString(referenceHeader)
	writeSection(&b, "Top level", "", "")
	for _, sec := range sections {
		writeSection(&b, "["+sec.name+"]", sec.name, sec.doc)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSection writes the table of one section ("" is the top level).
func writeSection(b *strings.Builder, title, name, doc string) {
	fmt.Fprintf(b, "\n## %s\n\n", title)
	if doc != "" {
		fmt.Fprintf(b, "%s\n\n", doc)
	}
	b.WriteString("| key | flag | takes | default | accepts | sets |\n|---|---|---|---|---|---|\n")
	for _, s := range table {
		if sectionOf(s.Key) != name {
			continue
		}
		def := s.Default()
		if s.defaultText == "" {
			def = "`" + def + "`"
		}
		fmt.Fprintf(b, "| `%s` | `-%s` | %s | %s | %s | %s |\n", s.Key, s.Flag, cell(s.Type), cell(def),
			cell(s.Rule), cell(strings.ReplaceAll(s.Doc, "`", "")))
	}
}

// cell escapes the pipes of a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
