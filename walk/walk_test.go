package walk

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func mkfile(t *testing.T, p string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	visited map[string]fs.FileMode // path → type
	errs    map[string]error
}

func walkAll(t *testing.T, ctx context.Context, root string, ex *Globs) (result, error) {
	t.Helper()
	r := result{visited: map[string]fs.FileMode{}, errs: map[string]error{}}
	err := Walk(ctx, root, ex, func(p string, d fs.DirEntry) error {
		if _, dup := r.visited[p]; dup {
			t.Errorf("%q visited twice", p)
		}
		if d.IsDir() {
			t.Errorf("folder %q visited", p)
		}
		r.visited[p] = d.Type()
		return nil
	}, func(p string, err error) {
		r.errs[p] = err
	})
	return r, err
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestWalkEntries(t *testing.T) {
	outside := t.TempDir()
	secret := mkfile(t, filepath.Join(outside, "shadow"))
	mkfile(t, filepath.Join(outside, "sub", "inner.php"))
	root := t.TempDir()
	a := mkfile(t, filepath.Join(root, "a.php"))
	deep := mkfile(t, filepath.Join(root, "x", "y", "z", "deep.php"))
	mkfile(t, filepath.Join(root, "wp-content", "cache", "c.php"))
	mkfile(t, filepath.Join(root, "logs", "error.log"))
	link := filepath.Join(root, "link.php")
	dirLink := filepath.Join(root, "linkdir")
	fifo := filepath.Join(root, "pipe")
	sock := filepath.Join(root, "sock")
	for _, err := range []error{
		os.Symlink(secret, link),
		os.Symlink(outside, dirLink),
		unix.Mkfifo(fifo, 0o644),
		unix.Mknod(sock, unix.S_IFSOCK|0o644, 0),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	ex, err := CompileGlobs([]string{"*/cache/*", "*.log"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := walkAll(t, context.Background(), root, ex)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{a: 0, deep: 0, link: fs.ModeSymlink, dirLink: fs.ModeSymlink, fifo: fs.ModeNamedPipe, sock: fs.ModeSocket}
	if got := keys(r.visited); strings.Join(got, "|") != strings.Join(keys(want), "|") {
		t.Errorf("visited %q\nwant    %q", got, keys(want))
	}
	for p, typ := range want {
		if r.visited[p] != typ {
			t.Errorf("%s: type %v, want %v", p, r.visited[p], typ)
		}
	}
	if len(r.errs) != 0 {
		t.Errorf("errors: %v", r.errs)
	}

	// A root that is a file is visited itself.
	r, _ = walkAll(t, context.Background(), a, nil)
	if len(r.visited) != 1 || r.visited[a] != 0 {
		t.Errorf("file root: visited %v", r.visited)
	}
	// A root written with a trailing slash keeps it, once.
	r, _ = walkAll(t, context.Background(), root+"/", ex)
	if _, ok := r.visited[root+"/a.php"]; !ok {
		t.Errorf("root %q: visited %q", root+"/", keys(r.visited))
	}
}

func TestWalkSymlinkRoots(t *testing.T) {
	real := t.TempDir()
	mkfile(t, filepath.Join(real, "sub", "f.php"))
	base := t.TempDir()
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	// The root is a link, the root goes through a link, the root is a link
	// written with a trailing slash (which lstat follows).
	for _, root := range []string{link, filepath.Join(link, "sub"), link + "/"} {
		r, err := walkAll(t, context.Background(), root, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.visited) != 0 {
			t.Errorf("root %s: visited %q through a link", root, keys(r.visited))
		}
		if err := r.errs[root]; !errors.Is(err, ErrSymlink) {
			t.Errorf("root %s: error %v, want ErrSymlink", root, err)
		}
	}
}

func TestOpenNoSymlinks(t *testing.T) {
	real := t.TempDir()
	f := mkfile(t, filepath.Join(real, "f"))
	base := t.TempDir()
	if err := os.Symlink(real, filepath.Join(base, "dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(f, filepath.Join(base, "file")); err != nil {
		t.Fatal(err)
	}
	fd, err := OpenNoSymlinks(f, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	for _, p := range []string{filepath.Join(base, "dir", "f"), filepath.Join(base, "file")} {
		fd, err := OpenNoSymlinks(p, unix.O_RDONLY)
		if err == nil {
			unix.Close(fd)
			t.Errorf("%s opened through a link", p)
			continue
		}
		if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q, want ErrSymlink naming the path", p, err)
		}
	}
	_, err = OpenNoSymlinks(filepath.Join(base, "missing"), unix.O_RDONLY)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	t.Logf("openat2 available: %v", Openat2Available())
}

func TestWalkOddNames(t *testing.T) {
	root := t.TempDir()
	names := []string{"a\nb.php", "bad\xff\xfe.php", "-rf", " lead", "tab\there", `back\slash`, "dir\n/inner\xc0.php"}
	want := map[string]bool{}
	for _, n := range names {
		want[mkfile(t, filepath.Join(root, n))] = true
	}
	r, err := walkAll(t, context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	for p := range want {
		if _, ok := r.visited[p]; !ok {
			t.Errorf("%q not visited byte-exact; visited %q", p, keys(r.visited))
		}
	}
	if len(r.visited) != len(want) || len(r.errs) != 0 {
		t.Errorf("visited %q, errors %v", keys(r.visited), r.errs)
	}
}

// mkdeep creates depth nested folders named name below root, through
// descriptors so that it can go past PATH_MAX, with a file "f" at every
// level.
func mkdeep(t *testing.T, root, name string, depth int) {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < depth; i++ {
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		ffd, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(ffd)
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		fd = next
	}
	unix.Close(fd)
}

func TestWalkDeepTree(t *testing.T) {
	const depth = 2000
	t.Run("within PATH_MAX", func(t *testing.T) {
		root := t.TempDir()
		mkdeep(t, root, "d", depth) // about 4,000 bytes of path at the bottom
		r, err := walkAll(t, context.Background(), root, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.visited) != depth || len(r.errs) != 0 {
			t.Errorf("visited %d files, want %d; errors %v", len(r.visited), depth, r.errs)
		}
	})
	t.Run("past PATH_MAX", func(t *testing.T) {
		root := t.TempDir()
		name := strings.Repeat("d", 60)
		mkdeep(t, root, name, depth) // about 122,000 bytes of path
		t.Cleanup(func() { rmdeep(t, root, name, depth) })
		r, err := walkAll(t, context.Background(), root, nil)
		if err != nil {
			t.Fatal(err)
		}
		// A folder past PATH_MAX is no hiding place: every file is
		// visited, by its full path.
		if len(r.visited) != depth || len(r.errs) != 0 {
			t.Errorf("visited %d files, want %d; errors %v", len(r.visited), depth, r.errs)
		}
		deepest := root + strings.Repeat("/"+name, depth-1) + "/f"
		if _, ok := r.visited[deepest]; !ok {
			t.Errorf("the deepest file (%d bytes of path) not visited", len(deepest))
		}
		var st unix.Stat_t
		if err := LstatT(deepest, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			t.Errorf("LstatT of the deepest file: %.200v, mode %o", err, st.Mode)
		}
		if fi, err := Lstat(deepest); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("Lstat of the deepest file: %.200v", err)
		}
	})
}

// rmdeep removes what mkdeep made, from the bottom up through descriptors:
// os.RemoveAll would meet paths past PATH_MAX.
func rmdeep(t *testing.T, root, name string, depth int) {
	t.Helper()
	fds := make([]int, 0, depth+1)
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	for i := 0; err == nil && i < depth; i++ {
		fds = append(fds, fd)
		fd, err = unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	}
	if err == nil {
		fds = append(fds, fd)
	}
	for i := len(fds) - 1; i >= 0; i-- {
		unix.Unlinkat(fds[i], "f", 0)
		if i < len(fds)-1 { // the folder below, emptied already
			if err := unix.Unlinkat(fds[i], name, unix.AT_REMOVEDIR); err != nil {
				t.Errorf("remove level %d of the deep tree: %v", i+1, err)
			}
		}
		unix.Close(fds[i])
	}
}

func TestWalkVanishedEntries(t *testing.T) {
	root := t.TempDir()
	first := mkfile(t, filepath.Join(root, "a.php"))
	gone := filepath.Join(root, "gone")
	mkfile(t, filepath.Join(gone, "x.php"))
	var errs []string
	err := Walk(context.Background(), root, nil, func(p string, d fs.DirEntry) error {
		if p == first {
			// Files are visited before subfolders are opened, so the
			// folder is listed but gone when the walk gets to it.
			if err := os.RemoveAll(gone); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	}, func(p string, err error) {
		if p != gone || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), gone) {
			t.Errorf("error for %q: %v", p, err)
		}
		errs = append(errs, p)
	})
	if err != nil || len(errs) != 1 {
		t.Errorf("Walk = %v, errors for %q; want one for %s", err, errs, gone)
	}

	r, err := walkAll(t, context.Background(), filepath.Join(root, "missing"), nil)
	if err != nil || len(r.errs) != 1 || !errors.Is(r.errs[filepath.Join(root, "missing")], fs.ErrNotExist) {
		t.Errorf("missing root: Walk = %v, errors %v", err, r.errs)
	}
}

func TestWalkUnreadableFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root, which reads folders of mode 000; TestWalkVanishedEntries covers the error path")
	}
	root := t.TempDir()
	locked := filepath.Join(root, "locked")
	mkfile(t, filepath.Join(locked, "x.php"))
	ok := mkfile(t, filepath.Join(root, "z", "ok.php"))
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	r, err := walkAll(t, context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(r.errs[locked], fs.ErrPermission) {
		t.Errorf("errors %v, want permission denied for %s", r.errs, locked)
	}
	if _, seen := r.visited[ok]; !seen {
		t.Errorf("walk stopped at the error: visited %q", keys(r.visited))
	}
}

func TestWalkCancel(t *testing.T) {
	root := t.TempDir()
	for i := 0; i < 50; i++ {
		mkfile(t, filepath.Join(root, string(rune('a'+i%26)), strings.Repeat("f", i+1)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Walk(ctx, root, nil, func(string, fs.DirEntry) error {
		n++
		cancel()
		return nil
	}, nil)
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Errorf("Walk = %v after %d visits, want context.Canceled after 1", err, n)
	}
	if err := Walk(ctx, root, nil, func(string, fs.DirEntry) error {
		t.Error("visit after cancel")
		return nil
	}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before start: %v", err)
	}
}

func TestWalkVisitError(t *testing.T) {
	root := t.TempDir()
	mkfile(t, filepath.Join(root, "a"))
	mkfile(t, filepath.Join(root, "b"))
	stop := errors.New("stop")
	for _, tc := range []struct{ ret, want error }{{stop, stop}, {fs.SkipAll, nil}} {
		n := 0
		err := Walk(context.Background(), root, nil, func(string, fs.DirEntry) error {
			n++
			return tc.ret
		}, nil)
		if err != tc.want || n != 1 {
			t.Errorf("visit returning %v: Walk = %v after %d visits", tc.ret, err, n)
		}
	}
}

// Without openat2 (Linux before 5.6, some seccomp filters), a link as the
// last component is still refused.
func TestOpenNoSymlinksFallback(t *testing.T) {
	was := openat2Missing.Load()
	openat2Missing.Store(true)
	defer openat2Missing.Store(was)
	dir := t.TempDir()
	f := mkfile(t, filepath.Join(dir, "f"))
	link := filepath.Join(dir, "link")
	if err := os.Symlink(f, link); err != nil {
		t.Fatal(err)
	}
	fd, err := OpenNoSymlinks(f, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	if fd, err := OpenNoSymlinks(link, unix.O_RDONLY); !errors.Is(err, ErrSymlink) {
		unix.Close(fd)
		t.Errorf("fallback open of a link: %v, want ErrSymlink", err)
	}
}

// TestWalkSorted: WalkSorted visits what Walk visits, as Walk reports it,
// in the byte order of the paths — a folder's tree where its paths sort
// among its siblings (b.php < b/… < b0), odd bytes included — and stops at
// fs.SkipAll.
func TestWalkSorted(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{
		"b.php", "b/c.php", "b/a/z.php", "b-x.php", "b0.php", "b/.hidden",
		"a\nb.php", "bad\xff.php", "\x01first", "Z.php", "zz/y/x.php", "zz.php",
		"cache/skip.php", "logs/x.log", "b/cache/skip.php", "dir\n/inner.php",
	} {
		mkfile(t, filepath.Join(root, n))
	}
	if err := os.Symlink("/etc/shadow", filepath.Join(root, "b/link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(root, "b-fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	ex, err := CompileGlobs([]string{"*/cache/*", "*.log"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := walkAll(t, context.Background(), root, ex)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	err = WalkSorted(context.Background(), root, ex, func(p string, d fs.DirEntry) error {
		order = append(order, p)
		if d.Type() != want.visited[p] || d.Name() != filepath.Base(p) || d.IsDir() {
			t.Errorf("%q: entry %v %q, want type %v", p, d.Type(), d.Name(), want.visited[p])
		}
		if info, err := d.Info(); err != nil || info.Mode().Type() != d.Type() {
			t.Errorf("%q: Info() %v, %v", p, info, err)
		}
		return nil
	}, func(p string, err error) { t.Errorf("%q: %v", p, err) })
	if err != nil {
		t.Fatal(err)
	}
	if !sort.StringsAreSorted(order) {
		t.Errorf("not in byte order:\n%q", order)
	}
	if got := append([]string(nil), order...); strings.Join(got, "|") != strings.Join(keys(want.visited), "|") {
		t.Errorf("visited %q\nwant    %q", got, keys(want.visited))
	}

	var n int
	err = WalkSorted(context.Background(), root, nil, func(string, fs.DirEntry) error {
		if n++; n == 3 {
			return fs.SkipAll
		}
		return nil
	}, nil)
	if err != nil || n != 3 {
		t.Errorf("SkipAll: %v after %d visits, want nil after 3", err, n)
	}
}

// The directory hook sees every folder the walk opens, as the descriptor
// it opened, before its listing; SkipDir leaves a folder unlisted, another
// error stops the walk and is returned.
func TestTreeDirHook(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"a/x.php", "a/skip/y.php", "a/skip/deeper/z.php", "b/w.php", "top.php"} {
		mkfile(t, filepath.Join(root, p))
	}
	var dirs, files []string
	err := Tree(context.Background(), root, Options{
		Dir: func(dir string, f *os.File) error {
			var byFd, byPath unix.Stat_t
			if err := unix.Fstat(int(f.Fd()), &byFd); err != nil {
				t.Fatal(err)
			}
			if err := unix.Lstat(dir, &byPath); err != nil || byFd.Ino != byPath.Ino || byFd.Mode&unix.S_IFMT != unix.S_IFDIR {
				t.Errorf("hook for %s got another descriptor than the folder's (err %v)", dir, err)
			}
			dirs = append(dirs, strings.TrimPrefix(dir, root))
			if filepath.Base(dir) == "skip" {
				return fs.SkipDir
			}
			return nil
		},
	}, func(p string, d fs.DirEntry) error {
		files = append(files, strings.TrimPrefix(p, root))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if want := []string{"", "/a", "/a/skip", "/b"}; !slices.Equal(dirs, want) {
		t.Errorf("hook saw %v, want %v (a skipped folder's subfolders are never opened)", dirs, want)
	}
	if want := []string{"/a/x.php", "/b/w.php", "/top.php"}; !slices.Equal(files, want) {
		t.Errorf("visited %v, want %v", files, want)
	}

	stop := errors.New("stop here")
	n := 0
	err = Tree(context.Background(), root, Options{Sorted: true, Dir: func(dir string, _ *os.File) error {
		if n++; strings.HasSuffix(dir, "/a") {
			return stop
		}
		return nil
	}}, func(string, fs.DirEntry) error { return nil })
	if !errors.Is(err, stop) || n != 2 {
		t.Errorf("a hook's error: Tree returned %v after %d folders, want %v after 2", err, n, stop)
	}
}
