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
	"fsockopen(", "pfsockopen(", "socket_create(", "stream_socket_client(", "curl_exec(",
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
	clsNear                     // a weak token and an action within nearWindow bytes
)

// relevant reports whether src holds any of relevantTokens, eval or
// assert called, a long run of base64 (a payload an obfuscator decodes with
// functions whose names it builds, so that no token appears), or a weak
// token with an action less than nearWindow bytes away.
func relevant(src []byte) bool {
	mask, _ := prefilter.scan(src, false)
	return fileRelevant(mask)
}

// fileRelevant is relevant for the classes a file's scan found.
func fileRelevant(mask uint8) bool {
	return mask&(clsSource|clsNear) != 0
}

// relevantMask is relevant for the classes found in a body (a function,
// method or closure of a relevant file): a weak token and an action
// anywhere in it.
func relevantMask(mask uint8) bool {
	return mask&clsSource != 0 || mask&clsWeak != 0 && mask&clsAction != 0
}

// nearWindow is how close a weak token and an action must stand for a
// file without a source to be analysed. Code that decodes or fetches and
// runs or writes what it got does it in a few lines: in both webshell
// folders the farthest such pair is 376 bytes apart. A library with a URL
// in one method and fwrite( in another is not analysed for that; this
// takes 8.8 MB of the 14.2 MB such files weigh off the Debian tree.
const nearWindow = 1024

// tokenHit is one token found, for the relevance of a function's body.
type tokenHit struct {
	pos   int
	class uint8
}

// prefilterSet is every token of the prefilter with its classes.
type prefilterSet struct {
	*matcher
	class []uint8 // by token
	// exact is, for a requestToken, the token as it must be written.
	exact [][]byte
	// word is set for a token that names a function: it counts only as
	// a word of its own, and not as a method (mycopy(), $x->copy() and
	// $this->assert() are not copy() or assert()).
	word []bool
}

// fragments are tokens that name the end of functions as well:
// html_entity_decode, rawurldecode, convert_uudecode.
var fragments = map[string]bool{"entity_decode": true, "urldecode": true, "uudecode": true}

var prefilter = newPrefilter()

func newPrefilter() *prefilterSet {
	p := &prefilterSet{}
	var all [][]byte
	index := map[string]int{}
	add := func(toks [][]byte, c uint8) {
		for _, t := range toks {
			k := string(bytes.ToLower(t))
			i, ok := index[k]
			if !ok {
				i = len(all)
				index[k] = i
				all = append(all, t)
				p.class = append(p.class, 0)
				p.exact = append(p.exact, nil)
				p.word = append(p.word, t[0] >= 'a' && t[0] <= 'z' && !fragments[k])
			}
			p.class[i] |= c
			if c == clsExact {
				p.exact[i] = t
			}
		}
	}
	add(relevantTokens, clsSource)
	add(requestTokens, clsExact)
	add(weakTokens, clsWeak)
	add(actionTokens, clsAction)
	add(tokens("eval", "assert"), clsEval)
	add(tokens("preg_replace"), clsPreg)
	p.matcher = newMatcher(all)
	return p
}

// base64Len adds one to a run of base64 bytes, 0 ends it.
var base64Len = func() (t [256]int) {
	for c := 0; c < 256; c++ {
		if isBase64Byte(byte(c)) {
			t[c] = 1
		}
	}
	return t
}()

// scan runs over src once and returns the classes of the tokens found,
// and, with keep, every hit with its position.
func (p *prefilterSet) scan(src []byte, keep bool) (mask uint8, hits []tokenHit) {
	lastWeak, lastAction := -nearWindow-1, -nearWindow-1
	hit := func(pos int, c uint8) {
		mask |= c
		if c&clsWeak != 0 {
			if pos-lastAction <= nearWindow {
				mask |= clsNear
			}
			lastWeak = pos
		}
		if c&clsAction != 0 {
			if pos-lastWeak <= nearWindow {
				mask |= clsNear
			}
			lastAction = pos
		}
		if keep {
			hits = append(hits, tokenHit{pos, c})
		}
	}
	m := p.matcher
	st, run := uint32(0), 0
	for i, c := range src {
		run = (run + 1) * base64Len[c]
		if run == minPayloadRun {
			hit(i, clsSource)
		}
		if c == '$' {
			if j := variableCallEnd(src, i); j > 0 {
				hit(i, clsAction)
			}
		}
		st = m.next[st+uint32(m.class[c])]
		if st&outBit == 0 {
			continue
		}
		st &^= outBit
		for _, t := range m.outs[st/m.width] {
			end := i + 1
			start := end - m.lens[t]
			if p.word[t] && !wordStart(src, start) {
				continue
			}
			cl := p.class[t]
			if cl&clsExact != 0 && bytes.Equal(src[start:end], p.exact[t]) {
				cl |= clsSource
			}
			if cl&clsEval != 0 && callFollows(src, start, end) {
				if end-start == 4 { // eval(
					cl |= clsSource
				} else { // assert(: real code asserts, a shell asserts a payload
					cl |= clsAction
				}
			}
			if cl&clsPreg != 0 && evalModifierFollows(src, end) {
				cl |= clsSource
			}
			if cl &^= clsEval | clsPreg | clsExact; cl != 0 {
				hit(start, cl)
			}
		}
		if !keep && fileRelevant(mask) {
			return mask, nil // relevant: the rest does not matter
		}
	}
	if keep {
		// Tokens are found where they end: order the hits by start.
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].pos < hits[j].pos })
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

// wordStart reports whether a name starting at i is a word of its own and
// not a method or a static method: no identifier byte, "->" or "::"
// before it (spaces between allowed).
func wordStart(src []byte, i int) bool {
	if i > 0 && isIdentByte(src[i-1]) {
		return false
	}
	j := i - 1
	for j >= 0 && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n' || src[j] == '\r') {
		j--
	}
	return j < 1 || !(src[j] == '>' && src[j-1] == '-' || src[j] == ':' && src[j-1] == ':')
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
