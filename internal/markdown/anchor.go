// Package markdown holds what the project knows of how GitHub renders its Markdown: the anchor a
// heading gets, which the mails' runbook links (infra) and the docs' link checks (the root tests)
// both compute.
package markdown

import (
	"strings"
	"unicode"
)

// Anchor is the fragment GitHub gives a heading: lower case, every character but letters, digits,
// '-', '_' and spaces dropped, each space a '-'. (A repeated heading gets a -1, -2 suffix; the
// runbook's linked headings are unique, which infra's test checks.)
func Anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
