package agent

import (
	"context"
	"sync"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/watcher"
)

// watchSet runs the watcher over the configured roots, which delivers what
// it reports into the agent's queues (pipeline). A reload that changes the roots starts a
// new watcher and stops the old one only once the new one is ready, so no
// moment goes unwatched (files reported twice meanwhile are skipped as
// unchanged).
type watchSet struct {
	a       *Agent
	mu      sync.Mutex
	current *runningWatcher
	// stopping is the watcher a replace is stopping, retired the counters
	// of those it stopped: totals stay monotonic across reloads.
	stopping *runningWatcher
	retired  watcher.Stats
}

type runningWatcher struct {
	w      *watcher.Watcher
	cancel context.CancelFunc
	done   sync.WaitGroup // Run
}

func newWatchSet(a *Agent) *watchSet { return &watchSet{a: a} }

// start watches cfg's roots and returns a channel closed once every root is
// watched (READY).
func (s *watchSet) start(cfg config.Config) (<-chan struct{}, error) {
	rw, err := s.launch(cfg)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.current = rw
	s.mu.Unlock()
	return rw.w.Ready(), nil
}

func (s *watchSet) launch(cfg config.Config) (*runningWatcher, error) {
	roots, err := watcherRoots(cfg)
	if err != nil {
		return nil, err
	}
	w, err := watcher.New(watcher.Options{
		Roots:          roots,
		Settle:         cfg.Agent.Settle.Std(),
		RescanInterval: cfg.Agent.RescanInterval.Std(),
		// What the roots hold at start is compared with the baseline by
		// Agent.reconcile once they are watched.
		InitialScan:  false,
		PendingLimit: s.a.opts.pendingLimit,
		Sink:         pipeline{s.a},
		Logger:       s.a.log.With("component", "watcher"),
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	rw := &runningWatcher{w: w, cancel: cancel}
	runErr := make(chan error, 1)
	rw.done.Go(func() { runErr <- w.Run(ctx) })
	select {
	case err := <-runErr:
		if err != nil {
			cancel()
			rw.done.Wait()
			return nil, err
		}
	default:
	}
	return rw, nil
}

// prepare starts a watcher over cfg's roots and waits until every root is
// watched (its walk done), or ctx ends. Until swap, it reports alongside
// the current one (files reported twice meanwhile are skipped as
// unchanged).
func (s *watchSet) prepare(ctx context.Context, cfg config.Config) (*runningWatcher, error) {
	rw, err := s.launch(cfg)
	if err != nil {
		return nil, err
	}
	if s.a.hooks.rootsWalking != nil {
		s.a.hooks.rootsWalking(ctx)
	}
	select {
	case <-rw.w.Ready():
		return rw, nil
	case <-ctx.Done():
		s.discard(rw)
		return nil, ctx.Err()
	}
}

// discard stops a watcher prepare started and that was not swapped in.
func (s *watchSet) discard(rw *runningWatcher) {
	if rw != nil {
		rw.cancel()
		rw.done.Wait()
	}
}

// swap makes rw the current watcher and stops the old one; a nil rw keeps
// the current one.
func (s *watchSet) swap(rw *runningWatcher) {
	if rw == nil {
		return
	}
	s.mu.Lock()
	old := s.current
	s.current, s.stopping = rw, old
	s.mu.Unlock()
	if old != nil {
		old.cancel()
		old.done.Wait()
		s.mu.Lock()
		s.retired, s.stopping = addCounts(s.retired, old.w.Stats()), nil
		s.mu.Unlock()
	}
}

// stopAll stops watching; every change already reported has been handed to
// the agent's queue when it returns.
func (s *watchSet) stopAll() {
	s.mu.Lock()
	rw := s.current
	s.current = nil
	s.mu.Unlock()
	if rw != nil {
		rw.cancel()
		rw.done.Wait()
	}
}

func (s *watchSet) stats() watcher.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == nil {
		return watcher.Stats{}
	}
	return s.current.w.Stats()
}

// totals returns the counters of every watcher this set ran, and the
// watches of the current one.
func (s *watchSet) totals() watcher.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.retired
	if s.stopping != nil {
		t = addCounts(t, s.stopping.w.Stats())
	}
	if s.current != nil {
		cur := s.current.w.Stats()
		t = addCounts(t, cur)
		t.Watches = cur.Watches
	}
	return t
}
