// Package recheck keeps the short list of files whose content can change
// with no file event, and says which of them changed.
//
// inotify reports a write only on the name it was made through, and not
// at all when it is made through a shared mapping. Two kinds of files are
// open to that: a file with other hard links (written through a name
// outside the root, the watcher hears nothing), and a file that appeared
// lately (created, then written through mmap). The agent lists them here
// when it scans them, and checks the list every few seconds: an lstat a
// file, and a changed identity (inode, size, mtime, ctime) is a change to
// scan. The periodic sweep of the whole roots covers what the list cannot
// hold.
package recheck

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/walk"
)

// Identity is what tells a changed file: a write through any name or
// mapping changes mtime, and whatever keeps mtime changes ctime.
type Identity struct {
	Dev, Inode   uint64
	Size         int64
	MTime, CTime unix.Timespec
}

// Of returns the identity of a stat result.
func Of(st *unix.Stat_t) Identity {
	return Identity{Dev: st.Dev, Inode: st.Ino, Size: st.Size, MTime: st.Mtim, CTime: st.Ctim}
}

// At returns the identity of a file as a verdict or a record gives it.
func At(dev, inode uint64, size int64, mtime, ctime time.Time) Identity {
	return Identity{Dev: dev, Inode: inode, Size: size,
		MTime: unix.NsecToTimespec(mtime.UnixNano()), CTime: unix.NsecToTimespec(ctime.UnixNano())}
}

// List is a bounded set of files to check. The zero value is not usable;
// make one with New. It is safe for concurrent use.
type List struct {
	mu    sync.Mutex
	files map[string]entry
	limit int
	stats Stats
}

type entry struct {
	id Identity
	// deferred is when a change was first seen still settling.
	deferred time.Time
	// until is when a file that appeared stops being checked; zero for a
	// linked file, checked as long as it has other links.
	until time.Time
}

// Stats count what a List did.
type Stats struct {
	Listed  int    // files listed now
	Linked  int    // of them, files with other hard links
	Changed uint64 // changes found
	Refused uint64 // files not listed because the list was full
}

// New returns a list of at most limit files.
func New(limit int) *List {
	return &List{files: make(map[string]entry), limit: limit}
}

// Add lists the file at path, as id. A file with other links (linked) is
// checked for as long as it has them; any other until the time given.
// When the list is full, a linked file takes the place of one that only
// appeared lately; otherwise it is refused and counted (the sweep still
// covers it).
func (l *List) Add(path string, id Identity, linked bool, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := entry{id: id}
	if !linked {
		e.until = until
	}
	if _, ok := l.files[path]; !ok && len(l.files) >= l.limit && !l.evictLocked(linked) {
		l.stats.Refused++
		return
	}
	l.files[path] = e
}

// evictLocked makes room: an entry past its time, or, for a linked file,
// any entry that only appeared lately.
func (l *List) evictLocked(linked bool) bool {
	now := time.Now()
	var victim string
	for p, e := range l.files {
		if !e.until.IsZero() && now.After(e.until) {
			delete(l.files, p)
			return true
		}
		if linked && victim == "" && !e.until.IsZero() {
			victim = p
		}
	}
	if victim != "" {
		delete(l.files, victim)
		return true
	}
	return false
}

// Forget drops path (it was removed, or moved to the vault).
func (l *List) Forget(path string) {
	l.mu.Lock()
	delete(l.files, path)
	l.mu.Unlock()
}

// MaxDefer bounds how long a change that keeps settling is left to its
// file event: a writer touching the file without end is not a way to stay
// unseen.
const MaxDefer = 10 * time.Second

// Check lstats every file listed and returns those whose identity changed
// before settled; a change after it is left to its file event, if it has
// one, and looked at again next time, for MaxDefer at most. They leave the
// list (the scan that follows lists them again). Files gone, replaced by
// something that is not a regular file, past their time, or linked no more
// leave it too.
func (l *List) Check(now, settled time.Time) []string {
	l.mu.Lock()
	paths := make([]string, 0, len(l.files))
	for p := range l.files {
		paths = append(paths, p)
	}
	l.mu.Unlock()
	var changed []string
	for _, p := range paths {
		var st unix.Stat_t
		err := walk.LstatT(p, &st)
		l.mu.Lock()
		e, ok := l.files[p]
		switch {
		case !ok:
		case err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG:
			delete(l.files, p)
		case Of(&st) != e.id && time.Unix(st.Ctim.Unix()).After(settled) && (e.deferred.IsZero() || now.Sub(e.deferred) < MaxDefer):
			// Changing now: its event, if any, comes first.
			if e.deferred.IsZero() {
				e.deferred = now
				l.files[p] = e
			}
		case Of(&st) != e.id:
			delete(l.files, p)
			changed = append(changed, p)
			l.stats.Changed++
		case e.until.IsZero() && st.Nlink <= 1:
			// No other name left: an ordinary file now, watched by its
			// events like any other.
			delete(l.files, p)
		case !e.until.IsZero() && now.After(e.until):
			delete(l.files, p)
		}
		l.mu.Unlock()
	}
	return changed
}

// Stats returns the list's counters.
func (l *List) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Listed = len(l.files)
	for _, e := range l.files {
		if e.until.IsZero() {
			s.Linked++
		}
	}
	return s
}
