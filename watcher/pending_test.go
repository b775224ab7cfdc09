package watcher

import (
	"context"
	"testing"
	"time"
)

// These tests drive the coalescer with a synthetic clock: its timing
// properties are checked exactly, without waiting on wall time.

func TestPendingReportsAtOnceThenForgets(t *testing.T) {
	settle := 100 * time.Millisecond
	p := newPendingSet(settle)
	t0 := time.Unix(1000, 0)
	p.add("/r/x", "/r", OpCreated, t0)
	c, ok, _ := p.next(t0)
	if !ok || c != (Change{Path: "/r/x", Op: OpCreated, Root: "/r"}) {
		t.Fatalf("next = %+v, %v; want the creation at once", c, ok)
	}
	if _, ok, wake := p.next(t0); ok || !wake.Equal(t0.Add(settle)) {
		t.Fatalf("next during cooling: ok=%v wake=%v", ok, wake)
	}
	if _, ok, wake := p.next(t0.Add(settle)); ok || !wake.IsZero() {
		t.Fatalf("next after a quiet cooling: ok=%v wake=%v; want nothing pending", ok, wake)
	}
	if n := p.len(); n != 0 {
		t.Fatalf("len = %d after a quiet cooling, want 0", n)
	}
}

// TestPendingFirstWriteAtOnce: a file created empty and written a moment
// later (open, write, close) is reported at its creation and at once again
// at its first write, not a settle interval later: the bytes are what must
// be scanned. The third change waits for the settle interval.
func TestPendingFirstWriteAtOnce(t *testing.T) {
	settle := 100 * time.Millisecond
	p := newPendingSet(settle)
	t0 := time.Unix(1000, 0)
	p.add("/r/x", "/r", OpCreated, t0)
	p.next(t0)
	t1 := t0.Add(time.Millisecond)
	p.add("/r/x", "/r", OpModified, t1) // the bytes, after the creation was taken
	c, ok, _ := p.next(t1)
	if !ok || c.Op != OpModified {
		t.Fatalf("next right after the first write = %+v, %v; want it at once", c, ok)
	}
	p.add("/r/x", "/r", OpModified, t1.Add(time.Millisecond))
	if _, ok, _ := p.next(t1.Add(50 * time.Millisecond)); ok {
		t.Fatal("a third change was reported within settle")
	}
	c, ok, _ = p.next(t1.Add(settle))
	if !ok || c.Op != OpModified {
		t.Fatalf("next at end of cooling = %+v, %v; want the trailing modification", c, ok)
	}
	if _, ok, wake := p.next(t1.Add(2 * settle)); ok || !wake.IsZero() || p.len() != 0 {
		t.Fatalf("after a quiet cooling: ok=%v wake=%v len=%d; want nothing pending", ok, wake, p.len())
	}
}

// TestPendingNewDirSightings: a file created in a new directory is seen by
// its create event and by the directory's walk, in either order. The second
// sighting is reported at once, and the first write after them still is:
// the sightings do not use up its immediate report. A later change waits
// for the settle interval as usual.
func TestPendingNewDirSightings(t *testing.T) {
	settle := 100 * time.Millisecond
	for _, order := range [][]Op{{OpCreated, OpResync}, {OpResync, OpCreated}, {OpCreated, OpResync, OpResync}} {
		p := newPendingSet(settle)
		now := time.Unix(1000, 0)
		for _, op := range order {
			now = now.Add(time.Millisecond)
			p.add("/r/d/x", "/r", op, now)
			if c, ok, _ := p.next(now); !ok || c.Op != op {
				t.Fatalf("%v: sighting %v: next = %+v, %v; want it at once", order, op, c, ok)
			}
		}
		now = now.Add(time.Millisecond)
		p.add("/r/d/x", "/r", OpModified, now) // the bytes
		if c, ok, _ := p.next(now); !ok || c.Op != OpModified {
			t.Fatalf("%v: next right after the first write = %+v, %v; want it at once", order, c, ok)
		}
		now = now.Add(time.Millisecond)
		p.add("/r/d/x", "/r", OpModified, now)
		if _, ok, _ := p.next(now); ok {
			t.Fatalf("%v: the write after the first one was reported within settle", order)
		}
		if c, ok, _ := p.next(now.Add(settle)); !ok || c.Op != OpModified {
			t.Fatalf("%v: next at end of cooling = %+v, %v; want the trailing write", order, c, ok)
		}
	}
}

// TestPendingSightingAfterWrite: a walk's report of a file whose first write
// was already reported is no reason for an immediate report: it waits for
// the settle interval like any third change.
func TestPendingSightingAfterWrite(t *testing.T) {
	settle := 100 * time.Millisecond
	p := newPendingSet(settle)
	t0 := time.Unix(1000, 0)
	p.add("/r/d/x", "/r", OpCreated, t0)
	p.next(t0)
	p.add("/r/d/x", "/r", OpModified, t0)
	p.next(t0)
	p.add("/r/d/x", "/r", OpResync, t0.Add(time.Millisecond))
	if _, ok, _ := p.next(t0.Add(time.Millisecond)); ok {
		t.Fatal("a walk's report after the first write was reported within settle")
	}
	if c, ok, _ := p.next(t0.Add(settle)); !ok || c.Op != OpResync {
		t.Fatalf("next at end of cooling = %+v, %v; want the walk's report", c, ok)
	}
}

// TestPendingSteadyWrites: a write every 10ms for 2s with a 100ms settle is
// reported about every 100ms (never postponed), at most once per settle, and
// the last report comes after the last write.
func TestPendingSteadyWrites(t *testing.T) {
	settle := 100 * time.Millisecond
	p := newPendingSet(settle)
	t0 := time.Unix(1000, 0)
	var taken []time.Time
	var lastWrite time.Time
	for ms := 0; ms <= 3000; ms++ {
		now := t0.Add(time.Duration(ms) * time.Millisecond)
		if ms%10 == 0 && ms <= 2000 {
			p.add("/r/x", "/r", OpModified, now)
			lastWrite = now
		}
		for {
			_, ok, _ := p.next(now)
			if !ok {
				break
			}
			taken = append(taken, now)
		}
	}
	if len(taken) < 19 || len(taken) > 23 {
		t.Errorf("%d reports over 2s of writes with a 100ms settle, want about 22", len(taken))
	}
	// The first two reports are immediate (see TestPendingFirstWriteAtOnce),
	// then one per settle interval.
	for i := 2; i < len(taken); i++ {
		if d := taken[i].Sub(taken[i-1]); d < settle {
			t.Errorf("reports %d and %d only %v apart", i-1, i, d)
		}
	}
	if last := taken[len(taken)-1]; last.Before(lastWrite) {
		t.Errorf("last report at %v, before the last write at %v", last.Sub(t0), lastWrite.Sub(t0))
	}
	if p.len() != 0 {
		t.Errorf("len = %d after the writes stopped, want 0", p.len())
	}
}

// TestPendingOrder: a path whose cooling ended is not starved by a stream of
// new paths; reports go out in the order they became due.
func TestPendingOrder(t *testing.T) {
	settle := 100 * time.Millisecond
	p := newPendingSet(settle)
	t0 := time.Unix(1000, 0)
	p.add("/r/a", "/r", OpCreated, t0)
	p.next(t0)
	p.add("/r/a", "/r", OpModified, t0.Add(time.Millisecond)) // due at t0+settle
	p.add("/r/b", "/r", OpCreated, t0.Add(150*time.Millisecond))
	now := t0.Add(200 * time.Millisecond)
	var order []string
	for {
		c, ok, _ := p.next(now)
		if !ok {
			break
		}
		order = append(order, c.Path)
	}
	if len(order) != 2 || order[0] != "/r/a" || order[1] != "/r/b" {
		t.Fatalf("order = %v, want [/r/a /r/b]", order)
	}
}

func TestMergeOp(t *testing.T) {
	for _, tc := range []struct{ earlier, later, want Op }{
		{OpCreated, OpModified, OpCreated},
		{OpCreated, OpRemoved, OpRemoved},
		{OpRemoved, OpCreated, OpCreated},
		{OpModified, OpCreated, OpCreated},
		{OpModified, OpResync, OpModified},
		{OpRemoved, OpResync, OpResync},
		{OpResync, OpModified, OpModified},
		{OpRemoved, OpModified, OpModified},
	} {
		if got := mergeOp(tc.earlier, tc.later); got != tc.want {
			t.Errorf("mergeOp(%v, %v) = %v, want %v", tc.earlier, tc.later, got, tc.want)
		}
	}
}

func TestPendingWaitRoom(t *testing.T) {
	p := newPendingSet(time.Millisecond)
	t0 := time.Unix(1000, 0)
	p.add("/r/a", "/r", OpCreated, t0)
	p.add("/r/b", "/r", OpCreated, t0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.waitRoom(ctx, 2) }()
	p.next(t0)
	p.next(t0)
	p.next(t0.Add(time.Second)) // a's cooling ends: forgotten
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waitRoom: %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("waitRoom did not return once there was room")
	}
	cancel()
	if err := p.waitRoom(ctx, 0); err == nil {
		t.Fatal("waitRoom with a cancelled context and no room returned nil")
	}
}

// TestPendingTransient: a file created, written and deleted before its
// creation was taken is reported once, as removed, with what its creation
// looked like (its size refreshed at the write); one renamed away instead
// is reported removed without it. A file written after its creation was
// reported, then deleted before the write was, is reported removed with an
// unread write too, seen or not.
func TestPendingTransient(t *testing.T) {
	p := newPendingSet(100 * time.Millisecond)
	t0 := time.Unix(1000, 0)
	p.addCreated("/r/x.php", "/r", t0, Look{Known: true, UID: 33})
	if !p.addWritten("/r/x.php", "/r", t0) {
		t.Fatal("a write after an unreported creation says there is none")
	}
	p.updateLook("/r/x.php", Look{Known: true, Size: 42, UID: 33})
	p.add("/r/x.php", "/r", OpRemoved, t0)
	c, ok, _ := p.next(t0)
	if !ok || c.Op != OpRemoved || c.Unread == nil || *c.Unread != (Look{Known: true, Size: 42, UID: 33, Born: true}) {
		t.Fatalf("next = %+v (unread %+v), %v; want removed, unread, 42 bytes by uid 33, born", c, c.Unread, ok)
	}

	p.addCreated("/r/y.php", "/r", t0, Look{})
	p.addMovedAway("/r/y.php", "/r", t0)
	if c, ok, _ := p.next(t0); !ok || c.Path != "/r/y.php" || c.Op != OpRemoved || c.Unread != nil {
		t.Fatalf("next = %+v, %v; want y.php removed, nothing unread", c, ok)
	}

	p.addCreated("/r/z.php", "/r", t0, Look{Known: true})
	if c, ok, _ := p.next(t0); !ok || c.Op != OpCreated || c.Unread == nil {
		t.Fatalf("next = %+v, %v; want z.php created, unread", c, ok)
	}
	if p.addWritten("/r/z.php", "/r", t0) {
		t.Error("a write after a reported creation says the creation is unreported")
	}
	p.updateLook("/r/z.php", Look{Known: true, Size: 7}) // not born: ignored
	p.add("/r/z.php", "/r", OpRemoved, t0)
	if c, ok, _ := p.next(t0); !ok || c.Op != OpRemoved || c.Unread == nil || c.Unread.Known || c.Unread.Born {
		t.Fatalf("next = %+v (unread %+v), %v; want z.php removed with its write unread, not looked at, not born again", c, c.Unread, ok)
	}
}
