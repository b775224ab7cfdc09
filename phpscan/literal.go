package phpscan

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// unquoteSingle decodes the body of a single-quoted PHP string: only \\ and
// \' are escapes.
func unquoteSingle(body string) string {
	if !strings.Contains(body, `\`) {
		return body
	}
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '\\' && i+1 < len(body) && (body[i+1] == '\\' || body[i+1] == '\'') {
			i++
			c = body[i]
		}
		b.WriteByte(c)
	}
	return b.String()
}

// unquoteDouble decodes the escapes of a double-quoted or heredoc PHP string
// part: \n \t \r \v \e \f \\ \$ \" (when quote), octal \101, hex \x41 and
// \u{1F600}. An unknown escape stays as written, as in PHP.
func unquoteDouble(body string, quote bool) string {
	if !strings.Contains(body, `\`) {
		return body
	}
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' || i+1 >= len(body) {
			b.WriteByte(c)
			continue
		}
		n := body[i+1]
		switch {
		case n == 'n':
			b.WriteByte('\n')
			i++
		case n == 't':
			b.WriteByte('\t')
			i++
		case n == 'r':
			b.WriteByte('\r')
			i++
		case n == 'v':
			b.WriteByte('\v')
			i++
		case n == 'e':
			b.WriteByte(0x1b)
			i++
		case n == 'f':
			b.WriteByte('\f')
			i++
		case n == '\\' || n == '$':
			b.WriteByte(n)
			i++
		case n == '"' && quote:
			b.WriteByte('"')
			i++
		case n >= '0' && n <= '7':
			j := i + 1
			v := 0
			for j < len(body) && j < i+4 && body[j] >= '0' && body[j] <= '7' {
				v = v*8 + int(body[j]-'0')
				j++
			}
			b.WriteByte(byte(v))
			i = j - 1
		case n == 'x' && i+2 < len(body) && isHex(body[i+2]):
			j := i + 2
			v := 0
			for j < len(body) && j < i+4 && isHex(body[j]) {
				v = v*16 + hexVal(body[j])
				j++
			}
			b.WriteByte(byte(v))
			i = j - 1
		case n == 'u' && i+2 < len(body) && body[i+2] == '{':
			end := strings.IndexByte(body[i+3:], '}')
			if end < 0 {
				b.WriteByte(c)
				continue
			}
			r, err := strconv.ParseUint(body[i+3:i+3+end], 16, 32)
			if err != nil {
				b.WriteByte(c)
				continue
			}
			b.WriteString(string(utf8.AppendRune(nil, rune(r))))
			i += 3 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}

// stringLiteral decodes a whole PHP string token ('…' or "…" or a bare
// string), as the parser hands it over.
func stringLiteral(raw []byte) string {
	s := string(raw)
	if len(s) >= 2 {
		switch {
		case s[0] == '\'' && s[len(s)-1] == '\'':
			return unquoteSingle(s[1 : len(s)-1])
		case s[0] == '"' && s[len(s)-1] == '"':
			return unquoteDouble(s[1:len(s)-1], true)
		case (s[0] == 'b' || s[0] == 'B') && len(s) >= 3:
			return stringLiteral(raw[1:])
		}
	}
	return s
}

// numberLiteral parses a PHP integer literal (decimal, 0x, 0b, octal,
// with _ separators).
func numberLiteral(raw []byte) (int64, bool) {
	s := strings.ReplaceAll(string(raw), "_", "")
	base := 10
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		base, s = 16, s[2:]
	case strings.HasPrefix(s, "0b") || strings.HasPrefix(s, "0B"):
		base, s = 2, s[2:]
	case strings.HasPrefix(s, "0o") || strings.HasPrefix(s, "0O"):
		base, s = 8, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	n, err := strconv.ParseInt(s, base, 64)
	return n, err == nil
}
