package watcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/shellwatch/shellwatch/walk"
)

// rootState is what the watcher knows about one configured root. Fields
// after exclude are guarded by Watcher.mu, except snapshot which only the
// maintenance goroutine touches.
type rootState struct {
	path    string
	exclude Excluder

	attached bool   // watched (possibly degraded); false while missing
	gen      uint64 // bumped at every attach and detach: walks of an older generation stop
	dev, ino uint64 // identity of the directory that is attached
	degraded bool   // some directory could not be watched: rescans are on
	degrades uint64 // number of times the root was degraded
	missing  bool   // a ProblemRootMissing or ProblemRootSymlink was sent and not yet resolved
	// linked says a ProblemRootSymlink was sent for the link to link,
	// and not yet resolved: it is sent again only for another target.
	linked bool
	link   string

	// Owned by the maintenance goroutine: the files seen by the last rescan
	// and the degradation it belongs to (a new one starts from nothing).
	snapshot   map[string]fileMeta
	snapshotOf uint64
}

func (r *rootState) excluded(path string, isDir bool) bool {
	return r.exclude != nil && path != r.path && r.exclude.Match(path, isDir)
}

// watchEntry is one watched directory.
type watchEntry struct {
	root     *rootState
	dev, ino uint64
	children map[string]struct{} // watched subdirectories
}

// errDetached stops a walk whose root was detached (removed) meanwhile.
var errDetached = errors.New("root detached")

// watchLimitError is the error of a watch that could not be added because
// the watch limit is reached, either the kernel's (ENOSPC) or
// Options.MaxWatches. It wraps syscall.ENOSPC in both cases.
type watchLimitError struct {
	dir, root  string
	maxWatches int // Options.MaxWatches when that was the limit, else 0
	rescan     string
}

func (e *watchLimitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "watch %s: inotify watch limit reached", e.dir)
	if e.maxWatches > 0 {
		fmt.Fprintf(&b, " (Options.MaxWatches = %d)", e.maxWatches)
	}
	fmt.Fprintf(&b, ": fs.inotify.max_user_watches is %s; raise it (sysctl -w fs.inotify.max_user_watches=N, and persist it in /etc/sysctl.d/); until every directory is watched, root %s is rescanned every %s",
		readSysctl("max_user_watches"), e.root, e.rescan)
	return b.String()
}

func (e *watchLimitError) Unwrap() error { return syscall.ENOSPC }

// readSysctl returns the value of /proc/sys/fs/inotify/name, or "unknown".
func readSysctl(name string) string {
	b, err := os.ReadFile("/proc/sys/fs/inotify/" + name)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// identity returns the device and inode of fi.
func identity(fi fs.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), st.Ino
	}
	return 0, 0
}

// addWatch watches dir, a directory of root r at generation gen that was
// found with the lstat result fi. Errors: errDetached, a *watchLimitError, or the error of
// inotify_add_watch (ENOENT when the directory vanished).
func (w *Watcher) addWatch(r *rootState, gen uint64, dir string, fi fs.FileInfo) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !r.attached || r.gen != gen {
		return errDetached
	}
	dev, ino := identity(fi)
	e := w.watches[dir]
	if e != nil && (e.dev != dev || e.ino != ino) {
		// A different directory took the place of the one we watched: its
		// removal was lost (overflow) or is still queued.
		w.removeSubtreeLocked(dir)
		e = nil
	}
	// inotify_add_watch is asked again even when dir looks watched already:
	// it returns the same watch for the same directory, and a new one when
	// the directory was replaced by one that reuses its inode number.
	if e == nil && w.opts.MaxWatches > 0 && len(w.watches) >= w.opts.MaxWatches {
		return &watchLimitError{dir: dir, root: r.path, maxWatches: w.opts.MaxWatches, rescan: w.opts.RescanInterval.String()}
	}
	if err := w.fsw.Add(dir); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return &watchLimitError{dir: dir, root: r.path, rescan: w.opts.RescanInterval.String()}
		}
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	// inotify_add_watch follows symlinks: make sure what got watched is
	// still the directory we looked at, not a symlink swapped in since.
	if now, err := walk.Lstat(dir); err != nil || !now.IsDir() || !os.SameFile(now, fi) {
		_ = w.fsw.Remove(dir)
		if err == nil {
			err = fmt.Errorf("watch %s: replaced while being watched", dir)
		}
		return err
	}
	if e != nil {
		return nil
	}
	w.watches[dir] = &watchEntry{root: r, dev: dev, ino: ino}
	if parent := w.watches[filepath.Dir(dir)]; parent != nil && dir != r.path {
		if parent.children == nil {
			parent.children = make(map[string]struct{})
		}
		parent.children[dir] = struct{}{}
	}
	w.stats.watches.Store(int64(len(w.watches)))
	return nil
}

// removeSubtreeLocked drops the watches on dir and every watched directory
// below it. w.mu must be held.
func (w *Watcher) removeSubtreeLocked(dir string) {
	e := w.watches[dir]
	if e == nil {
		return
	}
	for c := range e.children {
		w.removeSubtreeLocked(c)
	}
	delete(w.watches, dir)
	if parent := w.watches[filepath.Dir(dir)]; parent != nil {
		delete(parent.children, dir)
	}
	// The kernel drops the watch itself when the directory is deleted;
	// ErrNonExistentWatch and EINVAL are expected then.
	_ = w.fsw.Remove(dir)
	w.stats.watches.Store(int64(len(w.watches)))
}

// dirGone handles the removal or rename of a watched directory: the watches
// on it and on everything below it are dropped and its removal is reported
// (a removed root is detached and polled for). The event may be older than
// what is at the path now (a walk may already have watched a new directory
// of the same name, possibly with a reused inode number), so whatever
// directory is there now is watched and walked again, like a new one.
func (w *Watcher) dirGone(r *rootState, gen uint64, dir string) {
	w.mu.Lock()
	w.removeSubtreeLocked(dir)
	w.mu.Unlock()
	if dir == r.path {
		w.detach(r, fmt.Errorf("root %s was removed or moved away; polling every %s for it to come back", r.path, w.opts.RootPollInterval))
		return
	}
	w.report(dir, r, OpRemoved)
	if fi, err := walk.Lstat(dir); err == nil && fi.IsDir() && !r.excluded(dir, true) {
		w.newDir(r, gen, dir, fi)
	}
}

// detach stops watching root r (it is gone or was replaced), reports its
// removal and a ProblemRootMissing; the maintenance goroutine polls for it.
func (w *Watcher) detach(r *rootState, why error) {
	w.mu.Lock()
	if !r.attached {
		w.mu.Unlock()
		return
	}
	r.attached = false
	r.degraded = false
	r.gen++
	for dir, e := range w.watches {
		if e.root == r {
			w.removeSubtreeLocked(dir)
		}
	}
	r.missing = true
	w.mu.Unlock()
	w.report(r.path, r, OpRemoved)
	if w.reportRootLink(r) {
		return
	}
	w.problem(Problem{Kind: ProblemRootMissing, Root: r.path, Path: r.path, Err: why})
}

// reportRootLink raises ProblemRootSymlink when a symbolic link is at root
// r's path now, once per target, and reports whether one is. The link is
// only read (readlink), never followed.
func (w *Watcher) reportRootLink(r *rootState) bool {
	fi, err := os.Lstat(r.path)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return false
	}
	target, err := os.Readlink(r.path)
	if err != nil {
		target = "(unreadable: " + err.Error() + ")"
	}
	w.mu.Lock()
	again := r.linked && r.link == target
	r.missing, r.linked, r.link = true, true, target
	w.mu.Unlock()
	if !again {
		w.problem(Problem{Kind: ProblemRootSymlink, Root: r.path, Path: r.path, LinkTarget: target,
			Err: fmt.Errorf("root %s is now a symbolic link to %s: not followed, nothing there is watched, and the web server may serve the link's target; polling every %s for the directory to come back",
				r.path, strconv.Quote(target), w.opts.RootPollInterval)})
	}
	return true
}

// degrade puts root r on periodic rescans because dir could not be watched,
// and tells the operator once per degradation.
func (w *Watcher) degrade(r *rootState, gen uint64, dir string, err error) {
	w.mu.Lock()
	if !r.attached || r.gen != gen || r.degraded {
		w.mu.Unlock()
		return
	}
	r.degraded = true
	r.degrades++
	w.mu.Unlock()
	kind := ProblemWatchError
	if errors.Is(err, syscall.ENOSPC) {
		kind = ProblemWatchLimit
	} else {
		err = fmt.Errorf("%w; until it can be watched, root %s is rescanned every %s", err, r.path, w.opts.RescanInterval)
	}
	w.problem(Problem{Kind: kind, Root: r.path, Path: dir, Err: err, Degraded: true})
	w.queue(job{kind: jobRescan, root: r, gen: gen})
}

// rootFor returns the root a path reported by fsnotify belongs to, from the
// watch on the path itself or on its directory, and whether the path itself
// is a watched directory.
func (w *Watcher) rootFor(path string) (r *rootState, gen uint64, isWatchedDir bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e := w.watches[path]; e != nil {
		return e.root, e.root.gen, true
	}
	if e := w.watches[filepath.Dir(path)]; e != nil {
		return e.root, e.root.gen, false
	}
	return nil, 0, false
}
