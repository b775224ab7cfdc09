package watcher

import (
	"context"
	"sync"
	"time"

	"github.com/shellwatch/shellwatch/internal/countdown"
)

// pendingSet coalesces reports per path between the goroutines that learn
// about changes (the event loop, the walker) and the one that delivers them
// (the flusher). Adding never blocks on the consumer: the event loop only
// updates this map.
//
// Per path the life cycle is:
//
//	idle ──add──▶ ready (reported as soon as the flusher gets to it)
//	ready ──taken──▶ cooling for settle
//	cooling after the first report ──add──▶ ready again (the first change)
//	cooling ──add──▶ cooling, dirty
//	cooling ends, dirty ──taken──▶ cooling for settle again
//	cooling ends, clean ──▶ idle (forgotten)
//
// So a path is reported at once when it first changes, at once again at the
// change after that, then at most once per settle interval while changes
// continue, and always once after the last change: a later change that
// arrives after the path was taken marks it dirty, and a dirty path is
// reported when its cooling ends.
//
// The second immediate report exists because a file is usually created
// empty and written a moment later (open, write, close): the report of the
// creation often reaches the scanner before the bytes do, and without it
// the bytes — a webshell — would wait out a whole settle interval in the
// web root. Two reports of a path are cheap; a stream of writes still
// costs one per settle interval.
//
// A file in a directory made an instant earlier is seen twice for one
// creation: by its own create event and by the walk of the new directory
// (OpResync), in either order. The second sighting is reported at once like
// any change after the first report, but it is no change of its own, so it
// does not use up the immediate report the first write is owed: a report
// taken as OpResync, or as OpCreated right after an OpResync report, does
// not count in taken. (Walks bound how many such sightings there are.)
type pendingSet struct {
	settle time.Duration

	mu      sync.Mutex
	entries map[string]*pendingEntry
	ready   fifo[readyItem] // dirty, never taken since idle; in order of arrival
	cooling fifo[coolItem]  // taken; in order of the end of their cooling
	wake    chan struct{}   // a ready item arrived (capacity 1)
	freed   chan struct{}   // closed when an entry is forgotten; nil when nobody waits

	// dirtied counts the times a path got a change not yet taken; an
	// entry's since is the count when it did. inHand is the since of the
	// change the flusher took and is delivering (0: none). waitDelivered
	// marks the count, with the entries dirty then and the one in hand,
	// and delivered counts them down: a change counts until the consumer
	// has it, not when it is taken.
	dirtied uint64
	inHand  uint64
	dirty   countdown.Countdown
}

type pendingEntry struct {
	root  string
	op    Op
	dirty bool   // has a change not yet taken
	since uint64 // pendingSet.dirtied when it last became dirty
	// taken counts the reports delivered since the path was idle, but for
	// repeated sightings (see isSighting); gen tells the current cooling
	// item from a stale one (a path reported early gets a new one).
	taken int
	gen   uint64
	// last is the op of the last report delivered.
	last Op
	// unread is set while the path has a creation or a write not yet
	// reported, with what the watcher saw of it; born says it comes from
	// a creation (whose size the next write refreshes). A deletion keeps
	// it: the path's last content was never reported (a transient file).
	// A move away drops it: the file lives on under its new name.
	unread *Look
	born   bool
}

type readyItem struct {
	path string
	at   time.Time
}

type coolItem struct {
	path  string
	until time.Time
	gen   uint64
}

func newPendingSet(settle time.Duration) *pendingSet {
	return &pendingSet{
		settle:  settle,
		entries: make(map[string]*pendingEntry),
		wake:    make(chan struct{}, 1),
	}
}

// add records that path (under root) changed with op at time now.
func (p *pendingSet) add(path, root string, op Op, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addLocked(path, root, op, now)
}

// addCreated is add of a creation, seen as l.
func (p *pendingSet) addCreated(path, root string, now time.Time, l Look) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.addLocked(path, root, OpCreated, now)
	e.unread, e.born = &l, true
}

// addWritten is add of a write. It reports whether the path has an
// unreported creation, whose look the caller may refresh (updateLook).
func (p *pendingSet) addWritten(path, root string, now time.Time) (born bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.addLocked(path, root, OpModified, now)
	if e.unread == nil {
		e.unread = &Look{}
	}
	return e.born
}

// addMovedAway is add of a removal that is a rename away: the file lives
// on under another name, so nothing of it is unread here.
func (p *pendingSet) addMovedAway(path, root string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.addLocked(path, root, OpRemoved, now)
	e.unread, e.born = nil, false
}

// updateLook replaces the look of path's unreported creation, if it still
// has one, by a fresher one that found the path.
func (p *pendingSet) updateLook(path string, l Look) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.entries[path]; e != nil && e.born && l.Known {
		*e.unread = l
	}
}

func (p *pendingSet) addLocked(path, root string, op Op, now time.Time) *pendingEntry {
	e := p.entries[path]
	if e == nil {
		p.dirtied++
		e = &pendingEntry{root: root, op: op, dirty: true, since: p.dirtied}
		p.entries[path] = e
		p.ready.push(readyItem{path: path, at: now})
		select {
		case p.wake <- struct{}{}:
		default:
		}
		return e
	}
	e.root = root
	if e.dirty {
		e.op = mergeOp(e.op, op)
		return e
	}
	e.op = op
	e.dirty = true
	p.dirtied++
	e.since = p.dirtied
	if e.taken == 1 {
		// The first change after the first report: at once.
		p.ready.push(readyItem{path: path, at: now})
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return e
}

// mergeOp folds a later change into one that has not been reported yet. The
// result describes the path as it is now: a removal wins over what came
// before it, a creation wins over a removal (the path is back) and is not
// downgraded by later writes, and a resync (found by a walk) only says the
// path exists.
func mergeOp(earlier, later Op) Op {
	switch later {
	case OpRemoved, OpCreated:
		return later
	case OpModified:
		if earlier == OpCreated {
			return OpCreated
		}
		return OpModified
	default: // OpResync
		if earlier == OpRemoved {
			return OpResync
		}
		return earlier
	}
}

// isSighting reports whether a report of op, after one of last, only says
// again that the path exists: a walk found it (the walk of a new directory
// races the create events of what is created in it), or its create event
// arrived after a walk had reported it.
func isSighting(op, last Op) bool {
	return op == OpResync || (op == OpCreated && last == OpResync)
}

// next takes the report that is due first at time now, if any. When none is
// due, it returns the time the next one will be (zero when nothing is
// pending at all).
func (p *pendingSet) next(now time.Time) (c Change, ok bool, wakeAt time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		r, haveReady := p.ready.peek()
		k, haveCool := p.cooling.peek()
		dueCool := haveCool && !k.until.After(now)
		if haveReady && (!dueCool || !k.until.Before(r.at)) {
			p.ready.pop()
			if e := p.entries[r.path]; e == nil || !e.dirty {
				continue // taken meanwhile by its cooling's end
			}
			return p.take(r.path, now), true, time.Time{}
		}
		if dueCool {
			p.cooling.pop()
			e := p.entries[k.path]
			if e == nil || e.gen != k.gen {
				continue // superseded by an early report
			}
			if e.dirty {
				return p.take(k.path, now), true, time.Time{}
			}
			delete(p.entries, k.path)
			if p.freed != nil {
				close(p.freed)
				p.freed = nil
			}
			continue
		}
		if haveCool {
			return Change{}, false, k.until
		}
		return Change{}, false, time.Time{}
	}
}

func (p *pendingSet) take(path string, now time.Time) Change {
	e := p.entries[path]
	e.dirty = false
	p.inHand = e.since
	if e.taken == 0 || !isSighting(e.op, e.last) {
		e.taken++
	}
	e.last = e.op
	e.gen++
	p.cooling.push(coolItem{path: path, until: now.Add(p.settle), gen: e.gen})
	if e.unread != nil {
		e.unread.Born = e.born
	}
	c := Change{Path: path, Op: e.op, Root: e.root, Unread: e.unread}
	e.unread, e.born = nil, false
	return c
}

// waitDelivered returns once every change not yet delivered when it is
// called (pending, or taken and being delivered) has been delivered (the
// consumer has it), or ctx's error. One caller at a time: a call replaces
// the mark of the one before.
func (p *pendingSet) waitDelivered(ctx context.Context) error {
	p.mu.Lock()
	var left int64
	for _, e := range p.entries {
		if e.dirty {
			left++
		}
	}
	if p.inHand != 0 {
		left++
	}
	done := p.dirty.Mark(p.dirtied, left)
	p.mu.Unlock()
	return countdown.Wait(ctx, done)
}

// delivered tells that the change the flusher took last is delivered, or
// will never be (the watcher stops).
func (p *pendingSet) delivered() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inHand != 0 {
		p.dirty.Ended(p.inHand)
		p.inHand = 0
	}
}

// len returns the number of paths pending or cooling.
func (p *pendingSet) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries)
}

// waitRoom blocks until fewer than limit paths are pending or cooling, or
// ctx is done. It bounds the memory the set can take when the consumer is
// slower than the changes.
func (p *pendingSet) waitRoom(ctx context.Context, limit int) error {
	for {
		p.mu.Lock()
		if len(p.entries) < limit {
			p.mu.Unlock()
			return nil
		}
		if p.freed == nil {
			p.freed = make(chan struct{})
		}
		freed := p.freed
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-freed:
		}
	}
}

// flush hands due reports to deliver until ctx is done or deliver refuses
// one (its ctx is done). It is the only place that blocks on the consumer.
func (p *pendingSet) flush(ctx context.Context, deliver func(Change) bool) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		c, ok, wakeAt := p.next(time.Now())
		if ok {
			taken := deliver(c)
			p.delivered()
			if !taken {
				return
			}
			continue
		}
		var tick <-chan time.Time
		if !wakeAt.IsZero() {
			timer.Reset(time.Until(wakeAt))
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-tick:
		}
		timer.Stop()
	}
}

// fifo is a first-in first-out queue that reuses its backing array.
type fifo[T any] struct {
	items []T
	head  int
}

func (q *fifo[T]) push(v T) {
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, v)
}

func (q *fifo[T]) peek() (T, bool) {
	if q.head == len(q.items) {
		var zero T
		return zero, false
	}
	return q.items[q.head], true
}

func (q *fifo[T]) pop() {
	var zero T
	q.items[q.head] = zero
	q.head++
}
