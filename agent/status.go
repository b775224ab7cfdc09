package agent

import (
	"sync"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/control/wire"
)

// recentAlerts keeps the last alerts raised, for `shellwatch status`.
type recentAlerts struct {
	mu   sync.Mutex
	ring []wire.RecentAlert
	next int
	full bool
}

const recentAlertsKept = 20

func (r *recentAlerts) add(a alert.Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ring == nil {
		r.ring = make([]wire.RecentAlert, recentAlertsKept)
	}
	r.ring[r.next] = wire.RecentAlert{ID: a.ID, Time: a.Time, Kind: a.Kind, Severity: a.Severity, Message: a.Message}
	r.next = (r.next + 1) % len(r.ring)
	if r.next == 0 {
		r.full = true
	}
}

// list returns the alerts kept, newest first.
func (r *recentAlerts) list() []wire.RecentAlert {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.ring)
	}
	out := make([]wire.RecentAlert, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.ring[(r.next-i+len(r.ring))%len(r.ring)])
	}
	return out
}

// status gathers the figures of the running agent.
func (a *Agent) status() wire.Status {
	a.mu.RLock()
	g := a.gen
	a.mu.RUnlock()
	ws := a.watches.Stats()
	st := wire.Status{
		Version: a.opts.Version, Host: a.host, StartedAt: a.startedAt.UTC(), Config: a.opts.ConfigPath,
		Ready: a.ready.Load(), Reconciled: a.allReconciled(g), Watches: ws.Watches, Overflows: ws.Overflows,
		FilesKnown: a.filesKnown(),
		Scanned:    a.stats.scanned.Load(), Flagged: a.stats.flagged.Load(),
		Quarantined: a.stats.quarantined.Load(), QuarantineFailed: a.stats.quarantineFailed.Load(),
		ScanErrors: a.stats.scanErrors.Load(),
		Roots:      []wire.RootStatus{}, Webhooks: []wire.WebhookStatus{}, Deploys: a.deployStatuses(),
		LastAlerts: a.recent.list(),
	}
	for _, w := range g.cfg.Watch {
		st.Roots = append(st.Roots, wire.RootStatus{Path: w.Path, Mode: w.Mode})
	}
	for _, w := range g.webhooks {
		s := w.Stats()
		st.Webhooks = append(st.Webhooks, wire.WebhookStatus{Name: w.Name(), Spooled: s.Spooled,
			OldestAgeSeconds: s.OldestAge.Seconds(), Delivered: s.Delivered, Retries: s.Retries, Dropped: s.Dropped})
	}
	return st
}

// allReconciled reports whether every root of g was reconciled.
func (a *Agent) allReconciled(g *generation) bool { return a.reconciles.all(g.roots) }
