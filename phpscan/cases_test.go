package phpscan

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Each file under testdata/cases is a small PHP program written here (never
// a corpus sample) with what the analyzer must find in comments at its top:
//
//	// want: php_request_command_exec@3 php_hidden_function_name
//	// fold: system
//
// "want" lists every rule found (exactly those: a look-alike that must stay
// clean says "want: clean"), optionally with the line; "fold" lists strings
// that must be among the folded ones. A regression is one more small file.
func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.php")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 60 {
		t.Fatalf("only %d cases", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".php"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want, folds := expectations(t, src)
			// The step budget only: the time budget is tested on its own,
			// and a loaded machine must not make a case incomplete.
			res := Analyze(src, Options{Timeout: 10 * time.Minute})
			if res.Incomplete != "" {
				t.Errorf("incomplete: %s", res.Incomplete)
			}
			got := map[string][]int{}
			for _, f := range res.Findings {
				got[f.Name] = append(got[f.Name], f.Line)
			}
			for rule, line := range want {
				lines, ok := got[rule]
				switch {
				case !ok:
					t.Errorf("missing %s", rule)
				case line != 0 && !containsInt(lines, line):
					t.Errorf("%s at lines %v, want line %d", rule, lines, line)
				}
			}
			for rule := range got {
				if _, ok := want[rule]; !ok {
					t.Errorf("unexpected %s", rule)
				}
			}
			for _, fold := range folds {
				found := false
				for _, f := range res.Folded {
					if f.Value == fold {
						found = true
					}
				}
				if !found {
					t.Errorf("%q not among the folded strings %v", fold, res.Folded)
				}
			}
			if t.Failed() {
				for _, f := range res.Findings {
					t.Logf("found %s", f)
				}
			}
		})
	}
}

// expectations reads the want and fold comments of a case.
func expectations(t *testing.T, src []byte) (map[string]int, []string) {
	t.Helper()
	want := map[string]int{}
	var folds []string
	sawWant := false
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "// want:"):
			sawWant = true
			for _, w := range strings.Fields(strings.TrimPrefix(line, "// want:")) {
				if w == "clean" {
					continue
				}
				rule, at, _ := strings.Cut(w, "@")
				n := 0
				if at != "" {
					var err error
					if n, err = strconv.Atoi(at); err != nil {
						t.Fatalf("bad line in %q", w)
					}
				}
				if !knownRule(rule) {
					t.Fatalf("want names unknown rule %q", rule)
				}
				want[rule] = n
			}
		case strings.HasPrefix(line, "// fold:"):
			folds = append(folds, strings.Fields(strings.TrimPrefix(line, "// fold:"))...)
		}
	}
	if !sawWant {
		t.Fatal("no // want: line")
	}
	return want, folds
}

func knownRule(name string) bool {
	for _, r := range Rules() {
		if r.Name == name {
			return true
		}
	}
	return false
}

func containsInt(xs []int, x int) bool {
	sort.Ints(xs)
	i := sort.SearchInts(xs, x)
	return i < len(xs) && xs[i] == x
}
