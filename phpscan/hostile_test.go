package phpscan

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Hostile input must end with a result (findings or a note that the
// budget ran out), never a crash or a hang; the test's own timeout catches
// a hang, and no test here asserts how long anything takes.
func TestHostileInput(t *testing.T) {
	nested := func(open, close string, n int) string {
		return strings.Repeat(open, n) + "1" + strings.Repeat(close, n)
	}
	cases := []struct {
		name string
		src  string
	}{
		{"deep parentheses", "<?php $x = " + nested("(", ")", 100000) + ";"},
		{"deep concatenation", "<?php $x = 'a'" + strings.Repeat(" . 'a'", 200000) + "; eval($_POST['x']);"},
		{"deep arrays", "<?php $x = " + nested("[", "]", 50000) + ";"},
		{"deep ifs", "<?php " + strings.Repeat("if ($_GET['a']) { ", 5000) + "system($_GET['c']);" + strings.Repeat(" }", 5000)},
		{"deep calls", "<?php " + strings.Repeat("f(", 20000) + "$_GET['x']" + strings.Repeat(")", 20000) + ";"},
		{"10 MiB one line", "<?php $a = '" + strings.Repeat("A", 10<<20) + "'; eval($_POST['z']);"},
		{"invalid UTF-8", "<?php $\xff\xfe = $_GET['\xc3\x28']; system($\xff\xfe); // \xed\xa0\x80"},
		{"binary with open tag", string(bytes.Repeat([]byte{0, 0xff, 0x89, 'P', 'N', 'G'}, 50000)) + "<?php system($_GET['c']); ?>" + string(bytes.Repeat([]byte{0}, 1000))},
		{"unterminated string", "<?php $a = 'abc; system($_GET['c']);"},
		{"unterminated heredoc", "<?php $a = <<<EOT\nabc {$_GET['x']}\n system($_GET['c']);"},
		{"unterminated block", "<?php function f() { if (1) { system($_GET['c']);"},
		{"endless loop", "<?php while (true) { $i++; } system($_GET['c']);"},
		{"endless recursion", "<?php function f($x) { return f($x . 'a'); } eval(f($_GET['x']));"},
		{"mutual recursion", "<?php function f($x) { return g($x); } function g($x) { return f($x); } f($_GET['x']);"},
		{"exponential paths", "<?php $a = $_GET['a'];" + strings.Repeat(" if (rand()) { $a .= 'x'; } else { $a .= 'y'; }", 3000) + " eval($a);"},
		{"nested loops", "<?php " + strings.Repeat("foreach ($_GET as $k => $v) { ", 200) + "system($v);" + strings.Repeat(" }", 200)},
		{"huge decoded payload", "<?php eval(str_repeat('$a=1;', 2000000));"},
		{"zip bomb", "<?php eval(gzinflate(base64_decode('" + gzipBomb(t) + "')));"},
		{"self-decoding chain", "<?php " + strings.Repeat("eval(base64_decode('", 20) + "c3lzdGVtKCRfR0VUWydjJ10pOw==" + strings.Repeat("'));", 20)},
		{"many functions", "<?php " + manyFunctions(3000)},
		{"empty", ""},
		{"only open tag", "<?php"},
		{"garbage", "<?php )))}}}]]]'\"`;;;$$$${{{"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Analyze([]byte(c.src), Options{Timeout: 5 * time.Second})
			if res.Incomplete != "" && !strings.Contains(res.Incomplete, "budget") {
				t.Errorf("analysis failed: %s", res.Incomplete)
			}
			if res.Steps > 400_000+1 {
				t.Errorf("%d steps, over the default budget", res.Steps)
			}
		})
	}
}

// A hostile file still gives what it does where the analysis reaches it.
func TestHostileInputStillFound(t *testing.T) {
	cases := []struct {
		name, src, rule string
	}{
		{"10 MiB one line", "<?php $a = '" + strings.Repeat("A", 10<<20) + "'; eval($_POST['z']);", "php_request_code_exec"},
		{"binary with open tag", string(bytes.Repeat([]byte{0, 0xff, 0x89}, 100000)) + "<?php system($_GET['c']); ?>", "php_request_command_exec"},
		{"unterminated block", "<?php function f() { if (1) { system($_GET['c']);", "php_request_command_exec"},
		{"deep ifs", "<?php " + strings.Repeat("if ($_GET['a']) { ", 300) + "system($_GET['c']);" + strings.Repeat(" }", 300), "php_request_command_exec"},
		{"endless loop first", "<?php while (true) { $i++; } system($_GET['c']);", "php_request_command_exec"},
		{"padded with comments", "<?php " + strings.Repeat("/* padding */\n", 100000) + "system($_GET['c']);", "php_request_command_exec"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Analyze([]byte(c.src), Options{Timeout: 10 * time.Second})
			for _, f := range res.Findings {
				if f.Name == c.rule {
					return
				}
			}
			t.Errorf("%s not found; got %v (incomplete %q)", c.rule, res.Findings, res.Incomplete)
		})
	}
}

func manyFunctions(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("function f")
		b.WriteString(strings.Repeat("x", i%7+1))
		b.WriteString(strings.Repeat("y", i/7))
		b.WriteString("($a) { return $a . $_GET['q']; }\n")
	}
	return b.String()
}

// gzipBomb is base64 of a raw DEFLATE stream of 64 MiB of zeros, well over
// the analyzer's largest string.
func gzipBomb(t *testing.T) string {
	t.Helper()
	return deflateZeros(t, 64<<20)
}

// Endings (and heredocs) on which VKCOM's lexer loops for ever, allocating until the
// process is killed (a 2.6 KB page ending in "<" took a scan past 20 GB):
// each is analysed to the end. A regression does not hang the test
// binary until its timeout, eating the machine's memory: the watchdog
// stops it within 3 s (a parse of these takes microseconds), naming the input.
func TestParserEndingsThatLooped(t *testing.T) {
	// Each holds request input, so that the prefilter sends it to the parser.
	const shell = "<?php eval($_POST['x']); ?>\n"
	for _, src := range []string{
		shell + "<",
		shell + "hello <",
		shell + "<%<",
		shell + "<<<",
		shell + "<?php $a = 1; ?>\n<<<",
		"<?php $c = $_GET['c']; \"$",
		shell + "<?php php<<<=x1?>&<<<",
		shell + "<?php ?>}/*\"E\"'E'*/<",
		shell + "/*\"\"E\"1e&${<<<",
		// A CPU loop (no allocation) in the PHP 8 lexer: "$$" in a heredoc.
		"<?php $c = $_GET['c']; $a = <<<E\n$${x}\nE;\n",
		"<?php $c = $_GET['c']; $a = <<<E\n$$E\nE;\n",
		"<?php $c = $_GET['c']; $a = <<<E\n$$a${-\nE;\n",
	} {
		done := make(chan struct{})
		watchdog := time.AfterFunc(3*time.Second, func() {
			panic("the PHP parser did not return on " + strconv.Quote(src) + ": it loops on this ending")
		})
		go func() {
			defer close(done)
			Analyze([]byte(src), Options{})
		}()
		<-done
		watchdog.Stop()
	}
}
