package phpscan

import (
	"bytes"
)

// The analysis is costly; most PHP cannot give a finding at all. Code with
// none of these tokens has no request input, nothing decoded, nothing
// fetched and no dangerous command text, so every rule is silent on it:
// such a file (and such a function) is not interpreted. The tokens are
// looked up without regard to case.
var relevantTokens = tokens(
	// request input, and the ways to name it indirectly
	"$_get", "$_post", "$_request", "$_cookie", "$_files", "$http_", "globals['_", `globals["_`, "${", "$$",
	"$_server['http_", `$_server["http_`, "$_server['query", `$_server["query`, "$_server['request_uri",
	`$_server["request_uri`, "$_server['path_info", `$_server["path_info`, "$_server['php_self", `$_server["php_self`,
	"$_server[$", "getallheaders", "request_headers", "php://input", "'php:'", `"php:"`, "getenv('http",
	`getenv("http`, "getenv($", "filter_input", "get_defined_vars", "import_request",
	// code run from a string, and names split into pieces with empty
	// strings between ('n'.''.'o')
	"create_function", "''.''", `"".""`,
	// network input: a socket (an IRC bot's commands), curl
	"sockopen", "socket_create", "stream_socket_client", "curl_exec",
	// command text a shell runs as is, and programs dropped
	"/dev/tcp", "/dev/udp", "wget", "mkfifo", "bash -i", "sh -i", "nc -", "/bin/sh", "/bin/bash", "cmd.exe",
	"crontab", "ld_preload", "\\x7felf", "\\x7f\\x45\\x4c\\x46", "wscript.shell",
)

// weakTokens matter only with something that acts on what they give:
// decoders and transforms (what they decode must be run, written or
// called), URLs (what they fetch must be run or written).
var weakTokens = tokens(
	"base64_decode", "gzinflate", "gzuncompress", "gzdecode", "zlib_decode", "bzdecompress", "str_rot13",
	"strrev", "hex2bin", "uudecode", "pack(", "chr(", "urldecode", "strtr", "entity_decode", "_decrypt",
	"'http", `"http`, "'ftp:", `"ftp:`,
)

// actionTokens run, write or call what weakTokens give; a call through a
// variable ($f(…)) counts too.
var actionTokens = tokens(
	"system", "exec(", "passthru", "popen", "proc_open", "pcntl_exec", "`", "include", "require",
	"call_user_func", "preg_replace", "file_put_contents", "fwrite", "fputs", "copy(", "array_map",
	"array_filter", "array_walk", "usort", "uasort", "uksort", "register_shutdown_function", "ob_start",
	"invoke", "reflectionfunction", "mail(", "eval", "assert",
)

func tokens(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, t := range s {
		out[i] = []byte(t)
	}
	return out
}

// relevant reports whether src holds any of relevantTokens, or a long
// run of base64 (a payload an obfuscator decodes with functions whose
// names it builds, so that no token above appears).
func relevant(src []byte) bool {
	if relevantSet.find(src) >= 0 || hasBase64Run(src, minPayloadRun) || callsEval(src) {
		return true
	}
	return weakSet.find(src) >= 0 && (actionSet.find(src) >= 0 || hasVariableCall(src))
}

// callsEval finds eval or assert called: the name on its own, then
// spaces, line breaks or comments, then "(" (eval /* x */ (…) counts).
func callsEval(s []byte) bool {
	for from := 0; from < len(s); {
		i := evalSet.find(s[from:])
		if i < 0 {
			return false
		}
		i += from
		from = i + 1
		if i > 0 && isIdentByte(s[i-1]) {
			continue
		}
		j := i
		for j < len(s) && isIdentByte(s[j]) {
			j++
		}
		if n := j - i; n != 4 && n != 6 { // "eval", "assert"
			continue
		}
		j = skipSpaceAndComments(s, j)
		if j < len(s) && s[j] == '(' {
			return true
		}
	}
	return false
}

var evalSet = newTokenSet(tokens("eval", "assert"))

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

// hasVariableCall finds a call through a variable: $name(.
func hasVariableCall(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9' || s[j] >= 0x80) {
			j++
		}
		if j == i+1 {
			continue
		}
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j < len(s) && s[j] == '(' {
			return true
		}
		i = j - 1
	}
	return false
}

// minPayloadRun is the shortest run of base64 characters taken for an
// encoded payload.
const minPayloadRun = 400

// hasBase64Run reports whether s holds n base64 characters in a row.
func hasBase64Run(s []byte, n int) bool {
	run := 0
	for _, c := range s {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
			run++
			if run >= n {
				return true
			}
			continue
		}
		run = 0
	}
	return false
}

var (
	relevantSet = newTokenSet(relevantTokens)
	weakSet     = newTokenSet(weakTokens)
	actionSet   = newTokenSet(actionTokens)
)

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
	child := func(n int32, c byte) int32 {
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
	for _, tok := range tokens {
		n := int32(0)
		for _, c := range bytes.ToLower(tok) {
			n = child(n, c)
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
			c := s[j]
			if c >= 'A' && c <= 'Z' {
				c += 32
			}
			next := int32(0)
			for _, e := range t.nodes[n].next {
				if e.c == c {
					next = e.node
					break
				}
			}
			if next == 0 {
				break
			}
			n = next
		}
	}
	return -1
}
