package guard

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Identity is what makes a file the file that was judged: any write
// changes its mtime, anything that could keep the mtime (utimes, chmod, a
// rename) changes its ctime, which no one can set back.
type Identity struct {
	Dev, Inode   uint64
	Size         int64
	MTime, CTime int64 // nanoseconds since the epoch
}

// identityOf reads the identity from fstat's answer.
func identityOf(st *unix.Stat_t) Identity {
	return Identity{Dev: uint64(st.Dev), Inode: st.Ino, Size: st.Size,
		MTime: st.Mtim.Nano(), CTime: st.Ctim.Nano()}
}

// ModTime and ChangeTime return the identity's times.
func (id Identity) ModTime() time.Time    { return time.Unix(0, id.MTime) }
func (id Identity) ChangeTime() time.Time { return time.Unix(0, id.CTime) }

// cache remembers what was found of recent identities: the verdict judged
// (so that the web server's next opens of a file cost a map lookup; a
// denied one keeps the scanner's detail, for the alerts of the next
// refusals), or the time something happened to them (a scan that failed, a
// refusal reported). It holds at most 2×half entries: when the young map
// is full it becomes the old one and the oldest half is forgotten. Its
// lock is held for a map operation only.
type cache[V any] struct {
	mu         sync.Mutex
	half       int
	young, old map[Identity]V
}

func newCache[V any](half int) *cache[V] {
	return &cache[V]{half: half, young: make(map[Identity]V), old: map[Identity]V{}}
}

func (c *cache[V]) get(id Identity) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.young[id]; ok {
		return s, true
	}
	s, ok := c.old[id]
	return s, ok
}

func (c *cache[V]) put(id Identity, s V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(id, s)
}

func (c *cache[V]) putLocked(id Identity, s V) {
	if len(c.young) >= c.half {
		c.old, c.young = c.young, make(map[Identity]V, c.half)
	}
	c.young[id] = s
}

// putUnless puts s for id, unless keep says the value there now stays:
// one look and one change under one lock. It reports whether it put s.
func (c *cache[V]) putUnless(id Identity, s V, keep func(V) bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.young[id]
	if !ok {
		old, ok = c.old[id]
	}
	if ok && keep(old) {
		return false
	}
	c.putLocked(id, s)
	return true
}

// forget drops what is remembered of id.
func (c *cache[V]) forget(id Identity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.young, id)
	delete(c.old, id)
}

func (c *cache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.young) + len(c.old)
}

// kept is the part of a verdict the cache keeps: a denial keeps its
// Detail (the next refusals' alerts name the rules that judged it, whether
// a scan or the baseline did), a clean verdict only its severity. An error
// is never kept: a cached verdict was judged.
func (g *Guard) kept(v Verdict) Verdict {
	if !g.denies(v.Severity) {
		return Verdict{Severity: v.Severity}
	}
	v.Err = nil
	return v
}
