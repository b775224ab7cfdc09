package phpscan

import (
	"strings"

	"github.com/VKCOM/php-parser/pkg/ast"
)

// guard applies what a condition proves on the path where it is truth:
// a value checked against an anchored pattern of safe characters, a
// whitelist, or a number test is no longer request data there
//
//	if (!preg_match('/^\w+$/', $key)) return false;   // $key is safe below
//	if (in_array($action, ['list', 'view'])) $action();
//	if ($op === 'upload') …                             // $op is "upload"
//
// (function_exists() and is_callable() prove nothing: any function exists.)
func (a *analyzer) guard(cond ast.Vertex, truth bool, sc *scope) {
	switch c := cond.(type) {
	case *ast.ExprBrackets:
		a.guard(c.Expr, truth, sc)
	case *ast.ExprBooleanNot:
		a.guard(c.Expr, !truth, sc)
	case *ast.ExprBinaryBooleanAnd:
		if truth {
			a.guard(c.Left, true, sc)
			a.guard(c.Right, true, sc)
		}
	case *ast.ExprBinaryLogicalAnd:
		if truth {
			a.guard(c.Left, true, sc)
			a.guard(c.Right, true, sc)
		}
	case *ast.ExprBinaryBooleanOr:
		if !truth {
			a.guard(c.Left, false, sc)
			a.guard(c.Right, false, sc)
		}
	case *ast.ExprBinaryLogicalOr:
		if !truth {
			a.guard(c.Left, false, sc)
			a.guard(c.Right, false, sc)
		}
	case *ast.ExprBinaryEqual, *ast.ExprBinaryIdentical, *ast.ExprBinaryNotEqual, *ast.ExprBinaryNotIdentical:
		l, r := binaryOperands(c)
		eq := true
		switch c.(type) {
		case *ast.ExprBinaryNotEqual, *ast.ExprBinaryNotIdentical:
			eq = false
		}
		// check(…) == 0, === false, === 1, == true
		for _, side := range [2][2]ast.Vertex{{l, r}, {r, l}} {
			if call, ok := side[0].(*ast.ExprFunctionCall); ok {
				if lit, ok := literalTruth(side[1]); ok {
					a.guard(call, truth == eq == lit, sc)
					return
				}
			}
		}
		// $x == 'literal' on the path where it holds.
		if truth == eq {
			for _, side := range [2][2]ast.Vertex{{l, r}, {r, l}} {
				if s, ok := side[1].(*ast.ScalarString); ok {
					a.setChecked(side[0], str(stringLiteral(s.Value)), sc)
					return
				}
			}
		}
	case *ast.ExprFunctionCall:
		if !truth {
			return
		}
		name := strings.ToLower(nameOf(c.Function))
		args := c.Args
		argExpr := func(i int) ast.Vertex {
			if i < len(args) {
				if an, ok := args[i].(*ast.Argument); ok {
					return an.Expr
				}
			}
			return nil
		}
		switch name {
		case "preg_match":
			if p, ok := a.eval(argExpr(0), sc).toStr(); ok && safePattern(p) {
				a.setChecked(argExpr(1), Value{}, sc)
			}
		case "ctype_digit", "ctype_alnum", "ctype_alpha", "ctype_xdigit", "ctype_lower", "ctype_upper",
			"is_numeric", "is_int", "is_integer", "is_float", "is_bool":
			a.setChecked(argExpr(0), Value{}, sc)
		case "in_array":
			list := a.eval(argExpr(1), sc)
			v := Value{}
			if list.k == kArray && list.arr.rest == nil && len(list.arr.keys) <= maxCands {
				for _, e := range list.arr.values() {
					v = joinKnown(v, e)
				}
			}
			a.setChecked(argExpr(0), v, sc)
		case "array_key_exists", "key_exists":
			a.setChecked(argExpr(0), Value{}, sc)
		}
	case *ast.ExprIsset:
		// isset($map[$x]): $x is one of the map's keys.
		for _, v := range c.Vars {
			if d, ok := v.(*ast.ExprArrayDimFetch); ok && truth && d.Dim != nil {
				if _, isVar := d.Var.(*ast.ExprVariable); isVar && !a.isRequestArray(d.Var) {
					a.setChecked(d.Dim, Value{}, sc)
				}
			}
		}
	}
}

// joinKnown joins whitelist entries into the strings a value may be.
func joinKnown(acc, e Value) Value {
	if acc.k == kUnknown && len(acc.cands) == 0 {
		return e
	}
	return join(acc, e)
}

func literalTruth(n ast.Vertex) (bool, bool) {
	switch n := n.(type) {
	case *ast.ScalarLnumber:
		return string(n.Value) != "0", true
	case *ast.ExprConstFetch:
		switch strings.ToLower(nameOf(n.Const)) {
		case "true":
			return true, true
		case "false", "null":
			return false, true
		}
	}
	return false, false
}

func (a *analyzer) isRequestArray(n ast.Vertex) bool {
	name := varName(n)
	_, ok := superglobals[name]
	return ok
}

// setChecked records that the value at expression n was checked: v (a
// value without request data) on this path.
func (a *analyzer) setChecked(n ast.Vertex, v Value, sc *scope) {
	switch x := n.(type) {
	case *ast.ExprVariable:
		if name := varName(x); name != "" && !a.isSuperglobal(name) {
			old, _ := sc.get(name)
			if v.k == kUnknown && len(v.cands) == 0 {
				v = old
				v.taint = nil
				v.flags &^= fParam
			}
			sc.set(name, v)
		}
	case *ast.ExprArrayDimFetch:
		if bv, ok := x.Var.(*ast.ExprVariable); ok {
			if name := varName(bv); name != "" && a.isSuperglobal(name) && x.Dim != nil {
				if k, ok := a.eval(x.Dim, sc).toStr(); ok {
					a.fields[name+"\x00"+k] = v
				}
			}
		}
	}
}

// safePattern reports whether a PCRE pattern only matches strings made of
// a few safe characters: anchored at both ends, no "." and no negated or
// non-space classes.
func safePattern(p string) bool {
	p = strings.TrimSpace(p)
	if len(p) < 4 {
		return false
	}
	mods := pregModifiers(p)
	body := p[1 : len(p)-len(mods)-1]
	if strings.Contains(mods, "m") || strings.Contains(mods, "x") {
		return false
	}
	if !(strings.HasPrefix(body, "^") || strings.HasPrefix(body, `\A`)) {
		return false
	}
	if !(strings.HasSuffix(body, "$") && !strings.HasSuffix(body, `\$`) || strings.HasSuffix(body, `\z`) || strings.HasSuffix(body, `\Z`)) {
		return false
	}
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '\\':
			if i+1 < len(body) && strings.IndexByte("SWDHVRNX", body[i+1]) >= 0 {
				return false
			}
			i++
		case '.':
			return false
		case '[':
			if i+1 < len(body) && body[i+1] == '^' {
				return false
			}
		case '|':
			return false
		}
	}
	return true
}

// strippingPattern reports whether a pattern matches every character
// outside a class of safe ones ("/[^a-z0-9_.-]/i", "/[^\\w-]+/"): replaced
// with nothing, it leaves no "/", quote, "$", ";", "(" or space.
func strippingPattern(p string) bool {
	p = strings.TrimSpace(p)
	if len(p) < 6 {
		return false
	}
	mods := pregModifiers(p)
	body := p[1 : len(p)-len(mods)-1]
	body = strings.TrimSuffix(strings.TrimSuffix(body, "+"), "*")
	if !strings.HasPrefix(body, "[^") || !strings.HasSuffix(body, "]") {
		return false
	}
	class := body[2 : len(body)-1]
	for i := 0; i < len(class); i++ {
		c := class[i]
		switch {
		case c == '\\':
			if i+1 < len(class) && strings.IndexByte("wd.-_", class[i+1]) < 0 {
				return false
			}
			i++
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}
