package watcher

import (
	"context"
	"slices"
	"sync"
)

// Set runs one Watcher at a time over roots that change with the config.
// A new set of roots is launched and walked while the current watcher goes
// on, and swapped in only once ready, so no moment goes unwatched (a file
// reported by both meanwhile reaches the sink twice; the consumer skips
// what it already judged). Its counters add up across the watchers it ran.
type Set struct {
	mu      sync.Mutex
	current *Running
	// stopping is the watcher a Swap is stopping; retired the counters of
	// those already stopped: totals stay monotonic across swaps.
	stopping *Running
	retired  Stats
	// launched are the watchers Launch started that are neither swapped
	// in nor discarded yet: a reload's new roots, watched already.
	launched []*Running
}

// Running is a watcher a Set launched.
type Running struct {
	w      *Watcher
	cancel context.CancelFunc
	done   sync.WaitGroup // Run
}

// Ready is closed once every root of r is watched (its walk done).
func (r *Running) Ready() <-chan struct{} { return r.w.Ready() }

// Launch starts a watcher over opts' roots beside the current one; Swap
// makes it current, Discard stops it. It fails when New does, or when Run
// fails at once.
func (s *Set) Launch(opts Options) (*Running, error) {
	w, err := New(opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{w: w, cancel: cancel}
	runErr := make(chan error, 1)
	r.done.Go(func() { runErr <- w.Run(ctx) })
	select {
	case err := <-runErr:
		if err != nil {
			cancel()
			r.done.Wait()
			return nil, err
		}
	default:
	}
	s.mu.Lock()
	s.launched = append(s.launched, r)
	s.mu.Unlock()
	return r, nil
}

// forget takes r off the launched list (swapped in or discarded).
func (s *Set) forget(r *Running) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.launched = slices.DeleteFunc(s.launched, func(l *Running) bool { return l == r })
}

// Start launches a watcher over opts' roots and makes it current; the
// channel is closed once every root is watched.
func (s *Set) Start(opts Options) (<-chan struct{}, error) {
	r, err := s.Launch(opts)
	if err != nil {
		return nil, err
	}
	s.Swap(r)
	return r.Ready(), nil
}

// Discard stops a watcher Launch started that was not swapped in; nil is
// a no-op.
func (s *Set) Discard(r *Running) {
	if r != nil {
		s.forget(r)
		r.cancel()
		r.done.Wait()
	}
}

// Swap makes r current and stops the watcher it replaces, which has handed
// all it reported to the sink when Swap returns. A nil r keeps the current
// one.
func (s *Set) Swap(r *Running) {
	if r == nil {
		return
	}
	s.mu.Lock()
	s.launched = slices.DeleteFunc(s.launched, func(l *Running) bool { return l == r })
	old := s.current
	s.current, s.stopping = r, old
	s.mu.Unlock()
	if old != nil {
		s.Discard(old)
		s.mu.Lock()
		s.retired, s.stopping = s.retired.Add(old.w.Stats()), nil
		s.mu.Unlock()
	}
}

// Stop stops watching; every change reported has been handed to the sink
// when it returns.
func (s *Set) Stop() {
	s.mu.Lock()
	r := s.current
	s.current = nil
	s.mu.Unlock()
	s.Discard(r)
}

// Sync syncs the set's watchers with the file system (see
// [Watcher.Sync]): the current one, and those launched and not swapped in
// yet (a reload's new roots, which the agent may already serve). A watcher
// stopped meanwhile by a Swap is let go and the set synced again, the
// watcher that replaced it included. [ErrNoFence] when none runs.
func (s *Set) Sync(ctx context.Context) error {
	for {
		s.mu.Lock()
		list := slices.Clone(s.launched)
		if s.current != nil {
			list = append(list, s.current)
		}
		s.mu.Unlock()
		if len(list) == 0 {
			return ErrNoFence
		}
		again := false
		for _, r := range list {
			err := r.w.Sync(ctx)
			if err == nil {
				continue
			}
			if ctx.Err() != nil || s.holds(r) {
				return err
			}
			again = true // stopped by a Swap or a Discard
		}
		if !again {
			return nil
		}
	}
}

// holds reports whether r is the set's current watcher or one launched.
func (s *Set) holds(r *Running) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return r == s.current || slices.Contains(s.launched, r)
}

// Stats returns the counters of the current watcher.
func (s *Set) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == nil {
		return Stats{}
	}
	return s.current.w.Stats()
}

// Totals returns the counters of every watcher the set ran, and the
// watches of the current one.
func (s *Set) Totals() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.retired
	if s.stopping != nil {
		t = t.Add(s.stopping.w.Stats())
	}
	if s.current != nil {
		cur := s.current.w.Stats()
		t = t.Add(cur)
		t.Watches = cur.Watches
	}
	return t
}

// Add returns the counters of s and o added (not Watches, a gauge: s's is
// kept).
func (s Stats) Add(o Stats) Stats {
	s.Events += o.Events
	s.Changes += o.Changes
	s.Overflows += o.Overflows
	s.Resyncs += o.Resyncs
	s.Rescans += o.Rescans
	s.ProblemsDropped += o.ProblemsDropped
	return s
}
