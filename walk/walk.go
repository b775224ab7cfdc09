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
	if onError == nil {
		onError = func(string, error) {}
	}
	w := &walker{ctx: ctx, ex: ex, visit: visit, onError: onError}
	err := w.root(root)
	if errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

type walker struct {
	ctx     context.Context
	ex      *Globs
	visit   func(string, fs.DirEntry) error
	onError func(string, error)
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
	for {
		ents, readErr := f.ReadDir(readDirBatch)
		for _, d := range ents {
			if err := w.ctx.Err(); err != nil {
				return nil, err
			}
			p := join(dir, d.Name())
			if d.IsDir() {
				if !w.ex.Match(p, true) {
					subdirs = append(subdirs, p)
				}
				continue
			}
			if w.ex.Match(p, false) {
				continue
			}
			if err := w.visit(p, d); err != nil {
				return nil, err
			}
		}
		if readErr == io.EOF {
			return subdirs, nil
		}
		if readErr != nil {
			// The os package's error names the folder already.
			w.onError(dir, readErr)
			return subdirs, nil
		}
	}
}

// join appends name to dir without cleaning either, so paths keep the root
// exactly as it was given.
func join(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}
