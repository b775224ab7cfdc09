package phpscan

import (
	"strconv"
	"strings"

	"github.com/VKCOM/php-parser/pkg/ast"
)

// callable is a closure, an arrow function, a create_function() lambda, or
// the state of a built-in object that matters (a ReflectionFunction's
// function, an SplFileObject's path, a stream's path).
type callable struct {
	closure  *ast.ExprClosure
	arrow    *ast.ExprArrowFunction
	captured *scope
	class    *classInfo
	target   *Value // the object's subject: function name, file path, URL
}

// arg is one evaluated argument and the expression it came from (for
// by-reference parameters).
type arg struct {
	v    Value
	node ast.Vertex
}

func (a *analyzer) evalArgs(nodes []ast.Vertex, sc *scope) []arg {
	out := make([]arg, 0, len(nodes))
	for _, n := range nodes {
		an, ok := n.(*ast.Argument)
		if !ok {
			continue
		}
		v := a.eval(an.Expr, sc)
		if an.VariadicTkn != nil {
			if v.k == kArray && v.arr.rest == nil {
				for _, e := range v.arr.values() {
					out = append(out, arg{v: e})
				}
				continue
			}
			out = append(out, arg{v: mix(v)})
			continue
		}
		out = append(out, arg{v: v, node: an.Expr})
	}
	return out
}

func values(args []arg) []Value {
	out := make([]Value, len(args))
	for i, x := range args {
		out[i] = x.v
	}
	return out
}

func argAt(args []arg, i int) Value {
	if i < len(args) {
		return args[i].v
	}
	return Value{k: kNull}
}

func (a *analyzer) functionCall(n *ast.ExprFunctionCall, sc *scope) Value {
	line := a.line(n)
	switch fn := n.Function.(type) {
	case *ast.Name, *ast.NameFullyQualified, *ast.NameRelative:
		args := a.evalArgs(n.Args, sc)
		return a.callNamed(line, nameOf(fn), args, sc, nil)
	}
	callee := a.eval(n.Function, sc)
	args := a.evalArgs(n.Args, sc)
	return a.callValue(line, callee, args, sc, "a dynamic call")
}

// callValue calls whatever callee is: a function name (or several
// possible ones), a closure, [object, method], or something unknown.
func (a *analyzer) callValue(line int, callee Value, args []arg, sc *scope, how string) Value {
	if t := callee.deepTaint(); t != nil && callee.pre == "" {
		a.report(RuleRequestDynamicCall, line, how, t.step(line, "names the function of %s", how), "")
	}
	switch callee.k {
	case kClosure:
		return a.invokeCallable(line, callee.fn, args, sc)
	case kArray:
		return a.callArrayCallable(line, callee, args, sc, how)
	case kObject:
		if m, c := a.method(a.classes[strings.ToLower(callee.cls)], "__invoke"); m != nil {
			return a.invokeMethod(line, m, c, args, sc)
		}
		return mix(values(args)...)
	}
	names := callee.strings()
	if len(names) == 0 {
		if callee.has(fDecoded|fChars) && callee.taint == nil {
			a.report(RuleDynamicCallHidden, line, how, nil, "")
		}
		a.runClosureArgs(line, args, sc)
		return mix(values(args)...)
	}
	var out Value
	for i, name := range names {
		v := a.callNamed(line, name, args, sc, &callee)
		if i == 0 {
			out = v
		} else {
			out = join(out, v)
		}
	}
	return out
}

// callArrayCallable calls [$object, 'method'] or ['Class', 'method'].
func (a *analyzer) callArrayCallable(line int, callee Value, args []arg, sc *scope, how string) Value {
	obj, _ := callee.arr.get("0")
	meth, _ := callee.arr.get("1")
	if meth.taint != nil {
		a.report(RuleRequestDynamicCall, line, how, meth.taint.step(line, "names the method of %s", how), "")
	}
	name, ok := meth.toStr()
	if !ok {
		return mix(values(args)...)
	}
	var c *classInfo
	switch obj.k {
	case kObject:
		c = a.classes[strings.ToLower(obj.cls)]
	case kStr:
		c = a.classes[strings.ToLower(obj.s)]
		if strings.EqualFold(obj.s, "self") || strings.EqualFold(obj.s, "static") {
			c = sc.class
		}
	}
	if m, in := a.method(c, name); m != nil {
		return a.invokeMethod(line, m, in, args, sc)
	}
	if obj.k == kObject {
		return a.builtinMethod(line, obj, name, args, sc)
	}
	return mix(values(args)...)
}

// callNamed calls the function called name. dyn is the value the name came
// from when the call was dynamic ($f(), a callback), nil for a plain call.
func (a *analyzer) callNamed(line int, name string, args []arg, sc *scope, dyn *Value) Value {
	if strings.Contains(name, "::") {
		cls, meth, _ := strings.Cut(name, "::")
		if m, c := a.method(a.classes[strings.ToLower(strings.TrimPrefix(cls, `\`))], meth); m != nil {
			return a.invokeMethod(line, m, c, args, sc)
		}
		return mix(values(args)...)
	}
	lname := strings.ToLower(strings.TrimPrefix(name, `\`))
	if i := strings.LastIndexByte(lname, '\\'); i >= 0 {
		lname = lname[i+1:]
	}
	if dyn != nil && dyn.has(fBuilt|fChars|fDecoded) {
		a.fold(line, "function name", name)
		switch {
		case hiddenDangerous[lname]:
			a.report(RuleHiddenFunctionName, line, lname, nil, "called as "+strconv.Quote(shorten(name, 60))+" built at run time")
		case hiddenDecoders[lname]:
			a.report(RuleHiddenDecoderName, line, lname, nil, "called as "+strconv.Quote(shorten(name, 60))+" built at run time")
		}
	}
	if fn, ok := a.funcs[lname]; ok {
		return a.invokeFunction(line, fn, args, sc)
	}
	return a.builtin(line, lname, args, sc, dyn)
}

// invokeFunction interprets a user function with these arguments.
func (a *analyzer) invokeFunction(line int, fn *ast.StmtFunction, args []arg, caller *scope) Value {
	name := identName(fn.Name)
	return a.invoke(line, fn, name, fn.Params, fn.Stmts, args, caller, nil, nil)
}

func (a *analyzer) invokeMethod(line int, m *ast.StmtClassMethod, c *classInfo, args []arg, caller *scope) Value {
	var stmts []ast.Vertex
	switch body := m.Stmt.(type) {
	case *ast.StmtStmtList:
		stmts = body.Stmts
	case nil:
		return mix(values(args)...)
	default:
		stmts = []ast.Vertex{body}
	}
	return a.invoke(line, m, c.name+"::"+identName(m.Name), m.Params, stmts, args, caller, c, nil)
}

func (a *analyzer) invokeCallable(line int, fn *callable, args []arg, caller *scope) Value {
	switch {
	case fn == nil:
		return mix(values(args)...)
	case fn.closure != nil:
		captured := newScope("{closure}")
		for _, u := range fn.closure.Uses {
			if cu, ok := u.(*ast.ExprClosureUse); ok {
				if name := varName(cu.Var); name != "" && fn.captured != nil {
					if v, ok := fn.captured.get(name); ok {
						captured.set(name, v)
					}
				}
			}
		}
		return a.invoke(line, fn.closure, "{closure}", fn.closure.Params, fn.closure.Stmts, args, caller, fn.class, captured)
	case fn.arrow != nil:
		body := []ast.Vertex{&ast.StmtReturn{Position: fn.arrow.Position, Expr: fn.arrow.Expr}}
		return a.invoke(line, fn.arrow, "{fn}", fn.arrow.Params, body, args, caller, fn.class, fn.captured)
	case fn.target != nil:
		// A lambda of create_function(), Closure::fromCallable('…').
		return a.callValue(line, *fn.target, args, caller, "a callable")
	}
	return mix(values(args)...)
}

// invoke interprets a function body in a new scope with the parameters
// bound to args. A call too deep, recursive or over budget returns what
// is known without entering.
func (a *analyzer) invoke(line int, key ast.Vertex, name string, params, stmts []ast.Vertex, args []arg, caller *scope, class *classInfo, captured *scope) Value {
	if a.callDepth >= maxCallDepth || a.active[key] {
		a.unknownRefs(line, params, args, caller)
		return mix(values(args)...)
	}
	// A body with nothing to follow is entered only when an argument
	// brings something: request input, a decoded or built string, or a
	// literal a small function may decode.
	if !a.isRelevant(key) && !worthEntering(args, a.bodySize(key)) && !capturesData(captured) && !(class != nil && a.propsTainted()) && !(a.readsGlobals(key) && a.globalsTainted()) {
		a.runClosureArgs(line, args, caller)
		a.unknownRefs(line, params, args, caller)
		return mix(values(args)...)
	}
	// A function called many times with different literals (a print
	// helper) is interpreted once per kind of argument past the first
	// few calls: what its arguments carry, not their text.
	if a.invokes[key] >= maxInvokes {
		general := make([]arg, len(args))
		for i, x := range args {
			general[i] = arg{v: mix(x.v).with(x.v.flags &^ fHidden), node: x.node}
			if x.v.k == kClosure || x.v.k == kObject {
				general[i].v = x.v
			}
		}
		args = general
	}
	if a.blank != nil {
		if p := key.GetPosition(); p != nil {
			if _, blanked := a.blank[p.EndPos]; blanked {
				panic(errReparse)
			}
		}
	}
	memoKey, cacheable := a.memoKey(key, args, class)
	cacheable = cacheable && !hasRefParam(params) // what it wrote through them is not remembered
	if cacheable {
		if v, ok := a.memo[memoKey]; ok {
			return v
		}
	}
	a.invokes[key]++
	a.entered[key] = true
	a.active[key] = true
	a.callDepth++
	defer func() {
		a.callDepth--
		delete(a.active, key)
	}()
	sc := newScope(name)
	if captured != nil {
		for c := captured; c != nil; c = c.parent {
			for k, v := range c.vars {
				if _, done := sc.vars[k]; !done {
					sc.vars[k] = share(v)
				}
			}
		}
	}
	sc.class = class
	var byRef []int
	for i, p := range params {
		p, ok := p.(*ast.Parameter)
		if !ok {
			continue
		}
		pname := varName(p.Var)
		sc.params[pname] = true
		if p.AmpersandTkn != nil {
			byRef = append(byRef, i)
		}
		var v Value
		switch {
		case p.VariadicTkn != nil:
			arr := newArray()
			for j := i; j < len(args); j++ {
				arr.push(args[j].v)
			}
			v = Value{k: kArray, arr: arr}
		case i < len(args):
			v = args[i].v
			if v.taint != nil {
				v.taint = v.taint.step(line, "passed to $%s of %s()", pname, name)
			}
		case args == nil:
			// Entered on its own (analyzeEntries): its caller, and so
			// its arguments, are not known.
			v = Value{}
		case p.DefaultValue != nil:
			v = a.eval(p.DefaultValue, sc)
		default:
			v = null()
		}
		sc.vars[pname] = share(v)
	}
	a.execList(stmts, sc)
	ret := Value{k: kNull}
	if sc.ret != nil {
		ret = *sc.ret
	}
	if ret.taint != nil {
		ret.taint = ret.taint.step(line, "returned by %s()", name)
	}
	for _, i := range byRef {
		if i < len(args) && args[i].node != nil {
			if p, ok := params[i].(*ast.Parameter); ok {
				v, _ := sc.get(varName(p.Var))
				a.assign(args[i].node, v, caller, line)
			}
		}
	}
	if cacheable && len(a.memo) < 4096 {
		a.memo[memoKey] = ret
	}
	return ret
}

// unknownRefs makes the arguments passed by reference to a body that is
// not interpreted unknown: what it wrote there is not known (and a loop
// that waits for it to change must not take the old value for ever).
func (a *analyzer) unknownRefs(line int, params []ast.Vertex, args []arg, caller *scope) {
	for i, p := range params {
		if p, ok := p.(*ast.Parameter); ok && p.AmpersandTkn != nil && i < len(args) && args[i].node != nil {
			a.assign(args[i].node, mix(args[i].v), caller, line)
		}
	}
}

// hasRefParam reports whether any parameter is taken by reference.
func hasRefParam(params []ast.Vertex) bool {
	for _, p := range params {
		if p, ok := p.(*ast.Parameter); ok && p.AmpersandTkn != nil {
			return true
		}
	}
	return false
}

// readsGlobals reports whether a body names the global scope ("global
// $x;", $GLOBALS), from its source text.
func (a *analyzer) readsGlobals(n ast.Vertex) bool {
	r, ok := a.globalsRead[n]
	if !ok {
		p := n.GetPosition()
		r = p == nil || p.StartPos < 0 || p.EndPos > len(a.src) || p.StartPos > p.EndPos ||
			indexFold(a.src[p.StartPos:p.EndPos], "global") >= 0
		if a.globalsRead == nil {
			a.globalsRead = map[ast.Vertex]bool{}
		}
		a.globalsRead[n] = r
	}
	return r
}

// capturesData reports whether a closure's captured variables bring
// request input or a decoded string.
func capturesData(sc *scope) bool {
	for c := sc; c != nil; c = c.parent {
		for _, v := range c.vars {
			if v.deepTaint() != nil || v.has(fDecoded|fChars|fRemote) {
				return true
			}
		}
	}
	return false
}

// maxFoldBody is the largest body entered only to fold literals through it
// (a decoder function of the file).
const maxFoldBody = 4096

func worthEntering(args []arg, size int) bool {
	for _, x := range args {
		v := x.v
		if v.deepTaint() != nil || v.has(fDecoded|fChars|fRemote) || v.k == kClosure {
			return true
		}
		if v.k == kArray && v.arr.flags()&(fDecoded|fChars|fRemote) != 0 {
			return true
		}
		if size <= maxFoldBody && (v.k == kStr || v.k == kArray) {
			return true
		}
	}
	return false
}

// memoKey names a call by the function and what is known of its
// arguments, so that a decoder called a thousand times with the same
// literal is interpreted once. Calls with by-reference effects or with
// arrays and objects are not cached.
func (a *analyzer) memoKey(key ast.Vertex, args []arg, class *classInfo) (string, bool) {
	var b strings.Builder
	id, ok := a.ids[key]
	if !ok {
		id = len(a.ids) + 1
		a.ids[key] = id
	}
	b.WriteString(strconv.Itoa(id))
	if class != nil {
		b.WriteString(class.name)
	}
	for _, x := range args {
		v := x.v
		b.WriteByte('|')
		switch v.k {
		case kStr:
			if len(v.s) > 256 {
				return "", false
			}
			b.WriteString("s")
			b.WriteString(v.s)
		case kInt, kBool:
			b.WriteString("i")
			b.WriteString(strconv.FormatInt(v.i, 10))
		case kNull:
			b.WriteString("n")
		case kUnknown:
			b.WriteString("u")
		default:
			return "", false
		}
		if v.taint != nil {
			b.WriteString("t")
		}
		b.WriteString(strconv.Itoa(int(v.flags)))
	}
	return b.String(), true
}

// runClosureArgs interprets closures handed to a call the analyzer does
// not know: a callback is eventually called.
func (a *analyzer) runClosureArgs(line int, args []arg, sc *scope) {
	for _, x := range args {
		if x.v.k == kClosure && x.v.fn != nil && !a.entered[closureKey(x.v.fn)] {
			a.invokeCallable(line, x.v.fn, nil, sc)
		}
	}
}

func closureKey(fn *callable) ast.Vertex {
	switch {
	case fn.closure != nil:
		return fn.closure
	case fn.arrow != nil:
		return fn.arrow
	}
	return nil
}

// methodCall is $obj->method(…).
func (a *analyzer) methodCall(objNode, methNode ast.Vertex, argNodes []ast.Vertex, sc *scope, line int) Value {
	obj := a.eval(objNode, sc)
	name := identName(methNode)
	if name == "" {
		// $obj->$name(): the request choosing a method of an object is
		// how routers dispatch, not a shell's call.
		mv := a.eval(methNode, sc)
		if s, ok := mv.toStr(); ok {
			name = s
		}
	}
	args := a.evalArgs(argNodes, sc)
	if name == "" {
		a.runClosureArgs(line, args, sc)
		return mix(append(values(args), obj)...)
	}
	var c *classInfo
	if varName(objNode) == "this" {
		c = sc.class
	} else if obj.k == kObject {
		c = a.classes[strings.ToLower(obj.cls)]
	}
	if m, in := a.method(c, name); m != nil {
		return a.invokeMethod(line, m, in, args, sc)
	}
	if obj.k == kObject && c == nil {
		return a.builtinMethod(line, obj, name, args, sc)
	}
	if obj.k == kClosure && (strings.EqualFold(name, "__invoke") || strings.EqualFold(name, "call")) {
		if strings.EqualFold(name, "call") && len(args) > 0 {
			args = args[1:]
		}
		return a.invokeCallable(line, obj.fn, args, sc)
	}
	if c == nil && obj.k != kObject {
		// An object the analyzer cannot tell the class of: a method of
		// this file's classes when only one has that name and the
		// request reaches the call.
		anyTaint := false
		for _, x := range args {
			if x.v.deepTaint() != nil {
				anyTaint = true
			}
		}
		if anyTaint {
			if m, in := a.methodAnywhere(name); m != nil {
				return a.invokeMethod(line, m, in, args, sc)
			}
		}
	}
	a.runClosureArgs(line, args, sc)
	return mixFirst(values(args))
}

func (a *analyzer) staticCall(n *ast.ExprStaticCall, sc *scope) Value {
	line := a.line(n)
	cname := strings.ToLower(nameOf(n.Class))
	var c *classInfo
	switch cname {
	case "self", "static":
		c = sc.class
	case "parent":
		if sc.class != nil {
			c = a.classes[sc.class.parent]
		}
	case "":
		cv := a.eval(n.Class, sc)
		if s, ok := cv.toStr(); ok {
			cname = strings.ToLower(s)
		}
		c = a.classes[cname]
	default:
		c = a.classes[cname]
	}
	name := identName(n.Call)
	if name == "" {
		mv := a.eval(n.Call, sc)
		name, _ = mv.toStr()
	}
	args := a.evalArgs(n.Args, sc)
	if m, in := a.method(c, name); m != nil {
		return a.invokeMethod(line, m, in, args, sc)
	}
	if cname == "closure" && strings.EqualFold(name, "fromCallable") && len(args) > 0 {
		t := args[0].v
		return Value{k: kClosure, fn: &callable{target: &t}}
	}
	a.runClosureArgs(line, args, sc)
	return mix(values(args)...)
}

// newObject is new Class(…).
func (a *analyzer) newObject(n *ast.ExprNew, sc *scope) Value {
	line := a.line(n)
	var cname string
	switch cl := n.Class.(type) {
	case *ast.Name, *ast.NameFullyQualified, *ast.NameRelative:
		cname = nameOf(cl)
	case *ast.StmtClass:
		a.addClass("class@anonymous", nameOf(cl.Extends), cl.Stmts, cl)
		cname = "class@anonymous"
	default:
		// new $class: the request picking a class (a plugin's walker, a
		// handler) is how frameworks dispatch; a constructor alone runs
		// no request-chosen code.
		cv := a.eval(n.Class, sc)
		if s, ok := cv.toStr(); ok {
			cname = s
		}
	}
	args := a.evalArgs(n.Args, sc)
	if strings.EqualFold(cname, "static") || strings.EqualFold(cname, "self") {
		if sc.class != nil {
			cname = sc.class.name
		}
	}
	obj := Value{k: kObject, cls: cname}
	if c := a.classes[strings.ToLower(cname)]; c != nil {
		if m, in := a.method(c, "__construct"); m != nil {
			a.invokeMethod(line, m, in, args, sc)
		} else if m, in := a.method(c, c.name); m != nil { // PHP 4 constructor
			a.invokeMethod(line, m, in, args, sc)
		}
		return obj
	}
	return a.builtinNew(line, strings.ToLower(cname), obj, args, sc)
}

// objectToString runs __toString of a file's class when one of its
// objects is used as a string.
func (a *analyzer) objectToString(v Value) {
	if m, c := a.method(a.classes[strings.ToLower(v.cls)], "__tostring"); m != nil {
		a.invokeMethod(0, m, c, nil, a.global)
	}
}

// captured is the scope a closure keeps: the variables of its use()
// list, by value, as they are when the closure is made.
func (a *analyzer) captured(n *ast.ExprClosure, sc *scope) *scope {
	out := newScope("{closure}")
	for _, u := range n.Uses {
		if cu, ok := u.(*ast.ExprClosureUse); ok {
			if name := varName(cu.Var); name != "" {
				out.set(name, a.readVar(name, sc, a.line(cu)))
			}
		}
	}
	return out
}
