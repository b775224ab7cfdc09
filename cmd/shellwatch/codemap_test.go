package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's code map names every package: one added without a line
// there fails here.
func TestREADMECodeMapNamesEveryPackage(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool on PATH")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, codeMap, ok := strings.Cut(string(readme), "## Code map")
	if !ok {
		t.Fatal("README has no \"## Code map\" section")
	}
	if end := strings.Index(codeMap, "\n## "); end >= 0 {
		codeMap = codeMap[:end]
	}
	out, err := exec.Command("go", "list", "github.com/shellwatch/shellwatch/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(pkg, "github.com/shellwatch/shellwatch/")
		if strings.HasPrefix(rel, "internal/") {
			continue // one line for them all
		}
		if !strings.Contains(codeMap, "`"+rel+"`") {
			t.Errorf("the README's code map has no line for %s", rel)
		}
	}
}

// Every attack of the README's threat model names the test that does what
// the attacker did: each of those tests exists.
func TestREADMEThreatModelNamesRealTests(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Threat model")
	if !ok {
		t.Fatal("README has no \"## Threat model\" section")
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	named := regexp.MustCompile("`([a-z]+)\\.(Test[A-Za-z0-9_]+)`").FindAllStringSubmatch(section, -1)
	if len(named) < 10 {
		t.Fatalf("the threat model names %d tests; its table lost them?", len(named))
	}
	for _, m := range named {
		files, _ := filepath.Glob(filepath.Join("../..", m[1], "*_test.go"))
		found := false
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "func "+m[2]+"(") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("the threat model names %s.%s, which does not exist", m[1], m[2])
		}
	}
}
