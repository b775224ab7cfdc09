package scanner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// ScanDescriptor scans the file the descriptor holds, from its start,
// under the name it is given: not what the path leads to now, and the
// caller's descriptor stays open where it was.
func TestScanDescriptor(t *testing.T) {
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 1})
	dir := t.TempDir()
	p := testenv.WriteFile(t, filepath.Join(dir, "x.php"), shell)
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.Seek(fd, 5, 0); err != nil {
		t.Fatal(err)
	}
	// The path now leads to a clean file; the descriptor holds the shell.
	if err := os.Rename(p, filepath.Join(dir, "moved.php")); err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, p, "<?php echo 1;\n")

	v := s.ScanDescriptor(context.Background(), fd, p)
	if v.Err != nil || v.Path != p || !v.Flagged() || v.Size != int64(len(shell)) || v.SHA256 != sha256Hex([]byte(shell)) {
		t.Fatalf("verdict %+v, want the shell's, whole, under %s", v, p)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Errorf("the caller's descriptor was closed by the scan: %v", err)
	}
	if v := s.ScanDescriptor(context.Background(), -1, p); v.Err == nil {
		t.Errorf("a bad descriptor scanned without error: %+v", v)
	}
}

// With prevention on, the engine has a pool of its own for it, over the
// same rules, so that its scans never wait behind the daemon's queue.
func TestEnginePreventPool(t *testing.T) {
	cfg := config.Default()
	cfg.Scanner.Workers = 1
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.Prevent != nil {
		t.Errorf("prevention off, yet the engine has a prevention pool")
	}
	e.Close()
	cfg.Prevent.Enabled = true
	e, err = NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Prevent == nil || e.Prevent.Workers() != PreventWorkers || e.Scanner.Workers() != 2 {
		t.Fatalf("prevent pool %v, main pool of %d workers", e.Prevent, e.Scanner.Workers())
	}
	p := testenv.WriteFile(t, filepath.Join(t.TempDir(), "x.php"), "<?php echo system($_GET['cmd']); ?>\n")
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if v := e.Prevent.ScanDescriptor(context.Background(), fd, p); v.Err != nil || !v.Flagged() {
		t.Errorf("the bundled rules through the prevention pool: %+v", v)
	}
}

// Prevention's pool gives up soon on a YARA-slow file: one timeout of
// PreventTimeout, and no second look at its ends, where the normal pool,
// with the same rules and timeout, looks again and finds the shell. A slow
// file opened again and again must not keep prevention's scanners busy.
func TestEnginePreventPoolGivesUpSoon(t *testing.T) {
	cfg := config.Default()
	cfg.Scanner.Workers = 1
	cfg.Prevent.Enabled = true
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.Prevent.Timeout() != PreventTimeout || e.Scanner.Timeout() != cfg.Scanner.Timeout.Std() {
		t.Errorf("YARA timeouts: prevention %s, normal %s; want %s and %s", e.Prevent.Timeout(), e.Scanner.Timeout(),
			PreventTimeout, cfg.Scanner.Timeout)
	}
	if e.Prevent.php == nil || e.Prevent.php.Timeout > PreventTimeout {
		t.Errorf("prevention's PHP analyzer bound %+v, want at most %s", e.Prevent.php, PreventTimeout)
	}
	e.Close()

	// test_slow runs out of time on the whole file, not on its two ends;
	// YARA alone (the PHP analyzer would find the shell without it).
	slow := strings.Replace(slowRule, "filesize > 100000", "filesize > 300000", 1)
	cfg.Rules.Bundled, cfg.Scanner.PHPAnalyzer = false, false
	cfg.Rules.Paths = []string{testenv.WriteFile(t, filepath.Join(t.TempDir(), "slow.yar"), slow+testRules)}
	cfg.Scanner.Timeout = config.Duration(PreventTimeout)
	if e, err = NewEngine(cfg); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	p := testenv.WriteFile(t, filepath.Join(t.TempDir(), "slow.php"), strings.Repeat("\x00", 400000)+shell)
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	v := e.Prevent.ScanDescriptor(context.Background(), fd, p)
	if !errors.Is(v.Err, ErrTimeout) || strings.Contains(v.Partial, "out of time") || v.Flagged() {
		t.Errorf("prevention's pool: err %v, partial %q, matches %v: want the timeout alone, no second look", v.Err, v.Partial, v.Matches)
	}
	if v := e.Scanner.Scan(p); !errors.Is(v.Err, ErrTimeout) || !v.Flagged() {
		t.Errorf("the normal pool: err %v, matches %v: want the timeout and the shell found at the end", v.Err, v.Matches)
	}
}
