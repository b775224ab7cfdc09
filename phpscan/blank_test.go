package phpscan

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// padding is ordinary code no call reaches: functions and a class whose
// bodies hold no token of the prefilter, as a shell padded to a large file
// carries.
func padding(n int) []byte {
	var b []byte
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, "function pad_helper_%d($a, $b) {\n    $r = array_map('trim', explode(',', $a));\n    return count($r) > %d ? implode('-', $r) . $b : $b;\n}\n", i, i%7)
		if i%50 == 0 {
			b = fmt.Appendf(b, "class PadView%d {\n    public function render($rows) {\n        $out = [];\n        foreach ($rows as $k => $row) { $out[] = sprintf('<td>%%s</td>', $row); }\n        return implode('', $out);\n    }\n}\n", i)
		}
	}
	return b
}

// bothWays analyses src with the bodies nothing uses blanked (Analyze)
// and parsed whole, and fails when their results differ.
func bothWays(t *testing.T, name string, src []byte) Result {
	t.Helper()
	// Only the step budget may stop either analysis: a machine loaded
	// enough to run out of the time budget in one and not the other is
	// not a difference between them.
	opts := Options{Timeout: 10 * time.Minute}
	got := Analyze(src, opts)
	want, _ := analyze(src, opts.withDefaults(), time.Now().Add(opts.Timeout), false)
	if !reflect.DeepEqual(got.Findings, want.Findings) {
		t.Errorf("%s: findings with blanked bodies\n%v\nparsed whole\n%v", name, got.Findings, want.Findings)
	}
	if !reflect.DeepEqual(got.Folded, want.Folded) {
		t.Errorf("%s: folded strings differ:\n%v\n%v", name, got.Folded, want.Folded)
	}
	if got.Incomplete != want.Incomplete || got.Skipped != want.Skipped || got.Parsed != want.Parsed {
		t.Errorf("%s: incomplete %q/%q skipped %v/%v parsed %v/%v", name, got.Incomplete, want.Incomplete, got.Skipped, want.Skipped, got.Parsed, want.Parsed)
	}
	return got
}

// Every case, padded before and after with 100 KB of functions no call
// reaches, has the same findings and folded strings when those bodies are
// blanked for the first parse as when the file is parsed whole, and the
// blanking happens.
func TestBlankedSameAsWhole(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.php")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	pad := padding(100 << 10)
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		body, ok := bytes.CutPrefix(src, []byte("<?php\n"))
		if !ok {
			continue
		}
		padded := append(append(append([]byte("<?php\n"), pad...), body...), append([]byte("\n?>\n<?php\n"), pad...)...)
		bothWays(t, filepath.Base(file), padded)
		if _, hits := prefilter.scan(padded, true); relevant(padded) && blankBodies(padded, hits) == nil {
			t.Errorf("%s: nothing blanked in the padded file", filepath.Base(file))
		}
	}
}

// A body blanked because no name in the kept code calls it is entered all
// the same when a name built at run time reaches it: the file is analysed
// again, parsed whole, and the finding inside it is made.
func TestBlankedBodyReachedByBuiltName(t *testing.T) {
	src := "<?php\n" + string(padding(80<<10)) + `
function relay_input($cmd, $arg) {
    $parts = explode('|', $cmd);
    $out = array();
    foreach ($parts as $p) { $out[] = $p . ' ' . $arg; }
    return array_map($parts[0], array($arg));
}
$n = 'relay' . '_' . 'input';
$n($_POST['f'], $_POST['a']);
`
	if _, blanked := blankedAt(src, "return array_map($parts[0], array($arg));\n}"); !blanked {
		t.Fatal("relay_input was not blanked for the first parse")
	}
	res := bothWays(t, "built name", []byte(src))
	if !hasRule(res, "php_request_dynamic_call") {
		t.Errorf("no php_request_dynamic_call in the blanked body: %v", res.Findings)
	}
}

// Once request input sits in a global, functions are entered as entry
// points; one that reads the global is entered (parsed whole), one that
// cannot read it is left blanked.
func TestBlankedEntryPoints(t *testing.T) {
	src := "<?php\n$cmd = $_GET['c'];\n" + string(padding(80<<10)) + `
function never_called_runs_global() {
    global $cmd;
    $path = $cmd;
    $size = strlen($path) > 3 ? 1 : 0;
    return include $path;
}
`
	if isolated, blanked := blankedAt(src, "return include $path;\n}"); !blanked || isolated {
		t.Fatalf("never_called_runs_global blanked %v, isolated %v; want blanked, not isolated", blanked, isolated)
	}
	res := bothWays(t, "entry point", []byte(src))
	if !hasRule(res, "php_request_code_exec") {
		t.Errorf("the include of the global's request input was not found: %v", res.Findings)
	}
}

// blankedAt reports whether the body that ends with end (its closing
// brace) is blanked, and whether it is taken for isolated.
func blankedAt(src, end string) (isolated, blanked bool) {
	b := blankBodies([]byte(src), hitsOf(src))
	if b == nil {
		return false, false
	}
	isolated, blanked = b.ends[strings.Index(src, end)+len(end)]
	return isolated, blanked
}

func hitsOf(src string) []tokenHit {
	_, hits := prefilter.scan([]byte(src), true)
	return hits
}

func hasRule(res Result, name string) bool {
	for _, f := range res.Findings {
		if f.Name == name {
			return true
		}
	}
	return false
}

// blankBodies reads PHP as the parser does: braces in strings, comments
// and heredocs do not count, a body that leaves PHP or declares a function
// or class is kept, a name used anywhere outside its body keeps it.
func TestBlankBodiesScan(t *testing.T) {
	filler := strings.Repeat("    $x = $x + 1;\n", 6)
	cases := []struct {
		name, src string
		blanked   []string // functions whose bodies are blanked
	}{
		{"plain", "function a1($x) {\n" + filler + "}\n", []string{"a1"}},
		{"braces in strings and comments", "function a2($x) {\n$s = '}'; $t = \"{$x}}\"; // }\n/* } */ # }\n" + filler + "}\n", []string{"a2"}},
		{"heredoc", "function a3($x) {\n$h = <<<EOT\n}}} {\nEOT;\n$n = <<<'N'\n}\n  N;\n" + filler + "}\n", []string{"a3"}},
		{"called by name", "function a4($x) {\n" + filler + "}\necho a4(1);\n", nil},
		{"named in a callback string", "function a5($x) {\n" + filler + "}\n$r = array_map('A5', [1]);\n", nil},
		{"called from a blanked body only", "function a6($x) {\n" + filler + "}\nfunction a7($x) {\n" + filler + "return a6($x);\n}\n", []string{"a6", "a7"}},
		{"called from a kept body", "function a8($x) {\n" + filler + "}\nfunction a9($x) {\n" + filler + "return a8($x);\n}\na9(2);\n", nil},
		{"leaves php", "function b1($x) {\n" + filler + "?>\n<b>}</b>\n<?php\n}\n", nil},
		{"declares a class", "function b2($x) {\n" + filler + "class Inner {}\n}\n", nil},
		{"holds a closure", "function b3($x) {\n" + filler + "$f = function ($y) {\n" + filler + "};\n}\n", nil},
		{"holds a token", "function b4($x) {\n" + filler + "system($x);\n}\n", nil},
		{"too small", "function b5($x) { return $x; }\n", nil},
		{"method", "class K {\n  abstract function c0();\n  public function c1($x) {\n" + filler + "  }\n}\n", []string{"c1"}},
		{"unterminated", "function b6($x) {\n" + filler, nil},
		{"word in a string", "$s = 'function b7($x) {" + filler + "}';\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The share of the file blanked must be large: pad the
			// case's own code with nothing else.
			src := []byte("<?php\n" + c.src)
			b := blankBodies(src, hitsOf(string(src)))
			var got []string
			if b != nil {
				if len(b.src) != len(src) {
					t.Fatalf("blanked file is %d bytes, want %d", len(b.src), len(src))
				}
				for i := range src {
					if (src[i] == '\n') != (b.src[i] == '\n') {
						t.Fatalf("line breaks moved at %d", i)
					}
				}
				for _, name := range []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "c1"} {
					at := bytes.Index(src, []byte("function "+name+"("))
					if at < 0 {
						continue
					}
					open := at + bytes.IndexByte(src[at:], '{')
					if rest := bytes.TrimLeft(b.src[open+1:], " \n"); len(rest) > 0 && rest[0] == '}' {
						got = append(got, name)
					}
				}
			}
			if !reflect.DeepEqual(got, c.blanked) {
				t.Errorf("blanked %v, want %v", got, c.blanked)
			}
		})
	}
}

// A padded shell's analysis with blanking, against the same file parsed
// whole: the parse the blanking saves is the point of it.
func BenchmarkPaddedShell(b *testing.B) {
	src := append(append([]byte("<?php\n"), padding(1<<20)...), `
class Page {
    public $v;
    function __construct($r) { $this->v = $r['q']; }
    function __destruct() { $k = 'abcdefghijklmnopqrstuvwxyz'; $n = $k[18] . $k[24] . $k[18] . $k[19] . $k[4] . $k[12]; $n($this->v); }
}
new Page($_REQUEST);
`...)
	b.Run("blanked", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			Analyze(src, Options{})
		}
	})
	b.Run("whole", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			analyze(src, Options{}.withDefaults(), time.Now().Add(time.Minute), false)
		}
	})
}
