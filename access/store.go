package access

import (
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/weblog"
)

// Store keeps the flagged URLs across restarts: the state database
// (*state.DB).
type Store interface {
	ReadFlagged() (state.Flagged, error)
	WriteFlagged(state.FlaggedBatch) error
}

// writeBehind bounds how long a flagged URL waits before it is committed.
const writeBehind = 50 * time.Millisecond

// storeWriter writes the flagged URLs behind the one who flagged them: a
// worker that just quarantined a shell never waits for an fsync. Changes
// gather for writeBehind in a goroutine started when the first arrives,
// which commits them in one transaction and ends when nothing is left;
// [Logs.Stop] waits for it (flush).
//
// A crash loses at most the last writeBehind of changes: a URL flagged
// then is forgotten by the next start (as every URL was before they were
// kept), and a stamp not stored lets the next start's read-back alert once
// more a return already alerted — at least once, never silence. A commit
// that fails (the state's disk full) keeps its changes, logs, and is tried
// again at the next change or at flush.
type storeWriter struct {
	store Store
	log   *slog.Logger

	mu        sync.Mutex
	pending   map[urlKey]*state.FlaggedURL // nil: delete
	readUntil map[string]time.Time
	untilAt   time.Time  // when a stamp alone last started a commit
	running   bool       // a commit is under way, or its goroutine waits
	idle      *sync.Cond // signalled when running turns false
}

func newStoreWriter(store Store, log *slog.Logger) *storeWriter {
	w := &storeWriter{store: store, log: log, pending: map[urlKey]*state.FlaggedURL{}, readUntil: map[string]time.Time{}}
	w.idle = sync.NewCond(&w.mu)
	return w
}

// put stores u (nil w: kept in memory only, as everything else here).
func (w *storeWriter) put(u *flaggedURL) {
	if w == nil {
		return
	}
	rec := &state.FlaggedURL{Root: u.root, URL: u.target.Path, Hosts: u.target.Hosts, AlertID: u.alertID, At: u.at,
		Path: u.file.Path, SHA256: u.file.SHA256, Kind: string(u.kind), Action: u.action}
	w.change(func() { w.pending[urlKey{u.root, u.target.Path}] = rec })
}

// drop forgets the URL of root.
func (w *storeWriter) drop(root, url string) {
	if w == nil {
		return
	}
	w.change(func() { w.pending[urlKey{root, url}] = nil })
}

// untilEvery bounds how often a stamp alone makes a commit: a botnet
// probing a flagged URL matches requests all the time, and a stamp lost
// costs at most a return alerted twice (see storeWriter). A stamp waits
// otherwise for the next URL's commit, or the flush at stop.
const untilEvery = time.Minute

// until stores t as the stamp of log's newest matched request.
func (w *storeWriter) until(log string, t time.Time) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.readUntil[log] = t
	if now := time.Now(); now.Sub(w.untilAt) >= untilEvery {
		w.untilAt = now
		w.startLocked()
	}
}

func (w *storeWriter) change(fn func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fn()
	w.startLocked()
}

// startLocked starts a commit's goroutine, unless one runs.
func (w *storeWriter) startLocked() {
	if !w.running {
		w.running = true
		go func() {
			time.Sleep(writeBehind)
			for w.commit() {
			}
		}()
	}
}

// commit writes what is pending and reports whether it should run again:
// something came meanwhile, and this commit worked.
func (w *storeWriter) commit() bool {
	w.mu.Lock()
	pending, until := w.pending, w.readUntil
	w.pending, w.readUntil = map[urlKey]*state.FlaggedURL{}, map[string]time.Time{}
	w.mu.Unlock()
	var batch state.FlaggedBatch
	for k, rec := range pending {
		if rec == nil {
			batch.Delete = append(batch.Delete, state.FlaggedURL{Root: k.root, URL: k.url})
		} else {
			batch.Put = append(batch.Put, *rec)
		}
	}
	batch.ReadUntil = until
	err := w.store.WriteFlagged(batch)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.log.Error("attacker_returned: the flagged URLs could not be stored; kept in memory and tried again at the next change",
			"urls", len(pending), "err", err)
		for k, rec := range pending {
			if _, newer := w.pending[k]; !newer {
				w.pending[k] = rec
			}
		}
		for log, t := range until {
			if _, newer := w.readUntil[log]; !newer {
				w.readUntil[log] = t
			}
		}
	}
	more := err == nil && len(w.pending) > 0 // stamps alone wait (untilEvery)
	if !more {
		w.running = false
		w.idle.Broadcast()
	}
	return more
}

// flush waits for the commit under way, if any, and commits what is left.
func (w *storeWriter) flush() {
	if w == nil {
		return
	}
	w.mu.Lock()
	for w.running {
		w.idle.Wait()
	}
	left := len(w.pending) > 0 || len(w.readUntil) > 0
	w.running = left
	w.mu.Unlock()
	if left {
		for w.commit() {
		}
	}
}

// restore reads back the flagged URLs kept by the last run, oldest first
// (the oldest past MaxFlagged forgotten, here and in the store), and the
// stamps of the logs.
func (fl *Flagged) restore(store Store, log *slog.Logger) {
	fl.store = newStoreWriter(store, log)
	kept, err := store.ReadFlagged()
	if err != nil {
		log.Error("attacker_returned: the flagged URLs of the last run could not be read; a return to them raises nothing", "err", err)
		return
	}
	if kept.Skipped > 0 {
		log.Warn("attacker_returned: flagged URL records that did not decode were skipped", "skipped", kept.Skipped)
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.skipped += kept.Skipped
	maps.Copy(fl.readUntil, kept.ReadUntil)
	for _, r := range kept.URLs {
		file := &alert.File{Path: r.Path, Root: r.Root, SHA256: r.SHA256}
		fl.addLocked(&flaggedURL{root: r.Root, target: weblog.Target{Path: r.URL, Hosts: r.Hosts}, alertID: r.AlertID,
			file: file, kind: alert.Kind(r.Kind), action: r.Action, at: r.At, restored: true}, false)
	}
	if n := len(kept.URLs); n > 0 {
		log.Info("attacker_returned: flagged URLs of the last run restored", "urls", len(fl.order))
	}
}
