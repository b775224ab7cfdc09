package finding_test

import (
	"os/exec"
	"strings"
	"testing"
)

// config, alert and state speak of findings through this package, never
// through rules or scanner: they build and test without libyara.
func TestNoCgoBelowTheVocabulary(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool on PATH")
	}
	pkgs := []string{"finding", "config", "alert", "state"}
	for i, p := range pkgs {
		pkgs[i] = "github.com/shellwatch/shellwatch/" + p
	}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "go-yara") || dep == "github.com/shellwatch/shellwatch/rules" || dep == "github.com/shellwatch/shellwatch/scanner" {
			t.Errorf("%s reaches %s", strings.Join(pkgs, " "), dep)
		}
	}
}
