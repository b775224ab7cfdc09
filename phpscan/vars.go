package phpscan

import (
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/VKCOM/php-parser/pkg/ast"
)

// superglobals maps PHP's request arrays (and their PHP 4 names) to whether
// every element is request input. $_SERVER is decided per key.
var superglobals = map[string]bool{
	"_GET": true, "_POST": true, "_REQUEST": true, "_COOKIE": true, "_FILES": true, "_SERVER": false,
	"HTTP_GET_VARS": true, "HTTP_POST_VARS": true, "HTTP_COOKIE_VARS": true, "HTTP_POST_FILES": true,
	"HTTP_SERVER_VARS": false, "HTTP_RAW_POST_DATA": true,
}

// serverKeyTainted says whether $_SERVER[key] is chosen by the client.
func serverKeyTainted(key string) bool {
	k := strings.ToUpper(key)
	switch k {
	case "QUERY_STRING", "REQUEST_URI", "PATH_INFO", "ORIG_PATH_INFO", "PATH_TRANSLATED", "PHP_SELF", "REDIRECT_QUERY_STRING", "REDIRECT_URL":
		return true
	}
	return strings.HasPrefix(k, "HTTP_")
}

// identityKey says whether $_SERVER[key] names the page or the visitor.
func identityKey(key string) bool {
	switch strings.ToUpper(key) {
	case "HTTP_HOST", "SERVER_NAME", "PHP_SELF", "REQUEST_URI", "SCRIPT_NAME", "HTTP_USER_AGENT", "HTTP_REFERER",
		"QUERY_STRING", "REMOTE_ADDR", "HTTP_ACCEPT_LANGUAGE", "SCRIPT_URI", "SCRIPT_URL":
		return true
	}
	return false
}

// Request fields named like payment card or secret fields: a skimmer or a
// phishing page copies exactly these.
var (
	cardField = regexp.MustCompile(`(?i)(^|[^a-z])(cc|card|cvv2?|cvc2?|ccv|cid|pan|credit)([^a-z]|num|no|number|$)|card_?(num|no|number|holder|code|exp)|cc_?(num|no|number|exp|cid|ccv|owner|type)|cvv|expir|exp_?(month|year|date|mm|yy)`)
	// Password fields as phishing kits in several languages name them.
	secretField = regexp.MustCompile(`(?i)pass(wd|word|wort|e)?([^a-z]|$)|passwd|pwd|^pin$|ssn|otp|secret|security_?answer|senha|contras(e|e\x{00f1})a|clave|kennwort|wachtwoord|^mdp$|mot_?de_?passe|parola|has(l|\x{0142})o|(s|\x{015f})ifre|\x{043f}\x{0430}\x{0440}\x{043e}\x{043b}\x{044c}|\x{5bc6}\x{7801}`)
)

// keyFlags is what the name of a request field says it holds: a card
// number, a secret, an uploaded file. The same few names come back in
// every form of an application; the answers for short names are kept.
func keyFlags(key string) flag {
	if len(key) > 64 {
		return keyFlagsOf(key)
	}
	if f, ok := keyFlagCache.Load(key); ok {
		return f.(flag)
	}
	f := keyFlagsOf(key)
	if keyFlagCount.Add(1) <= 1<<14 {
		keyFlagCache.Store(key, f)
	}
	return f
}

var (
	keyFlagCache sync.Map // string → flag
	keyFlagCount atomic.Int64
)

func keyFlagsOf(key string) flag {
	var f flag
	if cardField.MatchString(key) {
		f |= fCard
	}
	if secretField.MatchString(key) {
		f |= fSecret
	}
	if key == "tmp_name" {
		f |= fUpload
	}
	return f
}

// isSuperglobal reports whether name is one of PHP's request arrays and
// the file has not put its own value in it.
func (a *analyzer) isSuperglobal(name string) bool {
	if _, ok := superglobals[name]; !ok {
		return false
	}
	_, overridden := a.global.vars[name]
	return !overridden
}

// readVariable is the value of $name, ${expr} or $$name.
func (a *analyzer) readVariable(n *ast.ExprVariable, sc *scope) Value {
	name, ok := a.variableName(n, sc)
	if !ok {
		return Value{}
	}
	return a.readVar(name, sc, a.line(n))
}

// variableName resolves a variable's name, folding ${'_PO'.'ST'}.
func (a *analyzer) variableName(n *ast.ExprVariable, sc *scope) (string, bool) {
	if id, ok := n.Name.(*ast.Identifier); ok {
		return strings.TrimPrefix(string(id.Value), "$"), true
	}
	v := a.eval(n.Name, sc)
	if s, ok := v.toStr(); ok && v.k == kStr {
		if v.has(fBuilt | fDecoded) {
			a.fold(a.line(n), "variable name", s)
		}
		return s, true
	}
	return "", false
}

func (a *analyzer) readVar(name string, sc *scope, line int) Value {
	if name == "this" && sc.class != nil {
		return Value{k: kObject, cls: sc.class.name}
	}
	if a.isSuperglobal(name) {
		return a.superglobal(name, line)
	}
	if name == "GLOBALS" {
		return Value{k: kArray, arr: newArray()}
	}
	if v, ok := sc.get(name); ok {
		return v
	}
	if _, isSG := superglobals[name]; isSG || name == "_SESSION" {
		return a.global.vars[name]
	}
	if sc.havoc != nil {
		return tainted(sc.havoc.step(line, "$%s, set from the request by extract() or the like", name))
	}
	if sc.frame == a.global.frame && a.nest == 0 && !predefined[name] {
		// Read at the top level before any write: on PHP 4 with
		// register_globals the request sets it (old shells rely on it).
		// Whether the file writes it anywhere is asked only if such a
		// value reaches a sink (unsetReachesSink).
		if len(a.unsetReads) < 256 {
			a.unsetReads[name] = true
		}
		return Value{flags: fUnset}
	}
	return Value{}
}

// unsetReachesSink reports whether a value read from a variable unset at
// the top level may be one the file sets nowhere: an included template's
// variables are set by its includer, an old shell's by register_globals.
func (a *analyzer) unsetReachesSink(v Value) bool {
	if !v.has(fUnset) {
		return false
	}
	for name := range a.unsetReads {
		if !a.assignedInFile(name) {
			return true
		}
	}
	return false
}

// predefined are variables PHP itself sets (the CLI's arguments, the last
// error, the last HTTP response's headers).
var predefined = map[string]bool{"argv": true, "argc": true, "php_errormsg": true, "http_response_header": true, "this": true}

// assignedInFile reports whether the file writes $name anywhere (=, .=,
// [..] =, foreach … as $name, list(), global, static, a parameter, a
// reference). The names are read from the text once per file.
func (a *analyzer) assignedInFile(name string) bool {
	if a.assignedNames == nil {
		a.assignedNames = assignedNames(a.src)
	}
	return a.assignedNames[name]
}

var (
	// $x = …, $x[..] .= …
	assignRE = regexp.MustCompile(`\$([A-Za-z_\x80-\xff][\w\x80-\xff]*)\s*(?:\[[^\]\n]{0,80}\]\s*)*(?:[.+\-*/|&^%]|\?\?|<<|>>)?=[^=]`)
	// as $v, => $v, &$v
	boundRE = regexp.MustCompile(`(?i:\bas\s+|=>\s*|&\s*)\$([A-Za-z_\x80-\xff][\w\x80-\xff]*)`)
	// global $a, $b; static $a; list($a, $b); function f($a, $b)
	listRE = regexp.MustCompile(`(?i:\b(?:global|static|list|function)\b)[^;{]{0,300}`)
	nameRE = regexp.MustCompile(`\$([A-Za-z_\x80-\xff][\w\x80-\xff]*)`)
)

// assignedNames lists every variable name src writes, in one pass per
// pattern.
func assignedNames(src []byte) map[string]bool {
	out := map[string]bool{}
	for _, re := range []*regexp.Regexp{assignRE, boundRE} {
		for _, m := range re.FindAllSubmatch(src, -1) {
			out[string(m[1])] = true
		}
	}
	for _, m := range listRE.FindAll(src, -1) {
		for _, n := range nameRE.FindAllSubmatch(m, -1) {
			out[string(n[1])] = true
		}
	}
	return out
}

func (a *analyzer) readGlobal(name string) Value {
	if a.isSuperglobal(name) {
		return a.superglobal(name, 0)
	}
	return a.global.vars[name]
}

// superglobal is the whole request array, as when copied ($a = $_POST).
func (a *analyzer) superglobal(name string, line int) Value {
	if name == "HTTP_RAW_POST_DATA" {
		return tainted(newSource(line, "$HTTP_RAW_POST_DATA"))
	}
	return tainted(newSource(line, "$"+name))
}

// setVar stores v in $name of sc (and at the top level when the name is
// bound there).
func (a *analyzer) setVar(sc *scope, name string, v Value) {
	if v.k == kArray && v.arr != nil && (v.arr.owner != sc || v.arr.ownerName != name) {
		v.arr.owner = nil
	}
	if _, isSG := superglobals[name]; isSG || name == "_SESSION" || name == "GLOBALS" {
		a.global.vars[name] = v
		return
	}
	sc.set(name, v)
	if sc.globals[name] && sc != a.global {
		a.global.vars[name] = v
	}
}

// dimFetch is $base[$key].
func (a *analyzer) dimFetch(n *ast.ExprArrayDimFetch, sc *scope) Value {
	line := a.line(n)
	// $_POST['cmd'] and the like: a source, named by its key.
	if bv, ok := n.Var.(*ast.ExprVariable); ok {
		if name, ok := a.variableName(bv, sc); ok {
			if a.isSuperglobal(name) {
				return a.requestField(name, n.Dim, sc, line)
			}
			if name == "GLOBALS" {
				kv := a.eval(n.Dim, sc)
				if k, ok := kv.toStr(); ok {
					return a.readGlobal(k)
				}
				return Value{}
			}
		}
	}
	base := a.eval(n.Var, sc)
	var key Value
	if n.Dim != nil {
		key = a.eval(n.Dim, sc)
	}
	return a.element(base, key, n, line)
}

// requestField is $_POST[key] (or $_SERVER[key]).
func (a *analyzer) requestField(name string, dim ast.Vertex, sc *scope, line int) Value {
	key := Value{}
	if dim != nil {
		key = a.eval(dim, sc)
	}
	k, known := key.toStr()
	if known {
		if v, set := a.fields[name+"\x00"+k]; set {
			return v
		}
	}
	if name == "_SERVER" || name == "HTTP_SERVER_VARS" {
		if known && !serverKeyTainted(k) {
			if identityKey(k) {
				return Value{flags: fIdentity}
			}
			return Value{}
		}
	}
	what := "$" + name + "[…]"
	if known {
		what = "$" + name + "['" + shorten(k, 60) + "']"
	}
	v := tainted(newSource(line, what))
	if known {
		v.flags |= keyFlags(k)
		if (name == "_SERVER" || name == "HTTP_SERVER_VARS") && identityKey(k) {
			v.flags |= fIdentity
		}
	}
	if key.taint != nil {
		v.flags |= fParam
	}
	return v
}

// element is base[key]; key is the zero Value for base[].
func (a *analyzer) element(base, key Value, n ast.Vertex, line int) Value {
	k, known := arrayKey(key)
	switch base.k {
	case kArray:
		if known {
			if v, ok := base.arr.get(k); ok {
				return v.withTaint(base.taint)
			}
			if base.arr.partial {
				return mix(base)
			}
			if base.taint != nil {
				return tainted(base.taint.step(line, "%s", describe(n)))
			}
			return null()
		}
		// An element the request picks out of the file's own array is
		// one of those elements, not request data.
		out, ok := base.arr.any()
		if !ok {
			return mix(base)
		}
		return out.withTaint(base.taint)
	case kStr:
		if i, ok := key.toInt(); ok && (key.k == kInt || key.k == kStr && isNumeric(key.s)) {
			if i < 0 {
				i += int64(len(base.s))
			}
			if i >= 0 && i < int64(len(base.s)) {
				return str(base.s[i : i+1]).with(base.flags | fBuilt | fChars)
			}
			return null() // out of range: isset() is false, the value ""
		}
		return mix(base, key).with(fBuilt)
	}
	if base.taint != nil {
		v := tainted(base.taint.step(line, "%s", describe(n)))
		if known {
			v.flags |= keyFlags(k)
			if k == "name" && strings.HasPrefix(base.taint.source(), "$_FILES") {
				v.flags |= fFileName
			}
		}
		v.flags |= base.flags & (fCard | fSecret | fRemote)
		return v
	}
	if key.taint != nil {
		return Value{} // an unknown array indexed by the request: no data of its own
	}
	return mix(base)
}

// assign stores v where the expression lhs says.
func (a *analyzer) assign(lhs ast.Vertex, v Value, sc *scope, line int) {
	switch n := lhs.(type) {
	case *ast.ExprVariable:
		if name, ok := a.variableName(n, sc); ok {
			a.setVar(sc, name, v)
			return
		}
		// $$name = … with a name the interpreter cannot tell: the
		// request may write any variable (register_globals done by hand).
		if v.deepTaint() != nil {
			sc.havoc = v.deepTaint().step(line, "written to a variable the request names")
		}
	case *ast.ExprArrayDimFetch:
		// $GLOBALS['x'] = … (also written ${"GL\x4fBALS"}['x']) is the
		// top-level variable $x.
		bname := ""
		if bv, ok := n.Var.(*ast.ExprVariable); ok {
			bname, _ = a.variableName(bv, sc)
		}
		if bname == "GLOBALS" {
			if k, ok := a.eval(n.Dim, sc).toStr(); ok {
				a.setVar(a.global, k, v)
			}
			return
		}
		// $_SERVER['SCRIPT_NAME'] = …: one field of a request array
		// set by the file; the others stay what they are.
		if n.Dim != nil {
			if name := bname; name != "" && a.isSuperglobal(name) {
				if k, ok := a.eval(n.Dim, sc).toStr(); ok {
					a.fields[name+"\x00"+k] = v
					return
				}
			}
		}
		base := a.eval(n.Var, sc)
		var key *Value
		if n.Dim != nil {
			kv := a.eval(n.Dim, sc)
			key = &kv
		}
		// $a[k] = v writes $a's own array in place (and $this->a[k] =
		// v the property's); anything else is copied first.
		owner, ownerName := sc, varName(n.Var)
		isProp := false
		switch pv := n.Var.(type) {
		case *ast.ExprPropertyFetch:
			owner, ownerName, isProp = a.propOwner, a.propKey(pv.Var, pv.Prop, sc), true
		case *ast.ExprStaticPropertyFetch:
			owner, ownerName, isProp = a.propOwner, a.staticPropKey(pv.Class, pv.Prop, sc), true
		}
		if ownerName != "" && base.k == kArray && base.arr.owner == owner && base.arr.ownerName == ownerName {
			writeElement(base.arr, key, share(v))
			return
		}
		var nb Value
		if base.k == kArray && len(base.arr.keys) > maxCopiedArray {
			// A large array written on a path that does not own it (a
			// branch inside a loop followed abstractly): what any of its
			// elements may be, rather than a copy at every write.
			nb = widen(base, share(v))
		} else {
			nb = setElement(base, key, share(v))
		}
		if ownerName != "" && nb.k == kArray {
			nb.arr.owner, nb.arr.ownerName = owner, ownerName
		}
		if isProp {
			// The new array holds the old one's elements: it replaces
			// it rather than joining it.
			a.props[ownerName] = nb
			if nb.deepTaint() != nil {
				a.propTaint = true
			}
			return
		}
		a.assign(n.Var, nb, sc, line)
	case *ast.ExprPropertyFetch:
		a.storeProp(a.propKey(n.Var, n.Prop, sc), v)
	case *ast.ExprNullsafePropertyFetch:
		a.storeProp(a.propKey(n.Var, n.Prop, sc), v)
	case *ast.ExprStaticPropertyFetch:
		a.storeProp(a.staticPropKey(n.Class, n.Prop, sc), v)
	case *ast.ExprList:
		a.destructure(n.Items, v, sc, line)
	case *ast.ExprArray:
		a.destructure(n.Items, v, sc, line)
	case *ast.ExprBrackets:
		a.assign(n.Expr, v, sc, line)
	}
}

func (a *analyzer) destructure(items []ast.Vertex, v Value, sc *scope, line int) {
	for i, it := range items {
		item, ok := it.(*ast.ExprArrayItem)
		if !ok || item.Val == nil {
			continue
		}
		key := integer(int64(i))
		if item.Key != nil {
			key = a.eval(item.Key, sc)
		}
		a.assign(item.Val, a.element(v, key, item, line), sc, line)
	}
}

// setElement is base with base[key] = v (key nil: base[] = v).
func setElement(base Value, key *Value, v Value) Value {
	if base.k == kUnknown && len(base.cands) > 0 && key != nil {
		// $s[7] = 'x' on a string that is one of a few: each of them.
		out := Value{flags: base.flags | v.flags | fBuilt, taint: base.taint}
		for _, c := range base.cands {
			nv := setElement(str(c), key, v)
			if nv.k != kStr {
				return mix(base, v)
			}
			out.cands = append(out.cands, nv.s)
		}
		return out
	}
	if base.k == kStr && key != nil {
		if i, ok := key.toInt(); ok && i >= 0 && i < 1<<20 && v.k == kStr && v.s != "" {
			b := []byte(base.s)
			for int64(len(b)) <= i {
				b = append(b, ' ')
			}
			b[i] = v.s[0]
			return str(string(b)).with(base.flags | v.flags | fBuilt)
		}
	}
	var arr *array
	if base.k == kArray {
		arr = base.arr.clone()
		arr.base = base.arr
	} else {
		arr = newArray()
		if base.taint != nil {
			r := Value{taint: base.taint}
			arr.rest = &r
		}
	}
	writeElement(arr, key, v)
	return Value{k: kArray, arr: arr}
}

// maxCopiedArray is the largest array copied for a write on a path that
// does not own it; a larger one is widened.
const maxCopiedArray = 64

// widen is base with one more element v, kept as what any element may be.
func widen(base, v Value) Value {
	all, ok := base.arr.any()
	if ok {
		all = join(all, v)
	} else {
		all = v
	}
	return Value{k: kArray, arr: &array{vals: map[string]Value{}, rest: &all, partial: true}, taint: base.taint}
}

// writeElement stores v at key in arr (key nil: appends).
func writeElement(arr *array, key *Value, v Value) {
	if key == nil {
		arr.push(v)
		return
	}
	if k, ok := arrayKey(*key); ok {
		arr.set(k, v)
		return
	}
	r := v
	if arr.rest != nil {
		r = join(*arr.rest, v)
	}
	arr.rest = &r
	arr.joined = nil
}

// propKey names a property in the store: "class::name", or "*::name"
// when the object's class is not known.
func (a *analyzer) propKey(obj, prop ast.Vertex, sc *scope) string {
	name := identName(prop)
	if name == "" {
		if v := a.eval(prop, sc); v.k == kStr {
			name = v.s
		} else {
			name = "*"
		}
	}
	cls := "*"
	if varName(obj) == "this" && sc.class != nil {
		cls = strings.ToLower(sc.class.name)
	} else if ov := a.eval(obj, sc); ov.k == kObject && ov.cls != "" {
		cls = strings.ToLower(ov.cls)
	}
	return cls + "::" + name
}

func (a *analyzer) staticPropKey(class, prop ast.Vertex, sc *scope) string {
	cls := strings.ToLower(nameOf(class))
	if (cls == "self" || cls == "static") && sc.class != nil {
		cls = strings.ToLower(sc.class.name)
	}
	return cls + "::$" + strings.TrimPrefix(varName(prop), "$")
}

// storeProp joins v into what a property may hold: properties are followed
// without regard to order or object (the constructor may run before or
// after the method that reads).
func (a *analyzer) storeProp(key string, v Value) {
	v = share(v)
	if v.taint != nil {
		v.flags |= fStored
	}
	if v.deepTaint() != nil || v.has(fRemote) {
		a.propTaint = true // request or network data: every method may meet it
	}
	if old, ok := a.props[key]; ok {
		v = join(old, v)
	}
	if len(a.props) < 10000 {
		a.props[key] = v
	}
}

func (a *analyzer) readProperty(obj, prop ast.Vertex, sc *scope) Value {
	key := a.propKey(obj, prop, sc)
	v, ok := a.props[key]
	cls, name, _ := strings.Cut(key, "::")
	if any, ok2 := a.props["*::"+name]; ok2 && cls != "*" {
		if ok {
			v = join(v, any)
		} else {
			v, ok = any, true
		}
	}
	if ok {
		return v
	}
	if c := a.classes[cls]; c != nil {
		if c.assigned[name] {
			return Value{} // written somewhere: not only its default
		}
		for i := 0; c != nil && i < 16; i++ {
			if d, has := c.props[name]; has {
				// Never written: the default is the value, computed
				// once (an S-box table is read in every loop turn).
				v := null()
				if d != nil {
					v = a.eval(d, sc)
				}
				a.props[key] = share(v)
				return v
			}
			c = a.classes[c.parent]
		}
	}
	ov := a.eval(obj, sc)
	if ov.taint != nil {
		return tainted(ov.taint.step(a.line(prop), "->%s", name))
	}
	return Value{}
}
