package baseline

import (
	"sort"
	"sync"
	"time"

	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/state"
)

// Window is a root's deploy window: what changes there while it is open is
// accepted into the baseline when it closes.
type Window struct {
	Root    safetext.JSONPath `json:"root"`
	Started time.Time         `json:"started"`
	Until   time.Time         `json:"until"`
	// By says who opened or last extended it.
	By string `json:"by"`
	// Removed lists the files removed while it was open (what was added or
	// changed is read back from the records when it closes).
	Removed safetext.Paths `json:"removed,omitempty"`
}

// Summary is what a closed window accepted into the baseline.
type Summary struct {
	Root                    string
	Added, Changed, Removed []string
}

// closedWindowMemory is how long a closed window still covers changes
// made while it was open.
const closedWindowMemory = 10 * time.Minute

// windows holds the open deploy windows by root, stored in the state
// database (a restart inside a window keeps it), and the recently closed
// ones.
type windows struct {
	mu   sync.Mutex
	open map[string]*Window
	// closed keeps recently closed windows: a change made inside a window
	// but scanned after it closed (a long queue) still counts as deployed.
	closed []Window
	// dirty says Removed grew since the windows were last stored: removals
	// are stored every few seconds, not one fsync each (an rsync --delete
	// of thousands of files must not stall the workers).
	dirty bool
}

// loadWindows reads the open windows back from the database. The format is
// the one shellwatch has always stored: a JSON list of windows.
func (b *Baseline) loadWindows() {
	b.windows.open = map[string]*Window{}
	var ws []*Window
	if _, err := b.db.GetMeta(metaDeployWindows, &ws); err != nil {
		b.log.Error("state: read deploy windows; none is open now", "key", metaDeployWindows, "err", err)
	}
	for _, w := range ws {
		if w != nil {
			b.windows.open[string(w.Root)] = w
		}
	}
}

// saveWindowsLocked stores the open windows; windows.mu is held.
func (b *Baseline) saveWindowsLocked() {
	b.windows.dirty = false
	ws := make([]*Window, 0, len(b.windows.open))
	for _, w := range b.windows.open {
		ws = append(ws, w)
	}
	if err := b.db.PutMeta(metaDeployWindows, ws); err != nil {
		b.log.Error("state: store deploy windows", "key", metaDeployWindows, "err", err)
	}
}

// Begin opens a window on each of roots until ttl from now, or extends the
// one open there (keeping its start), and returns them.
func (b *Baseline) Begin(roots []string, ttl time.Duration, by string) []Window {
	now := b.now().UTC()
	b.windows.mu.Lock()
	defer b.windows.mu.Unlock()
	var out []Window
	for _, root := range roots {
		w := b.windows.open[root]
		if w == nil || now.After(w.Until) {
			w = &Window{Root: safetext.JSONPath(root), Started: now}
			b.windows.open[root] = w
		}
		w.Until, w.By = now.Add(ttl), by
		out = append(out, *w)
	}
	b.saveWindowsLocked()
	return out
}

// WindowFor returns root's open window, without its removals, or nil.
func (b *Baseline) WindowFor(root string) *Window {
	b.windows.mu.Lock()
	defer b.windows.mu.Unlock()
	w := b.windows.open[root]
	if w == nil || b.now().After(w.Until) {
		return nil
	}
	c := *w
	c.Removed = nil
	return &c
}

// DeployedAt reports whether a change of root at time t (a file's ctime)
// was made inside a deploy window, open or recently closed.
func (b *Baseline) DeployedAt(root string, t time.Time) bool {
	b.windows.mu.Lock()
	defer b.windows.mu.Unlock()
	if w := b.windows.open[root]; w != nil && b.now().Before(w.Until) && !t.Before(w.Started) {
		return true
	}
	for _, w := range b.windows.closed {
		if string(w.Root) == root && !t.Before(w.Started) && !t.After(w.Until) {
			return true
		}
	}
	return false
}

// Windows returns the windows open now (and those past their TTL that
// Expire has not closed yet), by root.
func (b *Baseline) Windows() []Window {
	b.windows.mu.Lock()
	defer b.windows.mu.Unlock()
	out := []Window{}
	for _, w := range b.windows.open {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Root < out[j].Root })
	return out
}

// OpenWindows counts the windows open now.
func (b *Baseline) OpenWindows() int {
	b.windows.mu.Lock()
	defer b.windows.mu.Unlock()
	n := 0
	now := b.now()
	for _, w := range b.windows.open {
		if now.Before(w.Until) {
			n++
		}
	}
	return n
}

// noteRemoved lists paths among the removals of root's open window, if one
// is open.
func (b *Baseline) noteRemoved(root string, paths []string) {
	b.windows.mu.Lock()
	defer b.windows.mu.Unlock()
	if w := b.windows.open[root]; w != nil && b.now().Before(w.Until) {
		w.Removed = append(w.Removed, paths...)
		b.windows.dirty = true
	}
}

// End closes root's window: what changed in root since it opened, and was
// not accepted otherwise, is accepted into the baseline. It returns what the
// window accepted, and false when no window was open there.
func (b *Baseline) End(root string) (Summary, bool) {
	b.windows.mu.Lock()
	w := b.windows.open[root]
	delete(b.windows.open, root)
	b.saveWindowsLocked()
	if w != nil {
		closed := *w
		now := b.now()
		if now.Before(closed.Until) {
			closed.Until = now.UTC()
		}
		kept := b.windows.closed[:0]
		for _, c := range b.windows.closed {
			if now.Sub(c.Until) < closedWindowMemory {
				kept = append(kept, c)
			}
		}
		b.windows.closed = append(kept, closed)
	}
	b.windows.mu.Unlock()
	if w == nil {
		return Summary{}, false
	}
	sum := Summary{Root: root, Added: []string{}, Changed: []string{}, Removed: w.Removed}
	if sum.Removed == nil {
		sum.Removed = []string{}
	}
	now := b.now().UTC()
	var accept []state.File
	b.records.flush()
	if err := b.db.ForEach(root, func(f state.File) error {
		if f.Accepted || f.LastSeen.Before(w.Started) {
			return nil
		}
		if f.FirstSeen.Before(w.Started) {
			sum.Changed = append(sum.Changed, f.Path)
		} else {
			sum.Added = append(sum.Added, f.Path)
		}
		f.Accepted, f.AcceptedAt, f.Appeared = true, now, false
		accept = append(accept, f)
		return nil
	}); err != nil {
		b.log.Error("state: read the window's changes", "root", root, "err", err)
	}
	if err := b.db.Put(accept...); err != nil {
		b.log.Error("state: accept the window's changes", "root", root, "files", len(accept), "err", err)
	}
	return sum, true
}

// Expire closes the windows whose TTL ran out, as [Baseline.End] does, and
// returns what each accepted.
func (b *Baseline) Expire() []Summary {
	b.windows.mu.Lock()
	var due []string
	now := b.now()
	for root, w := range b.windows.open {
		if now.After(w.Until) {
			due = append(due, root)
		}
	}
	b.windows.mu.Unlock()
	sort.Strings(due)
	var out []Summary
	for _, root := range due {
		if sum, ok := b.End(root); ok {
			out = append(out, sum)
		}
	}
	return out
}

// Save stores what changed in the windows (their removals) and the
// approvals (those used up) since they were last stored. Call it every few
// seconds; Close calls it too.
func (b *Baseline) Save() {
	b.windows.mu.Lock()
	if b.windows.dirty {
		b.saveWindowsLocked()
	}
	b.windows.mu.Unlock()
	b.approvals.mu.Lock()
	if b.approvals.dirty {
		b.saveApprovalsLocked()
	}
	b.approvals.mu.Unlock()
}
