package scanner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/rules"
)

const (
	shaA = "3b2a6e8e5c4d7c2f0e1a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e"
	shaB = "0000000000000000000000000000000000000000000000000000000000000001"
	md5A = "d41d8cd98f00b204e9800998ecf8427e"
)

func TestLoadHashLists(t *testing.T) {
	dir := t.TempDir()
	plain := testenv.WriteFile(t, filepath.Join(dir, "plain.txt"), "# known webshells\n\n"+strings.ToUpper(shaA)+"\n  "+md5A+"  \r\n")
	sums := testenv.WriteFile(t, filepath.Join(dir, "SHA256SUMS"), shaB+"  c99 shell.php\n"+
		shaA+" *binary.php\n"+ // listed again: the first entry stays
		`\`+strings.Repeat("ab", 32)+`  odd\nname.php`+"\n")
	l, err := LoadHashLists(plain, sums)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 4 {
		t.Errorf("Len = %d, want 4", l.Len())
	}
	tests := []struct {
		sha, md5 string
		want     Entry
		ok       bool
	}{
		{shaA, "", Entry{Kind: "sha256", Hash: shaA, File: plain, Line: 3}, true},
		{strings.ToUpper(shaA), "", Entry{Kind: "sha256", Hash: shaA, File: plain, Line: 3}, true},
		{"", md5A, Entry{Kind: "md5", Hash: md5A, File: plain, Line: 4}, true},
		{shaB, md5A, Entry{Kind: "sha256", Hash: shaB, File: sums, Line: 1, Label: "c99 shell.php"}, true},
		{strings.Repeat("ab", 32), "", Entry{Kind: "sha256", Hash: strings.Repeat("ab", 32), File: sums, Line: 3, Label: `odd\nname.php`}, true},
		{strings.Repeat("cd", 32), strings.Repeat("cd", 16), Entry{}, false},
		{"zz", "", Entry{}, false},
	}
	for _, tt := range tests {
		e, ok := l.Lookup(tt.sha, tt.md5)
		if ok != tt.ok || e != tt.want {
			t.Errorf("Lookup(%q, %q) = %+v, %v; want %+v, %v", tt.sha, tt.md5, e, ok, tt.want, tt.ok)
		}
	}
	e, _ := l.Lookup(shaB, "")
	m := e.match()
	want := finding.Match{Rule: "known_bad_hash", Namespace: "hashlist", Severity: finding.SeverityCritical, Family: "known_bad",
		Description: "sha256 listed in " + sums + ":1 (c99 shell.php)"}
	if m.Rule != want.Rule || m.Namespace != want.Namespace || m.Severity != want.Severity || m.Family != want.Family || m.Description != want.Description {
		t.Errorf("match %+v, want %+v", m, want)
	}
	e, _ = l.Lookup("", md5A)
	if d := e.match().Description; d != "md5 listed in "+plain+":4" {
		t.Errorf("md5 description %q", d)
	}

	var nilList *HashList
	if _, ok := nilList.Lookup(shaA, md5A); ok || nilList.Len() != 0 {
		t.Error("a nil HashList holds something")
	}
	if l, err := LoadHashLists(); err != nil || l.Len() != 0 {
		t.Errorf("no files: %v, %d hashes", err, l.Len())
	}
}

func TestLoadHashListsErrors(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("q", 200)
	tests := []struct {
		name, content string
		want          string // what follows the file name in the error
	}{
		{"bad.txt", "# list\n" + shaA + "\nnot-a-hash here\n", `:3: "not-a-hash here": not a sha256 (64 hex digits) or md5 (32 hex digits) hash`},
		{"sha1.txt", strings.Repeat("a", 40) + "  x\n", `:1: "` + strings.Repeat("a", 40) + `  x": not a sha256`},
		{"nothex.txt", "\n" + strings.Repeat("g", 64) + "\n", `:2: "gggg`},
		{"long.txt", long + "\n", `:1: "` + long[:80] + `…": not a sha256`},
		{"huge.txt", strings.Repeat("a", 100<<10) + "\n", `:1: line longer than 65536 bytes`},
		{"ctl.txt", "\x1b[2J\xff\n", `:1: "\x1b[2J\xff": not a sha256`},
	}
	for _, tt := range tests {
		p := testenv.WriteFile(t, filepath.Join(dir, tt.name), tt.content)
		_, err := LoadHashLists(p)
		if err == nil || !strings.HasPrefix(err.Error(), p+tt.want) {
			t.Errorf("%s: error %v\nwant   %s%s…", tt.name, err, p, tt.want)
		}
	}
	_, err := LoadHashLists(filepath.Join(dir, "missing"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
}

// Any input either parses or fails with an error naming the file and line;
// every hash parsed is found again by Lookup.
func FuzzParseHashList(f *testing.F) {
	f.Add([]byte(shaA + "  shell.php\n# comment\n\n" + md5A + "\n"))
	f.Add([]byte("not a hash\n"))
	f.Add([]byte(`\` + shaB + "  a\\nb\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := &HashList{}
		err := l.parse(bytes.NewReader(data), "list")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "list:") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, e := range l.sha256 {
			if got, ok := l.Lookup(e.Hash, ""); !ok || got != e || len(e.Hash) != 64 || e.Kind != "sha256" {
				t.Fatalf("entry %+v: Lookup = %+v, %v", e, got, ok)
			}
		}
		for _, e := range l.md5 {
			if got, ok := l.Lookup("", strings.ToUpper(e.Hash)); !ok || got != e || len(e.Hash) != 32 || e.Kind != "md5" {
				t.Fatalf("entry %+v: Lookup = %+v, %v", e, got, ok)
			}
		}
	})
}

func TestScanKnownHash(t *testing.T) {
	dir := t.TempDir()
	content := "<?php echo 'looks harmless';\n"
	p := testenv.WriteFile(t, filepath.Join(dir, "x.php"), content)
	list := testenv.WriteFile(t, filepath.Join(dir, "bad.md5"), md5Hex([]byte(content))+" family=test\n")
	known, err := LoadHashLists(list)
	if err != nil {
		t.Fatal(err)
	}
	// A hash list alone is enough to build a scanner.
	for _, set := range []*rules.Set{compile(t, testRules), nil} {
		s := newScanner(t, set, known, Options{Workers: 1})
		v := s.Scan(p)
		if v.Err != nil || len(v.Matches) != 1 || v.Matches[0].Description != "md5 listed in "+list+":1 (family=test)" || v.Severity != finding.SeverityCritical {
			t.Errorf("rules %v: %+v", set != nil, v)
		}
	}
}

// TestAllowList: a checked false positive on the allow list is not flagged
// by the rules (and not YARA-scanned), while the same content on a
// known-bad list is still flagged, and other content still is scanned.
func TestAllowList(t *testing.T) {
	dir := t.TempDir()
	fp := testenv.WriteFile(t, filepath.Join(dir, "docs.php"), "<?php // the manual shows: eval($_POST['x']);\n")
	other := testenv.WriteFile(t, filepath.Join(dir, "shell.php"), "<?php eval($_POST['y']);\n")
	sum := sha256.Sum256([]byte("<?php // the manual shows: eval($_POST['x']);\n"))
	allow, err := LoadHashLists(testenv.WriteFile(t, filepath.Join(dir, "allow.sha256"), hex.EncodeToString(sum[:])+"  docs.php\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 1, Allow: allow})
	if v := s.Scan(fp); v.Flagged() || !v.Allowed || v.Err != nil {
		t.Errorf("allowed file: flagged %v allowed %v err %v", v.Matches, v.Allowed, v.Err)
	}
	if v := s.Scan(other); !v.Flagged() || v.Allowed {
		t.Errorf("other file: matches %v allowed %v, want flagged", v.Matches, v.Allowed)
	}
	known, err := LoadHashLists(testenv.WriteFile(t, filepath.Join(dir, "bad.sha256"), hex.EncodeToString(sum[:])+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s2 := newScanner(t, compile(t, testRules), known, Options{Workers: 1, Allow: allow})
	if v := s2.Scan(fp); len(v.Matches) != 1 || v.Matches[0].Rule != HashListRule {
		t.Errorf("allowed but known-bad: matches %+v, want only the hash list", v.Matches)
	}
}
