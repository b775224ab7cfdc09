package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/walk"
)

// baseline records every regular file under root as it is now.
func baseline(t *testing.T, db *DB, root string) {
	t.Helper()
	var files []File
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		s, _ := StatOf(info)
		files = append(files, File{Path: p, Dev: s.Dev, Inode: s.Inode, Size: s.Size, Mode: s.Mode, UID: s.UID, GID: s.GID, MTime: s.MTime, CTime: s.CTime, Accepted: true})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put(files...); err != nil {
		t.Fatal(err)
	}
}

func reconcileAll(t *testing.T, db *DB, root string, ex *walk.Globs) (map[string]Difference, ReconcileStats) {
	t.Helper()
	got := map[string]Difference{}
	stats, err := Reconcile(context.Background(), db, root, ex, func(d Difference) {
		if _, dup := got[d.Path]; dup {
			t.Errorf("%q reported twice", d.Path)
		}
		got[d.Path] = d
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, stats
}

func kinds(diffs map[string]Difference, root string) string {
	var lines []string
	for p, d := range diffs {
		lines = append(lines, d.Kind.String()+" "+strings.TrimPrefix(p, root))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestReconcile(t *testing.T) {
	root := filepath.Join(t.TempDir(), "www")
	hostile := "up/a\nb\xff.php"
	for _, p := range []string{"same.php", "grow.php", "gone.php", "chmod.php", "touch.php", "becomes-dir", "becomes-link", "becomes-fifo", "moved.php", "cache/x.php", "sub/deep/same.php", hostile} {
		testenv.WriteFile(t, filepath.Join(root, p), "<?php echo 1;")
	}
	db := openTemp(t)
	baseline(t, db, root)
	// A record of another root that sorts between this root's paths must
	// not be touched.
	if err := db.Put(File{Path: root + "-old/a.php"}, File{Path: root + "!x"}); err != nil {
		t.Fatal(err)
	}

	// File times come from a coarse kernel clock (a few milliseconds): wait
	// until it has moved past the baseline's, so that the changes made now
	// get a new ctime.
	testenv.WaitCtimePast(t, filepath.Join(root, "sub", "deep", "same.php"))
	testenv.WriteFile(t, filepath.Join(root, "new.php"), "<?php system($_GET[1]);")
	testenv.WriteFile(t, filepath.Join(root, "new/dir/\nx.php"), "x")
	testenv.WriteFile(t, filepath.Join(root, "grow.php"), "<?php echo 1; eval($_POST[0]);")
	os.Remove(filepath.Join(root, "gone.php"))
	if err := os.Chmod(filepath.Join(root, "chmod.php"), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(root, "touch.php"), future, future)
	os.Remove(filepath.Join(root, "becomes-dir"))
	testenv.WriteFile(t, filepath.Join(root, "becomes-dir", "inside.php"), "x")
	os.Remove(filepath.Join(root, "becomes-link"))
	os.Symlink("/etc/shadow", filepath.Join(root, "becomes-link"))
	os.Symlink(filepath.Join(root, "sub"), filepath.Join(root, "link-to-dir"))
	os.Remove(filepath.Join(root, "becomes-fifo"))
	if err := syscall.Mkfifo(filepath.Join(root, "becomes-fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Renamed: a new path for the same inode, the old one gone.
	os.Rename(filepath.Join(root, "moved.php"), filepath.Join(root, "moved2.php"))

	ex, err := walk.CompileGlobs([]string{"*/cache/*"})
	if err != nil {
		t.Fatal(err)
	}
	diffs, stats := reconcileAll(t, db, root, ex)
	want := strings.Join([]string{
		"added /becomes-dir/inside.php",
		"added /moved2.php",
		"added /new.php",
		"added /new/dir/\nx.php",
		"changed /chmod.php",
		"changed /grow.php",
		"changed /touch.php",
		"deleted /becomes-dir",
		"deleted /becomes-fifo",
		"deleted /becomes-link",
		"deleted /cache/x.php", // now excluded: no longer watched
		"deleted /gone.php",
		"deleted /moved.php",
	}, "\n")
	if got := kinds(diffs, root); got != want {
		t.Errorf("differences:\n%s\nwant:\n%s", got, want)
	}

	chmod := diffs[filepath.Join(root, "chmod.php")]
	if chmod.Stat.Mode&0o777 != 0o600 || chmod.Old == nil || chmod.Old.Mode&0o777 != 0o644 || !chmod.Old.Accepted {
		t.Errorf("chmod.php: Stat.Mode %o, Old %+v", chmod.Stat.Mode, chmod.Old)
	}
	grow := diffs[filepath.Join(root, "grow.php")]
	if grow.Stat.Size != int64(len("<?php echo 1; eval($_POST[0]);")) || grow.Old.Size != int64(len("<?php echo 1;")) {
		t.Errorf("grow.php: sizes %d, old %d", grow.Stat.Size, grow.Old.Size)
	}
	if d := diffs[filepath.Join(root, "new.php")]; d.Old != nil || d.Stat.Inode == 0 {
		t.Errorf("new.php: %+v", d)
	}
	if d := diffs[filepath.Join(root, "gone.php")]; d.Old == nil || d.Old.Path != d.Path {
		t.Errorf("gone.php: %+v", d)
	}
	if stats.Symlinks != 2 || stats.Special != 1 || stats.Unchanged != 3 || stats.Added != 4 || stats.Changed != 3 || stats.Deleted != 6 || stats.Errors != 0 {
		t.Errorf("stats %+v", stats)
	}
	if stats.Files != stats.Unchanged+stats.Added+stats.Changed {
		t.Errorf("stats %+v: files do not add up", stats)
	}

	// Nothing changed since: nothing is reported and nothing is read.
	for p, d := range diffs {
		switch d.Kind {
		case Deleted:
			db.Delete(p)
		case Added, Changed:
			s := d.Stat
			db.Put(File{Path: p, Dev: s.Dev, Inode: s.Inode, Size: s.Size, Mode: s.Mode, MTime: s.MTime, CTime: s.CTime})
		}
	}
	diffs, stats = reconcileAll(t, db, root, ex)
	if len(diffs) != 0 || stats.Unchanged != 10 {
		t.Errorf("second pass: %q, %+v", kinds(diffs, root), stats)
	}
	for _, p := range []string{root + "-old/a.php", root + "!x"} {
		if _, ok, _ := db.Get(p); !ok {
			t.Errorf("record %q of another root lost", p)
		}
	}
}

// A folder that cannot be read is reported, and the records below it are
// kept, not reported deleted.
func TestReconcileUnreadableFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every folder; run as another user to test permission errors")
	}
	root := filepath.Join(t.TempDir(), "www")
	testenv.WriteFile(t, filepath.Join(root, "locked", "a.php"), "x")
	testenv.WriteFile(t, filepath.Join(root, "b.php"), "x")
	db := openTemp(t)
	baseline(t, db, root)
	os.Chmod(filepath.Join(root, "locked"), 0)
	defer os.Chmod(filepath.Join(root, "locked"), 0o755)
	diffs, stats := reconcileAll(t, db, root, nil)
	d, ok := diffs[filepath.Join(root, "locked")]
	if len(diffs) != 1 || !ok || d.Kind != Unreadable || !errors.Is(d.Err, fs.ErrPermission) || stats.Kept != 1 || stats.Errors != 1 {
		t.Errorf("differences %q, %+v", kinds(diffs, root), stats)
	}
}

// A root that is missing or a symbolic link is an error, not a tree of
// deletions; a root that is a file is compared itself.
func TestReconcileRoots(t *testing.T) {
	dir := t.TempDir()
	db := openTemp(t)
	testenv.WriteFile(t, filepath.Join(dir, "www", "a.php"), "x")
	baseline(t, db, filepath.Join(dir, "www"))
	os.Rename(filepath.Join(dir, "www"), filepath.Join(dir, "real"))
	os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "www"))
	called := false
	fn := func(Difference) { called = true }
	if _, err := Reconcile(context.Background(), db, filepath.Join(dir, "www"), nil, fn); !errors.Is(err, walk.ErrSymlink) || called {
		t.Errorf("symlinked root: %v, called %v", err, called)
	}
	if _, err := Reconcile(context.Background(), db, filepath.Join(dir, "none"), nil, fn); !errors.Is(err, fs.ErrNotExist) || called {
		t.Errorf("missing root: %v, called %v", err, called)
	}

	file := filepath.Join(dir, "real", "a.php")
	baseline(t, db, file)
	diffs, stats := reconcileAll(t, db, file, nil)
	if len(diffs) != 0 || stats.Unchanged != 1 {
		t.Errorf("file root: %q, %+v", kinds(diffs, dir), stats)
	}
	testenv.WriteFile(t, file, "changed")
	diffs, _ = reconcileAll(t, db, file, nil)
	if diffs[file].Kind != Changed {
		t.Errorf("file root changed: %q", kinds(diffs, dir))
	}
}

// A cancelled walk reports no deletions.
func TestReconcileCancelled(t *testing.T) {
	root := filepath.Join(t.TempDir(), "www")
	testenv.WriteFile(t, filepath.Join(root, "a.php"), "x")
	db := openTemp(t)
	baseline(t, db, root)
	if err := db.Put(File{Path: filepath.Join(root, "gone.php")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Reconcile(ctx, db, root, nil, func(d Difference) {
		if d.Kind == Deleted {
			t.Errorf("deleted %q reported by a cancelled walk", d.Path)
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

// The walk and the records are merged in one order, the bytes' order, where
// a folder's files sort around its subfolders' (b-x.php < b.php < b/… <
// b0.php): nothing is reported when nothing changed, exactly what changed
// when something did.
func TestReconcileOrder(t *testing.T) {
	root := filepath.Join(t.TempDir(), "www")
	names := []string{"b.php", "b/c.php", "b/a/z.php", "b-x.php", "b0.php", "b/.h", "a\nb.php", "bad\xff.php",
		"\x01first", "Z.php", "zz/y/x.php", "zz.php", "b/c/d.php", "b/c.d/e.php", "b/c-d/e.php"}
	for _, n := range names {
		testenv.WriteFile(t, filepath.Join(root, n), "x")
	}
	db := openTemp(t)
	baseline(t, db, root)
	diffs, stats := reconcileAll(t, db, root, nil)
	if len(diffs) != 0 || stats.Unchanged != int64(len(names)) || stats.Files != int64(len(names)) {
		t.Fatalf("nothing changed: %q, %+v", kinds(diffs, root), stats)
	}
	os.Remove(filepath.Join(root, "b/c.php"))
	os.Remove(filepath.Join(root, "b0.php"))
	testenv.WriteFile(t, filepath.Join(root, "b/c0.php"), "x")
	testenv.WriteFile(t, filepath.Join(root, "b/c/a.php"), "x")
	diffs, stats = reconcileAll(t, db, root, nil)
	want := "added /b/c/a.php\nadded /b/c0.php\ndeleted /b/c.php\ndeleted /b0.php"
	if got := kinds(diffs, root); got != want || stats.Unchanged != int64(len(names)-2) {
		t.Errorf("differences:\n%s\nwant:\n%s\n%+v", got, want, stats)
	}
}

// A walk cut short reports no deletion past the point it reached: the
// records of files it did not get to are not gone.
func TestReconcileCancelledMidway(t *testing.T) {
	root := filepath.Join(t.TempDir(), "www")
	for i := range 3000 {
		testenv.WriteFile(t, filepath.Join(root, fmt.Sprintf("d%02d/f%04d.php", i%30, i)), "x")
	}
	db := openTemp(t)
	baseline(t, db, root)
	testenv.WriteFile(t, filepath.Join(root, "a-new.php"), "x") // sorts first
	// In the last folder: the walk, a bounded queue ahead of the merge,
	// cannot be there when the first difference cancels it.
	if err := os.Remove(filepath.Join(root, "d29", "f2999.php")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var reported []string
	_, err := Reconcile(ctx, db, root, nil, func(d Difference) {
		reported = append(reported, d.Kind.String()+" "+d.Path)
		cancel()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if len(reported) != 1 || reported[0] != "added "+filepath.Join(root, "a-new.php") {
		t.Errorf("reported %q, want only the added file", reported)
	}
}

// A file that appears after its folder was listed, and is recorded
// meanwhile (by the daemon, live), is not reported deleted: a record the walk
// went past is looked at again before it is called gone.
func TestReconcileFileCreatedDuringWalk(t *testing.T) {
	root := filepath.Join(t.TempDir(), "www")
	for i := range 500 {
		testenv.WriteFile(t, filepath.Join(root, fmt.Sprintf("z/f%04d.php", i)), "x")
	}
	db := openTemp(t)
	baseline(t, db, root)
	testenv.WriteFile(t, filepath.Join(root, "a-new.php"), "x")
	late := filepath.Join(root, "z", "late.php")
	var reported []string
	_, err := Reconcile(context.Background(), db, root, nil, func(d Difference) {
		reported = append(reported, d.Kind.String()+" "+d.Path)
		if d.Path != filepath.Join(root, "a-new.php") {
			return
		}
		// Whether the walk listed z/ before this or not, late.php must not
		// come out deleted.
		testenv.WriteFile(t, late, "x")
		info, err := os.Lstat(late)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := StatOf(info)
		if err := db.Put(File{Path: late, Dev: s.Dev, Inode: s.Inode, Size: s.Size, MTime: s.MTime, CTime: s.CTime}); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(reported) != 1 {
		t.Errorf("reported %q, want only a-new.php added", reported)
	}
}

// lookAgain, which decides that a record the walk went past is gone, sees
// what the walk would: excluded paths, paths through a link, and anything
// but a regular file are gone.
func TestReconcileLookAgain(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	file := filepath.Join(root, "sub", "a.php")
	testenv.WriteFile(t, file, "x")
	testenv.WriteFile(t, filepath.Join(root, "cache", "c.php"), "x")
	testenv.WriteFile(t, filepath.Join(dir, "elsewhere", "a.php"), "x")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	ex, err := walk.CompileGlobs([]string{"*/cache/*", "*.log"})
	if err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, filepath.Join(root, "sub", "x.log"), "x")
	r := &reconciler{root: root, ex: ex}
	for p, want := range map[string]bool{
		file:                                     true,
		filepath.Join(root, "cache", "c.php"):    false, // below an excluded folder
		filepath.Join(root, "sub", "x.log"):      false, // excluded itself
		filepath.Join(root, "link", "a.php"):     false, // through a link
		filepath.Join(root, "fifo"):              false,
		filepath.Join(root, "sub"):               false, // a folder
		filepath.Join(root, "gone.php"):          false,
		filepath.Join(root, "gone", "gone.php"):  false,
		filepath.Join(root, "sub", "a.php", "x"): false, // below a file
	} {
		s, isFile, err := r.lookAgain(p)
		if err != nil || isFile != want || (want && s.Inode == 0) {
			t.Errorf("lookAgain(%q) = %v, %v, %v; want %v", p, s.Inode, isFile, err, want)
		}
	}

	// A record the walk went past: compared when its file is there now
	// (created after its folder was listed), reported deleted when not.
	db := openTemp(t)
	baseline(t, db, root)
	gone := filepath.Join(root, "sub", "gone.php")
	if err := db.Put(File{Path: gone, Inode: 1}); err != nil {
		t.Fatal(err)
	}
	var got []string
	r = &reconciler{db: db, root: root, ex: ex, unreadable: map[string]bool{},
		fn: func(d Difference) { got = append(got, d.Kind.String()+" "+d.Path) }}
	info, err := os.Lstat(file)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := StatOf(info)
	for _, e := range []statEntry{{path: file, stat: s}, {path: gone, stat: Stat{Inode: 1}}} {
		if err := r.unmatched(e); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 1 || got[0] != "deleted "+gone || r.stats.Unchanged != 1 || r.stats.Deleted != 1 {
		t.Errorf("unmatched records: %q, %+v; want only %s deleted, %s unchanged", got, r.stats, gone, file)
	}
}

// Cancelled while the records left after a complete walk are reported
// deleted, Reconcile stops there and says it did not finish.
func TestReconcileCancelledInTheTail(t *testing.T) {
	root := filepath.Join(t.TempDir(), "www")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	db := openTemp(t)
	var files []File
	for i := range 3000 {
		files = append(files, File{Path: filepath.Join(root, fmt.Sprintf("gone%04d.php", i)), Inode: 1})
	}
	if err := db.Put(files...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reported := 0
	_, err := Reconcile(ctx, db, root, nil, func(d Difference) {
		reported++
		cancel()
	})
	if !errors.Is(err, context.Canceled) || reported != 1 {
		t.Errorf("Reconcile: %v after %d reports, want context.Canceled after 1", err, reported)
	}
}

// ReconcileWithLinks tells every symbolic link the walk meets, with its
// lstat, wherever it points; never one below an excluded folder; and
// reports the files as Reconcile does.
func TestReconcileTellsLinks(t *testing.T) {
	root := filepath.Join(t.TempDir(), "www")
	testenv.WriteFile(t, filepath.Join(root, "index.php"), "<?php echo 1;")
	testenv.WriteFile(t, filepath.Join(root, "cache", "x.php"), "x")
	links := map[string]string{
		"shadow":          "/etc/shadow",
		"up/a\nb\xff.php": "../index.php",
		"dangling":        "/nowhere/at/all",
		"to-dir":          "up",
		"cache/out":       "/etc", // excluded: not told
	}
	for name, target := range links {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	ex, err := walk.CompileGlobs([]string{"*/cache/*"})
	if err != nil {
		t.Fatal(err)
	}
	db := openTemp(t)
	told := map[string]Stat{}
	added := 0
	if _, err := ReconcileWithLinks(context.Background(), db, root, ex, func(d Difference) {
		if d.Kind == Added {
			added++
		}
	}, func(p string, st Stat) {
		if _, dup := told[p]; dup {
			t.Errorf("%q told twice", p)
		}
		told[p] = st
	}); err != nil {
		t.Fatal(err)
	}
	if added != 1 {
		t.Errorf("%d files added, want index.php alone", added)
	}
	for name := range links {
		p := filepath.Join(root, name)
		st, ok := told[p]
		if strings.HasPrefix(name, "cache/") {
			if ok {
				t.Errorf("%q below an excluded folder told", name)
			}
			continue
		}
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || st.Inode != fi.Sys().(*syscall.Stat_t).Ino || st.Mode&syscall.S_IFMT != syscall.S_IFLNK {
			t.Errorf("%q: told %v %+v, want its lstat", name, ok, st)
		}
	}
	if len(told) != len(links)-1 {
		t.Errorf("told %d links, want %d", len(told), len(links)-1)
	}
}
