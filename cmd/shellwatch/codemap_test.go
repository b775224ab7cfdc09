package main

import (
	"os"
	"os/exec"
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
