package agent

import (
	"context"

	"github.com/shellwatch/shellwatch/watcher"
)

// watchOptions are the watcher's options for g's roots: it delivers into
// the agent's queues (pipeline).
func (a *Agent) watchOptions(g *generation) watcher.Options {
	var rs []watcher.Root
	for _, r := range g.roots.List() {
		rs = append(rs, watcher.Root{Path: r.Path, Exclude: r.Skipper()})
	}
	return watcher.Options{
		Roots:          rs,
		Settle:         g.cfg.Agent.Settle.Std(),
		RescanInterval: g.cfg.Agent.RescanInterval.Std(),
		// What the roots hold at start is compared with the baseline by
		// Agent.reconcile once they are watched.
		InitialScan:  false,
		PendingLimit: a.opts.pendingLimit,
		Sink:         pipeline{a},
		Logger:       a.log.With("component", "watcher"),
	}
}

// watchNewRoots starts watching g's roots beside the current watcher and
// waits until every one is watched (its walk done), or ctx ends.
func (a *Agent) watchNewRoots(ctx context.Context, g *generation) (*watcher.Running, error) {
	r, err := a.watches.Launch(a.watchOptions(g))
	if err != nil {
		return nil, err
	}
	if a.hooks.rootsWalking != nil {
		a.hooks.rootsWalking(ctx)
	}
	select {
	case <-r.Ready():
		return r, nil
	case <-ctx.Done():
		a.watches.Discard(r)
		return nil, ctx.Err()
	}
}
