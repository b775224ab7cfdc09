package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// A China Chopper one-liner, the smallest real webshell shape: the bundled
// rules must flag it wherever it hides.
const chopper = "<?php @eval($_POST['x']); ?>\n"

// testRule is a fixed operator rule for output tests, so golden files do not
// change whenever the bundled rules improve.
const testRule = `rule test_eval_post {
  meta:
    severity = "critical"
    family = "test_family"
    description = "eval of POST input"
  strings:
    $a = "eval($_POST"
  condition:
    $a
}
`

type result struct {
	status         int
	stdout, stderr string
}

func runCmd(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(args, &stdout, &stderr) }()
	select {
	case status := <-done:
		return result{status, stdout.String(), stderr.String()}
	case <-time.After(2 * time.Minute):
		// A hang (a FIFO opened for reading, say) is the failure; this is a
		// generous deadline, not a timing assertion.
		t.Fatalf("shellwatch %q did not finish", args)
		return result{}
	}
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestScanExitStatus(t *testing.T) {
	clean := t.TempDir()
	write(t, filepath.Join(clean, "index.php"), "<?php echo 'hello';\n")
	if r := runCmd(t, "scan", clean); r.status != exitOK || r.stdout != "" {
		t.Errorf("clean tree: status %d stdout %q stderr %q, want 0 and nothing", r.status, r.stdout, r.stderr)
	}

	dirty := t.TempDir()
	shell := write(t, filepath.Join(dirty, "uploads", "avatar.gif"), "GIF89a\n"+chopper)
	r := runCmd(t, "scan", dirty)
	if r.status != exitFlagged {
		t.Fatalf("webshell tree: status %d, want 1; stderr %q", r.status, r.stderr)
	}
	fields := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\t")
	if len(fields) != 3 || fields[0] != "critical" && fields[0] != "high" || fields[1] != shell || fields[2] == "" {
		t.Errorf("output line %q, want SEVERITY<TAB>%s<TAB>RULES", r.stdout, shell)
	}
	if !strings.Contains(r.stderr, "scanned 1 files") || !strings.Contains(r.stderr, "flagged 1") {
		t.Errorf("summary missing from stderr: %q", r.stderr)
	}

	if r := runCmd(t, "scan", filepath.Join(clean, "missing")); r.status != exitError || !strings.Contains(r.stderr, "missing") {
		t.Errorf("missing path: status %d stderr %q, want 2 naming the path", r.status, r.stderr)
	}
	if r := runCmd(t, "scan"); r.status != exitError {
		t.Errorf("no path: status %d, want 2", r.status)
	}
	if r := runCmd(t, "scan", "--no-such-flag", clean); r.status != exitError {
		t.Errorf("bad flag: status %d, want 2", r.status)
	}
}

// Hostile trees: nothing outside is read through a link, nothing blocks,
// every name comes out exact, and an error on one file stops nothing.
func TestScanHostileTree(t *testing.T) {
	outside := t.TempDir()
	secret := write(t, filepath.Join(outside, "shadow"), chopper)
	root := t.TempDir()
	if err := os.Symlink(secret, filepath.Join(root, "link.php")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "pipe.php"), 0o644); err != nil {
		t.Fatal(err)
	}
	newline := write(t, filepath.Join(root, "a\nb.php"), chopper)
	invalid := write(t, filepath.Join(root, "bad\xff\xfe.php"), chopper)
	dash := write(t, filepath.Join(root, "-rf.php"), chopper)
	tab := write(t, filepath.Join(root, "x\ty\".php"), chopper)

	r := runCmd(t, "scan", "--json", root)
	if r.status != exitFlagged {
		t.Fatalf("status %d, want 1; stderr %q", r.status, r.stderr)
	}
	got := make(map[string]bool)
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var rec scanRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("invalid JSON line %q: %v", line, err)
		}
		path := rec.Path
		if rec.PathBase64 != "" {
			b, err := base64.StdEncoding.DecodeString(rec.PathBase64)
			if err != nil {
				t.Fatalf("path_base64 %q: %v", rec.PathBase64, err)
			}
			path = string(b)
		}
		got[path] = true
		if rec.SHA256 == "" || rec.MD5 == "" || len(rec.Rules) == 0 || rec.Severity.String() == "none" {
			t.Errorf("incomplete record %s", line)
		}
	}
	for _, want := range []string{newline, invalid, dash, tab} {
		if !got[want] {
			t.Errorf("%q not reported exactly; got %v", want, got)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d files flagged, want 4 (links must not be followed): %v", len(got), got)
	}
	if strings.Contains(r.stdout+r.stderr, secret) {
		t.Errorf("output mentions the link target %s: the link was followed", secret)
	}
	if !strings.Contains(r.stderr, "2 symlinks") {
		t.Errorf("summary does not count the 2 symlinks: %q", r.stderr)
	}

	// Plain output: one line per file, the odd names quoted.
	r = runCmd(t, "scan", root)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d output lines, want 4: %q", len(lines), r.stdout)
	}
	for _, want := range []string{`"` + filepath.Join(root, `a\nb.php`) + `"`, `"` + filepath.Join(root, `bad\xff\xfe.php`) + `"`, dash} {
		if !strings.Contains(r.stdout, "\t"+want+"\t") {
			t.Errorf("plain output lacks %s:\n%s", want, r.stdout)
		}
	}

	// A path that starts with a dash is named after "--".
	r = runCmd(t, "scan", "--json", "--", dash)
	if r.status != exitFlagged {
		t.Errorf("scan -- %s: status %d, stderr %q", dash, r.status, r.stderr)
	}
}

func TestScanVanishingAndUnreadable(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "ok.php"), chopper)
	locked := write(t, filepath.Join(root, "locked", "x.php"), chopper)
	if err := os.Chmod(filepath.Dir(locked), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Dir(locked), 0o755) })
	r := runCmd(t, "scan", root)
	if os.Geteuid() == 0 {
		// Root reads through mode 000; the case that matters is that the
		// scan finished and flagged both.
		if r.status != exitFlagged || strings.Count(r.stdout, "\n") != 2 {
			t.Errorf("as root: status %d, stdout %q", r.status, r.stdout)
		}
		return
	}
	if r.status != exitFlagged || !strings.Contains(r.stderr, "permission denied") || !strings.Contains(r.stderr, "errors 1") {
		t.Errorf("status %d, stderr %q: want 1, the error reported and counted", r.status, r.stderr)
	}
}

// A deep tree (150 levels, about 2,900 bytes of path: within PATH_MAX, so the
// file can be reached; walk's own tests go past PATH_MAX) is walked to the
// bottom.
func TestScanDeepTree(t *testing.T) {
	root := t.TempDir()
	p := root
	for i := 0; i < 150; i++ {
		p = filepath.Join(p, "dddddddddddddddddd")
	}
	write(t, filepath.Join(p, "deep.php"), chopper)
	r := runCmd(t, "scan", root)
	if r.status != exitFlagged || !strings.Contains(r.stdout, "deep.php") {
		t.Errorf("status %d stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
}

func TestScanBadRulesAndConfig(t *testing.T) {
	dir := t.TempDir()
	bad := write(t, filepath.Join(dir, "rules", "broken.yar"), "rule broken {\n  strings:\n    $a = \"x\n  condition: $a\n}\n")
	r := runCmd(t, "scan", "--rules", filepath.Dir(bad), dir)
	if r.status != exitError || !strings.Contains(r.stderr, bad+":") {
		t.Errorf("broken rule: status %d stderr %q, want 2 and %s:LINE", r.status, r.stderr, bad)
	}
	r = runCmd(t, "rules", "check", bad)
	if r.status != exitError || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(bad)+`:[0-9]+: \S`).MatchString(r.stderr) {
		t.Errorf("rules check: status %d stderr %q, want 2 and %s:LINE: message", r.status, r.stderr, bad)
	}

	cfg := write(t, filepath.Join(dir, "config.toml"), "[scanner]\nmax_filesize = \"1MiB\"\n")
	r = runCmd(t, "scan", "--config", cfg, dir)
	if r.status != exitError || !strings.Contains(r.stderr, cfg+":2: scanner.max_filesize: unknown key") {
		t.Errorf("unknown key: status %d stderr %q", r.status, r.stderr)
	}
}

func TestRulesCheckAndList(t *testing.T) {
	dir := t.TempDir()
	good := write(t, filepath.Join(dir, "good.yar"), testRule)
	r := runCmd(t, "rules", "check", good)
	if r.status != exitOK || r.stdout != "ok: 1 rules from 1 files\n" {
		t.Errorf("rules check: status %d stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
	r = runCmd(t, "rules", "list")
	if r.status != exitOK || !strings.Contains(r.stdout, "SEVERITY") || strings.Count(r.stdout, "shellwatch:") < 20 {
		t.Errorf("rules list: status %d stdout %q", r.status, r.stdout)
	}
}

// The --json record is a documented interface: a golden file pins it, for
// a YARA match and for the PHP analyzer's (with its line).
func TestScanJSONGolden(t *testing.T) {
	testScanJSONGolden(t, chopper, "scan-json.golden")
}

func TestScanJSONGoldenPHP(t *testing.T) {
	testScanJSONGolden(t, "<?php\n$c = $_GET['c'];\n$f = 'sys' . 'tem';\n$f($c);\n", "scan-json-php.golden")
}

func testScanJSONGolden(t *testing.T, content, goldenName string) {
	root := t.TempDir()
	rulesDir := t.TempDir()
	write(t, filepath.Join(rulesDir, "test.yar"), testRule)
	shell := write(t, filepath.Join(root, "up", "shell.php"), content)
	if err := os.Chmod(shell, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	mtime := time.Date(2026, 11, 25, 3, 12, 44, 0, time.UTC)
	if err := os.Chtimes(shell, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, "scan", "--json", "--no-bundled", "--rules", rulesDir, root)
	if r.status != exitFlagged {
		t.Fatalf("status %d stderr %q", r.status, r.stderr)
	}
	got := strings.ReplaceAll(r.stdout, root, "$ROOT")
	var rec map[string]any
	if err := json.Unmarshal([]byte(got), &rec); err != nil {
		t.Fatal(err)
	}
	rec["uid"], rec["gid"] = 0, 0 // whoever runs the test
	norm, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", goldenName)
	if *update {
		if err := os.WriteFile(golden, append(norm, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(norm)+"\n" {
		t.Errorf("scan --json differs from %s:\n got %s\nwant %s", golden, norm, want)
	}
}

// A path the operator names is resolved once (/var/www may be a link to
// /srv/www); links below it are still never followed.
func TestScanResolvesNamedRoot(t *testing.T) {
	dir := t.TempDir()
	shell := write(t, filepath.Join(dir, "real", "a.php"), chopper)
	if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "real", "loop")); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, "scan", filepath.Join(dir, "link"))
	if r.status != exitFlagged || r.stdout == "" || !strings.Contains(r.stdout, "\t"+shell+"\t") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("status %d stdout %q stderr %q, want %s flagged once", r.status, r.stdout, r.stderr, shell)
	}
}
