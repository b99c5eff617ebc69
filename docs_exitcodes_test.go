package uptime

// The exit codes' meanings live in internal/contract (contract.Exits). The runbook's table of
// them is generated from it; this test regenerates it and compares, and renders the runbook
// with a real Markdown renderer to check that the table is a table with a row for every code.
//
// After changing contract.Exits, regenerate the table with:
//
//	go test -run TestRunbookExitCodeTable . -update

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"

	"github.com/tally/uptime/internal/contract"
)

var updateDocs = flag.Bool("update", false, "rewrite the generated parts of the docs instead of comparing them")

const (
	runbookPath     = "docs/runbook.md"
	exitTableBegin  = "<!-- BEGIN exit codes: generated from internal/contract/exitcodes.go by `go test -run TestRunbookExitCodeTable . -update`; edit the contract, not this table -->"
	exitTableEnd    = "<!-- END exit codes -->"
	exitTableHeader = "| exit | meaning |"
)

// exitCodeTable is the Markdown table of contract.Exits, between its markers.
func exitCodeTable(exits []contract.Exit) string {
	var b strings.Builder
	b.WriteString(exitTableBegin + "\n")
	b.WriteString(exitTableHeader + "\n| --- | --- |\n")
	for _, e := range exits {
		meaning := e.Meaning
		if e.Signal {
			meaning = "a signal, not the job's choice: " + meaning
		}
		fmt.Fprintf(&b, "| %d | %s |\n", e.Code, strings.ReplaceAll(meaning, "|", `\|`))
	}
	b.WriteString(exitTableEnd)
	return b.String()
}

// replaceGenerated returns doc with the text between the markers (included) replaced by table.
func replaceGenerated(doc, table string) (string, error) {
	before, rest, ok := strings.Cut(doc, exitTableBegin)
	if !ok {
		return "", fmt.Errorf("no line %q", exitTableBegin)
	}
	_, after, ok := strings.Cut(rest, exitTableEnd)
	if !ok {
		return "", fmt.Errorf("no line %q after the table's start", exitTableEnd)
	}
	if strings.Contains(after, exitTableBegin) {
		return "", fmt.Errorf("the generated table appears twice")
	}
	return before + table + after, nil
}

func TestRunbookExitCodeTable(t *testing.T) {
	b, err := os.ReadFile(runbookPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	want, err := replaceGenerated(doc, exitCodeTable(contract.Exits))
	if err != nil {
		t.Fatalf("%s: %v", runbookPath, err)
	}
	if *updateDocs {
		if want != doc {
			if err := os.WriteFile(runbookPath, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("rewrote the exit-code table of %s", runbookPath)
		}
	} else if want != doc {
		t.Errorf("%s: the exit-code table differs from internal/contract.Exits; regenerate it: go test -run TestRunbookExitCodeTable . -update", runbookPath)
	}

	// Rendered, the table must be a table with exactly one row per code, in the contract's order.
	tables, raw := exitTables([]byte(want))
	if len(tables) != 1 {
		t.Fatalf("%s renders %d tables headed \"exit\", want 1", runbookPath, len(tables))
	}
	if len(raw) > 0 {
		t.Errorf("%s: exit codes %v render as raw pipes outside a table", runbookPath, raw)
	}
	codes := tables[0]
	var wantCodes []string
	for _, e := range contract.Exits {
		wantCodes = append(wantCodes, strconv.Itoa(e.Code))
	}
	if !slices.Equal(codes, wantCodes) {
		t.Errorf("%s renders an exit-code table with the rows %v, want %v", runbookPath, codes, wantCodes)
	}
}

// exitTables parses doc as GitHub renders it (GFM tables) and returns the first column of every
// body row of each table headed "exit", and the codes of contract.Exits that render as raw pipes
// outside a table (a row cut off from its table by a blank line).
func exitTables(doc []byte) (tables [][]string, raw []int) {
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
	root := md.Parser().Parse(text.NewReader(doc))
	_ = ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		table, ok := n.(*extast.Table)
		if !entering || !ok {
			return ast.WalkContinue, nil
		}
		header := table.FirstChild()
		if header == nil || cellText(header.FirstChild(), doc) != "exit" {
			return ast.WalkSkipChildren, nil
		}
		rows := []string{}
		for row := header.NextSibling(); row != nil; row = row.NextSibling() {
			rows = append(rows, cellText(row.FirstChild(), doc))
		}
		tables = append(tables, rows)
		return ast.WalkSkipChildren, nil
	})
	var html bytes.Buffer
	if err := md.Convert(doc, &html); err != nil {
		panic(err)
	}
	for _, e := range contract.Exits {
		if strings.Contains(html.String(), fmt.Sprintf("| %d |", e.Code)) {
			raw = append(raw, e.Code)
		}
	}
	return tables, raw
}

// cellText is the plain text of a table cell.
func cellText(cell ast.Node, src []byte) string {
	if cell == nil {
		return ""
	}
	var b strings.Builder
	_ = ast.Walk(cell, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if tx, ok := n.(*ast.Text); ok && entering {
			b.Write(tx.Segment.Value(src))
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String())
}

// TestExitTablesCatchesABrokenTable feeds the check the breakage it exists for: a blank line
// inside the table, which leaves the rows after it as raw pipes.
func TestExitTablesCatchesABrokenTable(t *testing.T) {
	lines := strings.Split(exitCodeTable(contract.Exits), "\n")
	// lines: begin marker, header, delimiter, then one row per code.
	broken := slices.Concat(lines[:6], []string{""}, lines[6:])
	tables, raw := exitTables([]byte(strings.Join(broken, "\n")))
	if len(tables) != 1 || len(tables[0]) != 3 {
		t.Errorf("a table broken after its third row rendered as %v, want one table of 3 rows", tables)
	}
	if len(raw) != len(contract.Exits)-3 {
		t.Errorf("a table broken after its third row left %v as raw pipes, want the %d codes after it", raw, len(contract.Exits)-3)
	}
}

// TestNoSecondExitCodeTable checks that no other document carries its own table of exit-code
// meanings, which could disagree with the contract: README.md and docs/*.md may point to
// --help, --explain-exit or the runbook's generated table instead.
func TestNoSecondExitCodeTable(t *testing.T) {
	docs, _ := filepath.Glob("docs/*.md")
	docs = append(docs, "README.md")
	for _, name := range docs {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if name == filepath.FromSlash(runbookPath) {
			src = []byte(strings.Replace(string(src), exitCodeTable(contract.Exits), "", 1))
		}
		if tables, raw := exitTables(src); len(tables) > 0 || len(raw) > 0 {
			t.Errorf("%s has exit codes with meanings of its own (%v, raw rows %v); point to `--help`, `--explain-exit` or the runbook's generated table", name, tables, raw)
		}
	}
}
