package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/quarantine"
)

// runQuarantineCmd runs "shellwatch quarantine args…" in-process.
func runQuarantineCmd(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	status := runQuarantine(args, &stdout, &stderr)
	return result{status, stdout.String(), stderr.String()}
}

// quarantineFile plants a webshell at path and moves it into the vault as
// the agent would, returning its entry. With scanned, the file is already
// there, and scanned is what the scanner read of it.
func quarantineFile(t *testing.T, vaultDir, path string, scanned ...string) quarantine.Entry {
	t.Helper()
	if len(scanned) == 0 {
		write(t, path, chopper)
		scanned = []string{chopper}
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(scanned[0]))
	v, err := quarantine.Open(vaultDir)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	e, err := v.Move(quarantine.Request{
		Path: path, Dev: uint64(st.Dev), Inode: st.Ino, Size: int64(len(scanned[0])), SHA256: hex.EncodeToString(sum[:]),
		Rules: []quarantine.Match{
			{Rule: "shellwatch:php_eval_post", Severity: "high", Family: "china_chopper"},
			{Rule: "op:chopper", Severity: "critical", Family: "china_chopper"},
		},
		Reason: "webshell",
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestQuarantineCommand(t *testing.T) {
	vault := filepath.Join(t.TempDir(), "quarantine")
	root := t.TempDir()
	crafted := filepath.Join(root, "uploads", "a\nID  fake row\xff.php")
	plain := filepath.Join(root, "uploads", "shell.php")
	e1 := quarantineFile(t, vault, crafted)
	e2 := quarantineFile(t, vault, plain)

	r := runQuarantineCmd(t, "--vault", vault, "list")
	if r.status != exitOK {
		t.Fatalf("list: status %d stderr %q", r.status, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("list printed %d lines, want a header and 2 rows (a crafted name must not add one):\n%s", len(lines), r.stdout)
	}
	for _, want := range []string{e1.ID, e2.ID, safetext.Path(crafted), plain, "critical", "shellwatch:php_eval_post,op:chopper", "ok"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = runQuarantineCmd(t, "list", "--json", "--vault", vault)
	jsonLines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.status != exitOK || len(jsonLines) != 2 {
		t.Fatalf("list --json: status %d, %d lines:\n%s%s", r.status, len(jsonLines), r.stdout, r.stderr)
	}
	paths := map[string]bool{}
	for _, l := range jsonLines {
		e, err := quarantine.DecodeEntry([]byte(l))
		if err != nil {
			t.Fatalf("list --json line %q: %v", l, err)
		}
		paths[e.Path] = true
	}
	if !paths[crafted] || !paths[plain] {
		t.Errorf("list --json paths %v, want the exact bytes of %q and %q", paths, crafted, plain)
	}

	r = runQuarantineCmd(t, "--vault", vault, "show", e1.ID)
	if r.status != exitOK || !strings.Contains(r.stdout, safetext.Path(crafted)) || !strings.Contains(r.stdout, e1.SHA256) || strings.Count(r.stdout, "\nrule:") != 2 {
		t.Errorf("show: status %d:\n%s%s", r.status, r.stdout, r.stderr)
	}
	r = runQuarantineCmd(t, "--vault", vault, "show", "--json", e1.ID)
	if e, err := quarantine.DecodeEntry([]byte(r.stdout)); err != nil || e.Path != crafted {
		t.Errorf("show --json: %q, %v", r.stdout, err)
	}

	// Restore refuses to overwrite, then restores elsewhere.
	write(t, plain, "<?php echo 'redeployed';\n")
	r = runQuarantineCmd(t, "--vault", vault, "restore", e2.ID)
	if r.status != exitError || !strings.Contains(r.stderr, "exists") {
		t.Errorf("restore over a file: status %d stderr %q", r.status, r.stderr)
	}
	to := filepath.Join(t.TempDir(), "evidence.php.txt")
	r = runQuarantineCmd(t, "--vault", vault, "restore", e2.ID, "--to", to)
	if r.status != exitOK || r.stdout != "restored "+e2.ID+" to "+to+"\n" {
		t.Fatalf("restore --to: status %d stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
	if b, _ := os.ReadFile(to); string(b) != chopper {
		t.Errorf("restored content %q", b)
	}
	// Restore to the crafted original path: with no config to tell the
	// roots, a warning that a daemon watching it quarantines it again.
	r = runQuarantineCmd(t, "--vault", vault, "restore", e1.ID)
	lines = strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.status != exitOK || len(lines) != 2 || lines[0] != "restored "+e1.ID+" to "+safetext.Path(crafted) ||
		!strings.Contains(lines[1], "quarantines it again") || !strings.Contains(lines[1], "rules.allow_lists") || !strings.Contains(lines[1], e1.SHA256) {
		t.Fatalf("restore: status %d stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
	if b, _ := os.ReadFile(crafted); string(b) != chopper {
		t.Errorf("restored content %q", b)
	}
	r = runQuarantineCmd(t, "--vault", vault, "list")
	if r.status != exitOK || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("list of an empty vault: status %d:\n%s", r.status, r.stdout)
	}
}

// TestQuarantineShowChecksStoredBytes: the dropper of issue 10 (item 9)
// keeps its write descriptor open and writes 20 MiB more after the move;
// show and list still say ok, because the vault stores its own copy of the
// scanned bytes. Then the stored file itself is changed, and both say so
// plainly, with exit status 1; a stored file removed is "missing".
func TestQuarantineShowChecksStoredBytes(t *testing.T) {
	vault := filepath.Join(t.TempDir(), "quarantine")
	path := filepath.Join(t.TempDir(), "uploads", "x.php")
	dropper := testenv.Dropper(t, path, chopper)
	e := quarantineFile(t, vault, path, chopper)
	chunk := bytes.Repeat([]byte("A"), 1<<20)
	for range 20 {
		if _, err := dropper.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}

	r := runQuarantineCmd(t, "--vault", vault, "show", e.ID)
	if r.status != exitOK || showRow(r.stdout, "status") != "ok" || !strings.HasPrefix(showRow(r.stdout, "stored"), "intact") || r.stderr != "" {
		t.Fatalf("show after the dropper wrote 20 MiB more: status %d:\n%s%s", r.status, r.stdout, r.stderr)
	}

	stored := filepath.Join(vault, e.ID)
	if err := os.WriteFile(stored, []byte("<?php echo 'harmless';\n"), 0); err != nil {
		t.Fatal(err)
	}
	r = runQuarantineCmd(t, "--vault", vault, "show", e.ID)
	if stored := showRow(r.stdout, "stored"); r.status != exitFlagged || showRow(r.stdout, "status") != "changed" ||
		!strings.HasPrefix(stored, "CHANGED: the stored bytes no longer match the recorded hash") || !strings.Contains(stored, e.SHA256) || !strings.Contains(r.stderr, e.ID) {
		t.Errorf("show of a changed stored file: status %d, want 1, status changed and the mismatch:\n%s%s", r.status, r.stdout, r.stderr)
	}
	r = runQuarantineCmd(t, "--vault", vault, "show", "--json", e.ID)
	if r.status != exitFlagged || !strings.Contains(r.stderr, "no longer match") {
		t.Errorf("show --json of a changed stored file: status %d stderr %q, want 1 and the mismatch on stderr", r.status, r.stderr)
	}
	r = runQuarantineCmd(t, "--vault", vault, "list")
	if r.status != exitFlagged || !strings.Contains(r.stdout, " changed ") || !strings.Contains(r.stderr, e.ID+" (changed)") {
		t.Errorf("list with a changed stored file: status %d, want 1, status changed, the id on stderr:\n%s%s", r.status, r.stdout, r.stderr)
	}

	if err := os.Remove(stored); err != nil {
		t.Fatal(err)
	}
	r = runQuarantineCmd(t, "--vault", vault, "show", e.ID)
	if r.status != exitFlagged || showRow(r.stdout, "status") != "missing" || !strings.HasPrefix(showRow(r.stdout, "stored"), "MISSING") {
		t.Errorf("show of a removed stored file: status %d:\n%s%s", r.status, r.stdout, r.stderr)
	}
}

// showRow returns the value of the row key of show's output.
func showRow(out, key string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestQuarantineRestoreNote: restoring into a root the config watches says
// the daemon will quarantine the file again and how to keep it
// (rules.allow_lists), or that it stays when its hash is allowed; restoring
// elsewhere says nothing more.
func TestQuarantineRestoreNote(t *testing.T) {
	dir := t.TempDir()
	vault := filepath.Join(dir, "quarantine")
	root := filepath.Join(dir, "www")
	allow := filepath.Join(dir, "allow.sha256")
	write(t, allow, "# checked false positives\n")
	cfg := filepath.Join(dir, "shellwatch.toml")
	write(t, cfg, fmt.Sprintf("[rules]\nallow_lists = [%q]\n[[watch]]\npath = %q\n", allow, root))

	e := quarantineFile(t, vault, filepath.Join(root, "uploads", "a.php"))
	r := runQuarantineCmd(t, "--vault", vault, "--config", cfg, "restore", e.ID)
	for _, want := range []string{"is in the watched root " + root, "quarantines it again", "shellwatch:php_eval_post,op:chopper", "rules.allow_lists", e.SHA256} {
		if r.status != exitOK || !strings.Contains(r.stdout, want) {
			t.Errorf("restore into a watched root: status %d stdout %q, want it to say %q", r.status, r.stdout, want)
		}
	}

	write(t, allow, e.SHA256+"  "+e.Path+"\n")
	e = quarantineFile(t, vault, filepath.Join(root, "uploads", "b.php"))
	r = runQuarantineCmd(t, "--vault", vault, "--config", cfg, "restore", e.ID)
	if r.status != exitOK || !strings.Contains(r.stdout, "its sha256 is in rules.allow_lists of "+cfg) || strings.Contains(r.stdout, "quarantines it again") {
		t.Errorf("restore of an allowed file: status %d stdout %q", r.status, r.stdout)
	}

	e = quarantineFile(t, vault, filepath.Join(root, "uploads", "c.php"))
	to := filepath.Join(dir, "evidence.txt")
	r = runQuarantineCmd(t, "--vault", vault, "--config", cfg, "restore", e.ID, "--to", to)
	if r.status != exitOK || r.stdout != "restored "+e.ID+" to "+to+"\n" {
		t.Errorf("restore outside the roots: status %d stdout %q", r.status, r.stdout)
	}
}

// TestQuarantinePurgeCommand: purge counts quarantined files, each stored
// with its metadata beside it (two files are two, not four), and leaves
// the vault empty.
func TestQuarantinePurgeCommand(t *testing.T) {
	vault := filepath.Join(t.TempDir(), "quarantine")
	e := quarantineFile(t, vault, filepath.Join(t.TempDir(), "x.php"))
	quarantineFile(t, vault, filepath.Join(t.TempDir(), "y.php"))
	if names, _ := os.ReadDir(vault); len(names) != 4 {
		t.Fatalf("the vault holds %d names, want 2 files and their metadata", len(names))
	}
	r := runQuarantineCmd(t, "--vault", vault, "purge", "--older-than", "30d")
	if r.status != exitOK || !strings.HasPrefix(r.stdout, "purged 0 ") {
		t.Errorf("purge 30d: status %d stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
	r = runQuarantineCmd(t, "--vault", vault, "purge", "--older-than", "0s")
	if r.status != exitOK || !strings.HasPrefix(r.stdout, "purged 2 quarantined files ") {
		t.Errorf("purge 0s: status %d stdout %q stderr %q", r.status, r.stdout, r.stderr)
	}
	if names, _ := os.ReadDir(vault); len(names) != 0 {
		t.Errorf("the vault still holds %d names after the purge", len(names))
	}
	r = runQuarantineCmd(t, "--vault", vault, "show", e.ID)
	if r.status != exitError || !strings.Contains(r.stderr, "no such vault entry") {
		t.Errorf("show after purge: status %d stderr %q", r.status, r.stderr)
	}
}

func TestQuarantineCommandErrors(t *testing.T) {
	vault := filepath.Join(t.TempDir(), "quarantine")
	quarantineFile(t, vault, filepath.Join(t.TempDir(), "x.php"))
	unsafe := t.TempDir()
	if err := os.Chmod(unsafe, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Usage"},
		{[]string{"--vault", vault, "frobnicate"}, "unknown subcommand"},
		{[]string{"--vault", vault, "show"}, "want 1 argument"},
		{[]string{"--vault", vault, "show", "../../etc/passwd"}, "not a vault id"},
		{[]string{"--vault", vault, "restore", "../../etc/passwd", "--to", "/tmp/x"}, "not a vault id"},
		{[]string{"--vault", vault, "list", "--to", "/tmp/x"}, "--to does not apply"},
		{[]string{"--vault", vault, "purge"}, "--older-than: missing"},
		{[]string{"--vault", vault, "purge", "--older-than", "30x"}, "not a duration"},
		{[]string{"--vault", vault, "purge", "--older-than", "-1d"}, "not a number of days"},
		{[]string{"--vault", filepath.Join(vault, "typo"), "list"}, "no vault at"},
		{[]string{"--vault", unsafe, "list"}, "chmod 0700"},
	} {
		r := runQuarantineCmd(t, tc.args...)
		if r.status != exitError || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("quarantine %q: status %d stderr %q, want 2 and %q", tc.args, r.status, r.stderr, tc.want)
		}
	}
	if _, err := os.Lstat(filepath.Join(vault, "typo")); err == nil {
		t.Error("a mistyped --vault created a vault")
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30d": 30 * 24 * time.Hour, "0d": 0, "12h": 12 * time.Hour, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute, "0s": 0,
	} {
		if got, err := parseAge(in); err != nil || got != want {
			t.Errorf("parseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "1.5d", "30", "-5m", "1d12h", "99999999d", "x"} {
		if got, err := parseAge(in); err == nil {
			t.Errorf("parseAge(%q) = %v, want an error", in, got)
		}
	}
}
