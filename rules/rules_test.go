package rules

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// Every bundled rule must compile and carry the metadata alerts are built
// from: a known severity, a family and a description.
func TestBundledRulesHaveMetadata(t *testing.T) {
	set, err := Compile(Options{Bundled: true})
	if err != nil {
		t.Fatalf("bundled rules: %v", err)
	}
	defer set.Destroy()
	if len(set.Rules()) < 20 {
		t.Fatalf("only %d bundled rules", len(set.Rules()))
	}
	for _, w := range set.Warnings() {
		t.Errorf("bundled rules warning: %s", w)
	}
	raw := rawMetas(t, set)
	for _, r := range set.Rules() {
		if r.Namespace != BundledNamespace {
			t.Errorf("rule %s in namespace %q, want %q", r.Name, r.Namespace, BundledNamespace)
		}
		if _, ok := raw[r.Name]["severity"]; !ok {
			t.Errorf("rule %s has no severity meta", r.Name)
		}
		if r.Family == "" || r.Description == "" {
			t.Errorf("rule %s lacks family or description meta", r.Name)
		}
	}
}

func rawMetas(t *testing.T, set *Set) map[string]map[string]any {
	t.Helper()
	out := make(map[string]map[string]any)
	for _, r := range set.Compiled().GetRules() {
		m := make(map[string]any)
		for _, meta := range r.Metas() {
			m[meta.Identifier] = meta.Value
		}
		out[r.Identifier()] = m
	}
	return out
}

func TestCompileErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	good := testenv.WriteFile(t, filepath.Join(dir, "good.yar"), "rule ok { strings: $a = \"abcd\" condition: $a }\n")
	bad1 := testenv.WriteFile(t, filepath.Join(dir, "bad1.yar"), "rule one {\n  strings: $a = \"abcd\"\n  condition: $b\n}\n")
	bad2 := testenv.WriteFile(t, filepath.Join(dir, "sub", "bad2.yara"), "rule two {\n\n  condition: nosuchthing(\n}\n")
	testenv.WriteFile(t, filepath.Join(dir, "notes.txt"), "not a rule file, not compiled")

	_, err := Compile(Options{Paths: []string{dir}})
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("Compile = %v, want a *CompileError", err)
	}
	msg := ce.Error()
	for _, want := range []string{bad1, bad2} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `:[0-9]+: \S`).MatchString(msg) {
			t.Errorf("error does not locate %s as file:line: message:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, good) {
		t.Errorf("error blames the good file:\n%s", msg)
	}

	set, err := Compile(Options{Paths: []string{good}})
	if err != nil {
		t.Fatalf("good file alone: %v", err)
	}
	defer set.Destroy()
	if n := len(set.Rules()); n != 1 {
		t.Errorf("%d rules, want 1", n)
	}
}

// A missing rule path is an error; an empty rule folder (the packaged
// /etc/shellwatch/rules.d before the operator adds anything) is not, but a
// warning says so, and says when its files are not named as rules.
func TestCompileMissingAndEmpty(t *testing.T) {
	dir := t.TempDir()
	if _, err := Compile(Options{Paths: []string{filepath.Join(dir, "nope")}}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing path: %v, want an error naming it", err)
	}
	set, err := Compile(Options{Bundled: true, Paths: []string{dir}})
	if err != nil {
		t.Fatalf("bundled rules and an empty folder: %v", err)
	}
	defer set.Destroy()
	if w := strings.Join(set.Warnings(), "\n"); !strings.Contains(w, dir+": no *.yar or *.yara files") {
		t.Errorf("warnings %q do not say %s holds no rule file", w, dir)
	}
	if err := os.WriteFile(filepath.Join(dir, "local.rules"), []byte("rule x { condition: true }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Compile(Options{Paths: []string{dir}})
	if err == nil || !strings.Contains(err.Error(), "no rules to compile") || !strings.Contains(err.Error(), dir) ||
		!strings.Contains(err.Error(), "1 other files are not read as rules") {
		t.Errorf("only an empty folder: %v, want an error saying nothing compiles, naming %s and its other file", err, dir)
	}
	if _, err := Compile(Options{}); err == nil {
		t.Error("nothing selected: want an error")
	}
}

// Operator rules may use the external variables; they live in their own
// namespace, so a name clash with a bundled rule is no error.
func TestOperatorRulesExternalsAndMeta(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteFile(t, filepath.Join(dir, "ops.yar"), `
rule uses_externals { condition: extension == ".php" and filename matches /^x/ and filepath contains "/" }
rule scored { meta: score = 70 description = "from a public set" condition: false }
rule bad_severity { meta: severity = "urgent" condition: false }
rule no_meta { condition: false }
`)
	set, err := Compile(Options{Bundled: true, Paths: []string{dir}, DefaultSeverity: finding.SeverityMedium})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Destroy()
	check := func(name string, want finding.Severity) {
		t.Helper()
		r, ok := set.Lookup(OperatorNamespace, name)
		if !ok {
			t.Fatalf("rule %s not found", name)
		}
		if r.Severity != want {
			t.Errorf("rule %s severity %s, want %s", name, r.Severity, want)
		}
	}
	check("scored", finding.SeverityHigh)
	check("bad_severity", finding.SeverityMedium)
	check("no_meta", finding.SeverityMedium)
	found := false
	for _, w := range set.Warnings() {
		if strings.Contains(w, "bad_severity") && strings.Contains(w, "urgent") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning about the bad severity meta: %q", set.Warnings())
	}
}

func TestExternals(t *testing.T) {
	tests := []struct{ path, name, ext string }{
		{"/var/www/index.PHP", "index.PHP", ".php"},
		{"/var/www/.htaccess", ".htaccess", ""},
		{"/var/www/.user.ini", ".user.ini", ".ini"},
		{"/var/www/shell.php.jpg", "shell.php.jpg", ".jpg"},
		{"/var/www/README", "README", ""},
		{"/var/www/a\nb.php", "a\nb.php", ".php"},
	}
	for _, tt := range tests {
		name, full, ext := Externals(tt.path)
		if name != tt.name || full != tt.path || ext != tt.ext {
			t.Errorf("Externals(%q) = %q, %q, %q; want %q, %q, %q", tt.path, name, full, ext, tt.name, tt.path, tt.ext)
		}
	}
}
