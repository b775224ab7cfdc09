package phpscan

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func deflateZeros(t *testing.T, n int) string {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for i := 0; i < n/len(zeros); i++ {
		w.Write(zeros)
	}
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func TestStringLiterals(t *testing.T) {
	cases := []struct{ raw, want string }{
		{`'a\'b\\c\n'`, `a'b\c\n`},
		{`"a\tb\x41\101\u{1F600}\$x\q"`, "a\tbAA\U0001F600$x\\q"},
		{`"\e\v\f"`, "\x1b\v\f"},
		{`b'bin'`, "bin"},
		{`"unterminated`, `"unterminated`},
	}
	for _, c := range cases {
		if got := stringLiteral([]byte(c.raw)); got != c.want {
			t.Errorf("stringLiteral(%s) = %q, want %q", c.raw, got, c.want)
		}
	}
}

func TestNumberLiterals(t *testing.T) {
	cases := map[string]int64{"42": 42, "0x1f": 31, "0b101": 5, "017": 15, "0o17": 15, "1_000": 1000}
	for raw, want := range cases {
		if got, ok := numberLiteral([]byte(raw)); !ok || got != want {
			t.Errorf("numberLiteral(%s) = %d, %v, want %d", raw, got, ok, want)
		}
	}
}

func TestDecoders(t *testing.T) {
	if got, ok := decodeBase64("c3lz dGVt\n"); !ok || got != "system" {
		t.Errorf("lenient base64: %q %v", got, ok)
	}
	if got, ok := decodeBase64("c3lzdGVt===="); !ok || got != "system" {
		t.Errorf("padded base64: %q %v", got, ok)
	}
	if got := rot13("flfgrz"); got != "system" {
		t.Errorf("rot13: %q", got)
	}
	if got, ok := uudecode("&<WES=&5M\n`\n"); !ok || got != "system" {
		t.Errorf("uudecode: %q %v", got, ok)
	}
}

func TestPatterns(t *testing.T) {
	safe := []string{`/^[a-z_]+$/`, `#^\w+$#i`, `/\A[0-9]{1,5}\z/`, `~^[a-zA-Z0-9\-]+$~`}
	unsafe := []string{`/[a-z]+/`, `/^.+$/`, `/^[^<]+$/`, `/^\S+$/`, `/^a|b$/`, `/^[a-z]+$/m`}
	for _, p := range safe {
		if !safePattern(p) {
			t.Errorf("safePattern(%s) = false", p)
		}
	}
	for _, p := range unsafe {
		if safePattern(p) {
			t.Errorf("safePattern(%s) = true", p)
		}
	}
	if !strippingPattern(`/[^a-z0-9_.-]/i`) || strippingPattern(`/[^a-z\/]/`) || strippingPattern(`/[a-z]/`) {
		t.Error("strippingPattern")
	}
	if got := pregModifiers(`/abc/ie`); got != "ie" {
		t.Errorf("pregModifiers = %q", got)
	}
	if out, ok := pregReplaceString(`/(a)(b)/`, `\2$1`, "xaby", 100); !ok || out != "xbay" {
		t.Errorf("pregReplaceString = %q %v", out, ok)
	}
}

func TestLooksLikePHP(t *testing.T) {
	yes := map[string]string{"x.php": "", "x.PHTML": "", "a.txt": "GIF89a<?php x", "b.jpg": "\xff\xd8<?= 1 ?>", "c": "<?PhP"}
	no := map[string]string{"x.js": "var a = '<?xml'", "y.html": "<p>hi</p>", "z.txt": "<? echo 1; ?>"}
	for name, body := range yes {
		if !LooksLikePHP(name, []byte(body)) {
			t.Errorf("LooksLikePHP(%s) = false", name)
		}
	}
	for name, body := range no {
		if LooksLikePHP(name, []byte(body)) {
			t.Errorf("LooksLikePHP(%s) = true", name)
		}
	}
}

func TestRelevantTokens(t *testing.T) {
	if relevant([]byte("<?php class A { function b() { return 1; } } // see http://example.org")) {
		t.Error("plain code with a URL in a comment is relevant")
	}
	for _, s := range []string{"$_GET", "$_POST['x']", "${'x'}", "/dev/tcp", "eval($x)", "'n'.''.''.'o'"} {
		if !relevant([]byte("<?php " + s)) {
			t.Errorf("%s is not relevant", s)
		}
	}
	// A decoder or a URL matters with something that runs, writes or
	// calls what it gives.
	for _, s := range []string{"BASE64_decode($x)", "f('https://x')"} {
		if relevant([]byte("<?php " + s)) {
			t.Errorf("%s alone is relevant", s)
		}
		for _, act := range []string{"; system($y);", "; $f($y);", "; file_put_contents($a, $b);"} {
			if !relevant([]byte("<?php " + s + act)) {
				t.Errorf("%s with %s is not relevant", s, act)
			}
			// Far apart, in a file with no source, they are not.
			far := "<?php " + s + "; /*" + strings.Repeat(" ", nearWindow) + "*/" + act
			if relevant([]byte(far)) {
				t.Errorf("%s with %s %d bytes away is relevant", s, act, nearWindow)
			}
			if relevant([]byte("<?php " + act[2:] + "/*" + strings.Repeat(" ", nearWindow) + "*/" + s)) {
				t.Errorf("%s then %s %d bytes away is relevant", act, s, nearWindow)
			}
		}
	}
	for _, s := range []string{"include 'http://x/a.txt';", `require_once("http://x/a.txt");`, "preg_replace('/x/e', $a, $b);"} {
		if !relevant([]byte("<?php " + s)) {
			t.Errorf("%s is not relevant", s)
		}
	}
	if relevant([]byte("<?php $_post = get_post(); $_Get = 1;")) {
		t.Error("variables named like the request arrays in another case are relevant")
	}
	if relevant([]byte("<?php base64_decode($x); include 'lib.php'; // eval the result")) {
		t.Error("a decoder with an include and the word eval in a comment is relevant")
	}
	// Names of functions count as words of their own, not as methods or
	// parts of other names.
	for _, s := range []string{"$this->assert($x); base64_decode($y);", "$n->copy(); chr(0);", "$f = filesystem($a); pack('N', 1);",
		"Assert::assert($x); urlencode($y);"} {
		if relevant([]byte("<?php " + s)) {
			t.Errorf("%s is relevant", s)
		}
	}
	for _, s := range []string{"assert (base64_decode($x));", "@copy($a, $b); chr(0);", "\\system($c); hex2bin($d);", "$s = rawurldecode($x); fwrite($f, $s);",
		"$s = convert_uudecode($x); fwrite($f, $s);", "$h = pfsockopen($a, 80);"} {
		if !relevant([]byte("<?php " + s)) {
			t.Errorf("%s is not relevant", s)
		}
	}
	if !relevant([]byte("<?php $p = '" + strings.Repeat("QUJD", 120) + "';")) {
		t.Error("a long base64 run is not relevant")
	}
}

func TestSkippedIsReported(t *testing.T) {
	res := Analyze([]byte("<?php echo 1 + 2;"), Options{})
	if !res.Skipped || res.Parsed || len(res.Findings) != 0 {
		t.Errorf("got %+v", res)
	}
}

// A call answered from memory, or a body not interpreted, may have
// changed what it took by reference: a loop waiting for that change must
// not run on the old value until the round budget is spent.
func TestReferenceArgumentOfRememberedCall(t *testing.T) {
	src := `<?php
class Log {
	function shift(&$s, $n = 1) { $r = substr($s, 0, $n); $s = substr($s, $n); return $r; }
	function format($log) {
		$out = '';
		for ($i = 0; $i < count($log); $i++) {
			$cur = $log[$i];
			do { $out .= $this->shift($cur, $this->width); } while (strlen($cur));
		}
		return $out;
	}
	function open() {
		$this->sock = fsockopen('example.org', 22);
		$this->a = $this->format(array('abcdefghijklmnopqrstuvwxyz'));
		$this->b = $this->format(array('abcdefghijklmnopqrstuvwxyz', 'b'));
	}
}`
	res := Analyze([]byte(src), Options{})
	if !res.Parsed || res.Incomplete != "" {
		t.Fatalf("got %+v", res)
	}
	if res.Steps > 5000 {
		t.Errorf("%d steps: a loop ran on a value its callee changed", res.Steps)
	}
}

// eachPropWrite does by hand what this expression finds.
var propWriteRE = regexp.MustCompile(`\$this\s*->\s*(\w+)\s*(?:\[[^\]\n]{0,80}\]\s*)*(?:[.+\-*/|&^]|\?\?)?=[^=>]`)

func TestEachPropWriteAsTheRegexp(t *testing.T) {
	names := func(src []byte) (byHand, byRE []string) {
		eachPropWrite(src, func(n []byte) { byHand = append(byHand, string(n)) })
		for _, m := range propWriteRE.FindAllSubmatch(src, -1) {
			byRE = append(byRE, string(m[1]))
		}
		slices.Sort(byHand)
		byHand = slices.Compact(byHand)
		slices.Sort(byRE)
		byRE = slices.Compact(byRE)
		return byHand, byRE
	}
	fixed := []string{
		"$this->a = 1; $this->b .= 'x'; $this->c['k'] = 2; $this->d[] = 3; $this->e ??= 4;",
		"$this -> f\n = $x; $this->g == 1; $this->h => 2; $this->i[\n] = 1; $this->j[" + strings.Repeat("x", 81) + "] = 1;",
		"$this->k[1][2] = 3; $this->l <<= 1; $this->m[$this->n] = 1; $this->", "$this->o =", "$thisx->p = 1; $this->é = 1;",
	}
	for _, s := range fixed {
		if h, r := names([]byte(s)); !slices.Equal(h, r) {
			t.Errorf("%q: by hand %v, regexp %v", s, h, r)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	parts := []string{"$this", "->", "-", ">", " ", "\n", "a", "b_1", "[", "]", "=", "==", "=>", ".", "?", "??", "+", "x"}
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for k := rng.IntN(14); k >= 0; k-- {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		if h, r := names([]byte(b.String())); !slices.Equal(h, r) {
			t.Fatalf("%q: by hand %v, regexp %v", b.String(), h, r)
		}
	}
}
