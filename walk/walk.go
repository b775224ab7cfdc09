package walk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// readDirBatch is how many entries are read from a folder at a time.
const readDirBatch = 256

// Excluder says which paths a walk skips: an excluded folder is not read
// at all. [*Globs] is one.
type Excluder interface {
	Match(path string, isDir bool) bool
}

// ExcludeFunc is an [Excluder] made of a function.
type ExcludeFunc func(path string, isDir bool) bool

// Match calls f.
func (f ExcludeFunc) Match(path string, isDir bool) bool { return f(path, isDir) }

// Options shape a walk. The zero value walks everything, in listing order.
type Options struct {
	// Exclude skips the entries it matches; nil skips nothing. The root
	// itself is never excluded.
	Exclude Excluder
	// Sorted visits entries in the byte order of their paths (see
	// [WalkSorted]).
	Sorted bool
	// Dir, when set, is called with every folder the walk opened, before
	// it is listed, with the descriptor it was opened as (O_NOFOLLOW on
	// every component). fs.SkipDir leaves the folder unlisted; any other
	// error stops the walk and Tree returns it.
	Dir func(dir string, f *os.File) error
	// OnError hears of every error that does not stop the walk, with the
	// path it concerns; nil ignores them.
	OnError func(path string, err error)
}

// Walk walks the tree at root. It calls visit for every entry that is not a
// folder (regular files, symbolic links, FIFOs, sockets, device nodes), with
// its path and its entry as the folder listing gave it; folders are
// descended, never visited. Excluded entries are skipped and excluded folders
// are not read at all. A root that is not a folder is visited itself.
//
// Symbolic links are never followed; a root that is a symbolic link is
// reported to onError (wrapping [ErrSymlink]) and not walked. Every error —
// an unreadable folder, an entry that vanished, a path too long to open —
// goes to onError with the path it concerns, and the walk continues. onError
// may be nil.
//
// Walk returns nil when the tree was walked, ctx.Err() when ctx was
// cancelled, and the error visit returned, which stops the walk (fs.SkipAll
// stops it and Walk returns nil). The entries of a folder are visited in the
// order the folder lists them, then its subfolders are walked in name order.
func Walk(ctx context.Context, root string, ex Excluder, visit func(path string, d fs.DirEntry) error, onError func(path string, err error)) error {
	return Tree(ctx, root, Options{Exclude: ex, OnError: onError}, visit)
}

// WalkSorted walks like [Walk], but visits the entries in the byte order of
// their paths, the order of a sorted list of them (and of bbolt's keys), so
// that a caller can merge the walk with such a list. Each folder is listed
// whole and its entries sorted by name, a subfolder's name with a "/"
// after it: the subfolder's tree comes exactly where its paths sort among
// its siblings' (a/b.php, a/b/c.php, a/b0.php). The names of the folders on
// the way down are held in memory meanwhile, a few tens of bytes each.
func WalkSorted(ctx context.Context, root string, ex Excluder, visit func(path string, d fs.DirEntry) error, onError func(path string, err error)) error {
	return Tree(ctx, root, Options{Exclude: ex, Sorted: true, OnError: onError}, visit)
}

// Tree walks the tree at root as opts say, as [Walk] does: the one walker
// of shellwatch, for the scans, the reconciliation and the watcher (which
// watches each folder from opts.Dir).
func Tree(ctx context.Context, root string, opts Options, visit func(path string, d fs.DirEntry) error) error {
	if opts.OnError == nil {
		opts.OnError = func(string, error) {}
	}
	w := &walker{Options: opts, visit: visit}
	err := w.root(ctx, root)
	if errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

type walker struct {
	Options
	visit func(string, fs.DirEntry) error
}

// excluded reports whether the walk skips p.
func (w *walker) excluded(p string, isDir bool) bool {
	return w.Exclude != nil && w.Exclude.Match(p, isDir)
}

func (w *walker) root(ctx context.Context, root string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	info, err := os.Lstat(root)
	if err != nil {
		w.OnError(root, err)
		return nil
	}
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		w.OnError(root, fmt.Errorf("walk %s: %w", root, ErrSymlink))
		return nil
	case !info.IsDir():
		return w.visit(root, fs.FileInfoToDirEntry(info))
	}
	return w.dir(ctx, root)
}

// dir visits the entries of the folder at dir and then walks its subfolders.
// The folder is closed before its subfolders are opened, so a walk holds one
// descriptor whatever the depth; a folder past PATH_MAX is opened a piece
// of its path at a time (OpenNoSymlinks).
func (w *walker) dir(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fd, err := OpenNoSymlinks(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		w.OnError(dir, err)
		return nil
	}
	f := os.NewFile(uintptr(fd), dir)
	if w.Dir != nil {
		if err := w.Dir(dir, f); err != nil {
			f.Close()
			if errors.Is(err, fs.SkipDir) {
				return nil
			}
			return err
		}
	}
	if w.Sorted {
		ents, err := w.list(ctx, f, dir)
		f.Close()
		if err != nil {
			return err
		}
		return w.visitSorted(ctx, dir, ents)
	}
	subdirs, err := w.entries(ctx, f, dir)
	f.Close()
	if err != nil {
		return err
	}
	sort.Strings(subdirs)
	for _, sub := range subdirs {
		if err := w.dir(ctx, sub); err != nil {
			return err
		}
	}
	return nil
}

// entries visits the non-folder entries of the open folder f and returns
// the paths of the subfolders to walk.
func (w *walker) entries(ctx context.Context, f *os.File, dir string) ([]string, error) {
	var subdirs []string
	err := w.readDir(ctx, f, dir, func(p string, d fs.DirEntry) error {
		if d.IsDir() {
			if !w.excluded(p, true) {
				subdirs = append(subdirs, p)
			}
			return nil
		}
		if w.excluded(p, false) {
			return nil
		}
		return w.visit(p, d)
	})
	return subdirs, err
}

// readDir calls each for every entry of the open folder f, a batch of
// entries at a time, until each returns an error or ctx is done, which it
// returns. A failure to read the folder goes to onError, naming it (the os
// package's error does), and ends the listing.
func (w *walker) readDir(ctx context.Context, f *os.File, dir string, each func(p string, d fs.DirEntry) error) error {
	for {
		ents, readErr := f.ReadDir(readDirBatch)
		for _, d := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := each(join(dir, d.Name()), d); err != nil {
				return err
			}
		}
		if readErr == io.EOF {
			return nil
		}
		if readErr != nil {
			w.OnError(dir, readErr)
			return nil
		}
	}
}

// sortedEntry is an entry of a folder listed by WalkSorted: key is its
// name, with a "/" after it for a folder, which sorts it where its paths
// sort.
type sortedEntry struct {
	key string
	typ fs.FileMode
}

// list returns the entries of the open folder f that are not excluded,
// sorted by key.
func (w *walker) list(ctx context.Context, f *os.File, dir string) ([]sortedEntry, error) {
	var out []sortedEntry
	err := w.readDir(ctx, f, dir, func(p string, d fs.DirEntry) error {
		if w.excluded(p, d.IsDir()) {
			return nil
		}
		key := d.Name()
		if d.IsDir() {
			key += "/"
		}
		out = append(out, sortedEntry{key: key, typ: d.Type()})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, err
}

// visitSorted visits or descends the entries of dir in the order list gave.
func (w *walker) visitSorted(ctx context.Context, dir string, ents []sortedEntry) error {
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.typ.IsDir() {
			if err := w.dir(ctx, join(dir, strings.TrimSuffix(e.key, "/"))); err != nil {
				return err
			}
			continue
		}
		p := join(dir, e.key)
		if err := w.visit(p, listedEntry{path: p, name: e.key, typ: e.typ}); err != nil {
			return err
		}
	}
	return nil
}

// listedEntry is the fs.DirEntry WalkSorted visits: what the listing said
// of the entry, with Info read when asked (lstat, never following a link).
type listedEntry struct {
	path, name string
	typ        fs.FileMode
}

func (e listedEntry) Name() string               { return e.name }
func (e listedEntry) IsDir() bool                { return e.typ.IsDir() }
func (e listedEntry) Type() fs.FileMode          { return e.typ }
func (e listedEntry) Info() (fs.FileInfo, error) { return os.Lstat(e.path) }

// join appends name to dir without cleaning either, so paths keep the root
// exactly as it was given.
func join(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}
