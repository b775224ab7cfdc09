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
