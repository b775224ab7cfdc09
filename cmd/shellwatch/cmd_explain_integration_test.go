package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// explain shows on-call the way request input took, line by line, the
// strings the analyzer folded and the strings a YARA rule matched.
func TestExplain(t *testing.T) {
	dir := t.TempDir()
	shell := write(t, filepath.Join(dir, "x.php"), "<?php\n$f = str_rot13('flfgrz');\n$c = $_GET['c'];\n$f($c);\n")
	clean := write(t, filepath.Join(dir, "clean.php"), "<?php echo 'hello';\n")
	rules := write(t, filepath.Join(dir, "t.yar"), strings.ReplaceAll(testRule, "eval($_POST", "str_rot13("))

	r := runCmd(t, "explain", "--rules", rules, shell)
	if r.status != exitFlagged {
		t.Fatalf("explain: %+v", r)
	}
	for _, want := range []string{
		shell + ": critical",
		"php_request_command_exec  [php, critical",
		"reaches system",
		"from line 3     $_GET['c']",
		"line 4     run as a command by system",
		`line 4     function name: "system"`,
		"test_eval_post  [default, critical",
		`line 2     $a = "str_rot13("`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("explain output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = runCmd(t, "explain", clean)
	if r.status != exitOK || !strings.Contains(r.stdout, "not flagged") || !strings.Contains(r.stdout, "nothing to follow") {
		t.Errorf("explain of a clean file: %+v", r)
	}

	r = runCmd(t, "explain", "--json", shell)
	var rec struct {
		Path string `json:"path"`
		PHP  struct {
			Findings []struct {
				Rule string `json:"rule"`
				Line int    `json:"line"`
				Path []struct {
					Line int    `json:"line"`
					What string `json:"what"`
				} `json:"path"`
			} `json:"findings"`
			Folded []struct {
				Value string `json:"value"`
			} `json:"folded"`
		} `json:"php"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatalf("explain --json: %v: %s", err, r.stdout)
	}
	found := false
	for _, f := range rec.PHP.Findings {
		if f.Rule == "php_request_command_exec" && f.Line == 4 && len(f.Path) > 0 && f.Path[0].What == "$_GET['c']" {
			found = true
		}
	}
	if !found || len(rec.PHP.Folded) == 0 || rec.PHP.Folded[0].Value != "system" {
		t.Errorf("explain --json: %s", r.stdout)
	}

	if r = runCmd(t, "explain", filepath.Join(dir, "missing.php")); r.status != exitError || !strings.Contains(r.stderr, "missing.php") {
		t.Errorf("explain of a missing file: %+v", r)
	}
}
