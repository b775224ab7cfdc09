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
func Walk(ctx context.Context, root string, ex *Globs, visit func(path string, d fs.DirEntry) error, onError func(path string, err error)) error {
	return (&walker{ctx: ctx, ex: ex, visit: visit, onError: onError}).walk(root)
}

// WalkSorted walks like [Walk], but visits the entries in the byte order of
// their paths, the order of a sorted list of them (and of bbolt's keys), so
// that a caller can merge the walk with such a list. Each folder is listed
// whole and its entries sorted by name, a subfolder's name with a "/"
// after it: the subfolder's tree comes exactly where its paths sort among
// its siblings' (a/b.php, a/b/c.php, a/b0.php). The names of the folders on
// the way down are held in memory meanwhile, a few tens of bytes each.
func WalkSorted(ctx context.Context, root string, ex *Globs, visit func(path string, d fs.DirEntry) error, onError func(path string, err error)) error {
	return (&walker{ctx: ctx, ex: ex, visit: visit, onError: onError, sorted: true}).walk(root)
}

type walker struct {
	ctx     context.Context
	ex      *Globs
	visit   func(string, fs.DirEntry) error
	onError func(string, error)
	sorted  bool // WalkSorted
}

func (w *walker) walk(root string) error {
	if w.onError == nil {
		w.onError = func(string, error) {}
	}
	err := w.root(root)
	if errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

func (w *walker) root(root string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	info, err := os.Lstat(root)
	if err != nil {
		w.onError(root, err)
		return nil
	}
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		w.onError(root, fmt.Errorf("walk %s: %w", root, ErrSymlink))
		return nil
	case !info.IsDir():
		return w.visit(root, fs.FileInfoToDirEntry(info))
	}
	return w.dir(root)
}

// dir visits the entries of the folder at dir and then walks its subfolders.
// The folder is closed before its subfolders are opened, so a walk holds one
// descriptor whatever the depth; the depth itself is bounded by PATH_MAX,
// past which opening fails with ENAMETOOLONG, which is reported.
func (w *walker) dir(dir string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	fd, err := OpenNoSymlinks(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		w.onError(dir, err)
		return nil
	}
	f := os.NewFile(uintptr(fd), dir)
	if w.sorted {
		ents, err := w.list(f, dir)
		f.Close()
		if err != nil {
			return err
		}
		return w.visitSorted(dir, ents)
	}
	subdirs, err := w.entries(f, dir)
	f.Close()
	if err != nil {
		return err
	}
	sort.Strings(subdirs)
	for _, sub := range subdirs {
		if err := w.dir(sub); err != nil {
			return err
		}
	}
	return nil
}

// entries visits the non-folder entries of the open folder f and returns
// the paths of the subfolders to walk.
func (w *walker) entries(f *os.File, dir string) ([]string, error) {
	var subdirs []string
	err := w.readDir(f, dir, func(p string, d fs.DirEntry) error {
		if d.IsDir() {
			if !w.ex.Match(p, true) {
				subdirs = append(subdirs, p)
			}
			return nil
		}
		if w.ex.Match(p, false) {
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
func (w *walker) readDir(f *os.File, dir string, each func(p string, d fs.DirEntry) error) error {
	for {
		ents, readErr := f.ReadDir(readDirBatch)
		for _, d := range ents {
			if err := w.ctx.Err(); err != nil {
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
			w.onError(dir, readErr)
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
func (w *walker) list(f *os.File, dir string) ([]sortedEntry, error) {
	var out []sortedEntry
	err := w.readDir(f, dir, func(p string, d fs.DirEntry) error {
		if w.ex.Match(p, d.IsDir()) {
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
func (w *walker) visitSorted(dir string, ents []sortedEntry) error {
	for _, e := range ents {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if e.typ.IsDir() {
			if err := w.dir(join(dir, strings.TrimSuffix(e.key, "/"))); err != nil {
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
