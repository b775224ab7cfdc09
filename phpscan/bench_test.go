package phpscan

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCases analyses every case file once per iteration: the cost of
// the analysis itself on small shells and look-alikes.
func BenchmarkCases(b *testing.B) {
	files, _ := filepath.Glob("testdata/cases/*.php")
	var srcs [][]byte
	total := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		srcs = append(srcs, src)
		total += len(src)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for _, src := range srcs {
			Analyze(src, Options{})
		}
	}
}

// BenchmarkSkipped is the cost on PHP that holds nothing to follow (most
// of an application): the prefilter alone.
func BenchmarkSkipped(b *testing.B) {
	src := []byte("<?php\nnamespace App;\n\nclass Controller extends Base\n{\n" +
		"    public function index(Request $request)\n    {\n        return view('home', ['user' => $request->user()]);\n    }\n}\n")
	for len(src) < 64<<10 {
		src = append(src, src...)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if res := Analyze(src, Options{}); !res.Skipped {
			b.Fatal("not skipped")
		}
	}
}

// BenchmarkPrefilterTree runs the prefilter alone over the PHP files of
// the benign tree (SHELLWATCH_BENIGN, which make bench sets), up to 32
// MiB of them: the cost every PHP file pays.
func BenchmarkPrefilterTree(b *testing.B) {
	root := os.Getenv("SHELLWATCH_BENIGN")
	if root == "" {
		b.Skip("SHELLWATCH_BENIGN is not set")
	}
	var srcs [][]byte
	total := 0
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || total > 32<<20 || !d.Type().IsRegular() || filepath.Ext(p) != ".php" {
			return nil
		}
		if src, err := os.ReadFile(p); err == nil {
			srcs = append(srcs, src)
			total += len(src)
		}
		return nil
	})
	if total == 0 {
		b.Skipf("no PHP files under %s", root)
	}
	b.SetBytes(int64(total))
	for b.Loop() {
		for _, src := range srcs {
			prefilter.scan(src, true)
		}
	}
}
