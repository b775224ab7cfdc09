package phpscan

import (
	"bytes"
	"sort"
)

// Parsing is nearly all of the analysis's time (VKCOM's parser reads dense
// code at about 10 MB/s), and most of a large file can be functions and
// methods the interpretation never enters. A named function or method whose
// body holds no token of the prefilter, and whose name appears nowhere in
// the code that is kept (as a call, a callback string or anything else), is
// entered only through a name built at run time, or as an entry point of
// its own once request input sits in a global or a property. So the file
// is parsed first with such bodies blanked (their bytes replaced by
// spaces, newlines kept, so that every position and line stays what it
// was), and parsed again whole when the interpretation wants to enter one
// of them (errReparse). A shell padded with a megabyte of ordinary
// functions and classes is analysed two to four times faster
// (BenchmarkPaddedShell); the findings are those of the whole file's
// analysis, which TestBlankedSameAsWhole holds every case to.

// minBlankFile is the smallest file whose bodies are blanked: smaller
// ones parse in a few milliseconds, and the scan for bodies to blank costs
// more on them than it saves.
const minBlankFile = 64 << 10

// minBlankShare: the bodies blanked must weigh at least a
// 1/minBlankShare of the file.
const minBlankShare = 3

// minBlankBody is the smallest body worth blanking: below it the parser's
// work saved is less than the scan's.
const minBlankBody = 64

// blanked is a file with bodies blanked for its first parse.
type blanked struct {
	src []byte
	// ends holds, for each body blanked, the position after its closing
	// brace (the EndPos of its function or method node), and whether the
	// body is isolated: no global, $GLOBALS, superglobal, $this or "::"
	// in it, so that nothing it reads can hold request input when its
	// parameters do not.
	ends map[int]bool
}

// bodyCandidate is a body blankBodies may blank.
type bodyCandidate struct {
	name      string // lower case
	nameAt    int    // where the name is declared
	open, end int    // "{" and after "}"
	live      bool   // its name is used in kept code: not blanked
	calls     []int  // candidates whose names it uses
}

// blankBodies blanks the bodies of named functions and methods of src that
// hold none of hits, declare nothing (no function or class inside), leave
// PHP nowhere (no ?>) and whose names kept code never uses. It returns nil
// when there is nothing to blank. The scan is bounded: past a few passes
// over src it stops and blanks nothing.
func blankBodies(src []byte, hits []tokenHit) *blanked {
	s := &bodyScan{src: src, budget: 8*len(src) + 1<<20}
	var cands []bodyCandidate
	for i := s.html(0); i < len(src) && s.budget > 0; {
		j := s.step(i)
		if j >= 0 {
			i = j
			continue
		}
		// "function" at i
		name, nameAt, open, end, ok := s.function(i)
		switch {
		case !ok:
			i += len("function")
		case end > 0 && name != "" && end-open-2 >= minBlankBody && maskIn(hits, open, end) == 0:
			cands = append(cands, bodyCandidate{name: name, nameAt: nameAt, open: open, end: end})
			i = end
		default:
			i = open + 1 // not blanked: its inner functions may be
		}
	}
	if s.budget <= 0 || weight(cands) < len(src)/minBlankShare {
		return nil
	}
	byName := make(map[string][]int, len(cands))
	for k, c := range cands {
		byName[c.name] = append(byName[c.name], k)
	}
	// Every word of src that names a candidate, in code, strings and
	// comments alike: used in a candidate's body, it links the two; used
	// anywhere else, the candidate is kept.
	var live []int
	buf := make([]byte, 0, 64)
	for i := 0; i < len(src); {
		if !isIdentByte(src[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(src) && isIdentByte(src[j]) {
			j++
		}
		if j-i <= 64 && (i == 0 || src[i-1] != '$') {
			buf = buf[:0]
			for _, c := range src[i:j] {
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				buf = append(buf, c)
			}
			if targets, ok := byName[string(buf)]; ok {
				in := sort.Search(len(cands), func(k int) bool { return cands[k].end > i })
				switch {
				case in < len(cands) && cands[in].nameAt == i:
					// its own declaration
				case in < len(cands) && cands[in].open < i:
					cands[in].calls = append(cands[in].calls, targets...)
				default:
					live = append(live, targets...)
				}
			}
		}
		i = j
	}
	for len(live) > 0 {
		k := live[len(live)-1]
		live = live[:len(live)-1]
		if !cands[k].live {
			cands[k].live = true
			live = append(live, cands[k].calls...)
		}
	}
	// Blanking pays when it takes much of the file: the parse saved is
	// then large, and what a reparse wastes (the blanked file's parse and
	// analysis) small beside the whole file's.
	if weight(cands) < len(src)/minBlankShare {
		return nil
	}
	var out *blanked
	for _, c := range cands {
		if c.live {
			continue
		}
		if out == nil {
			out = &blanked{src: bytes.Clone(src), ends: map[int]bool{}}
		}
		body := out.src[c.open+1 : c.end-1]
		out.ends[c.end] = isolated(body)
		for k, b := range body {
			if b != '\n' && b != '\r' {
				body[k] = ' '
			}
		}
	}
	return out
}

// weight is the bytes of the candidates to blank.
func weight(cands []bodyCandidate) int {
	n := 0
	for _, c := range cands {
		if !c.live {
			n += c.end - c.open
		}
	}
	return n
}

// isolated reports whether a body reads no global state: no global,
// $GLOBALS, superglobal, $this, static or class member ("::").
func isolated(body []byte) bool {
	for _, w := range []string{"global", "$_", "$this", "::"} {
		if indexFold(body, w) >= 0 {
			return false
		}
	}
	return true
}

// indexFold is bytes.Index without regard to ASCII case, for a lower-case
// word.
func indexFold(b []byte, w string) int {
	for i := 0; i+len(w) <= len(b); i++ {
		if hasPrefixFold(b[i:], w) {
			return i
		}
	}
	return -1
}

// bodyScan reads PHP source as far as blanking needs: code and inline
// HTML, strings, comments and heredocs, the braces of a body.
type bodyScan struct {
	src    []byte
	budget int // bytes left to read
}

// html skips inline HTML from i to the code after the next open tag.
func (s *bodyScan) html(i int) int {
	k := bytes.Index(s.src[i:], []byte("<?"))
	if k < 0 {
		return len(s.src)
	}
	i += k + 2
	if hasPrefixFold(s.src[i:], "php") {
		i += 3
	} else if i < len(s.src) && s.src[i] == '=' {
		i++
	}
	return i
}

// step reads one piece of code at i and returns where the next starts,
// or -1 when the word "function" starts at i.
func (s *bodyScan) step(i int) int {
	src := s.src
	c := src[i]
	s.budget--
	switch {
	case c == '\'' || c == '"' || c == '`':
		return s.quoted(i)
	case c == '/' && i+1 < len(src) && src[i+1] == '/', c == '#' && !(i+1 < len(src) && src[i+1] == '['):
		return s.lineComment(i)
	case c == '/' && i+1 < len(src) && src[i+1] == '*':
		k := bytes.Index(src[i+2:], []byte("*/"))
		if k < 0 {
			return len(src)
		}
		s.budget -= k
		return i + 2 + k + 2
	case c == '<' && bytes.HasPrefix(src[i:], []byte("<<<")):
		return s.heredoc(i)
	case c == '?' && i+1 < len(src) && src[i+1] == '>':
		return s.html(i + 2)
	case c == 'f' || c == 'F':
		if hasPrefixFold(src[i:], "function") && (i+8 == len(src) || !isIdentByte(src[i+8])) && wordStart(src, i) && (i == 0 || src[i-1] != '$') {
			return -1
		}
		fallthrough
	case isIdentByte(c) || c == '$':
		j := i + 1
		for j < len(src) && isIdentByte(src[j]) {
			j++
		}
		return j
	}
	return i + 1
}

// quoted skips the string starting at i.
func (s *bodyScan) quoted(i int) int {
	src, q := s.src, s.src[i]
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case q:
			s.budget -= j - i
			return j + 1
		}
	}
	return len(src)
}

// lineComment skips a // or # comment, which ends at a newline or at ?>.
func (s *bodyScan) lineComment(i int) int {
	src := s.src
	for j := i; j < len(src); j++ {
		switch {
		case src[j] == '\n':
			s.budget -= j - i
			return j + 1
		case src[j] == '?' && j+1 < len(src) && src[j+1] == '>':
			s.budget -= j - i
			return j // the close tag is read as code
		}
	}
	return len(src)
}

// heredoc skips a heredoc or nowdoc starting at i ("<<<").
func (s *bodyScan) heredoc(i int) int {
	src := s.src
	j := i + 3
	for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
		j++
	}
	if j < len(src) && (src[j] == '\'' || src[j] == '"') {
		j++
	}
	start := j
	for j < len(src) && isIdentByte(src[j]) {
		j++
	}
	id := src[start:j]
	if len(id) == 0 {
		return i + 3 // not a heredoc: "<<<" read as operators
	}
	// The closing identifier starts a line, after optional white space,
	// and no identifier byte follows it.
	for k := j; k < len(src); {
		nl := bytes.IndexByte(src[k:], '\n')
		if nl < 0 {
			return len(src)
		}
		k += nl + 1
		m := k
		for m < len(src) && (src[m] == ' ' || src[m] == '\t') {
			m++
		}
		if bytes.HasPrefix(src[m:], id) && (m+len(id) == len(src) || !isIdentByte(src[m+len(id)])) {
			s.budget -= m - i
			return m + len(id)
		}
	}
	return len(src)
}

// function reads the function starting at i ("function"): its name (""
// for a closure, lower case), its parameters, closure uses and return
// type, then its body. open is the position of the body's "{" and end the
// position after its "}" when the body can be blanked, 0 when it cannot
// (it declares something or leaves PHP); ok is false when no body follows
// (an abstract method, a bare word).
func (s *bodyScan) function(i int) (name string, nameAt, open, end int, ok bool) {
	src := s.src
	j := skipSpaceAndComments(src, i+len("function"))
	if j < len(src) && src[j] == '&' {
		j = skipSpaceAndComments(src, j+1)
	}
	nameAt = j
	for j < len(src) && isIdentByte(src[j]) {
		j++
	}
	name = string(bytes.ToLower(src[nameAt:j]))
	j = skipSpaceAndComments(src, j)
	if j >= len(src) || src[j] != '(' {
		return "", 0, 0, 0, false
	}
	if j = s.closeParen(j); j < 0 {
		return "", 0, 0, 0, false
	}
	j = skipSpaceAndComments(src, j)
	if hasPrefixFold(src[j:], "use") && (j+3 == len(src) || !isIdentByte(src[j+3])) {
		j = skipSpaceAndComments(src, j+3)
		if j >= len(src) || src[j] != '(' {
			return "", 0, 0, 0, false
		}
		if j = s.closeParen(j); j < 0 {
			return "", 0, 0, 0, false
		}
		j = skipSpaceAndComments(src, j)
	}
	if j < len(src) && src[j] == ':' { // a return type
		j++
		for j < len(src) && (isIdentByte(src[j]) || bytes.IndexByte([]byte(" \t\r\n\\?|&()"), src[j]) >= 0) {
			j++
		}
	}
	if j >= len(src) || src[j] != '{' {
		return "", 0, 0, 0, false
	}
	open = j
	depth := 0
	for k := open; k < len(src) && s.budget > 0; {
		switch src[k] {
		case '{':
			depth++
			k++
		case '}':
			depth--
			k++
			if depth == 0 {
				return name, nameAt, open, k, true
			}
		case '?':
			if k+1 < len(src) && src[k+1] == '>' {
				return name, nameAt, open, 0, true // inline HTML in the body
			}
			k++
		default:
			n := s.step(k)
			if n < 0 {
				return name, nameAt, open, 0, true // a function declared inside
			}
			if w := src[k]; (w == 'c' || w == 'C' || w == 'i' || w == 'I' || w == 't' || w == 'T' || w == 'e' || w == 'E') && declares(src[k:n]) && wordStart(src, k) {
				return name, nameAt, open, 0, true // a class, interface, trait or enum
			}
			k = n
		}
	}
	return name, nameAt, open, 0, true
}

// closeParen is the position after the ")" matching the "(" at i, or -1.
func (s *bodyScan) closeParen(i int) int {
	src := s.src
	depth := 0
	for k := i; k < len(src) && s.budget > 0; {
		switch src[k] {
		case '(':
			depth++
			k++
		case ')':
			depth--
			k++
			if depth == 0 {
				return k
			}
		case '{', '}', ';':
			return -1 // not a parameter list
		default:
			n := s.step(k)
			if n < 0 {
				n = k + len("function")
			}
			k = n
		}
	}
	return -1
}

// declares reports whether a word declares a class-like type.
func declares(w []byte) bool {
	for _, kw := range []string{"class", "interface", "trait", "enum"} {
		if len(w) == len(kw) && hasPrefixFold(w, kw) {
			return true
		}
	}
	return false
}

// hasPrefixFold is bytes.HasPrefix without regard to ASCII case.
func hasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if c := b[i]; c != prefix[i] && c|0x20 != prefix[i] {
			return false
		}
	}
	return true
}

// defuseHeredocs returns src with each "$$" inside a heredoc or nowdoc
// body turned into " $" (same length: no position or line moves): VKCOM's
// PHP 8 lexer loops for ever, burning a core, on a heredoc holding "$$"
// before some bytes ("$$E", "$${x}"). Inside a heredoc "$$x" is a literal
// "$" then $x, so only that literal "$" is lost. src itself is returned
// when nothing changes.
func defuseHeredocs(src []byte) []byte {
	if !bytes.Contains(src, []byte("<<<")) || !bytes.Contains(src, []byte("$$")) {
		return src
	}
	s := &bodyScan{src: src, budget: 8*len(src) + 1<<20}
	var out []byte
	for i := s.html(0); i < len(src) && s.budget > 0; {
		if src[i] == '<' && bytes.HasPrefix(src[i:], []byte("<<<")) {
			end := s.heredoc(i)
			for k := i + 3; k+1 < end; k++ {
				if src[k] == '$' && src[k+1] == '$' {
					if out == nil {
						out = bytes.Clone(src)
					}
					out[k] = ' '
				}
			}
			i = max(end, i+3)
			continue
		}
		j := s.step(i)
		if j < 0 {
			j = i + len("function")
		}
		i = j
	}
	if out == nil {
		return src
	}
	return out
}
