package scanner

import (
	"context"
	"fmt"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/phpscan"
	"github.com/shellwatch/shellwatch/rules"
)

// phpLike returns a plausible PHP source file of about size bytes: classes,
// functions, strings and comments, the shape of the benign code most files
// in a web root hold.
func phpLike(r *rand.Rand, size int) string {
	words := []string{"user", "order", "cart", "session", "config", "cache", "request", "response", "token", "item", "price", "query"}
	w := func() string { return words[r.Intn(len(words))] }
	var b strings.Builder
	b.WriteString("<?php\n/**\n * Generated for the benchmark.\n */\nnamespace App\\Http;\n\n")
	for b.Len() < size {
		fmt.Fprintf(&b, "class %s%sController extends BaseController\n{\n", strings.ToUpper(w()[:1]), w())
		for i := 0; i < 4 && b.Len() < size; i++ {
			fmt.Fprintf(&b, "    // Returns the %s of the %s.\n    public function get%s($%s, array $opts = [])\n    {\n", w(), w(), w(), w())
			fmt.Fprintf(&b, "        $%s = $this->%s->find($%s['id'] ?? null);\n", w(), w(), w())
			fmt.Fprintf(&b, "        if ($%s === null) {\n            throw new \\RuntimeException(\"no %s %%d\", %d);\n        }\n", w(), w(), r.Intn(1000))
			fmt.Fprintf(&b, "        return htmlspecialchars(sprintf('%%s: %%s', $%s, $%s), ENT_QUOTES, 'UTF-8');\n    }\n\n", w(), w())
		}
		b.WriteString("}\n\n")
	}
	return b.String()
}

// benchTree writes that many PHP-like files of 1 to 32 KiB and returns the
// root and the total size.
func benchTree(b *testing.B, files int) (string, int64) {
	root := b.TempDir()
	r := rand.New(rand.NewSource(1))
	var total int64
	for i := 0; i < files; i++ {
		content := phpLike(r, 1024+r.Intn(31<<10))
		if i%100 == 7 {
			content += shell
		}
		testenv.WriteFile(b, filepath.Join(root, fmt.Sprintf("d%02d", i%20), fmt.Sprintf("f%04d.php", i)), content)
		total += int64(len(content))
	}
	return root, total
}

// BenchmarkScan scans a tree of generated PHP files with ScanTrees, with the
// test rules and (when they compile) the bundled rules.
func BenchmarkScan(b *testing.B) {
	root, total := benchTree(b, 500)
	sets := []struct {
		name string
		opts rules.Options
	}{
		{"test-rules", rules.Options{}},
		{"bundled", rules.Options{Bundled: true}},
	}
	for _, tc := range sets {
		b.Run(tc.name, func(b *testing.B) {
			var set *rules.Set
			if tc.opts.Bundled {
				var err error
				if set, err = rules.Compile(tc.opts); err != nil {
					b.Skipf("bundled rules do not compile: %v", err)
				}
				b.Cleanup(set.Destroy)
			} else {
				set = compile(b, testRules)
			}
			s := newScanner(b, set, nil, Options{})
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				stats := s.ScanTrees(context.Background(), []string{root}, nil, func(Verdict) {})
				if stats.Files != 500 || stats.Errors != 0 {
					b.Fatalf("stats %+v", stats)
				}
			}
			b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}

// BenchmarkPaddedEval scans a webshell padded with 64 KiB, 1 MiB and 2 MiB
// of "eval(" (the padding of issue 10: every bundled rule that looks for
// eval is tried at every fifth byte) with the bundled rules, YARA alone
// and with the PHP analyzer. The YARA timeout is a minute here, so that
// the time is measured, not cut.
func BenchmarkPaddedEval(b *testing.B) {
	set, err := rules.Compile(rules.Options{Bundled: true})
	if err != nil {
		b.Skipf("bundled rules do not compile: %v", err)
	}
	b.Cleanup(set.Destroy)
	dir := b.TempDir()
	for _, analyzer := range []bool{false, true} {
		opts := Options{Workers: 1, Timeout: time.Minute}
		name := "yara"
		if analyzer {
			opts.PHP, name = &phpscan.Options{Timeout: time.Minute}, "yara+php"
		}
		s := newScanner(b, set, nil, opts)
		for _, size := range []int{64 << 10, 1 << 20, 2 << 20} {
			content := "<?php\n/*" + strings.Repeat("eval(", size/5) + "*/\n" + shell
			p := testenv.WriteFile(b, filepath.Join(dir, fmt.Sprintf("pad%d.php", size)), content)
			b.Run(fmt.Sprintf("%s/%dKiB", name, size>>10), func(b *testing.B) {
				b.SetBytes(int64(len(content)))
				for b.Loop() {
					if v := s.Scan(p); v.Err != nil || v.Severity != finding.SeverityCritical {
						b.Fatalf("%s: err %v severity %s", p, v.Err, v.Severity)
					}
				}
			})
		}
	}
}
