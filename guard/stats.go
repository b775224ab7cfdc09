package guard

import (
	"sync/atomic"
	"time"
)

// HeldBuckets are the upper bounds of the held-time histogram: from an
// answer out of the cache to the longest deadline.
var HeldBuckets = []time.Duration{
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond,
	250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond,
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
}

// Stats are the guard's counters since it started.
type Stats struct {
	// Events counts the permission events read; Allowed and Denied their
	// answers (an event of someone not held is allowed too).
	Events, Allowed, Denied uint64
	// Held counts the web users' opens judged; HeldCounts[i] those
	// answered within HeldBuckets[i] (cumulative, as Prometheus wants),
	// HeldSum their total time.
	Held       uint64
	HeldCounts []uint64
	HeldSum    time.Duration
	// DeadlineMisses counts opens allowed at the deadline, QueueFull those
	// allowed because a stage's queue was full, Unjudgeable those allowed
	// unscanned because the scan of the same file (identity) failed lately
	// (YARA's timeout, a read error; the baseline did not know it either),
	// Writing the scripts refused while open for writing, ScanErrors the
	// scans that failed (their opens allowed).
	DeadlineMisses, QueueFull, Unjudgeable, Writing, ScanErrors uint64
	// Marks is the number of folders marked; MarkErrors those that could
	// not be (the limit fs.fanotify.max_user_marks, a folder gone).
	Marks, MarkErrors uint64
	// FromCache counts the opens allowed from the cache before the opener
	// was looked at (a clean verdict, no writer); Trusted the files handed
	// to the kernel to ignore (ignore.go), TrustErrors the marks refused,
	// Untrusted the trusts ended by a change of attributes.
	FromCache, Trusted, TrustErrors, Untrusted uint64
	// Cached is the number of identities whose judgement is remembered.
	Cached int
	// TrustedNow is the number of files trusted at the moment (an upper
	// bound: the kernel drops the marks of evicted inodes unseen).
	TrustedNow int64
	// Pretrusted is set once the start's pass over the roots, trusting
	// what the baseline knows clean, is done.
	Pretrusted bool
}

// counters are Stats as the guard's goroutines update them.
type counters struct {
	events, allowed, denied                        atomic.Uint64
	held                                           atomic.Uint64
	heldBuckets                                    [16]atomic.Uint64 // len(HeldBuckets)
	heldSum                                        atomic.Int64
	deadlineMisses, queueFull, writing, scanErrors atomic.Uint64
	unjudgeable                                    atomic.Uint64
	marks, markErrors                              atomic.Uint64
	fromCache, trusted, trustErrors, untrusted     atomic.Uint64
}

func (c *counters) observeHeld(d time.Duration) {
	c.held.Add(1)
	c.heldSum.Add(int64(d))
	for i, b := range HeldBuckets {
		if d <= b {
			c.heldBuckets[i].Add(1)
			return
		}
	}
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Events: c.events.Load(), Allowed: c.allowed.Load(), Denied: c.denied.Load(),
		Held: c.held.Load(), HeldSum: time.Duration(c.heldSum.Load()),
		DeadlineMisses: c.deadlineMisses.Load(), QueueFull: c.queueFull.Load(), Unjudgeable: c.unjudgeable.Load(),
		Writing: c.writing.Load(), ScanErrors: c.scanErrors.Load(),
		Marks: c.marks.Load(), MarkErrors: c.markErrors.Load(),
		FromCache: c.fromCache.Load(), Trusted: c.trusted.Load(), TrustErrors: c.trustErrors.Load(),
		Untrusted:  c.untrusted.Load(),
		HeldCounts: make([]uint64, len(HeldBuckets)),
	}
	var cum uint64
	for i := range HeldBuckets {
		cum += c.heldBuckets[i].Load()
		s.HeldCounts[i] = cum
	}
	return s
}
