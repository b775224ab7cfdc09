package guard

import (
	"sync"
	"time"
)

// degradedReports is the state of the Degraded reports: at most one per
// Options.degradedEvery, and none lost: a report held back by that bound
// is made when it ends, with everything since the last one.
type degradedReports struct {
	mu      sync.Mutex
	last    time.Time   // when the last report was made
	sent    [4]uint64   // the counts it told, in all
	due     *time.Timer // the report held back, when one is
	stopped bool        // Stop came: no report any more
}

// degraded asks for a Degraded report: made now, or when degradedEvery
// has passed since the last one, with what came since it.
func (g *Guard) degraded() {
	d := &g.deg
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped || d.due != nil {
		return // the report due will tell this too
	}
	if wait := g.opts.degradedEvery - time.Since(d.last); !d.last.IsZero() && wait > 0 {
		d.due = time.AfterFunc(wait, g.degradedDue)
		return
	}
	g.sendDegraded()
}

// degradedDue makes the report held back.
func (g *Guard) degradedDue() {
	d := &g.deg
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return // Stop made it
	}
	d.due = nil
	g.sendDegraded()
}

// stopDegraded makes the report held back now, if one is, and no more
// after it: Stop calls it once nothing can count any more, before the
// reports close.
func (g *Guard) stopDegraded() {
	d := &g.deg
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.due != nil {
		d.due.Stop()
		d.due = nil
		g.sendDegraded()
	}
}

// sendDegraded queues a Degraded report of the counts since the last one,
// if any grew. g.deg.mu is held.
func (g *Guard) sendDegraded() {
	d := &g.deg
	now := [4]uint64{g.stats.deadlineMisses.Load(), g.stats.queueFull.Load(), g.stats.unjudgeable.Load(), g.stats.markErrors.Load()}
	if now == d.sent {
		return
	}
	r := Report{Kind: Degraded, DeadlineMisses: now[0] - d.sent[0], QueueFull: now[1] - d.sent[1],
		Unjudgeable: now[2] - d.sent[2], MarkErrors: now[3] - d.sent[3]}
	d.last, d.sent = time.Now(), now
	g.report(r)
}
