package agent

import (
	"github.com/shellwatch/shellwatch/control/wire"
)

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
		Scanned:    a.metrics.scanned.Load(), Flagged: a.metrics.flagged.Load(),
		Quarantined: a.metrics.quarantined.Load(), QuarantineFailed: a.metrics.quarantineFailed.Load(),
		ScanErrors: a.metrics.scanErrors.Load(),
		Roots:      []wire.RootStatus{}, Webhooks: []wire.WebhookStatus{}, Deploys: a.deployStatuses(),
		LastAlerts: []wire.RecentAlert{}, Blind: a.blind.List(),
	}
	st.Prevention = a.preventionStatus()
	for _, al := range a.recent.List() {
		st.LastAlerts = append(st.LastAlerts, wire.RecentAlert{ID: al.ID, Time: al.Time, Kind: al.Kind, Severity: al.Severity, Message: al.Message})
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
