package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "state", "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "state")
	path := filepath.Join(dir, "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !db.Created() {
		t.Error("Created() = false for a new file")
	}
	db.Close()
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", p, got, want)
		}
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Created() {
		t.Error("Created() = true on reopen")
	}
}

func TestPutGetDelete(t *testing.T) {
	db := openTemp(t)
	want := []File{sampleFile("/srv/www/index.php")}
	for _, p := range hostilePaths {
		f := sampleFile(p)
		f.Rules = nil
		want = append(want, f)
	}
	if err := db.Put(want...); err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		got, ok, err := db.Get(w.Path)
		if err != nil || !ok || !equalFiles(got, w) {
			t.Errorf("Get(%.40q) = %+v, %v, %v", w.Path, got, ok, err)
		}
	}
	if n, err := db.Count(); err != nil || n != len(want) {
		t.Errorf("Count() = %d, %v; want %d", n, err, len(want))
	}
	if err := db.Delete(want[0].Path, "/not/there"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.Get(want[0].Path); ok || err != nil {
		t.Errorf("Get after Delete: %v, %v", ok, err)
	}
	if err := db.Put(File{Path: ""}); err == nil {
		t.Error("Put of an empty path: no error")
	}
}

// A path longer than a bbolt key (a tree deeper than 32 KiB of path, made
// with relative mkdir) is stored under a derived key with its path in the
// record: it never fails the batch it is in, it is found by Get, ForEach
// and a root's stats under its full path, and Delete removes it.
func TestLongPathRecords(t *testing.T) {
	db := openTemp(t)
	root := "/srv/www"
	deep := root + "/" + strings.Repeat("deep/", 8000)
	long := []File{sampleFile(deep + "a.php"), sampleFile(deep + "b.php"), sampleFile(root + "/" + strings.Repeat("x", maxKeySize) + "/c.php")}
	short := sampleFile(root + "/index.php")
	if err := db.Put(append([]File{short}, long...)...); err != nil {
		t.Fatalf("Put with long paths: %.300v", err)
	}
	for _, f := range append(long, short) {
		got, ok, err := db.Get(f.Path)
		if err != nil || !ok || !equalFiles(got, f) {
			t.Errorf("Get(%.60q…) = %v, %v", f.Path, ok, err)
		}
	}
	if _, ok, _ := db.Get(deep + "c.php"); ok {
		t.Error("Get of a long path never stored found a record")
	}
	seen := map[string]bool{}
	if err := db.ForEach(root, func(f File) error { seen[f.Path] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	c := db.stats(root)
	for {
		e, more, err := c.next()
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
		if !seen[e.path] {
			t.Errorf("stats gave %.60q…, which ForEach did not", e.path)
		}
		delete(seen, e.path)
	}
	if len(seen) != 0 {
		t.Errorf("%d records ForEach gave are not in the stats, or paths are cut", len(seen))
	}
	if err := db.Delete(long[0].Path); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.Get(long[0].Path); ok || err != nil {
		t.Errorf("Get after Delete of a long path: %v, %v", ok, err)
	}
	if n, err := db.Count(); err != nil || n != 3 {
		t.Errorf("Count() = %d, %v; want 3", n, err)
	}
}

func TestForEachAndStatsStayInRoot(t *testing.T) {
	db := openTemp(t)
	paths := []string{
		"/srv/www", // the root itself, as a file
		"/srv/www!x", "/srv/www-old/a", "/srv/www.bak", "/srv/www0/a",
		"/srv/www/a", "/srv/www/b/c", "/srv/www/b\n/d", "/srv/www/\xff",
		"/srv/wwx/a",
	}
	var files []File
	for _, p := range paths {
		files = append(files, File{Path: p, Inode: uint64(len(p))})
	}
	if err := db.Put(files...); err != nil {
		t.Fatal(err)
	}
	collect := func(root string) []string {
		var got []string
		if err := db.ForEach(root, func(f File) error { got = append(got, f.Path); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := strings.Join(collect("/srv/www"), "|"); got != "/srv/www|/srv/www/a|/srv/www/b\n/d|/srv/www/b/c|/srv/www/\xff" {
		t.Errorf("ForEach(/srv/www) = %q", got)
	}
	if got := strings.Join(collect("/srv/www/"), "|"); got != "/srv/www/a|/srv/www/b\n/d|/srv/www/b/c|/srv/www/\xff" {
		t.Errorf("ForEach(/srv/www/) = %q", got)
	}
	stats, err := statsOf(db, "/srv/www")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(stats.paths, "|"); got != "/srv/www|/srv/www/a|/srv/www/b\n/d|/srv/www/b/c|/srv/www/\xff" || stats.byPath["/srv/www/b\n/d"].Inode != uint64(len("/srv/www/b\n/d")) {
		t.Errorf("stats(/srv/www) = %q %v", stats.paths, stats.byPath)
	}
	stop := errors.New("stop")
	n := 0
	if err := db.ForEach("/srv/www", func(File) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("ForEach stopped with %v after %d", err, n)
	}
}

// ForEach reads in chunks; records across chunk boundaries come once each,
// and fn may write.
func TestForEachChunks(t *testing.T) {
	db := openTemp(t)
	var files []File
	for i := range 3*forEachChunk + 7 {
		files = append(files, File{Path: fmt.Sprintf("/r/%06d", i)})
	}
	if err := db.Put(files...); err != nil {
		t.Fatal(err)
	}
	// The stat cursor reads them in chunks too, each once, in order.
	stats, err := statsOf(db, "/r")
	if err != nil || len(stats.paths) != len(files) || !sort.StringsAreSorted(stats.paths) || len(stats.byPath) != len(files) {
		t.Fatalf("stat cursor: %v, %d paths of %d, sorted %v", err, len(stats.paths), len(files), sort.StringsAreSorted(stats.paths))
	}
	i := 0
	err = db.ForEach("/r", func(f File) error {
		if want := fmt.Sprintf("/r/%06d", i); f.Path != want {
			return fmt.Errorf("got %s, want %s", f.Path, want)
		}
		i++
		return db.Delete(f.Path)
	})
	if err != nil || i != len(files) {
		t.Fatalf("ForEach: %v after %d of %d", err, i, len(files))
	}
}

func TestMeta(t *testing.T) {
	db := openTemp(t)
	type window struct {
		From, To time.Time
		Roots    []string
	}
	w := window{time.Unix(100, 0).UTC(), time.Unix(200, 0).UTC(), []string{"/srv/www"}}
	var got window
	if ok, err := db.GetMeta("deploy", &got); ok || err != nil {
		t.Fatalf("GetMeta of nothing: %v, %v", ok, err)
	}
	if err := db.PutMeta("deploy", w); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.GetMeta("deploy", &got); !ok || err != nil || !got.From.Equal(w.From) || got.Roots[0] != "/srv/www" {
		t.Fatalf("GetMeta = %+v, %v, %v", got, ok, err)
	}
	if err := db.DeleteMeta("deploy"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.GetMeta("deploy", &got); ok {
		t.Error("meta still there after DeleteMeta")
	}
	if n, _ := db.Count(); n != 0 {
		t.Errorf("meta counted as files: %d", n)
	}
}

// Concurrent Puts share commits and each sees its own records stored.
func TestConcurrentPut(t *testing.T) {
	db := openTemp(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				p := fmt.Sprintf("/srv/%d/%d.php", g, i)
				if err := db.Put(File{Path: p, Inode: uint64(i)}); err != nil {
					errs <- err
					return
				}
				if _, ok, err := db.Get(p); !ok || err != nil {
					errs <- fmt.Errorf("get %s after put: %v %v", p, ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, _ := db.Count(); n != 1600 {
		t.Errorf("Count() = %d, want 1600", n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Put(File{Path: "/late"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: %v", err)
	}
}

func TestOpenLocked(t *testing.T) {
	db := openTemp(t)
	_, err := Open(db.Path(), Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), db.Path()) || !strings.Contains(err.Error(), "another shellwatch") {
		t.Fatalf("second Open: %v", err)
	}
	if _, reset, err := OpenOrReset(db.Path(), Options{LockTimeout: 50 * time.Millisecond}); reset != nil || !errors.Is(err, ErrLocked) {
		t.Fatalf("OpenOrReset of a locked file: reset %v, err %v", reset, err)
	}
}

// A sound bbolt file that is not ours is refused, not reset.
func TestOpenForeignFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("theirs")); return err })
	b.Close()
	_, reset, err := OpenOrReset(path, Options{})
	if !errors.Is(err, ErrFormat) || reset != nil {
		t.Fatalf("OpenOrReset of a foreign bbolt file: reset %v, err %v", reset, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("foreign file moved: %v", err)
	}
}

type statsRead struct {
	paths  []string
	byPath map[string]Stat
}

// statsOf reads the records at or below root through a statCursor.
func statsOf(db *DB, root string) (statsRead, error) {
	r := statsRead{byPath: map[string]Stat{}}
	c := db.stats(root)
	for {
		e, ok, err := c.next()
		if err != nil || !ok {
			return r, err
		}
		r.paths = append(r.paths, e.path)
		r.byPath[e.path] = e.stat
	}
}
