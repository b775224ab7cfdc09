package baseline

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shellwatch/shellwatch/state"
)

// recordWriter writes baseline records behind the scan workers. A worker
// must never wait for an fsync: during a flood of harmless writes, a
// webshell queued behind them would wait for every commit before it. The
// writer gathers records for at most writeBehind and commits them in one
// transaction; reads see pending records first, so the agent reads its own
// writes.
//
// A crash loses at most the records of the last writeBehind: at the next
// start those files differ from the baseline and are looked at again
// (alerted once more if they are findings) — at least once, never silence.
//
// A commit that fails (the state's disk full or read-only) keeps its
// records pending, behind any newer record of the same path, and is tried
// again after retryMin, doubling up to retryMax; onCommit hears every
// outcome, so the agent raises "state unwritable" at the first failure
// and resolves it at the first commit that works. A mark (see putMark)
// is stored by the first commit that stores every record before it,
// after them: while they fail, it stays pending with them.
type recordWriter struct {
	db       *state.DB
	log      *slog.Logger
	onCommit func(error)
	retry    time.Duration // the wait before the next try; 0 while commits work

	mu       sync.Mutex
	pending  map[string]*state.File // nil: delete
	inflight map[string]*state.File // the batch being committed
	// marks and inflightMarks are meta keys to set to true once the
	// records written before them are committed: the first-baseline
	// marker of a root is never stored ahead of the root's records.
	marks, inflightMarks []string
	kick                 chan struct{}
	flushed              *sync.Cond // signalled after each commit
	commits              uint64
	lastErr              error // the outcome of the last commit
	stop                 chan struct{}
	done                 chan struct{}
}

// writeBehind bounds how long a record waits before it is committed.
const writeBehind = 50 * time.Millisecond

// The bounds of the wait before a failed commit is tried again.
const (
	retryMin = 250 * time.Millisecond
	retryMax = 30 * time.Second
)

func newRecordWriter(db *state.DB, log *slog.Logger, onCommit func(error)) *recordWriter {
	if onCommit == nil {
		onCommit = func(error) {}
	}
	w := &recordWriter{db: db, log: log, onCommit: onCommit, pending: map[string]*state.File{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	w.flushed = sync.NewCond(&w.mu)
	go w.run()
	return w
}

func (w *recordWriter) put(f state.File) {
	w.mu.Lock()
	w.pending[f.Path] = &f
	w.mu.Unlock()
	w.nudge()
}

func (w *recordWriter) delete(paths ...string) {
	w.mu.Lock()
	for _, p := range paths {
		w.pending[p] = nil
	}
	w.mu.Unlock()
	w.nudge()
}

func (w *recordWriter) nudge() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// get returns the pending record of path: found says whether one is
// pending (f nil: a pending delete).
func (w *recordWriter) get(path string) (f *state.File, found bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f, ok := w.pending[path]; ok {
		return f, true
	}
	f, ok := w.inflight[path]
	return f, ok
}

// pendingBelow returns the paths below dir with a pending record.
func (w *recordWriter) pendingBelow(dir string) []string {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, m := range []map[string]*state.File{w.pending, w.inflight} {
		for p, f := range m {
			if f != nil && strings.HasPrefix(p, prefix) {
				out = append(out, p)
			}
		}
	}
	return out
}

// putMark sets the meta key to true once every record written before the
// call is committed, after them (see the type's comment).
func (w *recordWriter) putMark(key string) {
	w.mu.Lock()
	w.marks = append(w.marks, key)
	w.mu.Unlock()
	w.nudge()
}

// marked reports whether a mark of key waits for its commit.
func (w *recordWriter) marked(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Contains(w.marks, key) || slices.Contains(w.inflightMarks, key)
}

// flush returns once a commit tried everything written before the call:
// nil when it was committed, else the error of the commit that failed, and
// what it could not write stays pending (tried again, as always).
func (w *recordWriter) flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 && len(w.inflight) == 0 && len(w.marks) == 0 && len(w.inflightMarks) == 0 {
		return nil
	}
	// Two commits: the one running now may predate the call. A commit
	// takes every write pending when it starts, and one that fails
	// leaves them pending for the next: the outcome of the target commit
	// is the outcome of everything before the call.
	target := w.commits + 2
	if w.inflight == nil && w.inflightMarks == nil {
		target = w.commits + 1
	}
	w.nudge()
	for w.commits < target {
		w.flushed.Wait()
	}
	return w.lastErr
}

// close commits what is pending and stops the writer.
func (w *recordWriter) close() {
	close(w.stop)
	<-w.done
}

func (w *recordWriter) run() {
	defer close(w.done)
	var retry <-chan time.Time
	for {
		select {
		case <-w.kick:
		case <-retry:
		case <-w.stop:
			w.commit()
			w.commit() // a record put while the first ran
			return
		}
		retry = nil
		select {
		case <-time.After(writeBehind):
		case <-w.stop:
		}
		if !w.commit() {
			retry = time.After(w.retry)
		}
	}
}

// commit writes the pending batch, then the marks pending with it, and
// reports whether it worked. A batch that could not be written goes back
// to pending (where a newer record of a path does not replace it), its
// marks with it, and the wait before the next try grows.
func (w *recordWriter) commit() bool {
	w.mu.Lock()
	batch, marks := w.pending, w.marks
	w.pending, w.marks = map[string]*state.File{}, nil
	w.inflight, w.inflightMarks = batch, marks
	w.mu.Unlock()
	var puts []state.File
	var dels []string
	for p, f := range batch {
		if f == nil {
			dels = append(dels, p)
		} else {
			puts = append(puts, *f)
		}
	}
	var err error
	if len(puts) > 0 {
		if err = w.db.Put(puts...); err != nil {
			w.log.Error("state: store records; kept and tried again", "records", len(puts), "retry_in", w.nextRetry(), "err", err)
		}
	}
	if len(dels) > 0 && err == nil {
		if err = w.db.Delete(dels...); err != nil {
			w.log.Error("state: delete records; kept and tried again", "records", len(dels), "retry_in", w.nextRetry(), "err", err)
		}
	}
	for _, key := range marks {
		if err != nil {
			break
		}
		if err = w.db.PutMeta(key, true); err != nil {
			w.log.Error("state: store a mark; kept and tried again", "key", key, "retry_in", w.nextRetry(), "err", err)
		}
	}
	w.mu.Lock()
	if err != nil {
		for p, f := range batch {
			if _, newer := w.pending[p]; !newer {
				w.pending[p] = f
			}
		}
		w.marks = append(marks, w.marks...)
	} else {
		w.retry = 0
	}
	w.inflight, w.inflightMarks = nil, nil
	w.commits++
	w.lastErr = err
	w.flushed.Broadcast()
	w.mu.Unlock()
	if len(puts) > 0 || len(dels) > 0 || len(marks) > 0 {
		w.onCommit(err)
	}
	return err == nil
}

// nextRetry grows the wait before the next try after a failed commit.
func (w *recordWriter) nextRetry() time.Duration {
	w.retry = min(max(2*w.retry, retryMin), retryMax)
	return w.retry
}
