package rules_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/rules"
	"github.com/shellwatch/shellwatch/scanner"
)

// The detection bar of the bundled rules, measured by scanning the real
// corpora the way `shellwatch scan` does (same scanner, same externals).
const (
	minDetectedAll      = 0.90 // of every corpus file
	minDetectedLanguage = 0.85 // within each of php, jsp and asp
	maxFalsePositiveOne = 5000 // at most one flagged benign file in this many
)

// corpusDir returns the folder named by env, or skips the test when it is
// unset; under `make test` (SHELLWATCH_REQUIRE_CORPUS=1) a missing corpus
// fails instead, so CI cannot pass without measuring.
func corpusDir(t *testing.T, env string) string {
	t.Helper()
	dir := os.Getenv(env)
	required := os.Getenv("SHELLWATCH_REQUIRE_CORPUS") == "1"
	if dir == "" {
		if required {
			t.Fatalf("%s is not set", env)
		}
		t.Skipf("%s is not set; `make test` sets it and builds the corpus", env)
	}
	if _, err := os.Stat(dir); err != nil {
		if required {
			t.Fatalf("%s: %v", env, err)
		}
		t.Skipf("%s: %v", env, err)
	}
	// The scanner never follows a link below a root, so name the root by
	// its real path, as the verdicts will.
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	return real
}

func newBundledScanner(t *testing.T) *scanner.Scanner {
	t.Helper()
	set, err := rules.Compile(rules.Options{Bundled: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Destroy)
	sc, err := scanner.New(set, nil, scanner.Options{MaxFileSize: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sc.Close)
	return sc
}

// scanTree returns the verdicts of every file under root, by path.
func scanTree(t *testing.T, sc *scanner.Scanner, root string) map[string]scanner.Verdict {
	t.Helper()
	out := make(map[string]scanner.Verdict)
	sc.ScanTrees(context.Background(), []string{root}, nil, func(v scanner.Verdict) {
		out[v.Path] = v
	})
	return out
}

func TestCorpusWebshellsDetected(t *testing.T) {
	dir := corpusDir(t, "SHELLWATCH_WEBSHELLS")
	samples := readManifest(t, dir)
	verdicts := scanTree(t, newBundledScanner(t), dir)

	type tally struct{ total, flagged int }
	byLanguage := make(map[string]*tally)
	bySource := make(map[string]*tally)
	byFamily := make(map[string]int)
	var all tally
	var missed []string
	for _, s := range samples {
		v, ok := verdicts[filepath.Join(dir, s.file)]
		if !ok {
			t.Errorf("%s was not scanned", s.file)
			continue
		}
		if v.Err != nil {
			t.Errorf("%s: %v", s.file, v.Err)
		}
		lang := byLanguage[s.language]
		if lang == nil {
			lang = &tally{}
			byLanguage[s.language] = lang
		}
		src := bySource[s.source]
		if src == nil {
			src = &tally{}
			bySource[s.source] = src
		}
		all.total++
		lang.total++
		src.total++
		if v.Flagged() {
			all.flagged++
			lang.flagged++
			src.flagged++
			byFamily[v.Matches[0].Family]++
		} else {
			missed = append(missed, s.language+"\t"+s.file)
		}
	}
	rate := func(x tally) float64 { return float64(x.flagged) / float64(max(x.total, 1)) }

	report := &strings.Builder{}
	fmt.Fprintf(report, "webshell corpus: %d/%d flagged (%.1f%%)\n", all.flagged, all.total, 100*rate(all))
	fmt.Fprintln(report, "by language:")
	for _, k := range sortedKeys(byLanguage) {
		x := *byLanguage[k]
		fmt.Fprintf(report, "  %-8s %4d/%4d  %5.1f%%\n", k, x.flagged, x.total, 100*rate(x))
	}
	fmt.Fprintln(report, "by source collection:")
	for _, k := range sortedKeys(bySource) {
		x := *bySource[k]
		fmt.Fprintf(report, "  %-28s %4d/%4d  %5.1f%%\n", k, x.flagged, x.total, 100*rate(x))
	}
	fmt.Fprintln(report, "flagged files by family of their first match:")
	for _, k := range sortedKeys(byFamily) {
		fmt.Fprintf(report, "  %-28s %4d\n", k, byFamily[k])
	}
	if os.Getenv("SHELLWATCH_REPORT") == "1" {
		fmt.Fprintln(report, "missed:")
		for _, m := range missed {
			fmt.Fprintf(report, "  %s\n", m)
		}
	}
	t.Log("\n" + report.String())

	if rate(all) < minDetectedAll {
		t.Errorf("%.1f%% of the corpus flagged, want at least %.0f%%", 100*rate(all), 100*minDetectedAll)
	}
	for _, lang := range []string{"php", "jsp", "asp"} {
		x, ok := byLanguage[lang]
		if !ok {
			t.Errorf("no %s samples in the corpus: classification broken?", lang)
			continue
		}
		if rate(*x) < minDetectedLanguage {
			t.Errorf("%s: %.1f%% flagged, want at least %.0f%%", lang, 100*rate(*x), 100*minDetectedLanguage)
		}
	}
}

func TestCorpusBenignNotFlagged(t *testing.T) {
	dir := corpusDir(t, "SHELLWATCH_BENIGN")
	verdicts := scanTree(t, newBundledScanner(t), dir)
	var flagged []string
	errs := 0
	for p, v := range verdicts {
		if v.Err != nil {
			errs++
			t.Logf("error: %v", v.Err)
		}
		if v.Flagged() {
			names := make([]string, len(v.Matches))
			for i, m := range v.Matches {
				names[i] = m.Rule
			}
			rel, _ := filepath.Rel(dir, p)
			flagged = append(flagged, fmt.Sprintf("%s\t%s", rel, strings.Join(names, ",")))
		}
	}
	sort.Strings(flagged)
	n := len(verdicts)
	if n < 5000 {
		t.Fatalf("benign corpus has only %d files; it should have tens of thousands", n)
	}
	t.Logf("benign corpus: %d of %d files flagged (1 in %d allowed), %d errors", len(flagged), n, maxFalsePositiveOne, errs)
	for _, f := range flagged {
		t.Logf("false positive: %s", f)
	}
	if len(flagged)*maxFalsePositiveOne > n {
		t.Errorf("%d false positives in %d benign files, more than 1 in %d", len(flagged), n, maxFalsePositiveOne)
	}
}

type sample struct {
	file     string // relative to the corpus folder
	source   string // the collection it came from
	language string // php, jsp, asp, script, cfm or other
}

// readManifest lists the corpus from MANIFEST.tsv (file, sha256, size, ext,
// source_repo, source_commit, original_path) and classifies each sample.
func readManifest(t *testing.T, dir string) []sample {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sample
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); line++ {
		cols := strings.Split(sc.Text(), "\t")
		if line == 0 || len(cols) < 7 {
			continue
		}
		content, err := os.ReadFile(filepath.Join(dir, cols[0]))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sample{file: cols[0], source: cols[4], language: classify(cols[6], content)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 100 {
		t.Fatalf("manifest lists only %d samples", len(out))
	}
	return out
}

var (
	phpSniff    = regexp.MustCompile(`<\?php|<\?=|<\? `)
	jspSniff    = regexp.MustCompile(`<%@ *page|request\.getParameter|java\.io`)
	aspSniff    = regexp.MustCompile(`(?i)server\.createobject|response\.write|request\.form|<%@ *(page|webhandler)`)
	scriptSniff = regexp.MustCompile(`(?m)^#!.*(perl|python|sh)`)
)

// classify names a sample's language from its original file name (a ".txt"
// suffix, as collections store samples, is ignored), else from its content.
func classify(originalPath string, content []byte) string {
	p := strings.TrimSuffix(strings.ToLower(originalPath), ".txt")
	switch ext := strings.TrimPrefix(filepath.Ext(p), "."); ext {
	case "php", "php3", "php4", "php5", "php7", "phtml", "inc":
		return "php"
	case "jsp", "jspx":
		return "jsp"
	case "asp", "aspx", "ashx", "asmx", "asa", "cer", "cdx":
		return "asp"
	case "pl", "cgi", "py", "sh":
		return "script"
	case "cfm":
		return "cfm"
	}
	switch {
	case phpSniff.Match(content):
		return "php"
	case jspSniff.Match(content):
		return "jsp"
	case aspSniff.Match(content):
		return "asp"
	case scriptSniff.Match(bytes.TrimSpace(content)):
		return "script"
	}
	return "other"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
