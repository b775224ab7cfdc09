// Package safetext prints attacker-chosen file names where a human or a line
// parser reads them: in one line, exactly, and unable to forge another line
// or field.
package safetext

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Path returns p as it is when it prints safely on one line, else as a Go
// quoted string, which is exact (invalid bytes become \x escapes) and cannot
// be mistaken for two lines or two fields.
func Path(p string) string {
	if NeedsQuoting(p) {
		return strconv.Quote(p)
	}
	return p
}

// NeedsQuoting reports whether p holds anything that [Path] would quote:
// invalid UTF-8, control characters, quotes, backslashes or line separators.
func NeedsQuoting(p string) bool {
	if !utf8.ValidString(p) || p == "" {
		return true
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

// PathsIn replaces the raw path p inside a message (an error's text, say)
// with its quoted form, so a crafted file name cannot forge extra lines.
func PathsIn(msg, p string) string {
	if p == "" || !NeedsQuoting(p) {
		return msg
	}
	return strings.ReplaceAll(msg, p, Path(p))
}
