package weblog

import (
	"sync"
	"time"
)

// Index defaults.
const (
	DefaultWindow   = 30 * time.Minute
	DefaultMaxBytes = 256 << 20
	// entryOverhead is what one request costs the index beyond its text:
	// the Request struct, its place in the ring and in two key queues, and
	// the maps' share, rounded up.
	entryOverhead = 320
)

// Index keeps the recent requests of the logs it is fed, in memory: those
// of the last Window, at most MaxBytes (the oldest go first), keyed by URL
// path and by client so that a report on one URL reads only that URL's
// requests. It is safe for concurrent use.
type Index struct {
	window   time.Duration
	maxBytes int64
	now      func() time.Time

	mu sync.Mutex
	// ring holds the requests in the order they were added (the order of
	// the lines, nearly the order of their times); ring[head] has sequence
	// number first, the next ones follow.
	ring     []Request
	head, n  int
	first    uint64
	byPath   map[string]*seqQueue
	byClient map[string]*seqQueue
	bytes    int64
	evicted  int64
	// cutShort counts the requests dropped for memory before their time.
	cutShort int64
	subs     map[*Subscription]struct{}
}

// seqQueue is the sequence numbers of one key's requests, oldest first.
type seqQueue struct {
	seqs []uint64
	head int
}

func (q *seqQueue) push(s uint64) { q.seqs = append(q.seqs, s) }

func (q *seqQueue) pop() {
	q.head++
	if q.head > 32 && q.head*2 > len(q.seqs) {
		q.seqs = append(q.seqs[:0], q.seqs[q.head:]...)
		q.head = 0
	}
}

func (q *seqQueue) live() []uint64 { return q.seqs[q.head:] }

// IndexOptions tune an Index; zero values take the defaults.
type IndexOptions struct {
	// Window is how far back requests are kept (DefaultWindow).
	Window time.Duration
	// MaxBytes bounds the index's memory, as estimated by Stats
	// (DefaultMaxBytes).
	MaxBytes int64
	// Now is the clock (time.Now); tests set their own.
	Now func() time.Time
}

// NewIndex returns an empty index.
func NewIndex(opts IndexOptions) *Index {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Index{window: opts.Window, maxBytes: opts.MaxBytes, now: opts.Now,
		byPath: make(map[string]*seqQueue), byClient: make(map[string]*seqQueue), subs: make(map[*Subscription]struct{})}
}

// sizeOf estimates what r costs the index.
func sizeOf(r *Request) int64 {
	return entryOverhead + int64(len(r.Client)+len(r.Method)+len(r.Target)+len(r.Path)+len(r.Proto)+len(r.Referer)+len(r.UserAgent)+len(r.Vhost))
}

// Add indexes r (older than the window, it is only passed on to the
// subscribers) and passes it to every subscriber.
func (x *Index) Add(r Request) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for s := range x.subs {
		s.send(r)
	}
	cutoff := x.now().Add(-x.window)
	if r.Time.Before(cutoff) {
		return
	}
	if x.n == len(x.ring) {
		x.grow()
	}
	seq := x.first + uint64(x.n)
	x.ring[(x.head+x.n)%len(x.ring)] = r
	x.n++
	x.bytes += sizeOf(&r)
	x.queue(x.byPath, r.Path).push(seq)
	x.queue(x.byClient, r.Client).push(seq)
	x.evict(cutoff)
}

func (x *Index) queue(m map[string]*seqQueue, key string) *seqQueue {
	q := m[key]
	if q == nil {
		q = &seqQueue{}
		m[key] = q
	}
	return q
}

func (x *Index) grow() {
	size := 2 * len(x.ring)
	if size == 0 {
		size = 1024
	}
	ring := make([]Request, size)
	for i := range x.n {
		ring[i] = x.ring[(x.head+i)%len(x.ring)]
	}
	x.ring, x.head = ring, 0
}

// evict drops the oldest requests while the oldest is older than cutoff or
// the index is over its memory bound. Requests are added nearly in time
// order: one a little older than the one before it leaves at the latest
// when that one does.
func (x *Index) evict(cutoff time.Time) {
	for x.n > 0 && (x.bytes > x.maxBytes || x.ring[x.head].Time.Before(cutoff)) {
		r := &x.ring[x.head]
		if !r.Time.Before(cutoff) {
			x.cutShort++
		}
		x.bytes -= sizeOf(r)
		x.unqueue(x.byPath, r.Path)
		x.unqueue(x.byClient, r.Client)
		*r = Request{}
		x.head = (x.head + 1) % len(x.ring)
		x.n--
		x.first++
		x.evicted++
	}
	if x.n == 0 {
		x.head = 0
	}
}

func (x *Index) unqueue(m map[string]*seqQueue, key string) {
	q := m[key]
	q.pop()
	if len(q.live()) == 0 {
		delete(m, key)
	}
}

func (x *Index) at(seq uint64) *Request {
	return &x.ring[(x.head+int(seq-x.first))%len(x.ring)]
}

// IndexStats is the index's size, for metrics.
type IndexStats struct {
	Entries int
	// Bytes estimates the memory the requests take (see MaxBytes).
	Bytes int64
	// Evicted counts the requests dropped for age or for memory;
	// CutShort those dropped for memory while still inside the window.
	Evicted, CutShort int64
	// Oldest is the time of the oldest request held; zero when empty.
	Oldest time.Time
}

// Stats returns the index's size now.
func (x *Index) Stats() IndexStats {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.evict(x.now().Add(-x.window))
	s := IndexStats{Entries: x.n, Bytes: x.bytes, Evicted: x.evicted, CutShort: x.cutShort}
	if x.n > 0 {
		s.Oldest = x.ring[x.head].Time
	}
	return s
}

// Report returns what the index holds about the requests for target (see
// [Target.Matches]), and in DroppedBy the requests to any URL of the
// target's hosts that may have been running when the file was born (see
// [RanAround]; window is the longest an upload is taken to last), writing
// methods first. Since is the oldest request the index holds: older ones
// are not counted.
func (x *Index) Report(target Target, born time.Time, window time.Duration) Report {
	return ReportOf([]*Index{x}, target, born, window)
}

// ReportOf is [Index.Report] over the requests of several indexes (the
// logs of the servers that serve one root): Since is the latest of theirs,
// from which on none of them missed a request.
func ReportOf(xs []*Index, target Target, born time.Time, window time.Duration) Report {
	tally := NewTally(0)
	var cands []Request
	var since time.Time
	for _, x := range xs {
		s := x.collect(tally, &cands, target, born, window)
		if s.After(since) {
			since = s
		}
	}
	rep := tally.Report(target.Path)
	rep.DroppedBy = droppedBy(cands, born)
	if len(xs) > 0 {
		rep.Since = &since
	}
	return rep
}

// collect adds the requests for target to tally and those that ran around
// born to cands, and returns the oldest time the index answers for.
func (x *Index) collect(tally *Tally, cands *[]Request, target Target, born time.Time, window time.Duration) time.Time {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.evict(x.now().Add(-x.window))
	add := func(q *seqQueue) {
		for _, seq := range q.live() {
			if r := x.at(seq); matchesHost(r.Vhost, target.Hosts) {
				tally.Add(r)
			}
		}
	}
	if q := x.byPath[target.Path]; q != nil {
		add(q)
	}
	if !hasSuffixSlash(target.Path) {
		prefix := target.Path + "/"
		for p, q := range x.byPath {
			if len(p) > len(prefix) && p[:len(prefix)] == prefix {
				add(q)
			}
		}
	}
	if !born.IsZero() {
		for i := range x.n {
			r := &x.ring[(x.head+i)%len(x.ring)]
			if RanAround(r, born, window) && matchesHost(r.Vhost, target.Hosts) {
				*cands = append(*cands, *r)
			}
		}
	}
	since := x.now().Add(-x.window)
	if x.n > 0 && x.cutShort > 0 && x.ring[x.head].Time.After(since) {
		// Memory, not age, set the limit.
		since = x.ring[x.head].Time
	}
	return since
}

func hasSuffixSlash(p string) bool { return len(p) > 0 && p[len(p)-1] == '/' }

// ByClient returns the requests the index holds from client, oldest first.
func (x *Index) ByClient(client string) []Request {
	x.mu.Lock()
	defer x.mu.Unlock()
	q := x.byClient[client]
	if q == nil {
		return nil
	}
	out := make([]Request, 0, len(q.live()))
	for _, seq := range q.live() {
		out = append(out, *x.at(seq))
	}
	return out
}

// Subscription receives every request added to an index after it was
// made, on C. A subscriber that falls behind by more than the buffer loses
// requests, counted by Dropped; the index never waits for it.
type Subscription struct {
	C       <-chan Request
	c       chan Request
	dropped int64 // under the index's lock
	x       *Index
}

// Subscribe returns a subscription with room for buffer requests.
func (x *Index) Subscribe(buffer int) *Subscription {
	c := make(chan Request, buffer)
	s := &Subscription{C: c, c: c, x: x}
	x.mu.Lock()
	x.subs[s] = struct{}{}
	x.mu.Unlock()
	return s
}

func (s *Subscription) send(r Request) {
	select {
	case s.c <- r:
	default:
		s.dropped++
	}
}

// Dropped returns how many requests the subscriber lost for being slow.
func (s *Subscription) Dropped() int64 {
	s.x.mu.Lock()
	defer s.x.mu.Unlock()
	return s.dropped
}

// Close ends the subscription; C is closed.
func (s *Subscription) Close() {
	s.x.mu.Lock()
	defer s.x.mu.Unlock()
	if _, ok := s.x.subs[s]; ok {
		delete(s.x.subs, s)
		close(s.c)
	}
}
