package scanner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/testenv"
)

// TestScanLink: a link's target is read (readlink) and resolved without
// being opened, and only a regular file on a disk filesystem is scanned,
// under the link's name. Hostile targets — a FIFO (which would block an
// open), /dev/zero, a directory, /proc's magic links, a /proc file that
// blocks when read, nothing at all — are looked at and never read.
func TestScanLink(t *testing.T) {
	s := newScanner(t, compile(t, testRules), nil, Options{})
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	shellFile := testenv.WriteFile(t, filepath.Join(outside, "shell.txt"), shell)
	fifo := filepath.Join(outside, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "www")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, target string
		mode         os.FileMode // type of what it reaches; 0: nothing
		flagged      bool
		skipped      string // part of ContentSkipped
	}{
		{"x.php", shellFile, 0, true, ""},
		{"rel.php", "../outside/shell.txt", 0, true, ""},
		{"dir", outside, os.ModeDir, false, ""},
		{"fifo.php", fifo, os.ModeNamedPipe, false, ""},
		{"zero.php", "/dev/zero", os.ModeDevice | os.ModeCharDevice, false, ""},
		{"kmsg.php", "/proc/kmsg", 0, false, "proc"},
		{"magic.php", "/proc/self/fd/0", 0, false, ""},
		{"dangling.php", filepath.Join(outside, "none"), 0, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(root, c.name)
			if err := os.Symlink(c.target, p); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			l, err := s.ScanLink(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if l.Target != c.target {
				t.Errorf("Target = %q, want %q", l.Target, c.target)
			}
			switch {
			case c.flagged:
				if l.Content == nil || !l.Content.Flagged() || l.Content.Path != p || l.Resolved != shellFile || !l.Mode.IsRegular() {
					t.Errorf("link to a shell: %+v (content %+v), want it resolved to %s, scanned under the link's name and flagged", l, l.Content, shellFile)
				}
			case c.skipped != "":
				if l.Content != nil || !strings.Contains(l.ContentSkipped, c.skipped) {
					t.Errorf("link to %s: content %+v, skipped %q; want it never read", c.target, l.Content, l.ContentSkipped)
				}
			default:
				if l.Content != nil {
					t.Errorf("link to %s was read: %+v", c.target, l.Content)
				}
				if l.Mode.Type() != c.mode || (c.mode == 0) != (l.Unresolved != nil) {
					t.Errorf("link to %s: mode %v, unresolved %v; want type %v", c.target, l.Mode, l.Unresolved, c.mode)
				}
			}
		})
	}
	if _, err := s.ScanLink(context.Background(), shellFile); err == nil {
		t.Error("ScanLink of a regular file succeeded")
	}
}
