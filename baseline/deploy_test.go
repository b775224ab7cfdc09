package baseline

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/testenv"

	"github.com/shellwatch/shellwatch/state"
)

// A window accepts what changed in its root while it was open, and says
// what was added, changed and removed; another root, and what was accepted
// before, are left alone. A change made in the window but scanned after it
// closed still counts as deployed.
func TestWindowAcceptsItsChanges(t *testing.T) {
	b := openTest(t)
	dir := t.TempDir()
	root, other := filepath.Join(dir, "www"), filepath.Join(dir, "www2")
	kept := testenv.WriteFile(t, filepath.Join(root, "kept.php"), "1")
	changed := testenv.WriteFile(t, filepath.Join(root, "changed.php"), "1")
	gone := testenv.WriteFile(t, filepath.Join(root, "gone.php"), "1")
	for _, p := range []string{kept, changed, gone} {
		b.Remember(seen(t, p, 1), nil, true)
	}
	b.clock.advance(time.Hour)

	opened := b.Begin([]string{root}, 30*time.Minute, "uid 0 pid 42")
	if len(opened) != 1 || string(opened[0].Root) != root || opened[0].By != "uid 0 pid 42" || !opened[0].Until.Equal(b.clock.now().Add(30*time.Minute)) {
		t.Fatalf("Begin = %+v", opened)
	}
	start := b.clock.now()
	if b.WindowFor(root) == nil || b.WindowFor(other) != nil || b.OpenWindows() != 1 {
		t.Fatalf("WindowFor(root) %v, WindowFor(other) %v, open %d", b.WindowFor(root), b.WindowFor(other), b.OpenWindows())
	}
	b.clock.advance(time.Minute)
	added := testenv.WriteFile(t, filepath.Join(root, "new", "added.php"), "2")
	b.Remember(seen(t, added, 2), nil, false)
	b.Remember(seen(t, changed, 2), b.Record(changed), false)
	b.Removed(root, gone)
	elsewhere := testenv.WriteFile(t, filepath.Join(other, "x.php"), "2")
	b.Remember(seen(t, elsewhere, 2), nil, false)
	// Extending the window keeps its start.
	if again := b.Begin([]string{root}, time.Hour, "uid 0 pid 43"); !again[0].Started.Equal(start) || again[0].By != "uid 0 pid 43" {
		t.Errorf("extended window %+v, want it started at %v", again[0], start)
	}

	b.clock.advance(time.Minute)
	sum, ok := b.End(root)
	if !ok || strings.Join(sum.Added, "|") != added || strings.Join(sum.Changed, "|") != changed || strings.Join(sum.Removed, "|") != gone {
		t.Fatalf("summary %+v, want %s added, %s changed, %s removed", sum, added, changed, gone)
	}
	for p, want := range map[string]bool{added: true, changed: true, kept: true, elsewhere: false} {
		if f, ok := b.stored(p); !ok || f.Accepted != want {
			t.Errorf("%s: accepted %v (recorded %v), want %v", p, f.Accepted, ok, want)
		}
	}
	if b.WindowFor(root) != nil || b.OpenWindows() != 0 {
		t.Error("the window is still open after End")
	}
	if _, ok := b.End(root); ok {
		t.Error("End of a window that is not open says it closed one")
	}
	// Closed, its interval still covers what was changed in it.
	if !b.DeployedAt(root, start.Add(time.Second)) || b.DeployedAt(root, start.Add(-time.Second)) ||
		b.DeployedAt(root, b.clock.now().Add(time.Second)) || b.DeployedAt(other, start.Add(time.Second)) {
		t.Error("DeployedAt of the closed window: want its interval only, its root only")
	}
}

// Open windows, their removals included, survive a restart, even a root and
// paths that are not UTF-8; windows stored by earlier versions (the control
// socket's deploy status) are read back.
func TestWindowsKeptAcrossRestarts(t *testing.T) {
	b := openTest(t)
	root := "/srv/w\xffw"
	b.Begin([]string{root}, time.Hour, "uid 0 pid 1")
	b.Remember(state.File{Path: root + "/a\xfe.php", Inode: 1}, nil, true)
	b.Flush()
	b.Removed(root, root+"/a\xfe.php")
	b.Save()
	b.reopen()
	ws := b.Windows()
	if len(ws) != 1 || string(ws[0].Root) != root || strings.Join(ws[0].Removed, "|") != root+"/a\xfe.php" {
		t.Fatalf("windows after a restart: %+v", ws)
	}
	if b.WindowFor(root) == nil || !b.DeployedAt(root, b.clock.now()) {
		t.Error("the window kept across the restart is not open")
	}

	// As an earlier shellwatch stored them.
	if err := b.db.PutMeta(metaDeployWindows, []map[string]any{{
		"root": "/srv/old", "started": b.clock.now(), "until": b.clock.now().Add(time.Hour), "by": "uid 0 pid 2", "removed": []string{"/srv/old/x"},
	}}); err != nil {
		t.Fatal(err)
	}
	b.reopen()
	if w := b.Windows(); len(w) != 1 || w[0].Root != "/srv/old" || w[0].By != "uid 0 pid 2" || w[0].Removed[0] != "/srv/old/x" {
		t.Errorf("a window stored by an earlier version: %+v", w)
	}
}

// A window whose TTL ran out is closed by Expire (not before), which
// returns what it accepted and stores that it is closed.
func TestWindowExpires(t *testing.T) {
	b := openTest(t)
	b.Begin([]string{"/srv/a", "/srv/b"}, 10*time.Minute, "ci")
	b.Begin([]string{"/srv/c"}, time.Hour, "ci")
	if got := b.Expire(); len(got) != 0 {
		t.Fatalf("Expire before any TTL ran out: %+v", got)
	}
	b.clock.advance(11 * time.Minute)
	if b.WindowFor("/srv/a") != nil || b.OpenWindows() != 1 || len(b.Windows()) != 3 {
		t.Errorf("past its TTL: WindowFor %v, open %d, listed %d; want nil, 1, 3 (listed until Expire)",
			b.WindowFor("/srv/a"), b.OpenWindows(), len(b.Windows()))
	}
	var roots []string
	for _, s := range b.Expire() {
		roots = append(roots, s.Root)
	}
	sort.Strings(roots)
	if strings.Join(roots, " ") != "/srv/a /srv/b" {
		t.Errorf("Expire closed %v, want /srv/a /srv/b", roots)
	}
	b.reopen()
	if ws := b.Windows(); len(ws) != 1 || ws[0].Root != "/srv/c" {
		t.Errorf("after a restart: %+v, want /srv/c open only", ws)
	}
}

// Windows and approvals that cannot be read back are logged, naming the
// key, and the baseline opens without them.
func TestUnreadableDeployState(t *testing.T) {
	b := openTest(t)
	for _, key := range []string{metaDeployWindows, metaApprovals} {
		if err := b.db.PutMeta(key, "not a list"); err != nil {
			t.Fatal(err)
		}
	}
	b.reopen()
	if len(b.Windows()) != 0 || b.ConsumeApproval("/srv/www/a.php", "") {
		t.Error("garbage read back as windows or approvals")
	}
	for _, key := range []string{metaDeployWindows, metaApprovals} {
		if !strings.Contains(b.logs.String(), "key="+key) {
			t.Errorf("no log naming %s:\n%s", key, b.logs.String())
		}
	}
}
