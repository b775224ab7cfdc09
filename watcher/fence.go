package watcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// A fence tells when the watcher has caught up with the file system: a
// file made in the watcher's own fence folder raises an event in the same
// inotify instance as the roots' events, and an instance's events are read
// in the order they happened. So once the fence's event is read, every
// event of a change made before the fence was made has been read too.
//
// Fence files are named fencePrefix + the watcher's id + "-" + a number:
// watchers of a reload's overlap may share the folder, and each waits for
// its own fences only.
const fencePrefix = ".shellwatch-fence-"

// errStopped ends a Sync of a watcher that stopped.
var errStopped = errors.New("watcher: stopped")

// ErrNoFence is returned by [Watcher.Sync] when the watcher has no fence
// folder (Options.FenceDir empty, or it could not be watched).
var ErrNoFence = errors.New("watcher: no fence folder to sync with")

// fences is the state of a watcher's fences.
type fences struct {
	dir string // "" when the watcher has none
	id  string // this watcher's, in the names of its fence files

	making chan struct{} // holds one token: one fence at a time
	syncs  chan struct{} // holds one token: one Sync at a time

	mu        sync.Mutex
	made      uint64        // the last fence made
	seen      uint64        // the last fence whose event the event loop read (at most made)
	overflows uint64        // inotify queue overflows: a fence's event may be lost
	wake      chan struct{} // closed when seen or overflows grow; nil when nobody waits
}

func newFences(dir string) (*fences, error) {
	f := &fences{making: make(chan struct{}, 1), syncs: make(chan struct{}, 1)}
	if dir == "" {
		return f, nil
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("watcher: fence folder %s: %w", dir, err)
	}
	var b [8]byte
	rand.Read(b[:])
	f.dir, f.id = d, hex.EncodeToString(b[:])
	return f, nil
}

// hold takes sem's token, or returns ctx's error; the caller gives it back
// with <-sem.
func hold(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fenceOf returns the number of the fence ev made, if ev is the creation of
// one of this watcher's fences.
func (f *fences) fenceOf(ev fsnotify.Event) (uint64, bool) {
	if f.dir == "" || !ev.Has(fsnotify.Create) || filepath.Dir(ev.Name) != f.dir {
		return 0, false
	}
	rest, ok := strings.CutPrefix(filepath.Base(ev.Name), fencePrefix+f.id+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 64)
	return n, err == nil
}

// Sync returns once every change made in the roots before it was called
// has been delivered to the Sink (its Change returned), coalesced as
// usual: the events inotify had queued by then are read, the walks they
// started (of new folders, and of a resync after an overflow) are done,
// the roots are checked as the poll does (a root replaced is attached and
// walked now), a root past the watch limit is rescanned, and the reports
// they left pending are delivered. It needs Options.FenceDir; it returns
// [ErrNoFence] without one, an error when a fence cannot be made, and
// ctx's error when ctx ends or the watcher stops first. Calls wait for
// each other.
func (w *Watcher) Sync(ctx context.Context) error {
	// Stop waiting when the watcher stops: nothing reads events then.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-w.stopped:
			cancel(errStopped)
		case <-ctx.Done():
		}
	}()
	err := w.sync(ctx)
	if cause := context.Cause(ctx); err != nil && cause != nil {
		return cause // errStopped, or the caller's
	}
	return err
}

func (w *Watcher) sync(ctx context.Context) error {
	select {
	case <-w.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := hold(ctx, w.fences.syncs); err != nil {
		return err
	}
	defer func() { <-w.fences.syncs }()
	if err := w.caughtUp(ctx); err != nil {
		return err
	}
	// The event loop has read every event before the fence: the walks
	// they asked for are queued. A root removed or replaced is only
	// attached again by a check, and a root on rescans (past the watch
	// limit) has its changes found by a rescan: both are queued too.
	w.queue(job{kind: jobCheckRoots})
	w.queueRescans()
	w.jobsMu.Lock()
	queued := w.jobsQueued
	w.jobsMu.Unlock()
	if err := w.jobsDone.wait(ctx, queued); err != nil {
		return err
	}
	// Every report of a change before the fence is in the pending set now.
	return w.pending.waitDelivered(ctx)
}

// caughtUp returns once the event loop has handled every event inotify
// had queued when it was called: it makes a fence and waits for its event,
// and makes another when an overflow may have lost it. It returns
// [ErrNoFence] without a fence folder, an error when a fence cannot be
// made, and ctx's error.
func (w *Watcher) caughtUp(ctx context.Context) error {
	f := w.fences
	if f.dir == "" || !w.fenceWatched.Load() {
		return ErrNoFence
	}
	if err := hold(ctx, f.making); err != nil {
		return err
	}
	defer func() { <-f.making }()
	for {
		f.mu.Lock()
		overflows := f.overflows
		f.made++
		n := f.made
		f.mu.Unlock()
		name := filepath.Join(f.dir, fencePrefix+f.id+"-"+strconv.FormatUint(n, 10))
		file, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("watcher: make a fence: %w", err)
		}
		file.Close()
		os.Remove(name) // its creation is what is waited for
		seen, err := f.wait(ctx, n, overflows)
		if err != nil || seen {
			return err
		}
	}
}

// rootFenceWait bounds how long the poll of a root found gone waits for
// the event loop to catch up (see checkRoot): past it (the event loop
// waits for a slow consumer), the root is detached at once, as without a
// fence.
const rootFenceWait = 10 * time.Second

// caughtUpWithin is caughtUp bounded by d, and reports whether it caught up.
func (w *Watcher) caughtUpWithin(ctx context.Context, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return w.caughtUp(ctx) == nil
}

// wait returns true once fence n was seen, false once an overflow after
// the count of overflows may have lost it, or ctx's error.
func (f *fences) wait(ctx context.Context, n, overflows uint64) (bool, error) {
	for {
		f.mu.Lock()
		if f.seen >= n {
			f.mu.Unlock()
			return true, nil
		}
		if f.overflows > overflows {
			f.mu.Unlock()
			return false, nil
		}
		if f.wake == nil {
			f.wake = make(chan struct{})
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-wake:
		}
	}
}

// note records, from the event loop, a fence seen (n > 0) or an overflow.
// A number past the last fence made is no fence of this watcher's (a name
// made by someone else who could write the folder): it is ignored.
func (f *fences) note(n uint64, overflow bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n <= f.made {
		f.seen = max(f.seen, n)
	}
	if overflow {
		f.overflows++
	}
	if f.wake != nil {
		close(f.wake)
		f.wake = nil
	}
}

// progress is a number that only grows, which goroutines can wait for.
type progress struct {
	mu   sync.Mutex
	n    uint64
	wake chan struct{} // closed when n grows; nil when nobody waits
}

// add adds one to p's number.
func (p *progress) add() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
}

// wait returns once p's number is at least n, or ctx's error.
func (p *progress) wait(ctx context.Context, n uint64) error {
	for {
		p.mu.Lock()
		if p.n >= n {
			p.mu.Unlock()
			return nil
		}
		if p.wake == nil {
			p.wake = make(chan struct{})
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}
