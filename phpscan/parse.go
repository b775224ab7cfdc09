package phpscan

import (
	"bytes"
	"fmt"

	"github.com/VKCOM/php-parser/pkg/ast"
	"github.com/VKCOM/php-parser/pkg/conf"
	perrors "github.com/VKCOM/php-parser/pkg/errors"
	"github.com/VKCOM/php-parser/pkg/parser"
	"github.com/VKCOM/php-parser/pkg/version"
)

// versions are tried in this order: PHP 8 for today's code, then 7.4 and
// 5.6, whose grammars still take what shells written for old servers use
// ($s{0} offsets, `<?` code written for PHP 5).
var versions = []version.Version{{Major: 8, Minor: 0}, {Major: 7, Minor: 4}, {Major: 5, Minor: 6}}

// maxErrorsRetried is the most syntax errors with which older grammars are
// tried: a file with more is mostly not PHP (a serialised registry, a
// README with examples), and a grammar of PHP 5 will not make it code. The
// shells of both corpus folders that parse better with an older grammar
// have at most 316 errors under PHP 8.
const maxErrorsRetried = 1000

// parsed is the tree of a file and what parsing it cost.
type parsed struct {
	root   *ast.Root
	errors int    // syntax errors the parser recovered from
	note   string // how the tree was had, when not at the first try
}

// parse parses src, tolerating broken code: the grammar with the fewest
// syntax errors wins; a file the parser gives up on (an unterminated block
// at the end) is tried again with the braces closed. The parser is never
// trusted not to panic on hostile bytes: a panic is a failed try.
func parse(src []byte) (parsed, error) {
	best := parsed{errors: -1}
	var lastErr error
	try := func(b []byte, v version.Version, note string) {
		root, n, err := parseOnce(b, v)
		if err != nil {
			lastErr = err
			return
		}
		if root == nil {
			return
		}
		if best.root == nil || n < best.errors {
			best = parsed{root: root, errors: n, note: note}
		}
	}
	for _, v := range versions {
		try(src, v, "")
		if best.root != nil && (best.errors == 0 || best.errors > maxErrorsRetried) {
			return best, nil
		}
	}
	if best.root != nil {
		return best, nil
	}
	// The parser gives up at an unexpected end of file: close what may be
	// open (a trailing newline first: the lexer trips on a final CR).
	for _, tail := range []string{"\n", "\n;}}}", "\n;}}}}}}}}}}", "\n'\";}}}}}}}}}}"} {
		b := make([]byte, 0, len(src)+len(tail))
		b = append(append(b, src...), tail...)
		for _, v := range versions[:2] {
			try(b, v, fmt.Sprintf("parsed with %q appended", tail))
			if best.root != nil {
				return best, nil
			}
		}
	}
	// The lexer panics on a "}" that closes nothing (a stray one after
	// "<?php" is enough): a shell prefixed with one would get no analysis.
	// Such braces become spaces, the first few at most (no position or
	// line moves), and the file is parsed again.
	b := bytes.Clone(src)
	for n := 1; n <= maxStrayBraces; n++ {
		k := strayCloser(b)
		if k < 0 {
			break
		}
		b[k] = ' '
		for _, v := range versions[:2] {
			try(b, v, fmt.Sprintf("parsed with %d stray \"}\" blanked", n))
			if best.root != nil {
				return best, nil
			}
		}
	}
	if lastErr != nil {
		return best, lastErr
	}
	return best, fmt.Errorf("php parser found no usable syntax tree")
}

// maxStrayBraces bounds the stray "}" blanked before a file is given up.
const maxStrayBraces = 8

// strayCloser is the position of the first "}" of src's code that closes
// no "{" (strings, comments, heredocs and inline HTML skipped; braces count
// across PHP blocks, as PHP counts them), or -1.
func strayCloser(src []byte) int {
	s := &bodyScan{src: src, budget: 4*len(src) + 1<<20}
	depth := 0
	for i := s.html(0); i < len(src) && s.budget > 0; {
		switch src[i] {
		case '{':
			depth++
			i++
			continue
		case '}':
			if depth == 0 {
				return i
			}
			depth--
			i++
			continue
		}
		j := s.step(i)
		if j < 0 {
			j = i + len("function")
		}
		i = j
	}
	return -1
}

func parseOnce(src []byte, v version.Version) (root *ast.Root, nerr int, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("php parser failed: %v", r)
		}
	}()
	vv := v
	// VKCOM's lexer loops for ever, allocating until the process dies, on
	// some endings of a file: inline HTML ending in "<" (any page whose
	// last byte is "<"), a heredoc opener "<<<" or a string ending in "$"
	// at the very end. A newline after the last byte ends all of them (no
	// hang in 800,000 fuzzed short files ending so, under the three
	// grammars) and changes no position or line of the file's own bytes.
	if len(src) == 0 || src[len(src)-1] != '\n' {
		src = append(src[:len(src):len(src)], '\n')
	}
	src = defuseHeredocs(src)
	node, perr := parser.Parse(src, conf.Config{
		Version:          &vv,
		ErrorHandlerFunc: func(*perrors.Error) { nerr++ },
	})
	if perr != nil {
		return nil, nerr, perr
	}
	r, _ := node.(*ast.Root)
	return r, nerr, nil
}
