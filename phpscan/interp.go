package phpscan

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/VKCOM/php-parser/pkg/ast"
)

// errBudget stops the interpreter when a file has used its budget.
var errBudget = errors.New("analysis budget exhausted")

// errReparse stops the interpreter when it is to enter a body blanked for
// the first parse: the file is analysed again, parsed whole.
var errReparse = errors.New("blanked body entered")

// flow is how a statement ended.
type flow uint8

const (
	flowNormal flow = iota
	flowBreak
	flowContinue
	flowReturn // return, exit or die: nothing after it runs
)

// scope is the variables of one function call, or of the file's top level,
// on one path through the code. A branch works on a child scope that reads
// through to its parent and keeps its own writes, so that taking a branch
// costs nothing until it writes; merge joins the children's writes back.
type scope struct {
	vars   map[string]Value // written on this path
	parent *scope           // read through; not written while children live
	havoc  *taint           // extract($_POST) and the like: undefined variables carry it
	*frame
}

// frame is what every path of one call shares.
type frame struct {
	class   *classInfo
	fn      string          // function or method name, for messages
	ret     *Value          // what the function may return
	globals map[string]bool // names bound to the top level by `global`
	params  map[string]bool // names of the parameters
}

func newScope(fn string) *scope {
	return &scope{vars: make(map[string]Value), frame: &frame{fn: fn, globals: map[string]bool{}, params: map[string]bool{}}}
}

// get finds a variable on this path.
func (s *scope) get(name string) (Value, bool) {
	for c := s; c != nil; c = c.parent {
		if v, ok := c.vars[name]; ok {
			return v, true
		}
	}
	return Value{}, false
}

func (s *scope) set(name string, v Value) { s.vars[name] = v }

// clone starts a path that branches off s. An array s holds is copied by
// the child at its first write (its owner is not the child).
func (s *scope) clone() *scope {
	return &scope{vars: make(map[string]Value), parent: s, havoc: s.havoc, frame: s.frame}
}

// merge joins into s the paths others, children of s that met again
// after a branch: a variable written on some path is the join of what
// every path has.
func (s *scope) merge(others ...*scope) {
	if len(others) == 0 {
		return
	}
	written := map[string]bool{}
	for _, o := range others {
		for c := o; c != nil && c != s; c = c.parent {
			for k := range c.vars {
				written[k] = true
			}
		}
	}
	havoc := others[0].havoc
	for _, o := range others[1:] {
		havoc = firstTaint(havoc, o.havoc)
	}
	for k := range written {
		var out Value
		for i, o := range others {
			v, ok := o.get(k)
			if !ok {
				v = Value{k: kNull}
			}
			if i == 0 {
				out = v
			} else {
				out = join(out, v)
			}
		}
		s.vars[k] = out
	}
	s.havoc = havoc
}

func (s *scope) addReturn(v Value) {
	v = share(v)
	if s.ret == nil {
		s.ret = &v
		return
	}
	j := join(*s.ret, v)
	s.ret = &j
}

// classInfo is a class (or trait or interface) declared in the file.
type classInfo struct {
	name    string
	parent  string
	methods map[string]*ast.StmtClassMethod
	consts  map[string]ast.Vertex
	props   map[string]ast.Vertex // default values
	decl    ast.Vertex
	// assigned names the properties some method of the class writes:
	// their declared default is only one of the values they may have.
	assigned map[string]bool
}

// analyzer is the state of one file's analysis.
type analyzer struct {
	opts     Options
	res      *Result
	seen     map[string]bool // findings reported, by rule and line and sink
	steps    int
	deadline time.Time
	over     bool

	funcs   map[string]*ast.StmtFunction
	classes map[string]*classInfo
	consts  map[string]Value
	props   map[string]Value // "class::prop" → every value assigned
	// propTaint is set once request input is stored in a property.
	propTaint bool
	// propOwner marks an array held by a property (array.owner), so that
	// $this->a[] = … writes it in place.
	propOwner *scope
	global    *scope
	fields    map[string]Value // request array fields the file sets: "_SERVER\x00SCRIPT_NAME"

	callDepth int
	exprDepth int
	nest      int // depth of decoded payloads being analysed
	lineBase  int // the outer line of a decoded payload, 0 at the top
	memo      map[string]Value
	ids       map[ast.Vertex]int  // declarations numbered for memo keys
	active    map[ast.Vertex]bool // user functions being interpreted (recursion)
	entered   map[ast.Vertex]bool // bodies interpreted at least once
	branches  int                 // paths split on an unknown condition so far
	rounds    int                 // loop turns run for real so far
	loops     int                 // loops the statement being run is in
	// abstractDepth counts the loops being followed abstractly around
	// the statement being run.
	abstractDepth int
	invokes       map[ast.Vertex]int  // interpretations of each function body
	src           []byte              // the source being analysed (a payload's, inside nested)
	hits          []tokenHit          // the prefilter's tokens in src, by position
	assignedNames map[string]bool     // assignedInFile's answers
	unsetReads    map[string]bool     // variables read at the top level before any write
	relevance     map[ast.Vertex]int  // per body: 1 holds relevantTokens, 0 not, and its size
	globalsRead   map[ast.Vertex]bool // readsGlobals's answers
	// blank holds the bodies blanked for the first parse, by end
	// position, and whether each is isolated (blanked.ends); nil when
	// the file was parsed whole.
	blank map[int]bool
}

// tick counts one step and stops the analysis past the budget.
func (a *analyzer) tick() {
	a.steps++
	if a.steps > a.opts.MaxSteps {
		a.over = true
		panic(errBudget)
	}
	if a.steps&0xfff == 0 && !a.deadline.IsZero() && time.Now().After(a.deadline) {
		a.over = true
		panic(errBudget)
	}
}

// line is the line to report for node n.
func (a *analyzer) line(n ast.Vertex) int {
	if a.lineBase != 0 {
		return a.lineBase
	}
	if n == nil {
		return 0
	}
	if p := n.GetPosition(); p != nil {
		return p.StartLine
	}
	return 0
}

// collect records the functions, classes and constants the file declares,
// wherever they are (PHP hoists them; shells declare them inside ifs).
func (a *analyzer) collect(stmts []ast.Vertex) (decls []ast.Vertex) {
	var walk func(n ast.Vertex, depth int)
	walk = func(n ast.Vertex, depth int) {
		if n == nil || depth > maxNest {
			return
		}
		switch n := n.(type) {
		case *ast.StmtFunction:
			if name := identName(n.Name); name != "" {
				if _, dup := a.funcs[strings.ToLower(name)]; !dup {
					a.funcs[strings.ToLower(name)] = n
					a.noteRelevance(n)
					decls = append(decls, n)
				}
			}
			for _, s := range n.Stmts {
				walk(s, depth+1)
			}
		case *ast.StmtClass:
			if c := a.addClass(identName(n.Name), nameOf(n.Extends), n.Stmts, n); c != nil {
				decls = append(decls, n)
			}
		case *ast.StmtTrait:
			if c := a.addClass(identName(n.Name), "", n.Stmts, n); c != nil {
				decls = append(decls, n)
			}
		default:
			for _, s := range nestedStatements(n) {
				walk(s, depth+1)
			}
		}
	}
	for _, s := range stmts {
		walk(s, 0)
	}
	return decls
}

// addClass records a class; nil when one of that name is known already.
func (a *analyzer) addClass(name, parent string, stmts []ast.Vertex, decl ast.Vertex) *classInfo {
	if name == "" {
		name = "class@anonymous"
	}
	key := strings.ToLower(name)
	if _, dup := a.classes[key]; dup {
		return nil
	}
	c := &classInfo{name: name, parent: strings.ToLower(parent), methods: map[string]*ast.StmtClassMethod{},
		consts: map[string]ast.Vertex{}, props: map[string]ast.Vertex{}, decl: decl, assigned: map[string]bool{}}
	if p := decl.GetPosition(); p != nil && p.StartPos >= 0 && p.EndPos <= len(a.src) && p.StartPos <= p.EndPos {
		eachPropWrite(a.src[p.StartPos:p.EndPos], func(name []byte) { c.assigned[string(name)] = true })
	}
	for _, s := range stmts {
		switch s := s.(type) {
		case *ast.StmtClassMethod:
			c.methods[strings.ToLower(identName(s.Name))] = s
			a.noteRelevance(s)
		case *ast.StmtClassConstList:
			for _, k := range s.Consts {
				if k, ok := k.(*ast.StmtConstant); ok {
					c.consts[identName(k.Name)] = k.Expr
				}
			}
		case *ast.StmtPropertyList:
			for _, p := range s.Props {
				if p, ok := p.(*ast.StmtProperty); ok {
					c.props[strings.TrimPrefix(varName(p.Var), "$")] = p.Expr
				}
			}
		case *ast.StmtTraitUse:
			// Methods of a trait used here are found through the
			// parent chain: record the first trait as a parent
			// when the class has none.
			if c.parent == "" && len(s.Traits) > 0 {
				c.parent = strings.ToLower(nameOf(s.Traits[0]))
			}
		}
	}
	a.classes[key] = c
	return c
}

// noteRelevance records whether a body holds relevantTokens, and its
// size, while a.src is the source it came from.
func (a *analyzer) noteRelevance(n ast.Vertex) {
	p := n.GetPosition()
	if p == nil || p.StartPos < 0 || p.EndPos > len(a.src) || p.StartPos > p.EndPos {
		a.relevance[n] = 1<<30 | 1
		return
	}
	r := 0
	if relevantMask(maskIn(a.hits, p.StartPos, p.EndPos)) {
		r = 1
	}
	a.relevance[n] = (p.EndPos-p.StartPos)<<1 | r
}

// isRelevant reports whether a body (a function, method or closure) holds
// relevantTokens; bodies never noted count as relevant.
func (a *analyzer) isRelevant(n ast.Vertex) bool {
	r, ok := a.relevance[n]
	return !ok || r&1 == 1
}

// bodySize is a body's length in bytes (large when not known).
func (a *analyzer) bodySize(n ast.Vertex) int {
	if r, ok := a.relevance[n]; ok {
		return r >> 1
	}
	return 1 << 30
}

// eachPropWrite calls fn with the name of each write to $this->name in src
// (=, .=, +=, ??=, [..] =, []=): what the regular expression
//
//	\$this\s*->\s*(\w+)\s*(?:\[[^\]\n]{0,80}\]\s*)*(?:[.+\-*/|&^]|\?\?)?=[^=>]
//
// finds, by hand, because Go's regexp engine took a tenth of the
// analyzer's time running it over every class of a framework.
func eachPropWrite(src []byte, fn func(name []byte)) {
	for i := 0; ; {
		k := bytes.Index(src[i:], []byte("$this"))
		if k < 0 {
			return
		}
		j := skipRESpace(src, i+k+5)
		i += k + 5
		if j+1 >= len(src) || src[j] != '-' || src[j+1] != '>' {
			continue
		}
		j = skipRESpace(src, j+2)
		start := j
		for j < len(src) && isWordByte(src[j]) {
			j++
		}
		if j == start {
			continue
		}
		name := src[start:j]
		j = skipRESpace(src, j)
		for j < len(src) && src[j] == '[' {
			end := bytes.IndexAny(src[j+1:min(len(src), j+82)], "]\n")
			if end < 0 || src[j+1+end] != ']' {
				j = -1
				break
			}
			j = skipRESpace(src, j+1+end+1)
		}
		if j < 0 {
			continue
		}
		if j+1 < len(src) && src[j] == '?' && src[j+1] == '?' {
			j += 2
		} else if j < len(src) && strings.IndexByte(".+-*/|&^", src[j]) >= 0 {
			j++
		}
		if j+1 < len(src) && src[j] == '=' && src[j+1] != '=' && src[j+1] != '>' {
			fn(name)
		}
	}
}

// skipRESpace skips what \s matches in Go's regexp: \t \n \f \r and space.
func skipRESpace(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\f' || s[i] == '\r') {
		i++
	}
	return i
}

// isWordByte is what \w matches: [0-9A-Za-z_].
func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// method finds a method by name in class c or its parents.
func (a *analyzer) method(c *classInfo, name string) (*ast.StmtClassMethod, *classInfo) {
	name = strings.ToLower(name)
	for i := 0; c != nil && i < 16; i++ {
		if m, ok := c.methods[name]; ok {
			return m, c
		}
		c = a.classes[c.parent]
	}
	return nil, nil
}

// methodAnywhere finds a method by name when the object's class is not
// known: only when exactly one class of the file has it.
func (a *analyzer) methodAnywhere(name string) (*ast.StmtClassMethod, *classInfo) {
	var found *ast.StmtClassMethod
	var in *classInfo
	for _, c := range a.classes {
		if m, ok := c.methods[strings.ToLower(name)]; ok {
			if found != nil {
				return nil, nil
			}
			found, in = m, c
		}
	}
	return found, in
}

const (
	maxNest      = 1500 // statements and expressions nested deeper are not followed
	maxCallDepth = 8
	maxInvokes   = 12 // interpretations of one body with distinct literals
	// maxConcreteRounds is how many loop turns a file may run for real
	// (to decode a payload with the file's own loop); past it, loops are
	// followed abstractly.
	maxConcreteRounds = 5000
	abstractTurns     = 2
)

// execList runs statements in order. Code scrambled with goto (labels
// in the list) is run twice, and a label after an exit is where running
// goes on: any label may be jumped to.
func (a *analyzer) execList(stmts []ast.Vertex, sc *scope) flow {
	turns := 1
	for _, s := range stmts {
		if _, ok := s.(*ast.StmtGoto); ok {
			turns = 2
			break
		}
	}
	var f flow
	for turn := 0; turn < turns; turn++ {
		f = a.execFrom(stmts, sc)
	}
	return f
}

func (a *analyzer) execFrom(stmts []ast.Vertex, sc *scope) flow {
	for i := 0; i < len(stmts); i++ {
		f := a.exec(stmts[i], sc)
		if f == flowNormal {
			continue
		}
		next := -1
		for j := i + 1; j < len(stmts); j++ {
			if _, ok := stmts[j].(*ast.StmtLabel); ok {
				next = j
				break
			}
		}
		if next < 0 {
			return f
		}
		i = next
	}
	return flowNormal
}

// exec runs one statement.
func (a *analyzer) exec(n ast.Vertex, sc *scope) flow {
	if n == nil {
		return flowNormal
	}
	a.tick()
	a.exprDepth++
	defer func() { a.exprDepth-- }()
	if a.exprDepth > maxNest {
		return flowNormal
	}
	switch n := n.(type) {
	case *ast.StmtExpression:
		a.eval(n.Expr, sc)
		if isExit(n.Expr) {
			return flowReturn
		}
	case *ast.StmtEcho:
		for _, e := range n.Exprs {
			a.echo(a.eval(e, sc), a.line(n))
		}
	case *ast.StmtInlineHtml:
	case *ast.StmtStmtList:
		return a.execList(n.Stmts, sc)
	case *ast.StmtIf:
		return a.execIf(n, sc)
	case *ast.StmtWhile:
		return a.loop(sc, nil, n.Cond, nil, n.Stmt, false)
	case *ast.StmtDo:
		return a.loop(sc, nil, n.Cond, nil, n.Stmt, true)
	case *ast.StmtFor:
		for _, e := range n.Init {
			a.eval(e, sc)
		}
		var cond ast.Vertex
		if len(n.Cond) > 0 {
			for _, e := range n.Cond[:len(n.Cond)-1] {
				a.eval(e, sc)
			}
			cond = n.Cond[len(n.Cond)-1]
		}
		return a.loop(sc, nil, cond, n.Loop, n.Stmt, false)
	case *ast.StmtForeach:
		return a.foreach(n, sc)
	case *ast.StmtSwitch:
		return a.execSwitch(n, sc)
	case *ast.StmtBreak:
		return flowBreak
	case *ast.StmtContinue:
		return flowContinue
	case *ast.StmtReturn:
		v := Value{k: kNull}
		if n.Expr != nil {
			v = a.eval(n.Expr, sc)
		}
		sc.addReturn(v)
		return flowReturn
	case *ast.StmtThrow:
		a.eval(n.Expr, sc)
		return flowReturn
	case *ast.StmtTry:
		start := sc.clone()
		f := a.execList(n.Stmts, sc)
		outs := []*scope{sc.clone()}
		for _, c := range n.Catches {
			if c, ok := c.(*ast.StmtCatch); ok {
				cs := start.clone()
				if c.Var != nil {
					a.assign(c.Var, Value{k: kObject}, cs, a.line(c))
				}
				if a.execList(c.Stmts, cs) == flowNormal {
					outs = append(outs, cs)
				}
			}
		}
		sc.merge(outs...)
		if fin, ok := n.Finally.(*ast.StmtFinally); ok {
			a.execList(fin.Stmts, sc)
		}
		if len(outs) == 1 {
			return f
		}
	case *ast.StmtGlobal:
		for _, v := range n.Vars {
			name := varName(v)
			if name == "" || sc == a.global {
				continue
			}
			sc.globals[name] = true
			sc.set(name, a.readGlobal(name))
		}
	case *ast.StmtStatic:
		for _, v := range n.Vars {
			if v, ok := v.(*ast.StmtStaticVar); ok {
				val := Value{k: kNull}
				if v.Expr != nil {
					val = a.eval(v.Expr, sc)
				}
				if name := varName(v.Var); name != "" {
					if _, set := sc.get(name); !set {
						sc.set(name, val)
					}
				}
			}
		}
	case *ast.StmtUnset:
		for _, v := range n.Vars {
			if name := varName(v); name != "" {
				sc.set(name, null())
			}
		}
	case *ast.StmtConstList:
		for _, c := range n.Consts {
			if c, ok := c.(*ast.StmtConstant); ok {
				a.consts[identName(c.Name)] = a.eval(c.Expr, sc)
			}
		}
	case *ast.StmtNamespace:
		return a.execList(n.Stmts, sc)
	case *ast.StmtDeclare:
		return a.exec(n.Stmt, sc)
	case *ast.StmtFunction, *ast.StmtClass, *ast.StmtInterface, *ast.StmtTrait, *ast.StmtEnum:
		// Declarations are collected beforehand; bodies are entered
		// when called, and on their own by analyzeEntries.
	case *ast.StmtHaltCompiler:
		return flowReturn
	case *ast.StmtLabel, *ast.StmtGoto, *ast.StmtNop, *ast.StmtUseList, *ast.StmtGroupUseList:
	}
	return flowNormal
}

func isExit(e ast.Vertex) bool {
	switch e := e.(type) {
	case *ast.ExprExit:
		return true
	case *ast.ExprErrorSuppress:
		return isExit(e.Expr)
	}
	return false
}

// execIf runs the branch the condition picks, or every branch and joins
// them when the condition is not known.
func (a *analyzer) execIf(n *ast.StmtIf, sc *scope) flow {
	type branch struct {
		cond ast.Vertex
		body ast.Vertex
	}
	branches := []branch{{n.Cond, n.Stmt}}
	for _, e := range n.ElseIf {
		if e, ok := e.(*ast.StmtElseIf); ok {
			branches = append(branches, branch{e.Cond, e.Stmt})
		}
	}
	var elseBody ast.Vertex
	if e, ok := n.Else.(*ast.StmtElse); ok {
		elseBody = e.Stmt
	}
	var outs []*scope
	exits := flowNormal // the strongest way a path left: continue < return
	exit := func(f flow) bool {
		switch f {
		case flowReturn:
			exits = flowReturn
		case flowBreak, flowContinue:
			if exits == flowNormal {
				exits = flowContinue
			}
		default:
			return false
		}
		return true
	}
	// cur is the path on which every condition so far was false.
	cur := sc
	for _, b := range branches {
		c := a.eval(b.cond, cur)
		t, ok := c.truthy()
		if ok && t {
			if cur == sc {
				// Every condition before was known false: this
				// branch is the only path, on sc itself.
				return a.exec(b.body, sc)
			}
			bs := cur.clone()
			if f := a.exec(b.body, bs); !exit(f) {
				outs = append(outs, bs)
			}
			cur = nil
			break
		}
		if ok && !t {
			continue
		}
		a.branches++
		bs := cur.clone()
		a.guard(b.cond, true, bs)
		if f := a.exec(b.body, bs); !exit(f) {
			outs = append(outs, bs)
		}
		next := cur.clone()
		a.guard(b.cond, false, next)
		cur = next
	}
	if cur != nil {
		if cur == sc {
			return a.exec(elseBody, sc)
		}
		if f := a.exec(elseBody, cur); !exit(f) {
			outs = append(outs, cur)
		}
	}
	if len(outs) == 0 {
		return exits
	}
	sc.merge(outs...)
	return flowNormal
}

// loop runs a while, do-while or for loop: for real while the condition is
// known (a decoder's loop over a literal), else as a few abstract turns
// whose variables are joined.
func (a *analyzer) loop(sc *scope, _ ast.Vertex, cond ast.Vertex, post []ast.Vertex, body ast.Vertex, doFirst bool) flow {
	a.loops++
	defer func() { a.loops-- }()
	// A loop that never ends by its condition and has no break (a
	// flooder, a daemon's main loop) is no decoder: followed abstractly
	// from the start.
	if alwaysTrue(cond) && !hasBreak(body) {
		return a.abstractLoop(sc, cond, post, body)
	}
	branchesBefore := a.branches
	for round := 0; a.rounds < maxConcreteRounds; round++ {
		a.rounds++
		if !(doFirst && round == 0) && cond != nil {
			t, ok := a.eval(cond, sc).truthy()
			if !ok {
				return a.abstractLoop(sc, cond, post, body)
			}
			if !t {
				return flowNormal
			}
		}
		// A turn that had to split on an unknown condition is not a
		// decoder's loop over a literal: the rest is followed
		// abstractly rather than once per iteration.
		if round > 0 && a.branches != branchesBefore {
			return a.abstractLoop(sc, cond, post, body)
		}
		branchesBefore = a.branches
		switch a.exec(body, sc) {
		case flowBreak:
			return flowNormal
		case flowReturn:
			return flowReturn
		}
		for _, e := range post {
			a.eval(e, sc)
		}
		if cond == nil && round > 0 {
			// for(;;) with no known exit: treat the rest abstractly.
			return a.abstractLoop(sc, cond, post, body)
		}
	}
	return a.abstractLoop(sc, cond, post, body)
}

// alwaysTrue reports a loop condition written to hold forever: none,
// true, or a non-zero number.
func alwaysTrue(cond ast.Vertex) bool {
	switch c := cond.(type) {
	case nil:
		return true
	case *ast.ExprConstFetch:
		return strings.EqualFold(nameOf(c.Const), "true")
	case *ast.ScalarLnumber:
		return string(c.Value) != "0"
	case *ast.ExprBrackets:
		return alwaysTrue(c.Expr)
	}
	return false
}

// hasBreak reports whether a loop body holds a break, return or exit
// that may end the loop (nested loops' own breaks count too: cheap and
// on the safe side).
func hasBreak(n ast.Vertex) bool {
	found := false
	var walk func(n ast.Vertex, depth int)
	walk = func(n ast.Vertex, depth int) {
		if n == nil || found || depth > maxNest {
			return
		}
		switch n := n.(type) {
		case *ast.StmtBreak, *ast.StmtReturn, *ast.ExprExit, *ast.StmtGoto, *ast.StmtThrow:
			found = true
		case *ast.StmtExpression:
			walk(n.Expr, depth+1)
		case *ast.ExprErrorSuppress:
			walk(n.Expr, depth+1)
		default:
			for _, s := range nestedStatements(n) {
				walk(s, depth+1)
			}
		}
	}
	walk(n, 0)
	return found
}

// nestedStatements lists the statements a control statement holds (the
// bodies of if, else, loops, switch cases, try, namespace and block), for
// walks over a body that need no interpretation.
func nestedStatements(n ast.Vertex) []ast.Vertex {
	switch n := n.(type) {
	case *ast.StmtStmtList:
		return n.Stmts
	case *ast.StmtNamespace:
		return n.Stmts
	case *ast.StmtIf:
		out := append([]ast.Vertex{n.Stmt}, n.ElseIf...)
		return append(out, n.Else)
	case *ast.StmtElseIf:
		return []ast.Vertex{n.Stmt}
	case *ast.StmtElse:
		return []ast.Vertex{n.Stmt}
	case *ast.StmtSwitch:
		return n.Cases
	case *ast.StmtCase:
		return n.Stmts
	case *ast.StmtDefault:
		return n.Stmts
	case *ast.StmtWhile:
		return []ast.Vertex{n.Stmt}
	case *ast.StmtDo:
		return []ast.Vertex{n.Stmt}
	case *ast.StmtFor:
		return []ast.Vertex{n.Stmt}
	case *ast.StmtForeach:
		return []ast.Vertex{n.Stmt}
	case *ast.StmtTry:
		return n.Stmts
	}
	return nil
}

func (a *analyzer) abstractLoop(sc *scope, cond ast.Vertex, post []ast.Vertex, body ast.Vertex) flow {
	// The outermost abstract loop takes two turns, so that what a turn
	// stores reaches what the next one reads; loops inside it take one
	// (the outer turns repeat them), so nesting does not multiply.
	turns := abstractTurns
	if a.abstractDepth > 0 {
		turns = 1
	}
	a.abstractDepth++
	defer func() { a.abstractDepth-- }()
	for turn := 0; turn < turns; turn++ {
		bs := sc.clone()
		a.exec(body, bs)
		for _, e := range post {
			a.eval(e, bs)
		}
		if cond != nil {
			a.eval(cond, bs)
		}
		sc.merge(sc.clone(), bs)
	}
	return flowNormal
}

func (a *analyzer) foreach(n *ast.StmtForeach, sc *scope) flow {
	a.loops++
	defer func() { a.loops-- }()
	over := a.eval(n.Expr, sc)
	line := a.line(n)
	if over.k == kArray && over.arr.rest == nil && !over.arr.partial && over.taint == nil && a.rounds+len(over.arr.keys) <= maxConcreteRounds {
		branchesBefore := a.branches
		done := true
		for i, k := range over.arr.keys {
			if i > 0 && a.branches != branchesBefore {
				done = false // not a decoder's loop: the rest abstractly
				break
			}
			a.rounds++
			if n.Key != nil {
				a.assign(n.Key, keyValue(k), sc, line)
			}
			a.assign(n.Var, over.arr.vals[k], sc, line)
			switch a.exec(n.Stmt, sc) {
			case flowBreak:
				return flowNormal
			case flowReturn:
				return flowReturn
			}
		}
		if done {
			return flowNormal
		}
	}
	// Abstract: any key, any element.
	elem := mix(over)
	var key Value
	if t := over.deepTaint(); t != nil {
		key = tainted(t.step(line, "a key of %s", describe(n.Expr))).with(fParam)
	}
	if over.k == kArray {
		var all Value
		vals := over.arr.values()
		for i, v := range vals {
			if i == 0 {
				all = v
			} else {
				all = join(all, v)
			}
		}
		if len(vals) > 0 {
			elem = all.withTaint(over.taint)
		}
		if over.arr.rest != nil && over.arr.rest.taint != nil {
			key = tainted(over.arr.rest.taint.step(line, "a key of %s", describe(n.Expr))).with(fParam)
		}
	}
	if elem.taint != nil {
		elem.taint = elem.taint.step(line, "an element of %s", describe(n.Expr))
	}
	turns := abstractTurns
	if a.abstractDepth > 0 {
		turns = 1
	}
	a.abstractDepth++
	defer func() { a.abstractDepth-- }()
	for turn := 0; turn < turns; turn++ {
		bs := sc.clone()
		if n.Key != nil {
			a.assign(n.Key, key, bs, line)
		}
		a.assign(n.Var, elem, bs, line)
		a.exec(n.Stmt, bs)
		sc.merge(sc.clone(), bs)
	}
	return flowNormal
}

func keyValue(k string) Value {
	if n, ok := numberLiteral([]byte(k)); ok && k != "" && (k == "0" || k[0] != '0') && !strings.ContainsAny(k, "xXbBoO_") {
		return integer(n)
	}
	return str(k)
}

func (a *analyzer) execSwitch(n *ast.StmtSwitch, sc *scope) flow {
	subject := a.eval(n.Cond, sc)
	type arm struct {
		cond  ast.Vertex
		stmts []ast.Vertex
		def   bool
	}
	var arms []arm
	for _, c := range n.Cases {
		switch c := c.(type) {
		case *ast.StmtCase:
			arms = append(arms, arm{cond: c.Cond, stmts: c.Stmts})
		case *ast.StmtDefault:
			arms = append(arms, arm{stmts: c.Stmts, def: true})
		}
	}
	runFrom := func(i int, s *scope) flow {
		for ; i < len(arms); i++ {
			switch f := a.execList(arms[i].stmts, s); f {
			case flowBreak:
				return flowNormal
			case flowReturn, flowContinue:
				return f
			}
		}
		return flowNormal
	}
	// A known subject and known cases pick one arm.
	if subject.known() {
		match, def := -1, -1
		allKnown := true
		for i, c := range arms {
			if c.def {
				def = i
				continue
			}
			cv := a.eval(c.cond, sc)
			if !cv.known() {
				allKnown = false
				break
			}
			if looseEqual(subject, cv) && match < 0 {
				match = i
			}
		}
		if allKnown {
			if match < 0 {
				match = def
			}
			if match < 0 {
				return flowNormal
			}
			return runFrom(match, sc)
		}
	}
	var outs []*scope
	hasDefault := false
	for i, c := range arms {
		if c.def {
			hasDefault = true
		} else {
			a.eval(c.cond, sc)
		}
		s := sc.clone()
		if f := runFrom(i, s); f != flowReturn {
			outs = append(outs, s)
		}
	}
	if !hasDefault {
		outs = append(outs, sc.clone())
	}
	if len(outs) == 0 {
		return flowReturn
	}
	sc.merge(outs...)
	return flowNormal
}

// echo is what a page prints: content relayed from a spam server.
func (a *analyzer) echo(v Value, line int) {
	if v.has(fRelay) {
		a.report(RuleRemoteRelay, line, "echo", nil, "")
	}
}
