package agent

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/recheck"
	"github.com/shellwatch/shellwatch/scanner"
	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/walk"
	"github.com/shellwatch/shellwatch/watcher"
)

const (
	// recheckLimit bounds the files re-checked by lstat: 20,000 lstats
	// every 2 s is about 1 % of a core.
	recheckLimit = 20000
	// recheckWindow is how long after it first appeared a file is
	// re-checked for writes through a mapping.
	recheckWindow = 10 * time.Minute
)

// watchClosely lists a file just recorded for re-checks when a write can
// reach it with no file event: it has other hard links, or it appeared in
// the last recheckWindow (created, then written through mmap).
func (a *Agent) watchClosely(v scanner.Verdict, firstSeen time.Time, appeared bool) {
	linked := v.Nlink > 1
	until := firstSeen.Add(recheckWindow)
	if !linked && (!appeared || time.Now().After(until)) {
		return
	}
	a.q.recheck.Add(v.Path, recheck.At(v.Dev, v.Inode, v.Size, v.ModTime, v.ChangeTime), linked, until)
}

// sweeps runs the re-checks and the sweeps on their intervals until ctx is
// done; the intervals of the current config are read at every round, so a
// reload changes them.
func (a *Agent) sweeps(ctx context.Context) {
	lastSweep := time.Now()
	for {
		cfg := a.current.Load().cfg.Agent
		tick := cfg.RecheckInterval.Std()
		if tick == 0 {
			tick = time.Second // only to look at the sweep's time
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(tick):
		}
		if cfg.RecheckInterval.Std() > 0 {
			settled := time.Now().Add(-2*cfg.Settle.Std() - time.Second)
			for _, p := range a.q.recheck.Check(time.Now(), settled) {
				a.unseenChange(p)
			}
		}
		if every := cfg.SweepInterval.Std(); every > 0 && time.Since(lastSweep) >= every {
			a.sweep(ctx)
			lastSweep = time.Now()
		}
	}
}

// unseenChange hands a change found with no file event to its worker: a
// live change (not one made while the agent was down), which the worker
// skips if the file's record already matches it.
func (a *Agent) unseenChange(path string) {
	r := a.current.Load().roots.Of(path)
	if r == nil {
		return // its root went with a reload
	}
	a.enqueue(task{c: watcher.Change{Path: path, Op: watcher.OpResync, Root: r.Path}, unseen: true})
}

// sweep compares every reconciled root with the baseline, as the start
// does, and scans what changed with no file event. A file changed in the
// last two settle intervals is left to its event, and to the re-checks,
// which report it if it is still unseen once settled.
func (a *Agent) sweep(ctx context.Context) {
	g := a.current.Load()
	recent := time.Now().Add(-2*g.cfg.Agent.Settle.Std() - time.Second)
	start := time.Now()
	a.baseline.Flush()
	var files int64
	for _, r := range g.roots.List() {
		if !a.reconciles.done(r.Path) {
			continue // its start reconciliation runs, or failed and is retried
		}
		stats, err := a.baseline.Reconcile(ctx, r.Path, r.Skipper(), func(d state.Difference) {
			switch d.Kind {
			case state.Added, state.Changed:
				if d.Stat.CTime.After(recent) {
					var was recheck.Identity
					if d.Old != nil {
						was = recheck.At(d.Old.Dev, d.Old.Inode, d.Old.Size, d.Old.MTime, d.Old.CTime)
					}
					a.q.recheck.Add(d.Path, was, false, time.Now().Add(recheckWindow))
					return
				}
				a.unseenChange(d.Path)
			case state.Deleted:
				// Its removal event was lost: forget it, as the event would
				// have. Gone is gone: a file found again is scanned.
				if _, err := walk.Lstat(d.Path); errors.Is(err, fs.ErrNotExist) {
					a.enqueue(task{c: watcher.Change{Path: d.Path, Op: watcher.OpRemoved, Root: r.Path}})
				}
			}
		})
		files += stats.Files
		if err != nil && ctx.Err() == nil {
			a.log.Warn("sweep incomplete", "root", safetext.Path(r.Path), "err", err)
		}
	}
	took := time.Since(start)
	a.metrics.sweeps.Add(1)
	a.metrics.sweepNanos.Store(int64(took))
	a.log.Debug("swept", "files", files, "seconds", took.Seconds())
}
