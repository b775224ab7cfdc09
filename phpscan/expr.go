package phpscan

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/VKCOM/php-parser/pkg/ast"
)

// eval computes what is known of an expression's value, running its side
// effects (assignments, calls) on sc.
func (a *analyzer) eval(n ast.Vertex, sc *scope) Value {
	if n == nil {
		return Value{k: kNull}
	}
	a.tick()
	a.exprDepth++
	defer func() { a.exprDepth-- }()
	if a.exprDepth > maxNest {
		return unknown().with(fHidden)
	}
	line := a.line(n)
	switch n := n.(type) {
	case *ast.ScalarString:
		return str(stringLiteral(n.Value))
	case *ast.ScalarLnumber:
		if i, ok := numberLiteral(n.Value); ok {
			return integer(i)
		}
		return unknown()
	case *ast.ScalarDnumber:
		if f, err := strconv.ParseFloat(strings.ReplaceAll(string(n.Value), "_", ""), 64); err == nil && f == float64(int64(f)) {
			return integer(int64(f))
		}
		return unknown()
	case *ast.ScalarEncapsed:
		return a.concatParts(n.Parts, sc, true)
	case *ast.ScalarHeredoc:
		nowdoc := n.OpenHeredocTkn != nil && strings.Contains(string(n.OpenHeredocTkn.Value), "'")
		if nowdoc {
			var b strings.Builder
			for _, p := range n.Parts {
				if p, ok := p.(*ast.ScalarEncapsedStringPart); ok {
					b.Write(p.Value)
				}
			}
			return str(b.String())
		}
		return a.concatParts(n.Parts, sc, false)
	case *ast.ScalarEncapsedStringPart:
		return str(unquoteDouble(string(n.Value), true))
	case *ast.ScalarEncapsedStringBrackets:
		return a.eval(n.Var, sc)
	case *ast.ScalarEncapsedStringVar:
		// "${name}" and "${name[dim]}".
		var name string
		if id, ok := n.Name.(*ast.Identifier); ok {
			name = strings.TrimPrefix(string(id.Value), "$")
		} else if v := a.eval(n.Name, sc); v.k == kStr {
			name = v.s
		} else {
			return Value{}
		}
		base := a.readVar(name, sc, line)
		if n.Dim == nil {
			return base
		}
		if a.isSuperglobal(name) {
			return a.requestField(name, n.Dim, sc, line)
		}
		return a.element(base, a.eval(n.Dim, sc), n, line)
	case *ast.ScalarMagicConstant:
		switch strings.ToUpper(string(n.Value)) {
		case "__LINE__":
			return integer(int64(line))
		case "__FUNCTION__", "__METHOD__":
			return str(sc.fn)
		case "__CLASS__":
			if sc.class != nil {
				return str(sc.class.name)
			}
		}
		return unknown()
	case *ast.ExprVariable:
		return a.readVariable(n, sc)
	case *ast.ExprArrayDimFetch:
		return a.dimFetch(n, sc)
	case *ast.ExprBrackets:
		return a.eval(n.Expr, sc)
	case *ast.ExprErrorSuppress:
		return a.eval(n.Expr, sc)
	case *ast.ExprAssign:
		v := a.eval(n.Expr, sc)
		if v.taint != nil {
			v.taint = v.taint.step(line, "assigned to %s", describe(n.Var))
		}
		a.assign(n.Var, v, sc, line)
		return v
	case *ast.ExprAssignReference:
		v := a.eval(n.Expr, sc)
		a.assign(n.Var, v, sc, line)
		return v
	case *ast.ExprAssignConcat:
		old := a.eval(n.Var, sc)
		v := a.concat(old, a.eval(n.Expr, sc), line)
		if v.taint != nil {
			v.taint = v.taint.step(line, "appended to %s", describe(n.Var))
		}
		a.assign(n.Var, v, sc, line)
		return v
	case *ast.ExprAssignCoalesce:
		old := a.eval(n.Var, sc)
		v := old
		if old.k == kNull || old.k == kUnknown {
			v = join(old, a.eval(n.Expr, sc))
		}
		a.assign(n.Var, v, sc, line)
		return v
	case *ast.ExprAssignPlus, *ast.ExprAssignMinus, *ast.ExprAssignMul, *ast.ExprAssignDiv, *ast.ExprAssignMod,
		*ast.ExprAssignPow, *ast.ExprAssignBitwiseAnd, *ast.ExprAssignBitwiseOr, *ast.ExprAssignBitwiseXor,
		*ast.ExprAssignShiftLeft, *ast.ExprAssignShiftRight:
		lhs, rhs, op := compoundParts(n)
		v := a.binary(op, a.eval(lhs, sc), a.eval(rhs, sc), line)
		a.assign(lhs, v, sc, line)
		return v
	case *ast.ExprPreInc:
		return a.incdec(n.Var, sc, 1, true, line)
	case *ast.ExprPostInc:
		return a.incdec(n.Var, sc, 1, false, line)
	case *ast.ExprPreDec:
		return a.incdec(n.Var, sc, -1, true, line)
	case *ast.ExprPostDec:
		return a.incdec(n.Var, sc, -1, false, line)
	case *ast.ExprBinaryConcat:
		return a.concat(a.eval(n.Left, sc), a.eval(n.Right, sc), line)
	case *ast.ExprBinaryPlus:
		return a.binary("+", a.eval(n.Left, sc), a.eval(n.Right, sc), line)
	case *ast.ExprBinaryMinus:
		return a.binary("-", a.eval(n.Left, sc), a.eval(n.Right, sc), line)
	case *ast.ExprBinaryMul:
		return a.binary("*", a.eval(n.Left, sc), a.eval(n.Right, sc), line)
	case *ast.ExprBinaryDiv:
		return a.binary("/", a.eval(n.Left, sc), a.eval(n.Right, sc), line)
	case *ast.ExprBinaryMod:
		return a.binary("%", a.eval(n.Left, sc), a.eval(n.Right, sc), line)
	case *ast.ExprBinaryPow:
		return a.binary("**", a.eval(n.Left, sc), a.eval(n.Right, sc), line)
	case *ast.ExprBinaryBitwiseAnd:
		return a.binary("&", a.eval(n.Left, sc), a.eval(n.Right, sc), line)
	case *ast.ExprBinaryBitwiseOr:
		return a.binary("|", a.eval(n.Left, sc), a.eval(n.Right, sc), line)
	case *ast.ExprBinaryBitwiseXor:
		return a.binary("^", a.eval(n.Left, sc), a.eval(n.Right, sc), line)
	case *ast.ExprBinaryShiftLeft:
		return a.binary("<<", a.eval(n.Left, sc), a.eval(n.Right, sc), line)
	case *ast.ExprBinaryShiftRight:
		return a.binary(">>", a.eval(n.Left, sc), a.eval(n.Right, sc), line)
	case *ast.ExprBitwiseNot:
		v := a.eval(n.Expr, sc)
		if v.k == kInt {
			return integer(^v.i)
		}
		if v.k == kStr {
			b := []byte(v.s)
			for i := range b {
				b[i] = ^b[i]
			}
			return str(string(b)).with(fDecoded | fBuilt)
		}
		return mix(v)
	case *ast.ExprUnaryMinus:
		v := a.eval(n.Expr, sc)
		if i, ok := v.toInt(); ok {
			return integer(-i)
		}
		return mix(v)
	case *ast.ExprUnaryPlus:
		v := a.eval(n.Expr, sc)
		if i, ok := v.toInt(); ok {
			return integer(i)
		}
		return mix(v)
	case *ast.ExprBooleanNot:
		v := a.eval(n.Expr, sc)
		if t, ok := v.truthy(); ok {
			return boolean(!t)
		}
		return Value{}
	case *ast.ExprBinaryBooleanAnd, *ast.ExprBinaryLogicalAnd:
		l, r := binaryOperands(n)
		lv := a.eval(l, sc)
		if t, ok := lv.truthy(); ok && !t {
			return boolean(false)
		}
		rv := a.eval(r, sc)
		lt, lok := lv.truthy()
		rt, rok := rv.truthy()
		if lok && rok {
			return boolean(lt && rt)
		}
		return Value{}
	case *ast.ExprBinaryBooleanOr, *ast.ExprBinaryLogicalOr:
		l, r := binaryOperands(n)
		lv := a.eval(l, sc)
		if t, ok := lv.truthy(); ok && t {
			return boolean(true)
		}
		rv := a.eval(r, sc)
		lt, lok := lv.truthy()
		rt, rok := rv.truthy()
		if lok && rok {
			return boolean(lt || rt)
		}
		return Value{}
	case *ast.ExprBinaryLogicalXor:
		a.eval(n.Left, sc)
		a.eval(n.Right, sc)
		return Value{}
	case *ast.ExprBinaryEqual, *ast.ExprBinaryNotEqual, *ast.ExprBinaryIdentical, *ast.ExprBinaryNotIdentical,
		*ast.ExprBinarySmaller, *ast.ExprBinarySmallerOrEqual, *ast.ExprBinaryGreater, *ast.ExprBinaryGreaterOrEqual,
		*ast.ExprBinarySpaceship:
		l, r := binaryOperands(n)
		return compare(n, a.eval(l, sc), a.eval(r, sc))
	case *ast.ExprBinaryCoalesce:
		l := a.eval(n.Left, sc)
		if l.known() && l.k != kNull {
			return l
		}
		return join(l, a.eval(n.Right, sc))
	case *ast.ExprTernary:
		c := a.eval(n.Cond, sc)
		if t, ok := c.truthy(); ok {
			if t {
				if n.IfTrue == nil {
					return c
				}
				return a.eval(n.IfTrue, sc)
			}
			return a.eval(n.IfFalse, sc)
		}
		var tv Value
		if n.IfTrue == nil {
			tv = c
		} else {
			tv = a.eval(n.IfTrue, sc)
		}
		return join(tv, a.eval(n.IfFalse, sc))
	case *ast.ExprMatch:
		a.eval(n.Expr, sc)
		var out Value
		first := true
		for _, arm := range n.Arms {
			if arm, ok := arm.(*ast.MatchArm); ok {
				v := a.eval(arm.ReturnExpr, sc)
				if first {
					out, first = v, false
				} else {
					out = join(out, v)
				}
			}
		}
		return out
	case *ast.ExprCastString:
		v := a.eval(n.Expr, sc)
		if s, ok := v.toStr(); ok {
			return str(s).withTaint(v.taint).with(v.flags)
		}
		return a.stringify(v)
	case *ast.ExprCastInt, *ast.ExprCastDouble:
		v := a.eval(castExpr(n), sc)
		if i, ok := v.toInt(); ok {
			return integer(i)
		}
		return Value{} // a number carries no code
	case *ast.ExprCastBool:
		v := a.eval(n.Expr, sc)
		if t, ok := v.truthy(); ok {
			return boolean(t)
		}
		return Value{}
	case *ast.ExprCastArray, *ast.ExprCastObject:
		return a.eval(castExpr(n), sc)
	case *ast.ExprCastUnset:
		a.eval(n.Expr, sc)
		return null()
	case *ast.ExprIsset:
		all := true
		for _, v := range n.Vars {
			if x := a.eval(v, sc); x.k == kNull {
				return boolean(false)
			} else if !x.known() {
				all = false
			}
		}
		if all {
			return boolean(true)
		}
		return Value{}
	case *ast.ExprEmpty:
		v := a.eval(n.Expr, sc)
		if t, ok := v.truthy(); ok {
			return boolean(!t)
		}
		return Value{}
	case *ast.ExprInstanceOf:
		a.eval(n.Expr, sc)
		return Value{}
	case *ast.ExprArray:
		return a.arrayLiteral(n.Items, sc)
	case *ast.ExprList:
		return a.arrayLiteral(n.Items, sc)
	case *ast.ExprConstFetch:
		return a.constant(nameOf(n.Const))
	case *ast.ExprClassConstFetch:
		return a.classConst(n, sc)
	case *ast.ExprFunctionCall:
		return a.functionCall(n, sc)
	case *ast.ExprMethodCall:
		return a.methodCall(n.Var, n.Method, n.Args, sc, line)
	case *ast.ExprNullsafeMethodCall:
		return a.methodCall(n.Var, n.Method, n.Args, sc, line)
	case *ast.ExprStaticCall:
		return a.staticCall(n, sc)
	case *ast.ExprNew:
		return a.newObject(n, sc)
	case *ast.ExprPropertyFetch:
		return a.readProperty(n.Var, n.Prop, sc)
	case *ast.ExprNullsafePropertyFetch:
		return a.readProperty(n.Var, n.Prop, sc)
	case *ast.ExprStaticPropertyFetch:
		return a.props[a.staticPropKey(n.Class, n.Prop, sc)]
	case *ast.ExprClosure:
		if _, noted := a.relevance[n]; !noted {
			a.noteRelevance(n)
		}
		return Value{k: kClosure, fn: &callable{closure: n, captured: a.captured(n, sc), class: sc.class}}
	case *ast.ExprArrowFunction:
		if _, noted := a.relevance[n]; !noted {
			a.noteRelevance(n)
		}
		return Value{k: kClosure, fn: &callable{arrow: n, captured: sc.clone(), class: sc.class}}
	case *ast.ExprEval:
		v := a.eval(n.Expr, sc)
		a.codeSink(line, "eval", v, sc)
		return Value{}
	case *ast.ExprInclude, *ast.ExprIncludeOnce, *ast.ExprRequire, *ast.ExprRequireOnce:
		v := a.eval(includeExpr(n), sc)
		a.includeSink(line, v, sc)
		return Value{}
	case *ast.ExprShellExec:
		v := a.concatParts(n.Parts, sc, false)
		a.commandSink(line, "backticks", v)
		return mix(v)
	case *ast.ExprExit:
		if n.Expr != nil {
			a.echo(a.eval(n.Expr, sc), line)
		}
		return Value{}
	case *ast.ExprPrint:
		a.echo(a.eval(n.Expr, sc), line)
		return integer(1)
	case *ast.ExprClone:
		return a.eval(n.Expr, sc)
	case *ast.ExprYield:
		a.eval(n.Key, sc)
		return mix(a.eval(n.Val, sc))
	case *ast.ExprYieldFrom:
		return mix(a.eval(n.Expr, sc))
	case *ast.ExprThrow:
		a.eval(n.Expr, sc)
		return Value{}
	case *ast.Argument:
		return a.eval(n.Expr, sc)
	case *ast.Name, *ast.NameFullyQualified, *ast.NameRelative, *ast.Identifier:
		return str(nameOf(n))
	}
	return Value{}
}

func castExpr(n ast.Vertex) ast.Vertex {
	switch n := n.(type) {
	case *ast.ExprCastInt:
		return n.Expr
	case *ast.ExprCastDouble:
		return n.Expr
	case *ast.ExprCastArray:
		return n.Expr
	case *ast.ExprCastObject:
		return n.Expr
	}
	return nil
}

func includeExpr(n ast.Vertex) ast.Vertex {
	switch n := n.(type) {
	case *ast.ExprInclude:
		return n.Expr
	case *ast.ExprIncludeOnce:
		return n.Expr
	case *ast.ExprRequire:
		return n.Expr
	case *ast.ExprRequireOnce:
		return n.Expr
	}
	return nil
}

func binaryOperands(n ast.Vertex) (ast.Vertex, ast.Vertex) {
	switch n := n.(type) {
	case *ast.ExprBinaryBooleanAnd:
		return n.Left, n.Right
	case *ast.ExprBinaryLogicalAnd:
		return n.Left, n.Right
	case *ast.ExprBinaryBooleanOr:
		return n.Left, n.Right
	case *ast.ExprBinaryLogicalOr:
		return n.Left, n.Right
	case *ast.ExprBinaryEqual:
		return n.Left, n.Right
	case *ast.ExprBinaryNotEqual:
		return n.Left, n.Right
	case *ast.ExprBinaryIdentical:
		return n.Left, n.Right
	case *ast.ExprBinaryNotIdentical:
		return n.Left, n.Right
	case *ast.ExprBinarySmaller:
		return n.Left, n.Right
	case *ast.ExprBinarySmallerOrEqual:
		return n.Left, n.Right
	case *ast.ExprBinaryGreater:
		return n.Left, n.Right
	case *ast.ExprBinaryGreaterOrEqual:
		return n.Left, n.Right
	case *ast.ExprBinarySpaceship:
		return n.Left, n.Right
	}
	return nil, nil
}

func compoundParts(n ast.Vertex) (lhs, rhs ast.Vertex, op string) {
	switch n := n.(type) {
	case *ast.ExprAssignPlus:
		return n.Var, n.Expr, "+"
	case *ast.ExprAssignMinus:
		return n.Var, n.Expr, "-"
	case *ast.ExprAssignMul:
		return n.Var, n.Expr, "*"
	case *ast.ExprAssignDiv:
		return n.Var, n.Expr, "/"
	case *ast.ExprAssignMod:
		return n.Var, n.Expr, "%"
	case *ast.ExprAssignPow:
		return n.Var, n.Expr, "**"
	case *ast.ExprAssignBitwiseAnd:
		return n.Var, n.Expr, "&"
	case *ast.ExprAssignBitwiseOr:
		return n.Var, n.Expr, "|"
	case *ast.ExprAssignBitwiseXor:
		return n.Var, n.Expr, "^"
	case *ast.ExprAssignShiftLeft:
		return n.Var, n.Expr, "<<"
	case *ast.ExprAssignShiftRight:
		return n.Var, n.Expr, ">>"
	}
	return nil, nil, ""
}

// concatParts joins the parts of an interpolated string.
func (a *analyzer) concatParts(parts []ast.Vertex, sc *scope, quoted bool) Value {
	out := str("")
	for i, p := range parts {
		var v Value
		if sp, ok := p.(*ast.ScalarEncapsedStringPart); ok {
			v = str(unquoteDouble(string(sp.Value), quoted))
		} else {
			v = a.eval(p, sc)
		}
		if i == 0 {
			out = a.stringify(v)
			continue
		}
		out = a.concat(out, v, a.line(p))
	}
	out.flags &^= fBuilt
	return out
}

// stringify is v as a string, as echo or "…$v…" would make it.
func (a *analyzer) stringify(v Value) Value {
	if s, ok := v.toStr(); ok {
		return str(s).withTaint(v.taint).with(v.flags)
	}
	if v.k == kArray {
		return str("Array").withTaint(v.deepTaint())
	}
	if v.k == kObject {
		a.objectToString(v)
	}
	return mix(v)
}

// recipientHeader ends a mail header line that names recipients.
var recipientHeader = regexp.MustCompile(`(?i)(^|[\r\n])\s*(bcc|cc|to)\s*:\s*$`)

// lastLine is the known text at the end of l: its value, or the end of its
// known prefix when its value is not known.
func lastLine(ls string, l Value) string {
	if l.k != kStr {
		ls = l.suf
	}
	if len(ls) > 40 {
		ls = ls[len(ls)-40:]
	}
	return ls
}

// unknownPrefix stands for a start of a string that is not known but is
// not the request's.
const unknownPrefix = "\x00"

// concat is the string concatenation of l and r.
func (a *analyzer) concat(l, r Value, line int) Value {
	ls, lok := l.toStr()
	rs, rok := r.toStr()
	taint := firstTaint(l.deepTaint(), r.deepTaint())
	flags := (l.flags | r.flags) | fBuilt
	if lok && rok && len(ls)+len(rs) <= a.opts.MaxString {
		v := str(ls + rs).with(flags)
		v.taint = taint
		return v
	}
	// Both sides with a few possible strings: keep the combinations.
	out := Value{taint: taint, flags: flags}
	if r.deepTaint() != nil && recipientHeader.MatchString(lastLine(ls, l)) {
		out.flags |= fRecipients // "Bcc: " . $_POST['list']
	}
	switch {
	case lok:
		out.pre = ls
	case l.pre != "":
		out.pre = l.pre
	case l.deepTaint() == nil && r.deepTaint() != nil:
		// Something the request does not choose comes first (a
		// folder in a constant): the request does not choose the
		// start of the string.
		out.pre = unknownPrefix
	}
	if rok {
		out.suf = rs
	} else {
		out.suf = r.suf
	}
	lc, rc := l.strings(), r.strings()
	if len(lc) > 0 && len(rc) > 0 && len(lc)*len(rc) <= maxCands {
		for _, x := range lc {
			for _, y := range rc {
				if len(x)+len(y) <= a.opts.MaxString {
					out.cands = append(out.cands, x+y)
				}
			}
		}
	}
	if l.k == kObject {
		a.objectToString(l)
	}
	if r.k == kObject {
		a.objectToString(r)
	}
	return out
}

func (a *analyzer) incdec(lhs ast.Vertex, sc *scope, d int64, pre bool, line int) Value {
	old := a.eval(lhs, sc)
	var nv Value
	if i, ok := old.toInt(); ok && old.k != kStr {
		nv = integer(i + d)
	} else {
		nv = mix(old)
	}
	a.assign(lhs, nv, sc, line)
	if pre {
		return nv
	}
	return old
}

// binary computes arithmetic and bitwise operators on known operands;
// ^ | & on two strings work byte by byte, as PHP does (XOR decoders).
func (a *analyzer) binary(op string, l, r Value, line int) Value {
	if l.k == kStr && r.k == kStr && (op == "^" || op == "|" || op == "&") {
		n := min(len(l.s), len(r.s))
		if op == "|" {
			n = max(len(l.s), len(r.s))
		}
		b := make([]byte, n)
		for i := range b {
			var x, y byte
			if i < len(l.s) {
				x = l.s[i]
			}
			if i < len(r.s) {
				y = r.s[i]
			}
			switch op {
			case "^":
				b[i] = x ^ y
			case "|":
				b[i] = x | y
			case "&":
				b[i] = x & y
			}
		}
		v := str(string(b)).with(fDecoded | fBuilt | l.flags | r.flags)
		v.taint = firstTaint(l.taint, r.taint)
		return v
	}
	if op == "+" && l.k == kArray && r.k == kArray {
		// Array union: the left's keys win.
		out := l.arr.clone()
		out.owner = nil
		for _, k := range r.arr.keys {
			if _, ok := out.vals[k]; !ok {
				out.set(k, r.arr.vals[k])
			}
		}
		if out.rest == nil {
			out.rest = r.arr.rest
		}
		return Value{k: kArray, arr: out, taint: firstTaint(l.taint, r.taint)}
	}
	x, xok := l.toInt()
	y, yok := r.toInt()
	if !xok || !yok || l.k == kArray || r.k == kArray {
		v := mix(l, r)
		if op == "^" {
			v.flags |= fDecoded
		}
		return v
	}
	switch op {
	case "+":
		return integer(x + y)
	case "-":
		return integer(x - y)
	case "*":
		return integer(x * y)
	case "/":
		if y == 0 || x%y != 0 {
			return Value{}
		}
		return integer(x / y)
	case "%":
		if y == 0 {
			return Value{}
		}
		return integer(x % y)
	case "**":
		if y < 0 || y > 62 {
			return Value{}
		}
		p := int64(1)
		for i := int64(0); i < y; i++ {
			p *= x
		}
		return integer(p)
	case "&":
		return integer(x & y)
	case "|":
		return integer(x | y)
	case "^":
		return integer(x ^ y)
	case "<<":
		if y < 0 || y > 63 {
			return Value{}
		}
		return integer(x << uint(y))
	case ">>":
		if y < 0 || y > 63 {
			return Value{}
		}
		return integer(x >> uint(y))
	}
	return Value{}
}

func compare(n ast.Vertex, l, r Value) Value {
	if !l.known() || !r.known() {
		return Value{}
	}
	switch n.(type) {
	case *ast.ExprBinaryEqual:
		return boolean(looseEqual(l, r))
	case *ast.ExprBinaryNotEqual:
		return boolean(!looseEqual(l, r))
	case *ast.ExprBinaryIdentical:
		return boolean(l.k == r.k && l.s == r.s && l.i == r.i)
	case *ast.ExprBinaryNotIdentical:
		return boolean(!(l.k == r.k && l.s == r.s && l.i == r.i))
	}
	// Ordering: numbers, or numeric strings.
	if l.k == kStr && r.k == kStr && !isNumeric(l.s) && !isNumeric(r.s) {
		c := strings.Compare(l.s, r.s)
		return ordered(n, c)
	}
	x, _ := l.toInt()
	y, _ := r.toInt()
	c := 0
	if x < y {
		c = -1
	} else if x > y {
		c = 1
	}
	return ordered(n, c)
}

func ordered(n ast.Vertex, c int) Value {
	switch n.(type) {
	case *ast.ExprBinarySmaller:
		return boolean(c < 0)
	case *ast.ExprBinarySmallerOrEqual:
		return boolean(c <= 0)
	case *ast.ExprBinaryGreater:
		return boolean(c > 0)
	case *ast.ExprBinaryGreaterOrEqual:
		return boolean(c >= 0)
	case *ast.ExprBinarySpaceship:
		return integer(int64(c))
	}
	return Value{}
}

func isNumeric(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil && s != ""
}

// looseEqual is PHP 8's ==, for known scalars.
func looseEqual(l, r Value) bool {
	if l.k == kStr && r.k == kStr {
		if isNumeric(l.s) && isNumeric(r.s) {
			x, _ := strconv.ParseFloat(strings.TrimSpace(l.s), 64)
			y, _ := strconv.ParseFloat(strings.TrimSpace(r.s), 64)
			return x == y
		}
		return l.s == r.s
	}
	if l.k == kNull || r.k == kNull || l.k == kBool || r.k == kBool {
		lt, _ := l.truthy()
		rt, _ := r.truthy()
		return lt == rt
	}
	if l.k == kStr && !isNumeric(l.s) || r.k == kStr && !isNumeric(r.s) {
		ls, _ := l.toStr()
		rs, _ := r.toStr()
		return ls == rs
	}
	x, _ := l.toInt()
	y, _ := r.toInt()
	return x == y
}

func (a *analyzer) arrayLiteral(items []ast.Vertex, sc *scope) Value {
	arr := newArray()
	for i, it := range items {
		item, ok := it.(*ast.ExprArrayItem)
		if !ok || item.Val == nil {
			continue
		}
		if i >= maxArray && isScalarLiteral(item.Key) && isScalarLiteral(item.Val) {
			// A data table past the size kept (100,000 domain names):
			// its literals carry nothing; the rest stays unknown.
			if arr.rest == nil {
				arr.partial = true
				r := Value{}
				arr.rest = &r
			}
			continue
		}
		v := a.eval(item.Val, sc)
		if item.EllipsisTkn != nil {
			if v.k == kArray {
				for _, e := range v.arr.values() {
					arr.push(e)
				}
			} else {
				r := mix(v)
				arr.rest = &r
			}
			continue
		}
		if item.Key == nil {
			arr.push(v)
			continue
		}
		kv := a.eval(item.Key, sc)
		if k, ok := arrayKey(kv); ok {
			arr.set(k, v)
		} else {
			r := v
			if arr.rest != nil {
				r = join(*arr.rest, v)
			}
			arr.rest = &r
		}
	}
	return Value{k: kArray, arr: arr}
}

// isScalarLiteral reports a number, a plain string or a constant (or
// nothing).
func isScalarLiteral(n ast.Vertex) bool {
	switch n.(type) {
	case nil, *ast.ScalarString, *ast.ScalarLnumber, *ast.ScalarDnumber, *ast.ExprConstFetch:
		return true
	}
	return false
}

// constant is the value of a named constant: define()d or const in the
// file, or one of PHP's that matter to folding.
func (a *analyzer) constant(name string) Value {
	if v, ok := a.consts[name]; ok {
		return v
	}
	switch strings.ToLower(strings.TrimPrefix(name, `\`)) {
	case "true":
		return boolean(true)
	case "false":
		return boolean(false)
	case "null":
		return null()
	case "php_eol":
		return str("\n")
	case "directory_separator":
		return str("/")
	case "php_os", "php_os_family":
		return str("Linux")
	case "php_version":
		return str("8.2.0")
	case "php_int_max":
		return integer(1<<63 - 1)
	case "input_get", "input_post", "input_cookie", "input_server", "input_env", "input_request":
		return str(strings.ToLower(name))
	case "curlopt_url":
		return integer(10002)
	case "curlopt_postfields":
		return integer(10015)
	case "file_append":
		return integer(8)
	}
	return Value{}
}

func (a *analyzer) classConst(n *ast.ExprClassConstFetch, sc *scope) Value {
	cname := strings.ToLower(nameOf(n.Class))
	c := a.classes[cname]
	if cname == "self" || cname == "static" {
		c = sc.class
	} else if cname == "parent" && sc.class != nil {
		c = a.classes[sc.class.parent]
	}
	cn := identName(n.Const)
	if strings.EqualFold(cn, "class") && c != nil {
		return str(c.name)
	}
	for i := 0; c != nil && i < 16; i++ {
		if e, ok := c.consts[cn]; ok {
			return a.eval(e, sc)
		}
		c = a.classes[c.parent]
	}
	return Value{}
}

// describe is a short text of an expression for a step of a path: a
// variable's name, $_POST['x'], a call.
func describe(n ast.Vertex) string {
	switch n := n.(type) {
	case *ast.ExprVariable:
		if name := varName(n); name != "" {
			return "$" + name
		}
		return "a variable variable"
	case *ast.ExprArrayDimFetch:
		base := describe(n.Var)
		switch d := n.Dim.(type) {
		case nil:
			return base + "[]"
		case *ast.ScalarString:
			return base + "[" + shorten(string(d.Value), 40) + "]"
		case *ast.ScalarLnumber:
			return base + "[" + string(d.Value) + "]"
		default:
			return base + "[" + describe(d) + "]"
		}
	case *ast.ExprPropertyFetch:
		return describe(n.Var) + "->" + identName(n.Prop)
	case *ast.ExprStaticPropertyFetch:
		return nameOf(n.Class) + "::" + varName(n.Prop)
	case *ast.ExprFunctionCall:
		if name := nameOf(n.Function); name != "" {
			return name + "()"
		}
		return "a dynamic call"
	case *ast.ExprMethodCall:
		return describe(n.Var) + "->" + identName(n.Method) + "()"
	case *ast.ExprList, *ast.ExprArray:
		return "a list"
	}
	return "an expression"
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// identName is the text of an identifier or name node.
func identName(n ast.Vertex) string {
	switch n := n.(type) {
	case *ast.Identifier:
		return string(n.Value)
	case *ast.Name, *ast.NameFullyQualified, *ast.NameRelative:
		return nameOf(n)
	}
	return ""
}

// nameOf is the last part of a (possibly qualified) name: PHP falls back
// from a namespaced function to the global one, which is what matters here.
func nameOf(n ast.Vertex) string {
	var parts []ast.Vertex
	switch n := n.(type) {
	case *ast.Name:
		parts = n.Parts
	case *ast.NameFullyQualified:
		parts = n.Parts
	case *ast.NameRelative:
		parts = n.Parts
	case *ast.Identifier:
		return string(n.Value)
	default:
		return ""
	}
	if len(parts) == 0 {
		return ""
	}
	if p, ok := parts[len(parts)-1].(*ast.NamePart); ok {
		return string(p.Value)
	}
	return ""
}

// varName is the name of a plain variable ($x → "x"), "" for a variable
// variable.
func varName(n ast.Vertex) string {
	v, ok := n.(*ast.ExprVariable)
	if !ok {
		return ""
	}
	if id, ok := v.Name.(*ast.Identifier); ok {
		return strings.TrimPrefix(string(id.Value), "$")
	}
	return ""
}
