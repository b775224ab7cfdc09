package phpscan

import (
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"html"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// fold1 handles predicates and numbers: what they return carries no
// request data and no code.
func (a *analyzer) fold1(name string, vals []Value) Value {
	v0 := Value{k: kNull}
	if len(vals) > 0 {
		v0 = vals[0]
	}
	switch name {
	case "strlen", "mb_strlen":
		if s, ok := v0.toStr(); ok {
			return integer(int64(len(s)))
		}
	case "count", "sizeof":
		if v0.k == kArray && v0.arr.rest == nil && !v0.arr.partial {
			return integer(int64(len(v0.arr.keys)))
		}
	case "intval":
		if v0.k == kStr && len(vals) > 1 {
			if b, ok := vals[1].toInt(); ok && b >= 2 && b <= 36 {
				if n, err := strconv.ParseInt(strings.TrimSpace(v0.s), int(b), 64); err == nil {
					return integer(n)
				}
				return integer(0)
			}
		}
		if i, ok := v0.toInt(); ok {
			return integer(i)
		}
	case "function_exists", "is_callable":
		return Value{}
	case "is_string":
		if v0.known() {
			return boolean(v0.k == kStr)
		}
	case "is_array":
		if v0.known() || v0.k == kArray {
			return boolean(v0.k == kArray)
		}
	case "in_array":
		if len(vals) > 1 && v0.known() && vals[1].k == kArray && vals[1].arr.rest == nil {
			for _, e := range vals[1].arr.values() {
				if !e.known() {
					return Value{}
				}
				if looseEqual(v0, e) {
					return boolean(true)
				}
			}
			return boolean(false)
		}
	case "strcmp", "strcasecmp":
		if len(vals) > 1 && v0.k == kStr && vals[1].k == kStr {
			x, y := v0.s, vals[1].s
			if name == "strcasecmp" {
				x, y = strings.ToLower(x), strings.ToLower(y)
			}
			return integer(int64(strings.Compare(x, y)))
		}
	case "htmlspecialchars", "htmlentities", "strip_tags":
		if v0.k == kStr {
			return str(v0.s) // harmless for the strings that matter here
		}
		return mix(v0)
	case "preg_quote":
		return mix(v0)
	}
	return Value{}
}

// foldBuiltin computes string functions on known arguments (and says
// what is known of the result otherwise). ok is false for functions it does
// not know.
func (a *analyzer) foldBuiltin(line int, name string, vals []Value) (Value, bool) {
	max := a.opts.MaxString
	v0, v1, v2 := Value{k: kNull}, Value{k: kNull}, Value{k: kNull}
	if len(vals) > 0 {
		v0 = vals[0]
	}
	if len(vals) > 1 {
		v1 = vals[1]
	}
	if len(vals) > 2 {
		v2 = vals[2]
	}
	s0, ok0 := v0.toStr()
	ok0 = ok0 && v0.k != kArray
	// decoded is the value of a decoder: known when the input is.
	decoded := func(f func(string) (string, bool)) Value {
		if ok0 {
			if out, ok := f(s0); ok && len(out) <= max {
				return str(out).with(v0.flags | fDecoded | fChars)
			}
			return unknown().with(v0.flags | fDecoded | fChars)
		}
		return mix(v0).with(fDecoded | fChars)
	}
	// A transform of a literal builds a string piece by piece (a
	// name being hidden); of a run-time value it is just data.
	transformed := func(f func(string) string) Value {
		if ok0 {
			if out := f(s0); len(out) <= max {
				return str(out).with(v0.flags | fBuilt | fChars).withTaint(v0.taint)
			}
		}
		return mix(v0).with(v0.flags & (fChars | fDecoded))
	}
	same := func(f func(string) string) Value {
		if ok0 {
			if out := f(s0); len(out) <= max {
				return str(out).with(v0.flags).withTaint(v0.taint)
			}
		}
		return mix(v0)
	}
	switch name {
	case "base64_decode":
		return decoded(decodeBase64), true
	case "str_rot13":
		return decoded(func(s string) (string, bool) { return rot13(s), true }), true
	case "strrev":
		return decoded(func(s string) (string, bool) { return reverse(s), true }), true
	case "gzinflate":
		return decoded(func(s string) (string, bool) { return inflate(flate.NewReader(strings.NewReader(s)), max) }), true
	case "gzuncompress":
		return decoded(func(s string) (string, bool) {
			r, err := zlib.NewReader(strings.NewReader(s))
			if err != nil {
				return "", false
			}
			return inflate(r, max)
		}), true
	case "gzdecode":
		return decoded(func(s string) (string, bool) {
			r, err := gzip.NewReader(strings.NewReader(s))
			if err != nil {
				return "", false
			}
			return inflate(r, max)
		}), true
	case "zlib_decode":
		return decoded(func(s string) (string, bool) {
			if r, err := zlib.NewReader(strings.NewReader(s)); err == nil {
				return inflate(r, max)
			}
			if r, err := gzip.NewReader(strings.NewReader(s)); err == nil {
				return inflate(r, max)
			}
			return inflate(flate.NewReader(strings.NewReader(s)), max)
		}), true
	case "bzdecompress":
		return decoded(func(s string) (string, bool) {
			return inflate(io.NopCloser(bzip2.NewReader(strings.NewReader(s))), max)
		}), true
	case "hex2bin":
		return decoded(func(s string) (string, bool) {
			b, err := hex.DecodeString(s)
			return string(b), err == nil
		}), true
	case "convert_uudecode":
		return decoded(uudecode), true
	case "urldecode", "rawurldecode":
		if ok0 && !strings.Contains(s0, "%") {
			return same(func(s string) string { return s }), true
		}
		return decoded(func(s string) (string, bool) {
			if name == "urldecode" {
				out, err := url.QueryUnescape(s)
				return out, err == nil
			}
			out, err := url.PathUnescape(s)
			return out, err == nil
		}), true
	case "html_entity_decode", "htmlspecialchars_decode":
		if ok0 && !strings.Contains(s0, "&") {
			return same(func(s string) string { return s }), true
		}
		return decoded(func(s string) (string, bool) { return html.UnescapeString(s), true }), true
	case "base64_encode":
		return same(func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }), true
	case "bin2hex":
		return same(func(s string) string { return hex.EncodeToString([]byte(s)) }), true
	case "urlencode", "rawurlencode":
		return same(url.QueryEscape), true
	case "md5", "sha1":
		// A digest keeps nothing of a password or a card number.
		v := same(func(s string) string {
			if name == "md5" {
				h := md5.Sum([]byte(s))
				return hex.EncodeToString(h[:])
			}
			h := sha1.Sum([]byte(s))
			return hex.EncodeToString(h[:])
		})
		v.flags &^= fSecret | fCard
		return v, true
	case "crc32":
		if ok0 {
			return integer(int64(crc32.ChecksumIEEE([]byte(s0)))), true
		}
		return Value{}, true
	case "strtolower", "mb_strtolower":
		return transformed(strings.ToLower), true
	case "strtoupper", "mb_strtoupper":
		return transformed(strings.ToUpper), true
	case "ucfirst":
		return transformed(func(s string) string {
			if s == "" {
				return s
			}
			return strings.ToUpper(s[:1]) + s[1:]
		}), true
	case "lcfirst":
		return transformed(func(s string) string {
			if s == "" {
				return s
			}
			return strings.ToLower(s[:1]) + s[1:]
		}), true
	case "ucwords":
		return transformed(func(s string) string {
			b := []byte(s)
			for i := range b {
				if i == 0 || b[i-1] == ' ' || b[i-1] == '\t' || b[i-1] == '\n' {
					b[i] = byte(unicode.ToUpper(rune(b[i])))
				}
			}
			return string(b)
		}), true
	case "trim", "ltrim", "rtrim", "chop":
		cut := " \t\n\r\x00\x0b"
		if len(vals) > 1 {
			c, ok := v1.toStr()
			if !ok {
				return mix(v0), true
			}
			cut = expandCharList(c)
		}
		return same(func(s string) string {
			switch name {
			case "ltrim":
				return strings.TrimLeft(s, cut)
			case "rtrim", "chop":
				return strings.TrimRight(s, cut)
			}
			return strings.Trim(s, cut)
		}), true
	case "stripslashes":
		return same(func(s string) string {
			return strings.ReplaceAll(unquoteSingle(strings.ReplaceAll(s, `\"`, `"`)), `\`, "")
		}), true
	case "stripcslashes":
		return decoded(func(s string) (string, bool) { return unquoteDouble(s, true), true }), true
	case "addslashes", "nl2br", "quotemeta", "strval", "utf8_decode", "utf8_encode", "trim_all", "wordwrap", "ltrim_all":
		return same(func(s string) string { return s }), true
	case "iconv", "mb_convert_encoding":
		src := v2
		if name == "mb_convert_encoding" {
			src = v0
		}
		if s, ok := src.toStr(); ok && src.k == kStr {
			return str(s).with(src.flags).withTaint(src.taint), true
		}
		return mix(src), true
	case "chr":
		if i, ok := v0.toInt(); ok {
			return str(string([]byte{byte(((i % 256) + 256) % 256)})).with(fBuilt | fChars), true
		}
		return mix(v0).with(v0.flags & (fChars | fDecoded)), true
	case "ord":
		if ok0 && len(s0) > 0 {
			return integer(int64(s0[0])), true
		}
		return Value{}, true
	case "substr", "mb_substr":
		if ok0 {
			start, ok1 := v1.toInt()
			if !ok1 {
				return mix(v0).with(v0.flags & (fChars | fDecoded)), true
			}
			length := int64(len(s0))
			hasLen := len(vals) > 2 && v2.k != kNull
			if hasLen {
				l, ok := v2.toInt()
				if !ok {
					return mix(v0).with(v0.flags & (fChars | fDecoded)), true
				}
				length = l
			}
			return str(substr(s0, start, length, hasLen)).with(v0.flags | fBuilt | fChars).withTaint(v0.taint), true
		}
		return mix(v0).with(v0.flags & (fChars | fDecoded)), true
	case "str_repeat":
		if n, ok := v1.toInt(); ok && ok0 && n >= 0 && int64(len(s0))*n <= int64(max) {
			return str(strings.Repeat(s0, int(n))).with(v0.flags).withTaint(v0.taint), true
		}
		return mix(v0), true
	case "str_pad":
		n, ok := v1.toInt()
		pad := " "
		if len(vals) > 2 {
			pad, _ = v2.toStr()
		}
		if ok0 && ok && n <= int64(max) && pad != "" {
			mode := int64(1)
			if len(vals) > 3 {
				mode, _ = vals[3].toInt()
			}
			return str(strPad(s0, int(n), pad, mode)).with(v0.flags), true
		}
		return mix(v0), true
	case "str_replace", "str_ireplace":
		return a.strReplace(name, v0, v1, v2), true
	case "strtr":
		return a.strtr(v0, v1, v2, len(vals)), true
	case "implode", "join":
		return a.implode(v0, v1, len(vals)), true
	case "explode":
		sep, okSep := v0.toStr()
		s1, ok1 := v1.toStr()
		if okSep && ok1 && sep != "" && v1.k != kArray {
			parts := strings.Split(s1, sep)
			if len(vals) > 2 {
				if l, ok := v2.toInt(); ok && l > 0 && int(l) < len(parts) {
					parts = append(parts[:l-1], strings.Join(parts[l-1:], sep))
				}
			}
			arr := newArray()
			for _, p := range parts {
				arr.push(str(p).with(v1.flags | fChars).withTaint(v1.taint))
			}
			return Value{k: kArray, arr: arr}, true
		}
		return arrayOf(mix(v1)), true
	case "str_split", "mb_str_split":
		n := int64(1)
		if len(vals) > 1 {
			n, _ = v1.toInt()
		}
		if ok0 && n > 0 && len(s0) <= maxArray {
			arr := newArray()
			for i := 0; i < len(s0); i += int(n) {
				arr.push(str(s0[i:min(len(s0), i+int(n))]).with(v0.flags | fChars))
			}
			return Value{k: kArray, arr: arr}, true
		}
		return arrayOf(mix(v0).with(v0.flags & (fChars | fDecoded))), true
	case "sprintf", "vsprintf":
		var rest []Value
		if name == "vsprintf" {
			if v1.k == kArray && v1.arr.rest == nil {
				rest = v1.arr.values()
			} else {
				return mix(v0, v1).with(fBuilt), true
			}
		} else if len(vals) > 1 {
			rest = vals[1:]
		}
		return a.sprintf(v0, rest), true
	case "strpos", "stripos", "strrpos":
		if ok0 && v1.k == kStr {
			h, n := s0, v1.s
			if name == "stripos" {
				h, n = strings.ToLower(h), strings.ToLower(n)
			}
			i := strings.Index(h, n)
			if name == "strrpos" {
				i = strings.LastIndex(h, n)
			}
			if i < 0 {
				return boolean(false), true
			}
			return integer(int64(i)), true
		}
		return Value{}, true
	case "strstr", "stristr", "strrchr":
		if ok0 && v1.k == kStr && v1.s != "" {
			var i int
			switch name {
			case "stristr":
				i = strings.Index(strings.ToLower(s0), strings.ToLower(v1.s))
			case "strrchr":
				i = strings.LastIndexByte(s0, v1.s[0])
			default:
				i = strings.Index(s0, v1.s)
			}
			if i < 0 {
				return boolean(false), true
			}
			if t, _ := v2.truthy(); t {
				return str(s0[:i]).with(v0.flags | fChars), true
			}
			return str(s0[i:]).with(v0.flags | fChars), true
		}
		return mix(v0), true
	case "chunk_split":
		return same(func(s string) string { return s }), true
	case "pack":
		return a.pack(v0, vals[min(1, len(vals)):]), true
	case "dechex", "decoct", "decbin":
		if i, ok := v0.toInt(); ok {
			base := map[string]int{"dechex": 16, "decoct": 8, "decbin": 2}[name]
			return str(strconv.FormatInt(i, base)).with(fChars), true
		}
		return Value{}, true
	case "hexdec", "octdec", "bindec":
		if ok0 {
			base := map[string]int{"hexdec": 16, "octdec": 8, "bindec": 2}[name]
			n, _ := strconv.ParseInt(s0, base, 64)
			return integer(n), true
		}
		return Value{}, true
	case "base_convert":
		from, ok1 := v1.toInt()
		to, ok2 := v2.toInt()
		if ok0 && ok1 && ok2 && from >= 2 && from <= 36 && to >= 2 && to <= 36 {
			n, err := strconv.ParseUint(strings.ToLower(s0), int(from), 64)
			if err == nil {
				return str(strconv.FormatUint(n, int(to))).with(fChars | fDecoded), true
			}
		}
		return mix(v0).with(v0.flags & (fChars | fDecoded)), true
	case "range":
		return a.rangeOf(v0, v1, v2, len(vals) > 2), true
	case "array_reverse":
		if v0.k == kArray && v0.arr.rest == nil {
			arr := newArray()
			vs := v0.arr.values()
			for i := len(vs) - 1; i >= 0; i-- {
				arr.push(vs[i])
			}
			return Value{k: kArray, arr: arr}, true
		}
		return mix(v0), true
	case "array_values", "array_unique", "array_merge", "array_slice", "array_keys", "array_flip", "array_combine",
		"array_fill", "array_pad", "array_chunk", "array_column", "array_diff", "array_intersect", "array_replace",
		"array_merge_recursive", "array_splice", "iterator_to_array", "array_flip_values", "array_fill_keys":
		return a.arrayFn(name, vals), true
	case "current", "reset", "pos", "end", "array_key_first", "array_key_last", "next", "prev", "key":
		if v0.k == kArray && v0.arr.rest == nil && len(v0.arr.keys) > 0 {
			keys := v0.arr.keys
			switch name {
			case "current", "reset", "pos":
				return v0.arr.vals[keys[0]], true
			case "end":
				return v0.arr.vals[keys[len(keys)-1]], true
			case "array_key_first", "key":
				return keyValue(keys[0]), true
			case "array_key_last":
				return keyValue(keys[len(keys)-1]), true
			}
		}
		return a.element(v0, Value{}, nil, line), true
	case "array_rand", "array_search":
		return mix(v0), true
	case "serialize", "json_encode", "var_export", "print_r":
		v := mix(vals...)
		if v0.k == kArray {
			v.flags |= v0.arr.flags()
		}
		return v, true
	case "unserialize", "json_decode":
		return mix(v0), true
	case "openssl_decrypt", "mcrypt_decrypt", "mcrypt_cbc", "mcrypt_ecb", "sodium_crypto_secretbox_open", "openssl_private_decrypt", "openssl_public_decrypt":
		return mix(vals...).with(fDecoded | fChars), true
	case "crypt", "hash", "hash_hmac", "password_hash", "sodium_crypto_pwhash_str":
		v := mix(vals...)
		v.flags &^= fSecret | fCard
		return v, true
	case "gzcompress", "gzdeflate", "gzencode", "str_shuffle", "uniqid":
		return mix(vals...), true
	case "sprintf_safe":
		return Value{}, true
	}
	return Value{}, false
}

func arrayOf(rest Value) Value {
	arr := newArray()
	arr.rest = &rest
	return Value{k: kArray, arr: arr}
}

func substr(s string, start, length int64, hasLen bool) string {
	n := int64(len(s))
	if start < 0 {
		start = max(n+start, 0)
	}
	if start > n {
		return ""
	}
	end := n
	if hasLen {
		if length < 0 {
			end = n + length
		} else {
			end = min(start+length, n)
		}
	}
	if end < start {
		return ""
	}
	return s[start:end]
}

func strPad(s string, n int, pad string, mode int64) string {
	if n <= len(s) {
		return s
	}
	total := n - len(s)
	fill := func(k int) string {
		var b strings.Builder
		for b.Len() < k {
			b.WriteString(pad)
		}
		return b.String()[:k]
	}
	switch mode {
	case 0: // STR_PAD_LEFT
		return fill(total) + s
	case 2: // STR_PAD_BOTH
		l := total / 2
		return fill(l) + s + fill(total-l)
	}
	return s + fill(total)
}

// expandCharList turns trim's "a..z" ranges into the characters.
func expandCharList(c string) string {
	if !strings.Contains(c, "..") {
		return c
	}
	var b strings.Builder
	for i := 0; i < len(c); i++ {
		if i+3 < len(c) && c[i+1] == '.' && c[i+2] == '.' && c[i] <= c[i+3] {
			for x := int(c[i]); x <= int(c[i+3]); x++ {
				b.WriteByte(byte(x))
			}
			i += 3
			continue
		}
		b.WriteByte(c[i])
	}
	return b.String()
}

func rot13(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return string(b)
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// decodeBase64 decodes like PHP's non-strict base64_decode: characters
// outside the alphabet are skipped, padding is optional.
func decodeBase64(s string) (string, bool) {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		case c == '-':
			clean = append(clean, '+')
		case c == '_':
			clean = append(clean, '/')
		case c == '=':
			i = len(s)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	out, err := base64.RawStdEncoding.DecodeString(string(clean))
	if err != nil {
		return "", false
	}
	return string(out), true
}

func inflate(r io.ReadCloser, max int) (string, bool) {
	defer r.Close()
	var b bytes.Buffer
	n, err := io.Copy(&b, io.LimitReader(r, int64(max)+1))
	if n > int64(max) {
		return "", false
	}
	if err != nil && b.Len() == 0 {
		return "", false
	}
	return b.String(), true
}

func uudecode(s string) (string, bool) {
	var out []byte
	for _, line := range strings.Split(s, "\n") {
		if line == "" || line == "`" {
			continue
		}
		n := int((line[0] - 32) & 63)
		if n == 0 {
			break
		}
		data := line[1:]
		var chunk []byte
		for i := 0; i+3 < len(data)+1 && len(chunk) < n; i += 4 {
			var c [4]byte
			for j := 0; j < 4; j++ {
				if i+j < len(data) {
					c[j] = (data[i+j] - 32) & 63
				}
			}
			chunk = append(chunk, c[0]<<2|c[1]>>4, c[1]<<4|c[2]>>2, c[2]<<6|c[3])
		}
		if len(chunk) > n {
			chunk = chunk[:n]
		}
		out = append(out, chunk...)
	}
	return string(out), len(out) > 0
}

func (a *analyzer) strReplace(name string, search, rep, subj Value) Value {
	if subj.k == kArray {
		return mix(subj, rep)
	}
	s, ok := subj.toStr()
	if !ok {
		return mix(subj, rep).with(subj.flags & (fChars | fDecoded))
	}
	var pairs [][2]string
	switch {
	case search.k == kArray && search.arr.rest == nil:
		sv := search.arr.values()
		var rv []Value
		if rep.k == kArray {
			if rep.arr.rest != nil {
				return mix(subj, rep).with(subj.flags & (fChars | fDecoded))
			}
			rv = rep.arr.values()
		}
		for i, x := range sv {
			xs, ok := x.toStr()
			if !ok {
				return mix(subj, rep).with(subj.flags & (fChars | fDecoded))
			}
			r := ""
			if rep.k == kArray {
				if i < len(rv) {
					r, ok = rv[i].toStr()
				}
			} else {
				r, ok = rep.toStr()
			}
			if !ok {
				return mix(subj, rep).with(subj.flags & (fChars | fDecoded))
			}
			pairs = append(pairs, [2]string{xs, r})
		}
	default:
		xs, ok1 := search.toStr()
		r, ok2 := rep.toStr()
		if !ok1 || !ok2 {
			return mix(subj, rep).with(subj.flags & (fChars | fDecoded))
		}
		pairs = append(pairs, [2]string{xs, r})
	}
	for _, p := range pairs {
		if p[0] == "" {
			continue
		}
		if name == "str_ireplace" {
			s = replaceFold(s, p[0], p[1])
		} else {
			s = strings.ReplaceAll(s, p[0], p[1])
		}
		if len(s) > a.opts.MaxString {
			return mix(subj, rep)
		}
	}
	v := str(s).with(subj.flags | rep.flags | fBuilt | fChars)
	v.taint = firstTaint(subj.taint, rep.deepTaint())
	return v
}

func replaceFold(s, old, repl string) string {
	lo := strings.ToLower(old)
	var b strings.Builder
	for {
		i := strings.Index(strings.ToLower(s), lo)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s = s[i+len(old):]
	}
}

func (a *analyzer) strtr(v0, v1, v2 Value, n int) Value {
	s, ok := v0.toStr()
	if !ok {
		return mix(v0, v1, v2).with(v0.flags & (fChars | fDecoded))
	}
	if n == 2 {
		if v1.k != kArray || v1.arr.rest != nil {
			return mix(v0, v1).with(v0.flags & (fChars | fDecoded))
		}
		var oldnew []string
		for _, k := range v1.arr.keys {
			r, ok := v1.arr.vals[k].toStr()
			if !ok || k == "" {
				return mix(v0, v1).with(v0.flags & (fChars | fDecoded))
			}
			oldnew = append(oldnew, k, r)
		}
		out := strings.NewReplacer(oldnew...).Replace(s)
		if len(out) > a.opts.MaxString {
			return mix(v0, v1)
		}
		return str(out).with(v0.flags | fBuilt | fChars).withTaint(v0.taint)
	}
	from, ok1 := v1.toStr()
	to, ok2 := v2.toStr()
	if !ok1 || !ok2 {
		return mix(v0, v1, v2).with(v0.flags & (fChars | fDecoded))
	}
	l := min(len(from), len(to))
	var table [256]byte
	for i := range table {
		table[i] = byte(i)
	}
	for i := 0; i < l; i++ {
		table[from[i]] = to[i]
	}
	b := []byte(s)
	for i, c := range b {
		b[i] = table[c]
	}
	return str(string(b)).with(v0.flags | fBuilt | fChars | fDecoded).withTaint(v0.taint)
}

func (a *analyzer) implode(v0, v1 Value, n int) Value {
	glue, arr := v0, v1
	if n == 1 || v0.k == kArray {
		glue, arr = str(""), v0
		if n > 1 && v1.k == kStr {
			glue = v1
		}
	}
	g, ok := glue.toStr()
	if arr.k != kArray || !ok || arr.arr.rest != nil || arr.arr.partial {
		v := mix(arr, glue).with(fBuilt)
		if arr.k == kArray {
			v.flags |= arr.arr.flags() &^ fHidden
		}
		return v
	}
	var b strings.Builder
	var flags flag
	var t *taint
	for i, e := range arr.arr.values() {
		s, ok := e.toStr()
		if !ok {
			v := mix(arr).with(fBuilt | arr.arr.flags())
			return v
		}
		if i > 0 {
			b.WriteString(g)
		}
		b.WriteString(s)
		flags |= e.flags
		t = firstTaint(t, e.taint)
		if b.Len() > a.opts.MaxString {
			return mix(arr)
		}
	}
	v := str(b.String()).with(flags | fBuilt)
	v.taint = t
	return v
}

// sprintf formats %s %d %u %c %x %X %o %b %e %f %% with flags, width
// and argnum ("%1$s"), as PHP does for the strings that matter.
func (a *analyzer) sprintf(format Value, args []Value) Value {
	f, ok := format.toStr()
	if !ok {
		return a.sprintfUnknown(format, args)
	}
	var b strings.Builder
	var flags flag = fBuilt
	var t *taint
	next := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(f) {
			break
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		j := i
		argn := -1
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		if j < len(f) && f[j] == '$' && j > i {
			n, _ := strconv.Atoi(f[i:j])
			argn = n - 1
			i = j + 1
		}
		spec := i
		for i < len(f) && strings.IndexByte("-+ 0'.0123456789", f[i]) >= 0 {
			if f[i] == '\'' {
				i++
			}
			i++
		}
		if i >= len(f) {
			break
		}
		verb := f[i]
		idx := argn
		if idx < 0 {
			idx = next
			next++
		}
		if idx >= len(args) {
			return a.sprintfUnknown(format, args)
		}
		v := args[idx]
		flags |= v.flags
		t = firstTaint(t, v.deepTaint())
		goSpec := strings.ReplaceAll(f[spec:i], "'", "")
		switch verb {
		case 's':
			s, ok := v.toStr()
			if !ok {
				return a.sprintfUnknown(format, args)
			}
			b.WriteString(fmt.Sprintf("%"+goSpec+"s", s))
		case 'd', 'u':
			n, ok := v.toInt()
			if !ok {
				return a.sprintfUnknown(format, args)
			}
			b.WriteString(fmt.Sprintf("%"+goSpec+"d", n))
		case 'c':
			n, ok := v.toInt()
			if !ok {
				return a.sprintfUnknown(format, args)
			}
			b.WriteByte(byte(n))
			flags |= fChars
		case 'x', 'X', 'o', 'b':
			n, ok := v.toInt()
			if !ok {
				return a.sprintfUnknown(format, args)
			}
			b.WriteString(fmt.Sprintf("%"+goSpec+string(verb), n))
		default:
			return a.sprintfUnknown(format, args)
		}
		if b.Len() > a.opts.MaxString {
			return a.sprintfUnknown(format, args)
		}
	}
	v := str(b.String()).with(flags)
	v.taint = t
	return v
}

// sprintfUnknown is a sprintf whose result is not known: it starts with
// the format's text before its first verb.
func (a *analyzer) sprintfUnknown(format Value, args []Value) Value {
	v := mix(append(args, format)...).with(fBuilt)
	if f, ok := format.toStr(); ok {
		if i := strings.IndexByte(f, '%'); i != 0 {
			if i < 0 {
				i = len(f)
			}
			v.pre = f[:i]
		}
	}
	return v
}

// pack handles the formats obfuscators use: H* and h* (hex), C* and c*
// (bytes), a* and A* (strings).
func (a *analyzer) pack(format Value, args []Value) Value {
	f, ok := format.toStr()
	if !ok || f == "" {
		return mix(args...).with(fDecoded | fChars)
	}
	var out []byte
	ai := 0
	for i := 0; i < len(f); i++ {
		code := f[i]
		count := 1
		star := false
		j := i + 1
		if j < len(f) && f[j] == '*' {
			star = true
			j++
		} else {
			k := j
			for k < len(f) && f[k] >= '0' && f[k] <= '9' {
				k++
			}
			if k > j {
				count, _ = strconv.Atoi(f[j:k])
			}
			j = k
		}
		i = j - 1
		switch code {
		case 'H', 'h', 'a', 'A':
			if ai >= len(args) {
				return mix(args...).with(fDecoded | fChars)
			}
			s, ok := args[ai].toStr()
			ai++
			if !ok {
				return mix(args...).with(fDecoded | fChars)
			}
			switch code {
			case 'H', 'h':
				if !star && count*1 < len(s) {
					s = s[:count]
				}
				if len(s)%2 == 1 {
					s += "0"
				}
				if code == 'h' {
					b := []byte(s)
					for k := 0; k+1 < len(b); k += 2 {
						b[k], b[k+1] = b[k+1], b[k]
					}
					s = string(b)
				}
				d, err := hex.DecodeString(s)
				if err != nil {
					return mix(args...).with(fDecoded | fChars)
				}
				out = append(out, d...)
			default:
				if !star && count < len(s) {
					s = s[:count]
				}
				out = append(out, s...)
			}
		case 'C', 'c':
			n := count
			if star {
				n = len(args) - ai
			}
			for k := 0; k < n; k++ {
				if ai >= len(args) {
					return mix(args...).with(fDecoded | fChars)
				}
				v, ok := args[ai].toInt()
				ai++
				if !ok {
					return mix(args...).with(fDecoded | fChars)
				}
				out = append(out, byte(v))
			}
		default:
			return mix(args...).with(fDecoded | fChars)
		}
		if len(out) > a.opts.MaxString {
			return mix(args...)
		}
	}
	return str(string(out)).with(fDecoded | fChars)
}

func (a *analyzer) rangeOf(lo, hi, step Value, hasStep bool) Value {
	st := int64(1)
	if hasStep {
		s, ok := step.toInt()
		if !ok || s == 0 {
			return arrayOf(Value{})
		}
		st = max(s, -s)
	}
	arr := newArray()
	if lo.k == kStr && hi.k == kStr && len(lo.s) == 1 && len(hi.s) == 1 && !isNumeric(lo.s) {
		x, y := int64(lo.s[0]), int64(hi.s[0])
		if x <= y {
			for c := x; c <= y; c += st {
				arr.push(str(string([]byte{byte(c)})))
			}
		} else {
			for c := x; c >= y; c -= st {
				arr.push(str(string([]byte{byte(c)})))
			}
		}
		return Value{k: kArray, arr: arr}
	}
	x, ok1 := lo.toInt()
	y, ok2 := hi.toInt()
	if !ok1 || !ok2 || (y-x)/st > maxArray || (x-y)/st > maxArray {
		return arrayOf(Value{})
	}
	if x <= y {
		for c := x; c <= y; c += st {
			arr.push(integer(c))
		}
	} else {
		for c := x; c >= y; c -= st {
			arr.push(integer(c))
		}
	}
	return Value{k: kArray, arr: arr}
}

// arrayFn handles the array functions folding needs; what it cannot
// compute keeps every element's taint and flags.
func (a *analyzer) arrayFn(name string, vals []Value) Value {
	all := true
	for _, v := range vals {
		if v.k == kArray && (v.arr.rest != nil || v.arr.partial) {
			all = false
		}
	}
	if len(vals) == 0 {
		return Value{k: kArray, arr: newArray()}
	}
	v0 := vals[0]
	if all && v0.k == kArray {
		switch name {
		case "array_values", "array_unique":
			arr := newArray()
			seen := map[string]bool{}
			for _, e := range v0.arr.values() {
				if name == "array_unique" {
					if s, ok := e.toStr(); ok {
						if seen[s] {
							continue
						}
						seen[s] = true
					}
				}
				arr.push(e)
			}
			return Value{k: kArray, arr: arr}
		case "array_keys":
			arr := newArray()
			for _, k := range v0.arr.keys {
				arr.push(keyValue(k))
			}
			return Value{k: kArray, arr: arr}
		case "array_flip":
			arr := newArray()
			for _, k := range v0.arr.keys {
				if kk, ok := arrayKey(v0.arr.vals[k]); ok {
					arr.set(kk, keyValue(k))
				}
			}
			return Value{k: kArray, arr: arr}
		case "array_merge":
			arr := newArray()
			for _, v := range vals {
				if v.k != kArray {
					return mixArrays(vals)
				}
				for _, k := range v.arr.keys {
					if _, err := strconv.Atoi(k); err == nil {
						arr.push(v.arr.vals[k])
					} else {
						arr.set(k, v.arr.vals[k])
					}
				}
			}
			return Value{k: kArray, arr: arr}
		case "array_slice":
			off, ok := vals[min(1, len(vals)-1)].toInt()
			if !ok || len(vals) < 2 {
				return mixArrays(vals)
			}
			vs := v0.arr.values()
			n := int64(len(vs))
			length := n
			if len(vals) > 2 && vals[2].k != kNull {
				if l, ok := vals[2].toInt(); ok {
					length = l
				}
			}
			if off < 0 {
				off = max(n+off, 0)
			}
			end := n
			if length < 0 {
				end = n + length
			} else {
				end = min(off+length, n)
			}
			arr := newArray()
			for i := off; i < end && i < n; i++ {
				arr.push(vs[i])
			}
			return Value{k: kArray, arr: arr}
		case "array_combine":
			if len(vals) > 1 && vals[1].k == kArray {
				ks, vs := v0.arr.values(), vals[1].arr.values()
				if len(ks) == len(vs) {
					arr := newArray()
					for i := range ks {
						if k, ok := arrayKey(ks[i]); ok {
							arr.set(k, vs[i])
						}
					}
					return Value{k: kArray, arr: arr}
				}
			}
		}
	}
	return mixArrays(vals)
}

func mixArrays(vals []Value) Value {
	var rest Value
	first := true
	for _, v := range vals {
		var e Value
		if v.k == kArray {
			for i, x := range v.arr.values() {
				if i == 0 {
					e = x
				} else {
					e = join(e, x)
				}
			}
			e = e.withTaint(v.taint)
		} else {
			e = mix(v)
		}
		if first {
			rest, first = e, false
		} else {
			rest = join(rest, e)
		}
	}
	return arrayOf(rest)
}

// pregModifiers returns the modifiers after a PCRE pattern's closing
// delimiter.
func pregModifiers(p string) string {
	p = strings.TrimLeft(p, " \t\r\n")
	if p == "" {
		return ""
	}
	open := p[0]
	close := open
	switch open {
	case '(':
		close = ')'
	case '{':
		close = '}'
	case '[':
		close = ']'
	case '<':
		close = '>'
	}
	end := strings.LastIndexByte(p, close)
	if end <= 0 {
		return ""
	}
	return p[end+1:]
}

// pregReplaceString runs a PCRE replacement with Go's regexp when the
// pattern means the same there.
func pregReplaceString(pat, rep, subj string, maxLen int) (string, bool) {
	pat = strings.TrimLeft(pat, " \t\r\n")
	if len(pat) < 2 {
		return "", false
	}
	mods := pregModifiers(pat)
	open := pat[0]
	end := len(pat) - len(mods) - 1
	if end <= 0 {
		return "", false
	}
	body := pat[1:end]
	_ = open
	var goFlags string
	for _, m := range mods {
		switch m {
		case 'i', 'm', 's', 'U':
			goFlags += string(m)
		case 'x', 'u', 'D', 'S':
		default:
			return "", false
		}
	}
	if goFlags != "" {
		body = "(?" + goFlags + ")" + body
	}
	re, err := regexp.Compile(body)
	if err != nil {
		return "", false
	}
	goRep := pregBackref.ReplaceAllString(strings.ReplaceAll(rep, "$$", "$$$$"), "$${$1$2$3}")
	out := re.ReplaceAllString(subj, goRep)
	if len(out) > maxLen {
		return "", false
	}
	return out, true
}

var pregBackref = regexp.MustCompile(`\\(\d{1,2})|\$\{(\d{1,2})\}|\$(\d{1,2})`)
