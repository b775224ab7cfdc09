package phpscan

import (
	"strconv"
)

// kind is what is known of a value's type.
type kind uint8

const (
	kUnknown kind = iota // anything; cands may still list possible strings
	kStr                 // s holds the string
	kInt                 // i holds the integer
	kBool                // i is 0 or 1
	kNull
	kArray   // arr holds the elements (may be partial: see arr.rest)
	kClosure // fn is the callable
	kObject  // cls names the class ("" unknown), obj its state
)

// flag records how a value came to be, for findings that do not need
// request input: a name built from pieces, a payload decoded from literals.
type flag uint16

const (
	// fBuilt: made by joining or transforming strings (concatenation of
	// pieces, strrev, chr, substr, …): a function name written this way is
	// hidden on purpose.
	fBuilt flag = 1 << iota
	// fDecoded: the output of a decoder (base64_decode, gzinflate,
	// str_rot13, hex2bin, a XOR loop, …).
	fDecoded
	// fRemote: read from the network (a URL opened, curl, a socket).
	fRemote
	// fCard: derived from a request field named like a payment card field.
	fCard
	// fUpload: names an uploaded temporary file ($_FILES[…]['tmp_name']).
	fUpload
	// fParam: a request field's name (a key of $_POST, …): chosen by
	// the client.
	fParam
	// fSecret: derived from a request field named like a password.
	fSecret
	// fHidden: a value the interpreter could only partly follow because
	// of its budget; never used for a finding on its own.
	fHidden
	// fChars: made character by character or by a string transform (chr,
	// a string offset, substr of a literal, strtoupper, …).
	fChars
	// fIdentity: carries the page's identity (its host, URL, script
	// name) or the visitor's (user agent, referer, address).
	fIdentity
	// fRelay: content fetched from a fixed server that was told which
	// page, and which visitor, asked (an SEO spam relay).
	fRelay
	// fFileName: the name a client gave an uploaded file.
	fFileName
	// fStored: went through a property, whose values are followed
	// without regard to order: what it holds is less certain.
	fStored
	// fListed: a name a directory walk found (scandir, glob, readdir, a
	// directory iterator).
	fListed
	// fRecipients: mail headers naming recipients the request chose.
	fRecipients
	// fUnset: a variable the file reads at its top level and never sets
	// (the request's, with register_globals on old PHP).
	fUnset
)

// Value is what the interpreter knows of a PHP value.
type Value struct {
	k     kind
	s     string
	i     int64
	arr   *array
	fn    *callable
	cls   string
	cands []string // possible strings of an unknown value (at most maxCands)
	pre   string   // a known start of an unknown string ("ajax_" . $_GET['a'])
	suf   string   // a known end of an unknown string ($_GET['p'] . ".php")
	taint *taint   // request input it carries, nil when none
	flags flag
}

const maxCands = 6

func unknown() Value              { return Value{} }
func str(s string) Value          { return Value{k: kStr, s: s} }
func integer(i int64) Value       { return Value{k: kInt, i: i} }
func boolean(b bool) Value        { return Value{k: kBool, i: b2i(b)} }
func null() Value                 { return Value{k: kNull} }
func tainted(t *taint) Value      { return Value{taint: t} }
func (v Value) with(f flag) Value { v.flags |= f; return v }
func (v Value) has(f flag) bool   { return v.flags&f != 0 }
func (v Value) withTaint(t *taint) Value {
	if t != nil && v.taint == nil {
		v.taint = t
	}
	return v
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// known reports whether v is a concrete scalar (string, int, bool or null).
func (v Value) known() bool {
	switch v.k {
	case kStr, kInt, kBool, kNull:
		return true
	}
	return false
}

// toStr converts a concrete scalar to its PHP string; ok is false when the
// value is not known.
func (v Value) toStr() (string, bool) {
	switch v.k {
	case kStr:
		return v.s, true
	case kInt:
		return strconv.FormatInt(v.i, 10), true
	case kBool:
		if v.i != 0 {
			return "1", true
		}
		return "", true
	case kNull:
		return "", true
	}
	return "", false
}

// toInt converts a concrete scalar to an integer the way PHP does for
// numeric strings (a leading number; 0 otherwise).
func (v Value) toInt() (int64, bool) {
	switch v.k {
	case kInt, kBool:
		return v.i, true
	case kNull:
		return 0, true
	case kStr:
		return leadingInt(v.s), true
	}
	return 0, false
}

func leadingInt(s string) int64 {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	j := i
	if j < len(s) && (s[j] == '-' || s[j] == '+') {
		j++
	}
	if j+1 < len(s) && s[j] == '0' && (s[j+1] == 'x' || s[j+1] == 'X') {
		return 0
	}
	k := j
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	n, err := strconv.ParseInt(s[i:k], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// truthy is PHP's boolean conversion; ok is false when unknown.
func (v Value) truthy() (bool, bool) {
	switch v.k {
	case kStr:
		return v.s != "" && v.s != "0", true
	case kInt, kBool:
		return v.i != 0, true
	case kNull:
		return false, true
	case kArray:
		if v.arr.rest == nil && !v.arr.partial {
			return len(v.arr.keys) > 0, true
		}
	case kClosure, kObject:
		return true, true
	}
	return false, false
}

// strings lists the strings v may be: its value, or its candidates.
func (v Value) strings() []string {
	if s, ok := v.toStr(); ok && v.k != kNull {
		return []string{s}
	}
	return v.cands
}

// join merges the values a variable may have after two paths meet.
func join(a, b Value) Value {
	if a.k == b.k && a.k != kUnknown && a.k != kArray && a.k != kClosure && a.s == b.s && a.i == b.i && a.cls == b.cls {
		a.taint = firstTaint(a.taint, b.taint)
		a.flags |= b.flags
		return a
	}
	if a.k == kArray && b.k == kArray && a.arr == b.arr {
		return a
	}
	if a.k == kClosure && b.k == kClosure && a.fn == b.fn {
		return a
	}
	out := Value{taint: firstTaint(a.taint, b.taint), flags: a.flags | b.flags}
	if a.pre == b.pre {
		out.pre = a.pre
	}
	if a.suf == b.suf {
		out.suf = a.suf
	}
	if a.k == kObject && b.k == kObject && a.cls == b.cls {
		out.k, out.cls = kObject, a.cls
		return out
	}
	if a.k == kArray && b.k == kArray {
		out.k = kArray
		out.arr = joinArrays(a.arr, b.arr)
		return out
	}
	cands, ok := appendCands(nil, a)
	if ok {
		cands, ok = appendCands(cands, b)
	}
	if ok && len(cands) <= maxCands {
		out.cands = cands
	}
	if a.k == kClosure {
		out.k, out.fn = kClosure, a.fn
	} else if b.k == kClosure {
		out.k, out.fn = kClosure, b.fn
	}
	return out
}

// appendCands adds the strings v may be to cands; ok is false when v may
// be any string.
func appendCands(cands []string, v Value) ([]string, bool) {
	if v.k == kUnknown && len(v.cands) == 0 || v.k == kArray || v.k == kClosure || v.k == kObject {
		return cands, false
	}
	for _, s := range v.strings() {
		dup := false
		for _, c := range cands {
			if c == s {
				dup = true
				break
			}
		}
		if !dup {
			cands = append(cands, s)
		}
	}
	return cands, true
}

// mix is the value of an operation on several inputs that the interpreter
// does not compute: unknown, carrying the taint and flags of every input.
//
// What an input was made of (fBuilt, fChars, fDecoded) says nothing of
// an output computed from it, so those flags are not carried; where the
// data came from (the request, the network, a card field) is.
func mix(vs ...Value) Value {
	var out Value
	for _, v := range vs {
		out.taint = firstTaint(out.taint, v.deepTaint())
		out.flags |= v.flags & carried
		if v.k == kArray {
			out.flags |= v.arr.flags() & carried
		}
	}
	return out
}

// carried are the flags that follow data through computations the
// analyzer does not model.
const carried = fRemote | fCard | fSecret | fUpload | fParam | fIdentity | fRelay | fFileName | fStored | fListed | fRecipients | fUnset

// mixFirst is the value of an unknown function or method: it carries what
// its first argument carries (the data a helper such as wp_unslash() or
// sanitize_text_field() returns), not the taint of the other arguments
// (apply_filters('hook', $default, $_POST['x']) returns what a filter
// makes of $default).
func mixFirst(vs []Value) Value {
	if len(vs) == 0 {
		return Value{}
	}
	return mix(vs[0])
}

// deepTaint is v's taint, or that of any element when v is an array.
func (v Value) deepTaint() *taint {
	if v.taint != nil || v.k != kArray {
		return v.taint
	}
	return v.arr.anyTaint()
}

// array is a PHP array as far as it is known: ordered keys with values, and
// rest, the value of any element not listed (a tainted array such as $_POST
// has no keys and a tainted rest). partial is set when elements may exist
// that are neither listed nor described by rest (the array was cut at the
// size cap).
type array struct {
	keys    []string
	vals    map[string]Value
	rest    *Value
	partial bool
	next    int64 // next integer key

	// owner is the scope and variable that alone hold this array, so
	// that $a[] = … in a loop changes it in place instead of copying it
	// at every element; nil once the array may be held anywhere else (it
	// was copied to another variable, a scope was cloned), and then the
	// next write copies it (copy on write).
	owner     *scope
	ownerName string

	// joined caches the join of every element (what $a[$unknown] is);
	// nil when not computed since the last write.
	joined *Value

	// base is the array this one was copied from before elements were
	// set or added: it holds base's keys, so joining the two is this
	// one (elements that may or may not be there are fine to keep).
	base *array
}

const maxArray = 4096

func newArray() *array { return &array{vals: map[string]Value{}} }

// derives reports whether a was copied, through a few generations, from
// base and only added to or overwritten since.
func (a *array) derives(base *array) bool {
	for i, x := 0, a.base; x != nil && i < 8; i, x = i+1, x.base {
		if x == base {
			return true
		}
	}
	return false
}

// share marks v's array as held in more than one place.
func share(v Value) Value {
	if v.k == kArray && v.arr != nil {
		v.arr.owner = nil
	}
	return v
}

func (a *array) clone() *array {
	b := &array{keys: append([]string(nil), a.keys...), vals: make(map[string]Value, len(a.vals)), rest: a.rest, partial: a.partial, next: a.next}
	for k, v := range a.vals {
		b.vals[k] = v
	}
	return b
}

// get returns the element at key, or the rest.
func (a *array) get(key string) (Value, bool) {
	if v, ok := a.vals[key]; ok {
		return v, true
	}
	if a.rest != nil {
		return *a.rest, true
	}
	return Value{}, false
}

// set stores v at key (in place: callers clone first).
func (a *array) set(key string, v Value) {
	a.joined = nil
	if _, ok := a.vals[key]; !ok {
		if len(a.keys) >= maxArray {
			a.partial = true
			r := v
			if a.rest != nil {
				r = join(*a.rest, v)
			}
			a.rest = &r
			return
		}
		a.keys = append(a.keys, key)
		if n, err := strconv.ParseInt(key, 10, 64); err == nil && n >= a.next {
			a.next = n + 1
		}
	}
	a.vals[key] = v
}

func (a *array) push(v Value) {
	a.set(strconv.FormatInt(a.next, 10), v)
}

// any is the join of every element and the rest: what an element at an
// unknown key may be.
func (a *array) any() (Value, bool) {
	if a.joined != nil {
		return *a.joined, true
	}
	vals := a.values()
	if len(vals) == 0 {
		return Value{}, false
	}
	out := vals[0]
	for _, v := range vals[1:] {
		out = join(out, v)
	}
	a.joined = &out
	return out, true
}

// values lists the elements in order, then the rest.
func (a *array) values() []Value {
	out := make([]Value, 0, len(a.keys)+1)
	for _, k := range a.keys {
		out = append(out, a.vals[k])
	}
	if a.rest != nil {
		out = append(out, *a.rest)
	}
	return out
}

func (a *array) anyTaint() *taint {
	if a.rest != nil && a.rest.taint != nil {
		return a.rest.taint
	}
	for _, k := range a.keys {
		if t := a.vals[k].deepTaint(); t != nil {
			return t
		}
	}
	return nil
}

func (a *array) flags() flag {
	var f flag
	if a.rest != nil {
		f |= a.rest.flags
	}
	for _, k := range a.keys {
		f |= a.vals[k].flags
	}
	return f
}

func joinArrays(a, b *array) *array {
	if b.derives(a) && b.rest == nil == (a.rest == nil) {
		return b
	}
	if a.derives(b) && a.rest == nil == (b.rest == nil) {
		return a
	}
	out := a.clone()
	for _, k := range b.keys {
		bv := b.vals[k]
		if av, ok := out.vals[k]; ok {
			out.vals[k] = join(av, bv)
		} else {
			out.set(k, bv)
		}
	}
	if b.rest != nil {
		r := *b.rest
		if out.rest != nil {
			r = join(*out.rest, r)
		}
		out.rest = &r
	}
	out.partial = out.partial || b.partial
	return out
}

// arrayKey is the key PHP uses for an index value; ok is false when unknown.
func arrayKey(v Value) (string, bool) {
	switch v.k {
	case kInt, kBool:
		return strconv.FormatInt(v.i, 10), true
	case kNull:
		return "", true
	case kStr:
		if n, err := strconv.ParseInt(v.s, 10, 64); err == nil && strconv.FormatInt(n, 10) == v.s {
			return v.s, true
		}
		return v.s, true
	}
	return "", false
}
