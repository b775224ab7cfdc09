package quarantine

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// linkRequest is the request an agent makes for the link at path.
func linkRequest(t *testing.T, path string) LinkRequest {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	return LinkRequest{Path: path, Dev: uint64(st.Dev), Inode: st.Ino, Target: target, Reason: "symlink"}
}

// TestMoveLink: a symbolic link to a shell outside the root is moved into
// the vault as itself — its text, byte-exact — and its target is never
// touched; restore makes the link again. A link turned elsewhere after it
// was judged, or replaced by a file, is not moved.
func TestMoveLink(t *testing.T) {
	v := newVault(t)
	dir := t.TempDir()
	shell := filepath.Join(dir, "outside", "shell.php")
	if err := os.MkdirAll(filepath.Dir(shell), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shell, []byte("<?php system($_GET[1]);"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "www")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "x.php")
	target := "../outside/shell.php\n\xff"
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	e, err := v.MoveLink(linkRequest(t, link))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link is still in the root: %v", err)
	}
	if fi, err := os.Lstat(shell); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("the target was touched: %v %v", fi, err)
	}
	if e.Type != "symlink" || e.LinkTarget != target || !e.Verified || e.Size != int64(len(target)) {
		t.Errorf("entry %+v, want a verified symlink entry with the target's text", e)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(v.fd, e.ID, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o7777 != 0 {
		t.Errorf("the vault holds mode %o (%v), want a regular file of mode 0000", st.Mode, err)
	}
	got, err := v.Get(e.ID)
	if err != nil || got.LinkTarget != e.LinkTarget {
		t.Errorf("Get: %+v, %v", got, err)
	}
	if err := v.Restore(e.ID, ""); err != nil {
		t.Fatal(err)
	}
	if back, err := os.Readlink(link); err != nil || back != target {
		t.Errorf("restored link reads %q, %v; want %q", back, err, target)
	}

	// Turned elsewhere after it was judged: not moved.
	req := linkRequest(t, link)
	os.Remove(link)
	if err := os.Symlink("/etc/shadow", link); err != nil {
		t.Fatal(err)
	}
	req.Inode = linkRequest(t, link).Inode // the same inode number would not save it either
	if _, err := v.MoveLink(req); !errors.Is(err, ErrChanged) {
		t.Errorf("a link retargeted after its judgement: %v, want ErrChanged", err)
	}
	if back, _ := os.Readlink(link); back != "/etc/shadow" {
		t.Errorf("the retargeted link was moved or changed: %q", back)
	}
	// Replaced by a regular file: not moved either.
	req = linkRequest(t, link)
	os.Remove(link)
	if err := os.WriteFile(link, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := v.MoveLink(req); !errors.Is(err, ErrChanged) {
		t.Errorf("a file swapped in for the link: %v, want ErrChanged", err)
	}
	if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the swapped-in file was moved: %v %v", fi, err)
	}
}
