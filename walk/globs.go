package walk

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Globs is a set of glob patterns matched against paths: what a walk
// leaves out (scanner.exclude, a root's exclude), which files are code
// (script_globs), where code never belongs (no_script_globs). The rules are
// in the package documentation. A nil *Globs matches nothing. A Globs is
// safe for concurrent use.
type Globs struct {
	patterns []string
	full     *regexp.Regexp // patterns with "/", against the whole path
	base     *regexp.Regexp // patterns without "/", against the base name
}

// CompileGlobs compiles glob patterns. A malformed pattern (an
// unclosed "[", a trailing "\", an empty or reversed range, invalid UTF-8,
// an empty pattern) is an error naming it.
func CompileGlobs(patterns []string) (*Globs, error) {
	e := &Globs{patterns: append([]string(nil), patterns...)}
	var full, base []string
	for _, p := range patterns {
		re, err := globToRegexp(p)
		if err != nil {
			return nil, fmt.Errorf("glob %q: %w", p, err)
		}
		if strings.Contains(p, "/") {
			full = append(full, re)
		} else {
			base = append(base, re)
		}
	}
	var err error
	if e.full, err = compileAlternatives(full); err != nil {
		return nil, err
	}
	if e.base, err = compileAlternatives(base); err != nil {
		return nil, err
	}
	return e, nil
}

// Patterns returns the patterns e was built from.
func (e *Globs) Patterns() []string {
	if e == nil {
		return nil
	}
	return append([]string(nil), e.patterns...)
}

// Match reports whether the entry at path matches a pattern. isDir says whether
// it is a folder, which is then also matched with a "/" appended.
func (e *Globs) Match(path string, isDir bool) bool {
	if e == nil {
		return false
	}
	if e.base != nil && e.base.MatchString(baseName(path)) {
		return true
	}
	if e.full != nil {
		if e.full.MatchString(path) {
			return true
		}
		if isDir && !strings.HasSuffix(path, "/") && e.full.MatchString(path+"/") {
			return true
		}
	}
	return false
}

// baseName is the last element of p, trailing slashes ignored.
func baseName(p string) string {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "/"
	}
	return p[strings.LastIndexByte(p, '/')+1:]
}

func compileAlternatives(res []string) (*regexp.Regexp, error) {
	if len(res) == 0 {
		return nil, nil
	}
	// (?s): "." also matches a newline, which a path may hold.
	re, err := regexp.Compile(`(?s)^(?:` + strings.Join(res, "|") + `)$`)
	if err != nil {
		return nil, fmt.Errorf("exclude patterns: %w", err)
	}
	return re, nil
}

// globToRegexp translates one glob pattern into an unanchored regular
// expression. "*" becomes ".*" in a pattern with "/" and "[^/]*" otherwise
// (where it cannot meet a "/" anyway); everything else follows path.Match.
func globToRegexp(pattern string) (string, error) {
	if pattern == "" {
		return "", fmt.Errorf("empty pattern: %w", path.ErrBadPattern)
	}
	if !utf8.ValidString(pattern) {
		return "", fmt.Errorf("not valid UTF-8: %w", path.ErrBadPattern)
	}
	star := "[^/]*"
	if strings.Contains(pattern, "/") {
		star = ".*"
	}
	var b strings.Builder
	for i := 0; i < len(pattern); {
		switch c := pattern[i]; c {
		case '*':
			for i < len(pattern) && pattern[i] == '*' {
				i++ // "**" is the same as "*"
			}
			b.WriteString(star)
		case '?':
			b.WriteString("[^/]")
			i++
		case '[':
			n, err := writeClass(&b, pattern[i+1:])
			if err != nil {
				return "", err
			}
			i += 1 + n
		case '\\':
			if i+1 == len(pattern) {
				return "", fmt.Errorf("trailing \\: %w", path.ErrBadPattern)
			}
			r, size := utf8.DecodeRuneInString(pattern[i+1:])
			writeLiteral(&b, r)
			i += 1 + size
		default:
			r, size := utf8.DecodeRuneInString(pattern[i:])
			writeLiteral(&b, r)
			i += size
		}
	}
	return b.String(), nil
}

// writeClass translates the class whose text (after "[") starts s and
// returns how many bytes of s it used, the closing "]" included. The grammar
// is path.Match's: an optional "^", then one or more characters or lo-hi
// ranges, where "-" and "]" must be quoted with "\".
func writeClass(b *strings.Builder, s string) (int, error) {
	i := 0
	b.WriteByte('[')
	if i < len(s) && s[i] == '^' {
		b.WriteByte('^')
		i++
	}
	ranges := 0
	for {
		if i < len(s) && s[i] == ']' && ranges > 0 {
			b.WriteByte(']')
			return i + 1, nil
		}
		lo, n, err := classChar(s[i:])
		if err != nil {
			return 0, err
		}
		i += n
		hi := lo
		if i < len(s) && s[i] == '-' {
			if hi, n, err = classChar(s[i+1:]); err != nil {
				return 0, err
			}
			i += 1 + n
			if hi < lo {
				return 0, fmt.Errorf("range %c-%c is reversed: %w", lo, hi, path.ErrBadPattern)
			}
		}
		fmt.Fprintf(b, `\x{%x}`, lo)
		if hi != lo {
			fmt.Fprintf(b, `-\x{%x}`, hi)
		}
		ranges++
	}
}

// classChar reads one possibly quoted character of a class.
func classChar(s string) (rune, int, error) {
	if s == "" {
		return 0, 0, fmt.Errorf("unclosed [: %w", path.ErrBadPattern)
	}
	if s[0] == '-' || s[0] == ']' {
		return 0, 0, fmt.Errorf("unquoted %q in a class: %w", s[0], path.ErrBadPattern)
	}
	n := 0
	if s[0] == '\\' {
		n = 1
		if len(s) == 1 {
			return 0, 0, fmt.Errorf("unclosed [: %w", path.ErrBadPattern)
		}
	}
	r, size := utf8.DecodeRuneInString(s[n:])
	return r, n + size, nil
}

// writeLiteral writes r so that it matches itself only.
func writeLiteral(b *strings.Builder, r rune) {
	b.WriteString(regexp.QuoteMeta(string(r)))
}
