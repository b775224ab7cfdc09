package state

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/internal/testenv"
)

// Records of paths longer than a key have derived keys (keyOf), which do not
// sort where their paths do. Reconciling a folder of such files against
// their records must compare them, not report them added (the ordered merge
// once did so for all but one), and must still tell the one changed and the
// one deleted. Short files on either side of the deep folder share the
// merge.
func TestReconcileLongPaths(t *testing.T) {
	root := filepath.Join(t.TempDir(), "www")
	name := strings.Repeat("d", 200)
	const depth = 170 // about 34,000 bytes of path
	const n = 8
	var deepFiles []string
	for i := range n {
		deepFiles = append(deepFiles, fmt.Sprintf("f%d.php", i))
	}
	if err := unix.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.RemoveDeep(t, root, name, depth, deepFiles...) })
	bottom := testenv.MkdirDeep(t, root, name, depth)
	defer unix.Close(bottom)
	for _, f := range deepFiles {
		testenv.WriteAt(t, bottom, f, unix.O_CREAT|unix.O_EXCL, "<?php echo 1; ?>\n")
	}
	for _, f := range []string{"a.php", "zz.php"} {
		testenv.WriteAt(t, unix.AT_FDCWD, filepath.Join(root, f), unix.O_CREAT|unix.O_EXCL, "short\n")
	}
	dir := root + strings.Repeat("/"+name, depth)
	if len(dir) <= maxKeySize {
		t.Fatalf("the folder's path is %d bytes, not past the key limit %d", len(dir), maxKeySize)
	}

	db := openTemp(t)
	first, stats := reconcileAll(t, db, root, nil)
	if stats.Added != n+2 || stats.Files != n+2 {
		t.Fatalf("first reconcile: %+v, want %d added", stats, n+2)
	}
	var files []File
	for p, d := range first {
		s := d.Stat
		files = append(files, File{Path: p, Dev: s.Dev, Inode: s.Inode, Size: s.Size, Mode: s.Mode, UID: s.UID, GID: s.GID, MTime: s.MTime, CTime: s.CTime, Accepted: true})
	}
	if err := db.Put(files...); err != nil {
		t.Fatal(err)
	}

	diffs, stats := reconcileAll(t, db, root, nil)
	if len(diffs) != 0 || stats.Added != 0 || stats.Changed != 0 || stats.Deleted != 0 || stats.Files != n+2 || stats.Unchanged != n+2 {
		t.Errorf("reconcile of the recorded tree: %d differences (%.200s), stats %+v; want none, %d files unchanged", len(diffs), kinds(diffs, dir), stats, n+2)
	}

	testenv.WriteAt(t, bottom, deepFiles[2], unix.O_APPEND, "<?php system($_GET['c']); ?>\n")
	if err := unix.Unlinkat(bottom, deepFiles[5], 0); err != nil {
		t.Fatal(err)
	}
	diffs, stats = reconcileAll(t, db, root, nil)
	want := "changed /" + deepFiles[2] + "\ndeleted /" + deepFiles[5]
	if got := kinds(diffs, dir); got != want || stats.Files != n+1 || stats.Changed != 1 || stats.Deleted != 1 || stats.Added != 0 {
		t.Errorf("after changing one deep file and deleting another: %.300q, stats %+v; want %q", got, stats, want)
	}
	if d := diffs[dir+"/"+deepFiles[5]]; d.Old == nil || d.Old.Path != dir+"/"+deepFiles[5] {
		t.Errorf("the deleted deep file's difference carries no record of its full path")
	}
}
