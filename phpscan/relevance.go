package phpscan

import (
	"bytes"
	"sort"
	"strings"
)

// The analysis is costly; most PHP cannot give a finding at all. Code with
// none of these tokens has no request input, nothing decoded, nothing
// fetched and no dangerous command text, so every rule is silent on it:
// such a file (and such a function) is not interpreted. The tokens are
// looked up without regard to case.
var relevantTokens = tokens(
	// code run from a string (preg_replace's /e modifier), and names
	// split into pieces with empty strings between ('n'.''.'o')
	"create_function", "''.''", `"".""`, "${'", `${"`, "${$",
	// request input named another way
	"getallheaders(", "apache_request_headers(", "php://input", "'php:'", `"php:"`, "getenv('http", `getenv("http`,
	"getenv($", "filter_input", "get_defined_vars(", "import_request_variables",
	// a remote include
	"include 'http", `include "http`, "include('http", `include("http`, "include ('http", `include ("http`,
	"include_once 'http", `include_once "http`, "include_once('http", `include_once("http`,
	"require 'http", `require "http`, "require('http", `require("http`, "require ('http", `require ("http`,
	"require_once 'http", `require_once "http`, "require_once('http", `require_once("http`,
	// network input: a socket (an IRC bot's commands), curl
	"fsockopen(", "socket_create(", "stream_socket_client(", "curl_exec(",
	// command text a shell runs as is, and programs dropped
	"/dev/tcp", "/dev/udp", "wget ", "mkfifo", "bash -i", "sh -i", "nc -", "/bin/sh", "/bin/bash", "cmd.exe /c",
	"cmd /c", "crontab", "ld_preload", "\\x7felf", "\\x7f\\x45\\x4c\\x46", "wscript.shell",
)

// requestTokens name the request arrays. PHP's variable names and array
// keys are case-sensitive, so these match only as written: $_post is a
// variable of its own (WordPress has one), $HTTP_TEST_X a constant-like
// name.
var requestTokens = tokens(
	"$_GET", "$_POST", "$_REQUEST", "$_COOKIE", "$_FILES", "$HTTP_GET_VARS", "$HTTP_POST_VARS",
	"$HTTP_COOKIE_VARS", "$HTTP_POST_FILES", "$HTTP_SERVER_VARS", "$HTTP_RAW_POST_DATA",
	"$_SERVER['HTTP_", `$_SERVER["HTTP_`, "$_SERVER['QUERY_STRING", `$_SERVER["QUERY_STRING`,
	"$_SERVER['PATH_INFO", `$_SERVER["PATH_INFO`, "$_SERVER[$", "GLOBALS['_", `GLOBALS["_`,
)

// weakTokens matter only with something that acts on what they give:
// decoders and transforms (what they decode must be run, written or
// called), URLs (what they fetch must be run or written).
var weakTokens = tokens(
	"$$", // a variable variable: $$name
	"base64_decode", "gzinflate", "gzuncompress", "gzdecode", "zlib_decode", "bzdecompress", "str_rot13",
	"strrev", "hex2bin", "uudecode", "pack(", "chr(", "urldecode", "strtr", "entity_decode", "_decrypt",
	"'http", `"http`, "'ftp:", `"ftp:`,
)

// actionTokens run, write or call what weakTokens give; a call through a
// variable ($f(…)) counts too. Not include, require or a bare "eval": real
// libraries with a base64_decode() or a URL include their files, and the
// words appear in comments (eval and assert called are relevant on their
// own, see callFollows). Not backticks either: SQL quotes names with them.
var actionTokens = tokens(
	"system(", "shell_exec", "passthru", "popen(", "proc_open", "pcntl_exec", "create_function",
	"call_user_func", "register_shutdown_function", "ob_start", "reflectionfunction", "file_put_contents",
	"fwrite", "fputs", "copy(",
	// the page's identity, which an SEO relay sends to the URL it fetches
	"$_server['server_name", `$_server["server_name`, "$_server['php_self", `$_server["php_self`,
	"$_server['request_uri", `$_server["request_uri`, "$_server['http_host", `$_server["http_host`,
)

func tokens(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, t := range s {
		out[i] = []byte(t)
	}
	return out
}

// Token classes the prefilter records.
const (
	clsSource uint8 = 1 << iota // relevantTokens, a base64 run, eval( or assert(
	clsWeak                     // weakTokens
	clsAction                   // actionTokens, or a call through a variable
	clsEval                     // "eval" or "assert": a call when "(" follows
	clsPreg                     // "preg_replace": code run when its pattern has /e
	clsExact                    // a requestToken: a source only as written
)

// relevant reports whether src holds any of relevantTokens, eval or
// assert called, a long run of base64 (a payload an obfuscator decodes with
// functions whose names it builds, so that no token appears), or a weak
// token with an action.
func relevant(src []byte) bool {
	mask, _ := prefilter.scan(src, false)
	return relevantMask(mask)
}

func relevantMask(mask uint8) bool {
	return mask&clsSource != 0 || mask&clsWeak != 0 && mask&clsAction != 0
}

// tokenHit is one token found, for the relevance of a function's body.
type tokenHit struct {
	pos   int
	class uint8
}

// prefilterSet is every token of the prefilter with its classes.
type prefilterSet struct {
	*tokenSet
	class []uint8 // by trie node
	// second maps the first two bytes (any case) straight to the node
	// below them, 0 for none: most positions of a file end there.
	second []int32
	// exact is, for a requestToken's node, the token as it must be
	// written.
	exact [][]byte
}

var prefilter = newPrefilter()

func newPrefilter() *prefilterSet {
	var all [][]byte
	classOf := map[string]uint8{}
	add := func(toks [][]byte, c uint8) {
		for _, t := range toks {
			k := string(bytes.ToLower(t))
			if classOf[k] == 0 {
				all = append(all, t)
			}
			classOf[k] |= c
		}
	}
	add(relevantTokens, clsSource)
	add(requestTokens, clsExact)
	add(weakTokens, clsWeak)
	add(actionTokens, clsAction)
	add(tokens("eval", "assert"), clsEval)
	add(tokens("preg_replace"), clsPreg)
	ts := newTokenSet(all)
	p := &prefilterSet{tokenSet: ts, class: make([]uint8, len(ts.nodes)), exact: make([][]byte, len(ts.nodes))}
	for k, c := range classOf {
		n := int32(0)
		for _, b := range []byte(k) {
			n = ts.child(n, b)
		}
		p.class[n] = c
	}
	for _, t := range requestTokens {
		n := int32(0)
		for _, b := range t {
			n = ts.step(n, b)
		}
		p.exact[n] = t
	}
	p.second = make([]int32, 1<<16)
	for b0 := 0; b0 < 256; b0++ {
		n1 := ts.root[b0]
		if n1 == 0 {
			continue
		}
		for b1 := 0; b1 < 256; b1++ {
			p.second[b0<<8|b1] = ts.step(n1, byte(b1))
		}
	}
	return p
}

// base64Byte is the alphabet of a base64 run.
var base64Byte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isBase64Byte(byte(c))
	}
	return t
}()

// scan runs over src once and returns the classes of the tokens found,
// and, with keep, every hit with its position.
func (p *prefilterSet) scan(src []byte, keep bool) (mask uint8, hits []tokenHit) {
	hit := func(pos int, c uint8) {
		mask |= c
		if keep {
			hits = append(hits, tokenHit{pos, c})
		}
	}
	run := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		if base64Byte[c] {
			run++
			if run == minPayloadRun {
				hit(i, clsSource)
			}
		} else {
			run = 0
		}
		if c == '$' && (keep || mask&clsAction == 0) {
			if j := variableCallEnd(src, i); j > 0 {
				hit(i, clsAction)
			}
		}
		n := p.root[c]
		if n == 0 {
			continue
		}
		if cl := p.class[n] &^ (clsEval | clsPreg | clsExact); cl != 0 { // a one-byte token
			hit(i, cl)
		}
		if i+1 >= len(src) {
			continue
		}
		if n = p.second[int(c)<<8|int(src[i+1])]; n == 0 {
			continue
		}
		for j := i + 2; ; j++ {
			if cl := p.class[n]; cl != 0 {
				if cl&clsExact != 0 && bytes.Equal(src[i:j], p.exact[n]) {
					cl |= clsSource
				}
				if cl&clsEval != 0 && callFollows(src, i, j) {
					if j-i == 4 { // eval(
						cl |= clsSource
					} else { // assert(: real code asserts, a shell asserts a payload
						cl |= clsAction
					}
				}
				if cl&clsPreg != 0 && evalModifierFollows(src, j) {
					cl |= clsSource
				}
				if cl &^= clsEval | clsPreg | clsExact; cl != 0 {
					hit(i, cl)
				}
			}
			if j >= len(src) {
				break
			}
			if n = p.step(n, src[j]); n == 0 {
				break
			}
		}
		if !keep && mask&clsSource != 0 {
			return mask, nil // relevant: the rest does not matter
		}
	}
	return mask, hits
}

// maskIn is the classes of the hits within [from, to).
func maskIn(hits []tokenHit, from, to int) uint8 {
	i := sort.Search(len(hits), func(i int) bool { return hits[i].pos >= from })
	var mask uint8
	for ; i < len(hits) && hits[i].pos < to; i++ {
		mask |= hits[i].class
	}
	return mask
}

// evalModifierFollows reports whether the call after "preg_replace" at j
// starts with a literal pattern whose modifiers hold "e" (code run for
// each match: preg_replace("~(.*)~ies", $code, …)).
func evalModifierFollows(src []byte, j int) bool {
	k := skipSpaceAndComments(src, j)
	if k >= len(src) || src[k] != '(' {
		return false
	}
	k = skipSpaceAndComments(src, k+1)
	if k+2 >= len(src) || src[k] != '\'' && src[k] != '"' {
		return false
	}
	quote := src[k]
	end := bytes.IndexByte(src[k+1:min(len(src), k+1+512)], quote)
	if end < 2 {
		return false
	}
	return strings.Contains(pregModifiers(string(src[k+1:k+1+end])), "e")
}

// callFollows reports whether the name src[i:j] ("eval", "assert") stands
// alone and is called: spaces, line breaks or comments, then "(".
func callFollows(src []byte, i, j int) bool {
	if i > 0 && isIdentByte(src[i-1]) || j < len(src) && isIdentByte(src[j]) {
		return false
	}
	k := skipSpaceAndComments(src, j)
	return k < len(src) && src[k] == '('
}

func isBase64Byte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// minPayloadRun is the shortest run of base64 characters taken for an
// encoded payload.
const minPayloadRun = 400

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// skipSpaceAndComments skips white space and /* */ comments from i.
func skipSpaceAndComments(s []byte, i int) int {
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r':
			i++
		case s[i] == '/' && i+1 < len(s) && s[i+1] == '*':
			end := bytes.Index(s[i+2:], []byte("*/"))
			if end < 0 {
				return len(s)
			}
			i += end + 4
		default:
			return i
		}
	}
	return i
}

// variableCallEnd is the position after "$name(" starting at i, or 0.
func variableCallEnd(s []byte, i int) int {
	j := i + 1
	for j < len(s) && isIdentByte(s[j]) {
		j++
	}
	if j == i+1 {
		return 0
	}
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	if j < len(s) && s[j] == '(' {
		return j + 1
	}
	return 0
}

// tokenSet finds any of a few dozen lower-case tokens in a text, ignoring
// its case, in one pass: a trie walked from each position, with the root's
// children in a table so that most positions cost one lookup.
type tokenSet struct {
	root  [256]int32 // child of the root by byte, 0 for none
	nodes []trieNode
}

type trieNode struct {
	next  []trieEdge
	final bool
}

type trieEdge struct {
	c    byte
	node int32
}

func newTokenSet(tokens [][]byte) *tokenSet {
	t := &tokenSet{nodes: []trieNode{{}}}
	for _, tok := range tokens {
		n := int32(0)
		for _, c := range bytes.ToLower(tok) {
			n = t.child(n, c)
		}
		t.nodes[n].final = true
	}
	for _, e := range t.nodes[0].next {
		t.root[e.c] = e.node
		if e.c >= 'a' && e.c <= 'z' {
			t.root[e.c-32] = e.node
		}
	}
	return t
}

// child is the node below n by byte c, made when missing.
func (t *tokenSet) child(n int32, c byte) int32 {
	for _, e := range t.nodes[n].next {
		if e.c == c {
			return e.node
		}
	}
	t.nodes = append(t.nodes, trieNode{})
	id := int32(len(t.nodes) - 1)
	t.nodes[n].next = append(t.nodes[n].next, trieEdge{c, id})
	return id
}

// step is the node below n by byte b (any case), 0 for none.
func (t *tokenSet) step(n int32, b byte) int32 {
	if b >= 'A' && b <= 'Z' {
		b += 32
	}
	for _, e := range t.nodes[n].next {
		if e.c == b {
			return e.node
		}
	}
	return 0
}

// find returns the position of the first token in s, -1 when none.
func (t *tokenSet) find(s []byte) int {
	for i := 0; i < len(s); i++ {
		n := t.root[s[i]]
		if n == 0 {
			continue
		}
		for j := i + 1; ; j++ {
			if t.nodes[n].final {
				return i
			}
			if j >= len(s) {
				break
			}
			if n = t.step(n, s[j]); n == 0 {
				break
			}
		}
	}
	return -1
}
