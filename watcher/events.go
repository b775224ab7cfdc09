package watcher

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/fsnotify/fsnotify"

	"github.com/shellwatch/shellwatch/walk"
)

// eventLoop reads fsnotify until ctx is done. It never reads a file and never
// blocks on the consumer: it lstats new paths, adds watches for new
// directories, hands their walks to the maintenance goroutine and records
// reports in the pending set. It only waits when the pending set is full,
// which lets the kernel queue overflow into a resync rather than grow memory
// without bound.
func (w *Watcher) eventLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			w.stats.events.Add(1)
			w.handleEvent(ev)
			if w.pending.len() >= w.pendingLimit {
				if w.pending.waitRoom(ctx, w.pendingLimit) != nil {
					return
				}
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.handleError(err)
		}
	}
}

func (w *Watcher) handleEvent(ev fsnotify.Event) {
	if n, ok := w.fences.fenceOf(ev); ok {
		w.fences.note(n, false)
		return
	}
	path := ev.Name
	r, gen, isWatchedDir := w.rootFor(path)
	if r == nil {
		return // a directory no longer watched, or a stale event
	}
	switch {
	case ev.Has(fsnotify.Create):
		fi, err := walk.Lstat(path)
		if err == nil && fi.IsDir() {
			if r.excluded(path, true) {
				return
			}
			w.newDir(r, gen, path, fi)
			return
		}
		// A file, a symlink (never followed), a FIFO, a device; or the path
		// is already gone again, and its removal event follows. What lstat
		// saw is kept for the report: if the file is gone before anyone
		// reads it, it is all there is to say about it.
		if r.excluded(path, false) {
			return
		}
		w.reportCreated(path, r, lookOf(fi, err))

	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		if isWatchedDir {
			w.dirGone(r, gen, path)
			return
		}
		if r.excluded(path, false) || r.excluded(path, true) {
			return
		}
		if ev.Has(fsnotify.Remove) {
			w.report(path, r, OpRemoved)
		} else {
			w.reportMovedAway(path, r)
		}

	case ev.Has(fsnotify.Write):
		if isWatchedDir || r.excluded(path, false) {
			return
		}
		w.reportWritten(path, r)

	case ev.Has(fsnotify.Chmod):
		// Mode, owner, timestamps or link count changed. Directories are not
		// reported; a chmod can make a harmless file executable, so files
		// are.
		if isWatchedDir {
			return
		}
		fi, err := walk.Lstat(path)
		if err == nil && fi.IsDir() {
			return
		}
		if r.excluded(path, false) {
			return
		}
		w.report(path, r, OpModified)
	}
}

// newDir watches a directory that appeared in a watched one and queues the
// walk that reports what it already holds (it may have been created with its
// content, or renamed in).
func (w *Watcher) newDir(r *rootState, gen uint64, dir string, fi os.FileInfo) {
	err := w.addWatch(r, gen, dir, fi)
	switch {
	case err == nil:
	case errors.Is(err, errDetached), errors.Is(err, os.ErrNotExist):
		return
	default:
		w.degrade(r, gen, dir, err)
	}
	w.queue(job{kind: jobWalk, root: r, gen: gen, dir: dir})
}

func (w *Watcher) handleError(err error) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		w.stats.overflows.Add(1)
		w.fences.note(0, true) // a fence's event may be lost
		w.problem(Problem{Kind: ProblemOverflow, Err: fmt.Errorf(
			"inotify event queue overflowed (fs.inotify.max_queued_events is %s): events were lost; resyncing every root and reporting all its files",
			readSysctl("max_queued_events"))})
		w.queue(job{kind: jobResync})
		return
	}
	w.problem(Problem{Kind: ProblemWatchError, Err: fmt.Errorf("inotify: %w", err)})
}
