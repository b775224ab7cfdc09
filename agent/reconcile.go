package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/roots"
	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/watcher"
)

// reconciles is what this agent reconciled: the roots it started on, the
// roots it finished, and the reconciliations running.
type reconciles struct {
	mu       sync.Mutex
	started  map[string]bool
	finished map[string]bool
	running  sync.WaitGroup
}

// claim reports whether root is still to be reconciled by this agent, and
// marks it started.
func (r *reconciles) claim(root string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started == nil {
		r.started, r.finished = map[string]bool{}, map[string]bool{}
	}
	if r.started[root] {
		return false
	}
	r.started[root] = true
	return true
}

// release gives root back: a later start reconciles it.
func (r *reconciles) release(root string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.started, root)
}

func (r *reconciles) finish(root string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished[root] = true
}

// done reports whether root was reconciled by this agent.
func (r *reconciles) done(root string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.finished[root]
}

// all reports whether every root of roots was reconciled.
func (r *reconciles) all(rs roots.Set) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, root := range rs.List() {
		if !r.finished[root.Path] {
			return false
		}
	}
	return true
}

// reconcile compares the roots with the baseline once they are watched:
// what changed while the agent was down is scanned and alerted once as
// changed_while_down; a root seen for the first time gets its baseline,
// where clean files raise nothing. Roots already reconciled by this agent
// are skipped (a reload only adds the new ones).
func (a *Agent) reconcile(ctx context.Context, rs roots.Set) {
	for _, r := range rs.List() {
		root, ex := r.Path, r.Skipper()
		if !a.reconciles.claim(root) {
			continue
		}
		built := a.baseline.Built(root)
		start := time.Now()
		var pending sync.WaitGroup
		judge := func(t task) {
			pending.Add(1)
			t.done = pending.Done
			a.enqueue(t)
		}
		stats, err := a.baseline.ReconcileLinks(ctx, root, ex, func(d state.Difference) {
			t := task{c: watcher.Change{Path: d.Path, Op: watcher.OpResync, Root: root}, whileDown: true, baseline: !built}
			switch d.Kind {
			case state.Added, state.Changed:
			case state.Deleted:
				t.deleted = d.Old
			default:
				a.log.Warn("reconcile: cannot read", "path", safetext.Path(d.Path), "err", d.Err)
				return
			}
			judge(t)
		}, func(link string) {
			// A link made while the agent was down, or every link at the
			// first baseline: judged as one seen appearing, not moved.
			judge(task{c: watcher.Change{Path: link, Op: watcher.OpResync, Root: root}, whileDown: true, baseline: !built})
		})
		pending.Wait()
		a.baseline.Flush()
		if err != nil {
			// A missing root is the watcher's to report (root_missing);
			// it is reconciled when a later start finds it.
			a.reconciles.release(root)
			a.log.Warn("reconcile incomplete", "root", root, "err", err)
			continue
		}
		if !built {
			if err := a.baseline.MarkBuilt(root); err != nil {
				a.log.Warn("first baseline not stored yet: stored with its records once the state is writable", "root", root, "err", err)
			}
		}
		a.reconciles.finish(root)
		a.log.Info("reconciled", "root", root, "first_baseline", !built, "files", stats.Files,
			"unchanged", stats.Unchanged, "added", stats.Added, "changed", stats.Changed, "deleted", stats.Deleted,
			"seconds", time.Since(start).Seconds())
	}
}

// checkRootsWritable alerts every root the agent cannot move files out of
// because its mount is read-only to it — under the packaged unit, a root
// left out of ReadWritePaths. Found at start, not at the first webshell.
func (a *Agent) checkRootsWritable(g *generation) {
	if g.cfg.Quarantine.MinSeverity.Off() {
		return
	}
	for _, r := range g.roots.List() {
		root := r.Path
		err := unix.Faccessat(unix.AT_FDCWD, root, unix.W_OK, 0)
		if !errors.Is(err, unix.EROFS) {
			continue
		}
		a.log.Error("watched root is read-only: flagged files cannot be quarantined", "root", root)
		a.mu.RLock()
		a.send(a.gen, alert.Alert{Kind: alert.KindRootReadOnly, Severity: policy.EventSeverity(alert.KindRootReadOnly),
			Message: fmt.Sprintf("%s: %s: add it to ReadWritePaths of the unit (systemctl edit shellwatch), or set quarantine.min_severity = \"off\"",
				alert.KindRootReadOnly.Summary(), safetext.Path(root)),
			File: &alert.File{Path: root, Root: root}, Detail: err.Error()})
		a.mu.RUnlock()
	}
}
