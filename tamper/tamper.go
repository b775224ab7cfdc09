// Package tamper watches the agent's own files on disk — its binary, its
// config file, its rule files and folders, its hash lists — and tells
// when one of them changes: someone changed the agent. It only tells; the
// agent decides what that means (the blind state self_changed).
//
// Editors and package managers replace a file by writing a new one and
// renaming it over the old: a watch on the file itself would follow the
// old inode, gone. So a target file is watched through its folder, its
// events filtered by name; a target folder (rules.paths may name one) is
// watched with every folder below it, as the rule loader reads it whole,
// and through its own parent like a file. A target that is a symbolic
// link is watched as the link and as what it points to.
//
// Only changes are told: inotify's open and read events are not asked
// for, so the agent reading its own config and rules (a reload) tells
// nothing. A change says what is at the path now, its mode and owner
// (lstat), and never reads it: a target may be a secret (a webhook's
// HMAC key), of which not even a hash is told.
package tamper

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/fsnotify/fsnotify"

	"github.com/shellwatch/shellwatch/internal/owners"
)

// maxTreeFolders bounds the folders watched below one target folder: a
// rule folder with more is watched down to that many, and Start says so.
const maxTreeFolders = 1024

// Change is one change of a target.
type Change struct {
	// Target is the path of the target as it was given to Start.
	Target string
	// Path is what changed: the target, or a file below a target folder.
	Path string
	// Op is what happened ("WRITE", "RENAME", "REMOVE", "CREATE",
	// "CHMOD", or "OVERFLOW" when the kernel's queue overflowed and any
	// target may have changed unseen).
	Op string
	// Now is what lstat said of Path when the change was told: its type
	// and mode bits and its owner, never anything of its content (a
	// target may be a secret: not even a hash of it is taken).
	Now Stat
}

// Stat is the mode and owner of a path, or that nothing is there.
type Stat struct {
	Gone     bool // nothing at the path (removed, or renamed away)
	Mode     fs.FileMode
	UID, GID uint32
	Err      error // why lstat failed, other than nothing being there
}

// statOf lstats path, never following a link.
func statOf(path string) Stat {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return Stat{Gone: true}
	case err != nil:
		return Stat{Err: err}
	}
	s := Stat{Mode: fi.Mode()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.UID, s.GID = st.Uid, st.Gid
	}
	return s
}

// names resolves the owners told in [Stat.String].
var names = owners.New()

// String says the path's state for a person: "now gone", or "now
// -rw------- root:root (0:0)".
func (s Stat) String() string {
	switch {
	case s.Gone:
		return "now gone"
	case s.Err != nil:
		return "now unreadable: " + s.Err.Error()
	}
	return fmt.Sprintf("now %s %s:%s (%d:%d)", s.Mode, orID(names.User(s.UID), s.UID), orID(names.Group(s.GID), s.GID), s.UID, s.GID)
}

func orID(name string, id uint32) string {
	if name == "" {
		return strconv.FormatUint(uint64(id), 10)
	}
	return name
}

// Watch watches targets until Close.
type Watch struct {
	w *fsnotify.Watcher
	// byName: a watched folder and the names in it that are targets.
	byName map[string]map[string]string
	// tree: a watched folder below (or at) a target folder, and that target.
	tree    map[string]string
	targets []string

	mu      sync.Mutex
	changes map[string]uint64 // per target, how many changes were told
	done    chan struct{}
}

// Start watches targets (absolute paths of files or folders) and calls
// onChange, from one goroutine of its own, for each change of one. It
// returns the watch and what could not be watched (a target that does
// not exist yet is still watched through its folder); the watch is nil
// only when inotify cannot be had at all.
func Start(targets []string, onChange func(Change)) (*Watch, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	t := &Watch{w: fw, byName: map[string]map[string]string{}, tree: map[string]string{},
		changes: map[string]uint64{}, done: make(chan struct{})}
	var errs []error
	for _, target := range targets {
		t.targets = append(t.targets, target)
		paths := []string{filepath.Clean(target)}
		if real, err := filepath.EvalSymlinks(target); err == nil && real != paths[0] {
			paths = append(paths, real)
		}
		for _, p := range paths {
			errs = append(errs, t.add(target, p)...)
		}
	}
	go t.loop(onChange)
	return t, errors.Join(errs...)
}

// add watches p, which stands for target: through its folder, and as a
// tree when it is a folder.
func (t *Watch) add(target, p string) []error {
	var errs []error
	dir, name := filepath.Dir(p), filepath.Base(p)
	if t.byName[dir] == nil {
		if err := t.w.Add(dir); err != nil {
			errs = append(errs, fmt.Errorf("watch %s: %w", dir, err))
		}
		t.byName[dir] = map[string]string{}
	}
	t.byName[dir][name] = target
	if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
		return errs
	}
	n := 0
	err := filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if n++; n > maxTreeFolders {
			return fmt.Errorf("%s holds more than %d folders: the rest is not watched", p, maxTreeFolders)
		}
		if err := t.w.Add(f); err != nil {
			errs = append(errs, fmt.Errorf("watch %s: %w", f, err))
			return nil
		}
		t.tree[f] = target
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

func (t *Watch) loop(onChange func(Change)) {
	defer close(t.done)
	events, errs := t.w.Events, t.w.Errors
	for events != nil || errs != nil {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if target, ok := t.targetOf(ev.Name); ok {
				t.tell(onChange, Change{Target: target, Path: ev.Name, Op: ev.Op.String(), Now: statOf(ev.Name)})
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				for _, target := range t.targets {
					t.tell(onChange, Change{Target: target, Path: target, Op: "OVERFLOW", Now: statOf(target)})
				}
			}
		}
	}
}

func (t *Watch) tell(onChange func(Change), c Change) {
	t.mu.Lock()
	t.changes[c.Target]++
	t.mu.Unlock()
	onChange(c)
}

// targetOf returns the target an event about path is a change of.
func (t *Watch) targetOf(path string) (string, bool) {
	if target, ok := t.tree[path]; ok { // a target folder, or one below it, itself
		return target, true
	}
	dir := filepath.Dir(path)
	if target, ok := t.tree[dir]; ok {
		return target, true
	}
	target, ok := t.byName[dir][filepath.Base(path)]
	return target, ok
}

// Changes returns how many changes of target were told so far. A caller
// that reads its files compares it before and after: the same count
// means what it read is what is on disk.
func (t *Watch) Changes(target string) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changes[target]
}

// Close stops the watch; onChange is not called once it returns.
func (t *Watch) Close() error {
	err := t.w.Close()
	<-t.done
	return err
}
