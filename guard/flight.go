package guard

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Flights: one scan per identity at a time, whose verdict answers every
// event that waited for it, and identities that could not be judged,
// remembered; why is in the package doc ("One event").

// unjudgedFor is how long an identity whose scan failed (timeout, error)
// is not scanned again.
const unjudgedFor = 10 * time.Minute

// unjudgedHalf is half the number of such identities remembered.
const unjudgedHalf = 4 << 10

// maxWaiting bounds the events held in flights, each with its descriptor.
// An event is held until its flight lands, though it may have been
// allowed at its deadline long before; those are let go as others join.
const maxWaiting = 1024

// flights are the scans queued or under way, by identity.
type flights struct {
	mu      sync.Mutex
	byID    map[Identity]*flight
	waiting int // events in all flights
}

// flight is the scan of one identity and the events that wait for its
// verdict: the first started it, and its descriptor is the one scanned.
type flight struct {
	id     Identity
	events []*pending
}

func newFlights() *flights { return &flights{byID: map[Identity]*flight{}} }

// join adds p to the flight of its identity, and reports whether p starts
// it (it is then to be queued for a scanner). A nil flight means too many
// events wait: p was not added.
func (fs *flights) join(p *pending) (f *flight, starts bool) {
	var gone []*pending
	defer func() {
		for _, q := range gone {
			q.done(true) // answered at its deadline already: only let go
		}
	}()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f = fs.byID[p.id]
	if f != nil {
		// The events allowed at their deadline need not wait: keep the
		// first (its descriptor is scanned) and those still held.
		kept := f.events[:1]
		for _, q := range f.events[1:] {
			if q.answered.Load() {
				gone = append(gone, q)
			} else {
				kept = append(kept, q)
			}
		}
		clear(f.events[len(kept):])
		f.events = kept
		fs.waiting -= len(gone)
	}
	if fs.waiting >= maxWaiting {
		return nil, false
	}
	if f == nil {
		f = &flight{id: p.id}
		fs.byID[p.id] = f
		starts = true
	}
	f.events = append(f.events, p)
	fs.waiting++
	return f, starts
}

// first returns the event whose descriptor is scanned, and the time the
// newest event still held came (zero when every event was answered).
func (fs *flights) first(f *flight) (first *pending, newest time.Time) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, p := range f.events {
		if !p.answered.Load() && p.start.After(newest) {
			newest = p.start
		}
	}
	return f.events[0], newest
}

// land ends the flight: its identity's next event starts another. It
// returns the events that waited, to be answered.
func (fs *flights) land(f *flight) []*pending {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	delete(fs.byID, f.id)
	fs.waiting -= len(f.events)
	return f.events
}

// toScan takes an event the baseline does not know to its scan: it is
// answered by what was learnt of its identity since the read loop looked
// (a verdict; a scan that failed), or waits for the scan of its identity,
// which it starts when none is queued or under way.
func (g *Guard) toScan(p *pending) {
	if v, ok := g.cache.get(p.id); ok {
		g.judged(p, v, "cache")
		return
	}
	if t, ok := g.unjudged.get(p.id); ok && time.Since(t) < unjudgedFor {
		g.allowUnjudged(p, &g.stats.unjudgeable)
		return
	}
	f, starts := g.flights.join(p)
	switch {
	case f == nil:
		g.allowUnjudged(p, &g.stats.queueFull)
	case starts:
		select {
		case g.scans <- f:
		default:
			for _, q := range g.flights.land(f) {
				g.allowUnjudged(q, &g.stats.queueFull)
			}
		}
	}
}

// scanFlight scans the identity of f once, through its first event's
// descriptor, and answers every event that waited by the verdict (those
// allowed at their deadline meanwhile are only let go). A verdict is
// remembered; a failure too, as the identity's unjudgedFor.
func (g *Guard) scanFlight(f *flight) {
	first, newest := g.flights.first(f)
	if newest.IsZero() || g.closed.Load() {
		// Allowed at the deadline already: the normal pipeline judges
		// the file, this scanner serves the next one.
		for _, p := range g.flights.land(f) {
			p.done(true)
		}
		return
	}
	writing := isOpenForWriting(first.fd)
	ctx, cancel := context.WithDeadline(context.Background(), newest.Add(g.opts.Deadline))
	// Racily clean (git's word): a file changed within racyWindow of its
	// scan may be written again, same size, within the same clock tick —
	// on a kernel before 6.13 mtime and ctime move once a tick (1–10 ms)
	// — and keep the identity judged. Its verdict answers these opens, but
	// is neither remembered nor trusted to the kernel.
	racy := g.racy(f.id)
	v := g.opts.Scan(ctx, int(first.fd), first.path)
	cut := ctx.Err() != nil // the scan ran into the deadline
	cancel()
	// A writer that came during the scan: what the web server reads next
	// is not what was scanned either.
	writing = writing || isOpenForWriting(first.fd)
	deny := g.denies(v.Severity)
	switch {
	case v.Err != nil && !deny:
		g.stats.scanErrors.Add(1)
		g.unjudged.put(f.id, time.Now())
		g.log.Warn("prevention: a file could not be judged; allowed, and not scanned again for "+unjudgedFor.String(),
			"path", first.path, "err", v.Err)
	case deny:
		g.cache.put(f.id, g.kept(v))
	case !writing && !racy:
		g.cache.put(f.id, g.kept(v))
	}
	trusted := false
	for _, p := range g.flights.land(f) {
		switch {
		case deny:
			g.decided(p, v.Severity, "scan", v)
		case v.Err == nil && writing && (g.opts.IsScript == nil || g.opts.IsScript(p.path)):
			// Still being written: refused, not remembered.
			if p.done(false) {
				g.stats.writing.Add(1)
			}
		case v.Err == nil && !writing && !racy && !trusted:
			trusted = true
			p.doneClean()
		case v.Err != nil && cut:
			// Past the deadline, as if the timer had answered first:
			// allowed unjudged, a deadline miss, prevention_degraded.
			g.allowUnjudged(p, &g.stats.deadlineMisses)
		case v.Err != nil:
			g.allowUnjudged(p, &g.stats.unjudgeable)
		default:
			p.done(true)
		}
	}
}

// judged answers p by a verdict known already (the baseline's, or one
// judged lately): a script someone still writes is refused whatever it is.
func (g *Guard) judged(p *pending, v Verdict, from string) {
	if !g.denies(v.Severity) && g.beingWritten(p.fd, p.path) {
		p.done(false)
		return
	}
	g.decided(p, v.Severity, from, v)
}

// allowUnjudged allows p unjudged, counted in c, and asks for a Degraded
// report (unless p was allowed at its deadline already).
func (g *Guard) allowUnjudged(p *pending, c *atomic.Uint64) {
	if p.done(true) {
		c.Add(1)
		g.degraded()
	}
}
