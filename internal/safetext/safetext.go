// Package safetext prints attacker-chosen file names where a human or a line
// parser reads them: in one line, exactly, and unable to forge another line
// or field.
package safetext

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
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

// exactPrefix marks a path carried in base64 by [ExactPath].
const exactPrefix = "base64:"

// ExactPath returns p in a form a JSON string carries exactly: p itself
// when it is valid UTF-8, else "base64:" and its bytes in base64 (a JSON
// string would turn the invalid bytes into U+FFFD). A valid path that
// starts with "base64:" is encoded too, so the form is never ambiguous.
// [FromExactPath] reverses it.
func ExactPath(p string) string {
	if utf8.ValidString(p) && !strings.HasPrefix(p, exactPrefix) {
		return p
	}
	return exactPrefix + base64.StdEncoding.EncodeToString([]byte(p))
}

// FromExactPath returns the path [ExactPath] encoded.
func FromExactPath(s string) (string, error) {
	enc, ok := strings.CutPrefix(s, exactPrefix)
	if !ok {
		return s, nil
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("path %q: bad base64: %w", s, err)
	}
	return string(b), nil
}

// Paths is a list of file paths that JSON carries exactly (see
// [ExactPath]); in Go it is a plain []string.
type Paths []string

// MarshalJSON writes each path with [ExactPath].
func (ps Paths) MarshalJSON() ([]byte, error) {
	enc := make([]string, len(ps))
	for i, p := range ps {
		enc[i] = ExactPath(p)
	}
	return json.Marshal(enc)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (ps *Paths) UnmarshalJSON(data []byte) error {
	var enc []string
	if err := json.Unmarshal(data, &enc); err != nil {
		return err
	}
	out := make(Paths, len(enc))
	for i, s := range enc {
		p, err := FromExactPath(s)
		if err != nil {
			return err
		}
		out[i] = p
	}
	*ps = out
	return nil
}

// JSONPath is one file path that JSON carries exactly as a value (see
// [ExactPath]). Not as a map key: encoding/json writes string-kind keys as
// they are.
type JSONPath string

// MarshalText writes the path with [ExactPath].
func (p JSONPath) MarshalText() ([]byte, error) { return []byte(ExactPath(string(p))), nil }

// UnmarshalText reads what MarshalText wrote.
func (p *JSONPath) UnmarshalText(text []byte) error {
	s, err := FromExactPath(string(text))
	*p = JSONPath(s)
	return err
}
