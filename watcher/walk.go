package watcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/shellwatch/shellwatch/walk"
	"golang.org/x/sys/unix"
)

type jobKind int

const (
	jobWalk       jobKind = iota + 1 // walk a new directory, report what it holds
	jobResync                        // walk every attached root, report every file
	jobRescan                        // rescan a degraded root, report differences
	jobCheckRoots                    // check every root as the poll does (Sync)
)

type job struct {
	kind jobKind
	root *rootState
	gen  uint64
	dir  string
}

// queue hands a job to the maintenance goroutine; it never blocks.
func (w *Watcher) queue(j job) {
	w.jobsMu.Lock()
	if j.kind == jobResync {
		if w.resync {
			w.jobsMu.Unlock()
			return
		}
		w.resync = true
	}
	if j.kind == jobRescan && slices.ContainsFunc(w.jobs, func(q job) bool { return q.kind == jobRescan && q.root == j.root && q.gen == j.gen }) {
		w.jobsMu.Unlock()
		return // the one queued covers it
	}
	w.jobs = append(w.jobs, j)
	w.jobsQueued++
	w.jobsMu.Unlock()
	select {
	case w.jobWake <- struct{}{}:
	default:
	}
}

func (w *Watcher) nextJob() (job, bool) {
	w.jobsMu.Lock()
	defer w.jobsMu.Unlock()
	if len(w.jobs) == 0 {
		return job{}, false
	}
	j := w.jobs[0]
	w.jobs[0] = job{}
	w.jobs = w.jobs[1:]
	if j.kind == jobResync {
		w.resync = false
	}
	return j, true
}

// maintain is the maintenance goroutine: it attaches the roots, closes
// Ready, then runs walk jobs, polls missing roots and rescans degraded ones
// until ctx is done. Walks hand their reports to the pending set and wait
// when it is full, so they are paced by the consumer.
func (w *Watcher) maintain(ctx context.Context) {
	for _, r := range w.roots {
		if ctx.Err() != nil {
			return
		}
		w.checkRoot(ctx, r, w.opts.InitialScan)
	}
	close(w.ready)

	poll := time.NewTicker(w.opts.RootPollInterval)
	defer poll.Stop()
	rescan := time.NewTicker(w.opts.RescanInterval)
	defer rescan.Stop()
	for {
		for {
			if ctx.Err() != nil {
				return
			}
			j, ok := w.nextJob()
			if !ok {
				break
			}
			w.runJob(ctx, j)
			w.jobsDone.add()
		}
		select {
		case <-ctx.Done():
			return
		case <-w.jobWake:
		case <-poll.C:
			for _, r := range w.roots {
				w.checkRoot(ctx, r, true)
			}
		case <-rescan.C:
			w.queueRescans()
		}
	}
}

// queueRescans queues a rescan of every root past the watch limit.
func (w *Watcher) queueRescans() {
	for _, r := range w.roots {
		w.mu.Lock()
		degraded, gen := r.attached && r.degraded, r.gen
		w.mu.Unlock()
		if degraded {
			w.queue(job{kind: jobRescan, root: r, gen: gen})
		}
	}
}

func (w *Watcher) runJob(ctx context.Context, j job) {
	switch j.kind {
	case jobWalk:
		w.walkTree(ctx, j.root, j.gen, j.dir, walkReport)
	case jobResync:
		for _, r := range w.roots {
			w.mu.Lock()
			attached, gen := r.attached, r.gen
			w.mu.Unlock()
			if !attached {
				continue
			}
			w.stats.resyncs.Add(1)
			if w.walkTree(ctx, r, gen, r.path, walkReport) == nil {
				w.pruneWatches(r)
			}
		}
	case jobCheckRoots:
		for _, r := range w.roots {
			w.checkRoot(ctx, r, true)
		}
	case jobRescan:
		w.mu.Lock()
		current := j.root.attached && j.root.gen == j.gen && j.root.degraded
		w.mu.Unlock()
		if !current {
			return
		}
		w.stats.rescans.Add(1)
		w.walkTree(ctx, j.root, j.gen, j.root.path, walkRescan)
	}
}

// checkRoot attaches root r when it exists and is not watched, and detaches
// it when it was watched but is gone or was replaced by another directory.
// report says whether the files of a newly attached root are reported.
func (w *Watcher) checkRoot(ctx context.Context, r *rootState, report bool) {
	fi, err := os.Lstat(r.path)
	isDir := err == nil && fi.IsDir()
	if isDir {
		// Walks open directories refusing symlinks in every component: a
		// root named through a symlink (/var/www when /var is one) cannot be
		// watched, and must be said so rather than be watched emptily.
		fd, openErr := walk.OpenNoSymlinks(r.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK|unix.O_NOCTTY)
		if openErr != nil {
			isDir, err = false, fmt.Errorf("%w (name roots by their real path)", openErr)
		} else {
			unix.Close(fd)
		}
	}
	w.mu.Lock()
	attached, missing, gen := r.attached, r.missing, r.gen
	same := false
	if isDir {
		dev, ino := identity(fi)
		same = dev == r.dev && ino == r.ino
	}
	w.mu.Unlock()

	if attached && !same && w.caughtUpWithin(ctx, rootFenceWait) {
		// Gone or replaced. Removed or moved away, the root's watch had
		// the kernel queue its IN_DELETE_SELF or IN_MOVE_SELF before the
		// lstat above, after the events of what happened in it (its files
		// removed, a file created just before): the event loop has now
		// handled them all, in order, and detached the root itself.
		// Detached here first, those events were lost: fsnotify drops the
		// events of a watch removed, the event loop those of a path no
		// longer watched (TestScenarios/root-recreated lost the removal
		// of x.php that way whenever the event loop was slowed by 100 ms
		// and the root stayed missing for 300 ms).
		w.mu.Lock()
		attached, missing = r.attached && r.gen == gen, r.missing
		w.mu.Unlock()
	}
	if attached {
		if same {
			return
		}
		// Replaced or gone, and the event that would have said so was lost
		// (overflow) or never comes (unmount, a mount over the root).
		w.detach(r, fmt.Errorf("root %s was removed or replaced; polling every %s for it", r.path, w.opts.RootPollInterval))
		missing = true
	}
	if !isDir {
		if w.reportRootLink(r) || missing {
			return
		}
		if err == nil {
			err = fmt.Errorf("root %s is not a directory (%s); symlinks are not followed, configure the directory itself", r.path, fi.Mode().Type())
		}
		w.mu.Lock()
		r.missing = true
		w.mu.Unlock()
		w.problem(Problem{Kind: ProblemRootMissing, Root: r.path, Path: r.path,
			Err: fmt.Errorf("%w; polling every %s for it", err, w.opts.RootPollInterval)})
		return
	}

	w.mu.Lock()
	r.attached = true
	r.degraded = false
	r.linked, r.link = false, ""
	r.gen++
	r.dev, r.ino = identity(fi)
	gen = r.gen
	w.mu.Unlock()
	mode := walkSilent
	if report || missing {
		mode = walkReport
		w.stats.resyncs.Add(1)
	}
	if err := w.walkTree(ctx, r, gen, r.path, mode); err != nil {
		return
	}
	if missing {
		w.mu.Lock()
		back := r.attached && r.gen == gen
		if back {
			r.missing = false
		}
		w.mu.Unlock()
		if back {
			w.log.Info("root is watched again", "root", r.path)
			w.problem(Problem{Kind: ProblemRootRestored, Root: r.path, Path: r.path,
				Err: fmt.Errorf("root %s is back and watched again; its files were reported", r.path)})
		}
	}
}

// pruneWatches drops the watches of root r on directories that are gone or
// were replaced (their events may have been lost in an overflow).
func (w *Watcher) pruneWatches(r *rootState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for dir, e := range w.watches {
		if e.root != r {
			continue
		}
		fi, err := os.Lstat(dir)
		if err == nil && fi.IsDir() {
			if dev, ino := identity(fi); dev == e.dev && ino == e.ino {
				continue
			}
		}
		w.removeSubtreeLocked(dir)
	}
}

type walkMode int

const (
	walkSilent walkMode = iota // add watches only
	walkReport                 // add watches, report every file as OpResync
	walkRescan                 // add watches where possible, report differences from the last rescan
)

// fileMeta is what a rescan compares to tell a changed file.
type fileMeta struct {
	size, ino, dev uint64
	mtime, ctime   unix.Timespec
	mode           uint32
}

// walkTree walks start, a directory of root r at generation gen, and
// everything below it that is not excluded: it watches every directory
// before listing it (so nothing created meanwhile is missed) and reports
// files as mode says. Symlinks are never followed: directories are opened
// with walk.OpenNoSymlinks (a symlink in any component is refused), and the
// watch is checked to be on the directory that was opened. Nothing but
// directories is ever opened. It returns an error when the walk stopped
// early (ctx done, root detached); problems with single entries are reported
// and skipped.
func (w *Watcher) walkTree(ctx context.Context, r *rootState, gen uint64, start string, mode walkMode) error {
	tw := &treeWalk{r: r, gen: gen, mode: mode}
	if mode == walkRescan {
		tw.seen = make(map[string]fileMeta)
	}
	if err := w.walkDir(ctx, tw, start); err != nil {
		if !errors.Is(err, errDetached) && ctx.Err() == nil {
			w.problem(Problem{Kind: ProblemWatchError, Root: r.path, Path: start, Err: fmt.Errorf("walk %s: %w", start, err)})
		}
		return err
	}
	if mode == walkRescan {
		return w.finishRescan(ctx, r, gen, tw.seen, tw.limitHit)
	}
	return nil
}

// treeWalk is the state of one walkTree.
type treeWalk struct {
	r        *rootState
	gen      uint64
	mode     walkMode
	seen     map[string]fileMeta // walkRescan: every file found
	limitHit bool                // a directory could not be watched
}

// walkDir walks dir as tw says with the one tree walker: each directory
// is watched from its descriptor before it is listed.
func (w *Watcher) walkDir(ctx context.Context, tw *treeWalk, dir string) error {
	return walk.Tree(ctx, dir, walk.Options{
		Exclude: walk.ExcludeFunc(tw.r.excluded),
		Dir: func(dir string, f *os.File) error {
			fi, err := f.Stat()
			if err != nil {
				return fs.SkipDir
			}
			switch err := w.addWatch(tw.r, tw.gen, dir, fi); {
			case err == nil:
			case errors.Is(err, errDetached):
				return err
			case errors.Is(err, fs.ErrNotExist):
				return fs.SkipDir
			default:
				// Not watched (watch limit, or replaced while being
				// watched): the walk goes on, and the root is rescanned
				// until it is.
				tw.limitHit = true
				w.degrade(tw.r, tw.gen, dir, err)
			}
			return nil
		},
		OnError: func(path string, err error) {
			switch {
			case errors.Is(err, fs.ErrNotExist), errors.Is(err, unix.ENOTDIR):
				// Gone or replaced meanwhile: its events say so.
			case errors.Is(err, walk.ErrSymlink):
				// Swapped for a symlink since it was seen: not followed.
				// The symlink's creation is reported by its own event.
			default:
				w.problem(Problem{Kind: ProblemWatchError, Root: tw.r.path, Path: path, Err: err})
			}
		},
	}, func(p string, d fs.DirEntry) error {
		switch tw.mode {
		case walkReport:
			if err := w.pending.waitRoom(ctx, w.pendingLimit/2); err != nil {
				return err
			}
			w.report(p, tw.r, OpResync)
		case walkRescan:
			var st unix.Stat_t
			if err := walk.LstatT(p, &st); err == nil {
				tw.seen[p] = fileMeta{size: uint64(st.Size), ino: st.Ino, dev: st.Dev,
					mtime: st.Mtim, ctime: st.Ctim, mode: uint32(st.Mode)}
			}
		}
		return nil
	})
}

// finishRescan reports what a rescan found different from the previous one
// (everything, as OpResync, on the first) and keeps it for the next.
func (w *Watcher) finishRescan(ctx context.Context, r *rootState, gen uint64, seen map[string]fileMeta, limitHit bool) error {
	w.mu.Lock()
	degrades := r.degrades
	w.mu.Unlock()
	prev := r.snapshot
	if r.snapshotOf != degrades {
		prev = nil
	}
	emit := func(path string, op Op) error {
		if err := w.pending.waitRoom(ctx, w.pendingLimit/2); err != nil {
			return err
		}
		w.report(path, r, op)
		return nil
	}
	for path, m := range seen {
		var op Op
		switch old, ok := prev[path]; {
		case prev == nil:
			op = OpResync
		case !ok:
			op = OpCreated
		case old != m:
			op = OpModified
		default:
			continue
		}
		if err := emit(path, op); err != nil {
			return err
		}
	}
	for path := range prev {
		if _, ok := seen[path]; !ok {
			if err := emit(path, OpRemoved); err != nil {
				return err
			}
		}
	}
	r.snapshot, r.snapshotOf = seen, degrades
	if !limitHit {
		w.mu.Lock()
		watched := r.attached && r.gen == gen && r.degraded
		if watched {
			r.degraded = false
			w.log.Info("every directory of the root is watched again; rescans stop", "root", r.path)
		}
		w.mu.Unlock()
		if watched {
			w.problem(Problem{Kind: ProblemRootWatched, Root: r.path, Path: r.path})
		}
	}
	return nil
}
