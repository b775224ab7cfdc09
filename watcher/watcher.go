package watcher

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/shellwatch/shellwatch/walk"
)

// Op says how a [Change] was found.
type Op int

const (
	// OpCreated: the path appeared (created, renamed or hard-linked in).
	OpCreated Op = iota + 1
	// OpModified: the file was written to, or its mode, owner or link
	// count changed.
	OpModified
	// OpRemoved: the path is gone (deleted or moved out). When the path was
	// a watched directory (or the root itself), everything below it is gone
	// too and is not reported one by one.
	OpRemoved
	// OpResync: the path was found by a walk (a new directory, a directory
	// renamed in, a resync after queue overflow, a root that came back, the
	// first rescan of a root past the watch limit). It exists; whether it is
	// new or changed is for the consumer to decide by comparing with what it
	// knows.
	OpResync
)

// String returns the lower-case name used in logs and test scenarios.
func (o Op) String() string {
	switch o {
	case OpCreated:
		return "created"
	case OpModified:
		return "modified"
	case OpRemoved:
		return "removed"
	case OpResync:
		return "resync"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Change is one report about one path. Path is byte-exact as the kernel gave
// it (it may hold newlines or invalid UTF-8) and is Root joined with the
// path below it. Path may name any kind of file (regular, symlink, FIFO,
// device); only OpRemoved ever names a directory.
type Change struct {
	Path string
	Op   Op
	Root string // the configured root (cleaned) the path belongs to
	// Unread is set when the path was created or written (an inotify
	// create or write event) since it was last reported: content no
	// consumer has been told of yet, and what the watcher saw of it. With
	// Op OpRemoved it names a file deleted before its last content was
	// reported: a transient file, written, perhaps run, and gone (one
	// renamed away instead is not: it lives on under its new name).
	Unread *Look
}

// Look is what the watcher saw of a created file: its lstat (a link is
// never followed) at the create event, taken again at each write while
// the creation is unreported. Known is false when the path was already
// gone when the watcher looked, and for a file only seen written; then the
// rest is zero. UID is the owner, which for a new file is who wrote it.
type Look struct {
	Known bool
	Size  int64
	UID   uint32
	Mode  fs.FileMode
	// Born is set when the path was created since it was last reported
	// (not only written): the unread content is a new file's.
	Born bool
}

// lookOf is the Look of an lstat result.
func lookOf(fi fs.FileInfo, err error) Look {
	if err != nil {
		return Look{}
	}
	s := Look{Known: true, Size: fi.Size(), Mode: fi.Mode()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.UID = st.Uid
	}
	return s
}

// ProblemKind classifies a [Problem].
type ProblemKind int

const (
	// ProblemOverflow: the kernel's inotify queue overflowed and events were
	// lost; every root is being resynced.
	ProblemOverflow ProblemKind = iota + 1
	// ProblemWatchLimit: a directory could not be watched because the
	// inotify watch limit (fs.inotify.max_user_watches) is reached; the root
	// is rescanned every RescanInterval until every directory is watched.
	ProblemWatchLimit
	// ProblemRootMissing: a root does not exist, is not a directory, or was
	// removed; it is polled for every RootPollInterval.
	ProblemRootMissing
	// ProblemRootRestored: a root that was missing is watched again and its
	// files have been reported. It resolves an earlier ProblemRootMissing.
	ProblemRootRestored
	// ProblemWatchError: any other failure to watch or walk (a directory
	// that cannot be read, an inotify error). A directory that cannot be
	// watched puts its root on periodic rescans like ProblemWatchLimit.
	ProblemWatchError
	// ProblemRootSymlink: a root was replaced by a symbolic link (Problem.
	// LinkTarget says where to, as readlink gives it). The link is never
	// followed: the root is unwatched, polled like a missing one, and the
	// web server may now serve the attacker's folder through it. Raised
	// again when the link is changed to point elsewhere.
	ProblemRootSymlink
	// ProblemRootWatched: every directory of a root that was past the
	// watch limit, or had a directory that could not be watched, is
	// watched again and its rescans stop. It resolves an earlier
	// ProblemWatchLimit or ProblemWatchError of that root.
	ProblemRootWatched
)

// String returns the name used in logs and test scenarios.
func (k ProblemKind) String() string {
	switch k {
	case ProblemOverflow:
		return "overflow"
	case ProblemWatchLimit:
		return "watch-limit"
	case ProblemRootMissing:
		return "root-missing"
	case ProblemRootRestored:
		return "root-restored"
	case ProblemWatchError:
		return "watch-error"
	case ProblemRootSymlink:
		return "root-symlink"
	case ProblemRootWatched:
		return "root-watched"
	}
	return fmt.Sprintf("ProblemKind(%d)", int(k))
}

// Problem is something the operator should hear about. The watcher survives
// every one of them.
type Problem struct {
	Kind ProblemKind
	Root string // the configured root concerned; empty when it is all of them
	Path string // the file or directory concerned, when there is one
	Err  error  // what happened and what to do about it, in words
	// LinkTarget is, for ProblemRootSymlink, the link's target as readlink
	// gives it (byte-exact, attacker-chosen: never followed).
	LinkTarget string
	// Degraded says, on a ProblemWatchLimit or ProblemWatchError, that
	// the root is on periodic rescans from now on, until a
	// ProblemRootWatched.
	Degraded bool
}

// Excluder decides which paths are skipped: an excluded directory is
// neither watched nor walked, an excluded file is never reported. Match is
// called with the full path (Root.Path joined with the path below it) and
// whether it is a directory; for a path that is already gone, it is asked
// both ways and either answer excludes it. *walk.Globs satisfies it.
type Excluder interface {
	Match(path string, isDir bool) bool
}

// Root is one directory tree to watch.
type Root struct {
	Path    string   // made absolute and cleaned by New; must not be a symlink
	Exclude Excluder // nil: nothing is excluded
}

// Options configure a [Watcher]. Zero values mean the documented defaults.
type Options struct {
	Roots []Root

	// Settle is the shortest time between two reports of the same path
	// while it keeps changing; the last change is reported at most Settle
	// after it happened. Default 250ms.
	Settle time.Duration
	// RescanInterval is how often a root whose directories could not all be
	// watched (watch limit) is walked for changes. Default 5m.
	RescanInterval time.Duration
	// RootPollInterval is how often a missing root is looked for, and a
	// watched one checked for having been replaced. Default 5s.
	RootPollInterval time.Duration
	// Sink receives the changes and problems. Nil means channels, read
	// with Changes and Problems.
	Sink Sink
	// QueueSize is the capacity of the Changes channel when there is no
	// Sink. Default 1024.
	QueueSize int
	// FenceDir is a folder of the consumer's own, outside the roots, where
	// [Watcher.Sync] makes and removes an empty file to learn that the
	// watcher has caught up with the file system. Empty: Sync is not
	// available. Watchers may share it.
	FenceDir string
	// InitialScan reports every file found while the roots are first watched
	// (as OpResync), so the consumer can reconcile what changed while the
	// agent was down. Off by default: then only what changes after Run is
	// reported.
	InitialScan bool
	// MaxWatches, when above zero, makes the watcher treat needing more than
	// MaxWatches inotify watches exactly like the kernel's ENOSPC (watch
	// limit reached). For tests and for operators who want to leave room
	// for other programs; zero means only the kernel's limit applies.
	MaxWatches int
	// PendingLimit bounds the paths waiting to be reported (default 65536):
	// beyond it the watcher stops reading events, the kernel's queue
	// overflows and a resync covers what was dropped. It bounds memory
	// under a flood; tests lower it to force an overflow.
	PendingLimit int
	// Logger receives the watcher's logs; nil discards them.
	Logger *slog.Logger
}

// Sink receives what a Watcher reports, from the watcher's goroutines.
type Sink interface {
	// Change takes one change. It may block: the watcher waits, reading
	// and coalescing events meanwhile (past PendingLimit the kernel's
	// queue overflows and a resync follows). It returns false, without
	// taking c, once ctx (the watcher's) is done.
	Change(ctx context.Context, c Change) bool
	// Problem takes one problem and must not block: it returns false
	// when it cannot take p now (the watcher logs and counts it).
	Problem(p Problem) bool
}

// chanSink is the Sink of a Watcher without one: bounded channels, closed
// when Run returns.
type chanSink struct {
	changes  chan Change
	problems chan Problem
}

func (s *chanSink) Change(ctx context.Context, c Change) bool {
	select {
	case s.changes <- c:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *chanSink) Problem(p Problem) bool {
	select {
	case s.problems <- p:
		return true
	default:
		return false
	}
}

func (s *chanSink) close() {
	if s != nil {
		close(s.changes)
		close(s.problems)
	}
}

// Default values for [Options].
const (
	DefaultSettle           = 250 * time.Millisecond
	DefaultRescanInterval   = 5 * time.Minute
	DefaultRootPollInterval = 5 * time.Second
	DefaultQueueSize        = 1024
)

const (
	// defaultPendingLimit bounds the coalescing set: beyond it the event loop
	// stops reading events (the kernel queue then overflows and a resync
	// covers what was dropped), and walkers wait at half of it.
	defaultPendingLimit = 1 << 16
	// problemQueueSize is the capacity of the Problems channel.
	problemQueueSize = 64
	// eventBuffer is the capacity of fsnotify's Events channel.
	eventBuffer = 1024
)

// Stats are counters about a running [Watcher].
type Stats struct {
	Watches         int64  // inotify watches held now
	Events          uint64 // events read from inotify
	Changes         uint64 // Changes delivered to the consumer
	Overflows       uint64 // inotify queue overflows
	Resyncs         uint64 // walks that reported every file of a root
	Rescans         uint64 // periodic rescans of roots past the watch limit
	ProblemsDropped uint64 // Problems dropped because nobody read them (each is logged)
}

// Watcher watches a set of roots. Create it with [New], start it with
// [Watcher.Run].
type Watcher struct {
	opts         Options
	log          *slog.Logger
	roots        []*rootState
	sink         Sink
	channels     *chanSink // the sink when Options.Sink is nil
	ready        chan struct{}
	pending      *pendingSet
	pendingLimit int
	running      atomic.Bool

	fsw *fsnotify.Watcher

	mu      sync.Mutex             // guards watches and the mutable fields of roots
	watches map[string]*watchEntry // watched directory → entry

	jobsMu     sync.Mutex
	jobs       []job
	resync     bool          // a resync of every root is queued
	jobWake    chan struct{} // capacity 1
	jobsQueued uint64        // jobs ever queued (guarded by jobsMu)
	jobsDone   progress      // jobs ever run: they run in the order queued

	// fences tell Sync when the event loop has caught up (fence.go);
	// fenceWatched says the fence folder is watched; stopped is closed
	// when Run returns.
	fences       *fences
	fenceWatched atomic.Bool
	stopped      chan struct{}

	stats struct {
		watches, events, changes, overflows, resyncs, rescans, problemsDropped atomic.Int64
	}
}

// New checks opts and returns a Watcher that is not running yet.
func New(opts Options) (*Watcher, error) {
	if len(opts.Roots) == 0 {
		return nil, errors.New("watcher: no roots to watch")
	}
	if opts.Settle <= 0 {
		opts.Settle = DefaultSettle
	}
	if opts.RescanInterval <= 0 {
		opts.RescanInterval = DefaultRescanInterval
	}
	if opts.RootPollInterval <= 0 {
		opts.RootPollInterval = DefaultRootPollInterval
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.MaxWatches < 0 {
		return nil, fmt.Errorf("watcher: MaxWatches %d is negative", opts.MaxWatches)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{
		opts:         opts,
		log:          log,
		sink:         opts.Sink,
		ready:        make(chan struct{}),
		stopped:      make(chan struct{}),
		pending:      newPendingSet(opts.Settle),
		pendingLimit: cmp.Or(opts.PendingLimit, defaultPendingLimit),
		watches:      make(map[string]*watchEntry),
		jobWake:      make(chan struct{}, 1),
	}
	if w.sink == nil {
		w.channels = &chanSink{changes: make(chan Change, opts.QueueSize), problems: make(chan Problem, problemQueueSize)}
		w.sink = w.channels
	}
	for _, r := range opts.Roots {
		if r.Path == "" {
			return nil, errors.New("watcher: a root has an empty path")
		}
		p, err := filepath.Abs(r.Path)
		if err != nil {
			return nil, fmt.Errorf("watcher: root %s: %w", r.Path, err)
		}
		for _, o := range w.roots {
			if isSameOrBelow(p, o.path) || isSameOrBelow(o.path, p) {
				return nil, fmt.Errorf("watcher: roots %s and %s overlap; configure only the outer one", o.path, p)
			}
		}
		w.roots = append(w.roots, &rootState{path: p, exclude: r.Exclude})
	}
	f, err := newFences(opts.FenceDir)
	if err != nil {
		return nil, err
	}
	for _, r := range w.roots {
		if f.dir != "" && isSameOrBelow(f.dir, r.path) {
			return nil, fmt.Errorf("watcher: fence folder %s is inside root %s", f.dir, r.path)
		}
	}
	w.fences = f
	return w, nil
}

// Changes returns the channel of reports of a watcher without a Sink (nil
// with one). It is bounded (Options.QueueSize): when the consumer is slow
// the watcher waits for it (events keep being read and coalesced
// meanwhile; if that backlog grows too large the kernel queue overflows and
// a resync follows). It is closed when Run returns.
func (w *Watcher) Changes() <-chan Change {
	if w.channels == nil {
		return nil
	}
	return w.channels.changes
}

// Problems returns the channel of problems. The consumer must drain it: a
// Problem that does not fit (64 queued) is logged and counted in
// Stats.ProblemsDropped rather than stall the watcher. It is closed when Run
// returns. Nil with a Sink.
func (w *Watcher) Problems() <-chan Problem {
	if w.channels == nil {
		return nil
	}
	return w.channels.problems
}

// Ready returns a channel that is closed once every root that exists has its
// watches in place (a root past the watch limit counts: it is on rescans; a
// missing root does not delay it). With InitialScan, its files have also
// been handed to the coalescer by then, so the consumer must already be
// reading Changes. It is never closed if Run stops before that.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// Stats returns the current counters. It is safe to call at any time.
func (w *Watcher) Stats() Stats {
	return Stats{
		Watches:         w.stats.watches.Load(),
		Events:          uint64(w.stats.events.Load()),
		Changes:         uint64(w.stats.changes.Load()),
		Overflows:       uint64(w.stats.overflows.Load()),
		Resyncs:         uint64(w.stats.resyncs.Load()),
		Rescans:         uint64(w.stats.rescans.Load()),
		ProblemsDropped: uint64(w.stats.problemsDropped.Load()),
	}
}

// Run watches the roots until ctx is done, then stops every goroutine it
// started, closes Changes and Problems, and returns nil. It returns an error
// only when watching cannot start at all (no inotify instance). A missing
// root is not an error. Run may be called once.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("watcher: Run called twice")
	}
	defer close(w.stopped)
	fsw, err := fsnotify.NewBufferedWatcher(eventBuffer)
	if err != nil {
		w.channels.close()
		if errors.Is(err, syscall.EMFILE) {
			return fmt.Errorf("watcher: start inotify: %w (too many inotify instances: raise fs.inotify.max_user_instances, now %s)",
				err, readSysctl("max_user_instances"))
		}
		return fmt.Errorf("watcher: start inotify: %w", err)
	}
	w.fsw = fsw

	ctx, cancel := context.WithCancel(ctx)
	if d := w.fences.dir; d != "" {
		if err := fsw.Add(d); err != nil {
			w.log.Warn("cannot watch the fence folder: deploy end falls back to waiting for a quiet queue", "dir", d, "err", err)
		} else {
			w.fenceWatched.Store(true)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { w.eventLoop(ctx) })
	wg.Go(func() {
		w.pending.flush(ctx, func(c Change) bool {
			if !w.sink.Change(ctx, c) {
				return false
			}
			w.stats.changes.Add(1)
			return true
		})
	})
	wg.Go(func() { w.maintain(ctx) })
	<-ctx.Done()
	cancel()
	wg.Wait()
	fsw.Close()
	w.channels.close()
	return nil
}

// problem hands p to the consumer without ever blocking, and logs it.
func (w *Watcher) problem(p Problem) {
	w.log.Warn("watcher problem", "kind", p.Kind.String(), "root", p.Root, "path", p.Path, "err", p.Err)
	if !w.sink.Problem(p) {
		w.stats.problemsDropped.Add(1)
		w.log.Error("watcher problem dropped: its consumer is not keeping up", "kind", p.Kind.String(), "root", p.Root, "path", p.Path, "err", p.Err)
	}
}

// report queues a change for delivery; it never blocks.
func (w *Watcher) report(path string, r *rootState, op Op) {
	w.pending.add(path, r.path, op, time.Now())
}

// reportCreated queues the creation of path, seen as l; it never blocks.
func (w *Watcher) reportCreated(path string, r *rootState, l Look) {
	w.pending.addCreated(path, r.path, time.Now(), l)
}

// reportWritten queues a write to path; it never blocks. A file whose
// creation is not reported yet is looked at again: its size now says more
// than the empty file its create event saw.
func (w *Watcher) reportWritten(path string, r *rootState) {
	if !w.pending.addWritten(path, r.path, time.Now()) {
		return
	}
	if fi, err := walk.Lstat(path); err == nil {
		w.pending.updateLook(path, lookOf(fi, nil))
	}
}

// reportMovedAway queues the removal of a path that was renamed away (not
// deleted: it is no transient file); it never blocks.
func (w *Watcher) reportMovedAway(path string, r *rootState) {
	w.pending.addMovedAway(path, r.path, time.Now())
}

// isSameOrBelow reports whether path is dir or inside it.
func isSameOrBelow(path, dir string) bool {
	if path == dir {
		return true
	}
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	return strings.HasPrefix(path, dir+"/")
}
