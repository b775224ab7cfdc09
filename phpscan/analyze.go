package phpscan

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/VKCOM/php-parser/pkg/ast"
)

// Options bound an analysis. The zero Options means the defaults.
type Options struct {
	// MaxSteps is the most expressions and statements interpreted per
	// file (decoded payloads included). Default 400,000.
	MaxSteps int
	// Timeout is the most time spent per file. Default 2 s.
	Timeout time.Duration
	// MaxString is the longest string the analyzer computes (a decoded
	// payload, a folded name). Default 4 MiB.
	MaxString int
	// MaxDepth is how many decoded payloads inside one another are
	// parsed and analysed. Default 6.
	MaxDepth int
}

func (o Options) withDefaults() Options {
	if o.MaxSteps <= 0 {
		o.MaxSteps = 400_000
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.MaxString <= 0 {
		o.MaxString = 4 << 20
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 6
	}
	return o
}

// Result is what the analysis of one file found.
type Result struct {
	// Findings, ordered by line then rule name.
	Findings []Finding
	// Folded lists strings computed on the way that explain a finding:
	// names built at run time, payloads decoded.
	Folded []Folded
	// Parsed is false when no syntax tree could be had; ParseNote says
	// how the tree was had when the file needed help (old grammar,
	// braces closed at the end).
	Parsed    bool
	ParseNote string
	// SyntaxErrors counts the errors the parser recovered from.
	SyntaxErrors int
	// Incomplete says why the analysis stopped early (its budget), ""
	// when it went to the end.
	Incomplete string
	// Skipped is set when the file holds nothing the analysis follows
	// (no request input, decoder, URL or shell command text) and was not
	// parsed: no rule can find anything in it.
	Skipped bool
	// Steps is the work done, for benchmarks.
	Steps int
}

// Analyze analyses the PHP source src. It never panics on hostile input
// and stops at its budget.
func Analyze(src []byte, opts Options) Result {
	opts = opts.withDefaults()
	deadline := time.Now().Add(opts.Timeout)
	res, whole := analyze(src, opts, deadline, true)
	if whole {
		// A body blanked for the first parse was to be entered: the
		// whole file, parsed whole (see blankBodies).
		res, _ = analyze(src, opts, deadline, false)
	}
	return res
}

// analyze is one analysis of src; with blank, a first parse with the
// bodies nothing uses blanked, when there are any. whole is set when that
// parse was not enough.
func analyze(src []byte, opts Options, deadline time.Time, blank bool) (res Result, whole bool) {
	a := &analyzer{
		opts:       opts,
		res:        &res,
		seen:       map[string]bool{},
		funcs:      map[string]*ast.StmtFunction{},
		classes:    map[string]*classInfo{},
		consts:     map[string]Value{},
		props:      map[string]Value{},
		fields:     map[string]Value{},
		unsetReads: map[string]bool{},
		memo:       map[string]Value{},
		ids:        map[ast.Vertex]int{},
		active:     map[ast.Vertex]bool{},
		entered:    map[ast.Vertex]bool{},
		invokes:    map[ast.Vertex]int{},
		relevance:  map[ast.Vertex]int{},
		src:        src,
	}
	a.deadline = deadline
	a.global = newScope("")
	a.propOwner = newScope("properties")
	defer func() {
		if r := recover(); r != nil {
			if r == errReparse { //nolint:errorlint // the sentinel itself is panicked
				whole = true
				return
			}
			if r == errBudget { //nolint:errorlint // the sentinel itself is panicked
				res.Incomplete = fmt.Sprintf("stopped after %d steps (budget %d steps, %s)", a.steps, opts.MaxSteps, opts.Timeout)
			} else {
				res.Incomplete = fmt.Sprintf("analyzer failed: %v", r)
			}
		}
		res.Steps = a.steps
		sort.SliceStable(res.Findings, func(i, j int) bool {
			if res.Findings[i].Line != res.Findings[j].Line {
				return res.Findings[i].Line < res.Findings[j].Line
			}
			return res.Findings[i].Name < res.Findings[j].Name
		})
	}()
	mask, hits := prefilter.scan(src, true)
	if !fileRelevant(mask) {
		res.Skipped = true
		return res, false
	}
	a.hits = hits
	if blank && len(src) >= minBlankFile {
		if b := blankBodies(src, hits); b != nil {
			// Only a clean parse of the blanked file stands for the
			// file: syntax errors are counted, and the grammar chosen,
			// on the whole file.
			if p, err := parse(b.src); err == nil && p.root != nil && p.errors == 0 && p.note == "" {
				a.blank = b.ends
				res.Parsed = true
				a.run(p.root.Stmts)
				return res, false
			}
		}
	}
	p, err := parse(src)
	if err != nil || p.root == nil {
		return res, false
	}
	res.Parsed, res.ParseNote, res.SyntaxErrors = true, p.note, p.errors
	a.run(p.root.Stmts)
	return res, false
}

// run analyses a file's statements: the top level, then every function,
// method and magic method no call reached, as entry points of their own
// (a class's __destruct runs without being called; a function may be
// called through a name the analysis could not fold). Properties are
// followed without regard to order, so the top level runs again when a
// method stored request input in one.
func (a *analyzer) run(stmts []ast.Vertex) {
	decls := a.collect(stmts)
	a.execList(stmts, a.global)
	before := len(a.props)
	a.entries(decls)
	// Request input a method stored in a property, a global or the
	// session may reach a sink that ran before it was stored: run again
	// with what the first pass stored (and nothing remembered of calls).
	if len(a.props) != before || a.propsTainted() || a.globalsTainted() {
		a.memo = map[string]Value{}
		a.entered = map[ast.Vertex]bool{}
		a.execList(stmts, a.global.clone())
		a.entries(decls)
	}
}

// propsTainted reports whether request input was stored in a property.
func (a *analyzer) propsTainted() bool { return a.propTaint }

// entries interprets each function and method of decls not entered yet,
// with parameters that are not known: those whose body holds something to
// follow; once request input sits in a property, every method; once it
// sits in a global, every function too.
func (a *analyzer) entries(decls []ast.Vertex) {
	globals := a.globalsTainted()
	props := globals || a.propsTainted()
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.StmtFunction:
			if !a.entered[d] && (globals || a.isRelevant(d)) && !a.blankIsolated(d) {
				a.invoke(a.line(d), d, identName(d.Name), d.Params, d.Stmts, nil, a.global, nil, nil)
			}
		case *ast.StmtClass, *ast.StmtTrait:
			c := a.classOf(d)
			if c == nil {
				continue
			}
			names := make([]string, 0, len(c.methods))
			for n := range c.methods {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				if m := c.methods[n]; !a.entered[m] && (props || a.isRelevant(m)) && !a.blankIsolated(m) {
					a.invokeMethod(a.line(m), m, c, nil, a.global)
				}
			}
		}
	}
}

// blankIsolated reports whether a declaration's body was blanked for the
// first parse and reads no global state: entered with parameters that are
// not known, it has nothing to follow.
func (a *analyzer) blankIsolated(d ast.Vertex) bool {
	if a.blank == nil {
		return false
	}
	p := d.GetPosition()
	return p != nil && a.blank[p.EndPos]
}

func (a *analyzer) globalsTainted() bool {
	for _, v := range a.global.vars {
		if v.deepTaint() != nil {
			return true
		}
	}
	return false
}

// classOf finds the class recorded for a declaration.
func (a *analyzer) classOf(decl ast.Vertex) *classInfo {
	var name string
	switch d := decl.(type) {
	case *ast.StmtClass:
		name = identName(d.Name)
	case *ast.StmtTrait:
		name = identName(d.Name)
	}
	if c := a.classes[strings.ToLower(name)]; c != nil && c.decl == decl {
		return c
	}
	return nil
}

// nested parses and analyses a payload found at line: code given to eval
// (no open tag) or a file's content (written, included). Its findings are
// reported at line. Functions and classes it declares join the file's.
func (a *analyzer) nested(line int, code string, isCode bool, sc *scope) {
	if a.nest >= a.opts.MaxDepth || len(code) < 8 || len(code) > a.opts.MaxString {
		return
	}
	src := code
	if isCode {
		src = "<?php " + code
	} else if !looksLikePHPCode(code) {
		return
	}
	if !relevant([]byte(src)) {
		return // a template's own code, an array export: nothing to follow
	}
	key := "nested\x00" + src
	if a.seen[key] {
		return
	}
	a.seen[key] = true
	p, err := parse([]byte(src))
	if err != nil || p.root == nil {
		return
	}
	a.nest++
	outer, outerSrc := a.lineBase, a.src
	if outer == 0 {
		a.lineBase = line
	}
	outerHits := a.hits
	a.src = []byte(src)
	_, a.hits = prefilter.scan(a.src, true)
	defer func() {
		a.nest--
		a.lineBase, a.src, a.hits = outer, outerSrc, outerHits
	}()
	decls := a.collect(p.root.Stmts)
	inner := sc
	if inner == nil {
		inner = a.global
	}
	inner = inner.clone()
	a.execList(p.root.Stmts, inner)
	a.entries(decls)
}

// LooksLikePHP reports whether a file is PHP the web server may run or
// include: by its name, or by an open tag anywhere in it (PHP hidden in an
// image, a .txt included by a shell).
func LooksLikePHP(name string, data []byte) bool {
	lname := strings.ToLower(name)
	for _, ext := range []string{".php", ".phtml", ".php3", ".php4", ".php5", ".php7", ".php8", ".pht", ".phps", ".inc", ".module", ".phar"} {
		if strings.HasSuffix(lname, ext) {
			return true
		}
	}
	return hasOpenTag(data)
}

// HasLongOpenTag finds "<?php" (any case) in data: five bytes that random
// or compressed data all but never holds, unlike "<?=" (one in 16 MiB).
func HasLongOpenTag(data []byte) bool {
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("<?"))
		if j < 0 {
			return false
		}
		i += j + 2
		if i+3 <= len(data) && (data[i]|0x20) == 'p' && (data[i+1]|0x20) == 'h' && (data[i+2]|0x20) == 'p' {
			return true
		}
	}
}

// hasOpenTag finds "<?php" (any case) or "<?=" in data.
func hasOpenTag(data []byte) bool {
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("<?"))
		if j < 0 {
			return false
		}
		i += j + 2
		if i < len(data) && data[i] == '=' {
			return true
		}
		if i+3 <= len(data) && (data[i]|0x20) == 'p' && (data[i+1]|0x20) == 'h' && (data[i+2]|0x20) == 'p' {
			return true
		}
	}
}
