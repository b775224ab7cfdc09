package recheck

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func identity(t *testing.T, p string) Identity {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return Of(&st)
}

// A write through another hard link, outside the listed name's folder,
// changes nothing inotify reports on the listed name; Check sees it.
func TestCheckSeesWriteThroughOtherLink(t *testing.T) {
	dir := t.TempDir()
	outside, inRoot := filepath.Join(dir, "outside.txt"), filepath.Join(dir, "root", "x.php")
	os.Mkdir(filepath.Dir(inRoot), 0o755)
	if err := os.WriteFile(outside, []byte("clean"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(outside, inRoot); err != nil {
		t.Fatal(err)
	}
	l := New(10)
	l.Add(inRoot, identity(t, inRoot), true, time.Time{})
	now := time.Now()
	if got := l.Check(now, now); len(got) != 0 {
		t.Fatalf("unchanged file reported: %v", got)
	}
	time.Sleep(10 * time.Millisecond) // a later ctime
	if err := os.WriteFile(outside, []byte("<?php system($_GET[1]);"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Still settling: left to its event, reported once settled.
	if got := l.Check(time.Now(), time.Now().Add(-time.Hour)); len(got) != 0 {
		t.Fatalf("a change still settling was reported: %v", got)
	}
	if got := l.Check(time.Now(), time.Now().Add(time.Second)); !slices.Equal(got, []string{inRoot}) {
		t.Fatalf("Check = %v, want the rewritten link", got)
	}
	if s := l.Stats(); s.Listed != 0 || s.Changed != 1 {
		t.Errorf("after the change: %+v, want it off the list (its scan lists it again)", s)
	}
}

// A writer that keeps touching the file does not stay unseen: past
// MaxDefer the change is reported however recent.
func TestCheckDefersAtMostMaxDefer(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.php")
	os.WriteFile(p, []byte("a"), 0o644)
	l := New(10)
	l.Add(p, identity(t, p), false, time.Now().Add(time.Hour))
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(p, []byte("bb"), 0o644)
	t0 := time.Now()
	always := t0.Add(-time.Hour) // every change counts as still settling
	if got := l.Check(t0, always); len(got) != 0 {
		t.Fatalf("reported at once: %v", got)
	}
	if got := l.Check(t0.Add(MaxDefer/2), always); len(got) != 0 {
		t.Fatalf("reported before MaxDefer: %v", got)
	}
	if got := l.Check(t0.Add(MaxDefer), always); len(got) != 1 {
		t.Fatalf("not reported after MaxDefer: %v", got)
	}
}

// Files leave the list when gone, replaced by a symlink, past their time,
// or linked no more; a full list refuses files that only appeared, and
// makes room for linked ones.
func TestListBounds(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	now := time.Now()
	l := New(4)
	gone, link, expired, single := mk("gone"), mk("link"), mk("expired"), mk("single")
	for _, p := range []string{gone, link, expired} {
		l.Add(p, identity(t, p), false, now.Add(time.Hour))
	}
	l.Add(single, identity(t, single), true, time.Time{}) // listed as linked, has one name
	l.Add(mk("refused"), Identity{}, false, now.Add(time.Hour))
	if s := l.Stats(); s.Listed != 4 || s.Refused != 1 {
		t.Fatalf("full list took a file that only appeared: %+v", s)
	}
	other := mk("other")
	os.Link(other, filepath.Join(dir, "other2"))
	l.Add(other, identity(t, other), true, time.Time{})
	if s := l.Stats(); s.Listed != 4 || s.Linked != 2 {
		t.Fatalf("a linked file did not take the place of one that appeared: %+v", s)
	}
	os.Remove(gone)
	os.Remove(link)
	os.Symlink("/etc/passwd", link)
	l.Add(expired, identity(t, expired), false, now.Add(-time.Second))
	changed := l.Check(now, now.Add(-time.Hour))
	if len(changed) != 0 {
		t.Errorf("Check reported %v", changed)
	}
	if s := l.Stats(); s.Listed != 1 || s.Linked != 1 {
		t.Errorf("after Check: %+v, want only the linked file left", s)
	}
	for i := range 10 {
		l.Forget(fmt.Sprint(i))
	}
	l.Forget(other)
	if s := l.Stats(); s.Listed != 0 {
		t.Errorf("after Forget: %+v", s)
	}
}
