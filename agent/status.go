package agent

import (
	"sync"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/finding"
)

// recentAlerts keeps the last alerts raised, for `shellwatch status`.
type recentAlerts struct {
	mu   sync.Mutex
	ring []RecentAlert
	next int
	full bool
}

const recentAlertsKept = 20

// RecentAlert is one of the last alerts, as `shellwatch status` shows it.
type RecentAlert struct {
	ID       string           `json:"id"`
	Time     time.Time        `json:"time"`
	Kind     alert.Kind       `json:"kind"`
	Severity finding.Severity `json:"severity"`
	Message  string           `json:"message"`
}

func (r *recentAlerts) add(a alert.Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ring == nil {
		r.ring = make([]RecentAlert, recentAlertsKept)
	}
	r.ring[r.next] = RecentAlert{ID: a.ID, Time: a.Time, Kind: a.Kind, Severity: a.Severity, Message: a.Message}
	r.next = (r.next + 1) % len(r.ring)
	if r.next == 0 {
		r.full = true
	}
}

// list returns the alerts kept, newest first.
func (r *recentAlerts) list() []RecentAlert {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.ring)
	}
	out := make([]RecentAlert, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.ring[(r.next-i+len(r.ring))%len(r.ring)])
	}
	return out
}

// Status is the answer to `shellwatch status`: a documented JSON object
// (`status --json`); add fields, never rename them.
type Status struct {
	Version   string    `json:"version"`
	Host      string    `json:"host"`
	StartedAt time.Time `json:"started_at"`
	Config    string    `json:"config"`
	Ready     bool      `json:"ready"`
	// Reconciled: every root was compared with the baseline (or got its
	// first one) since the agent started.
	Reconciled bool         `json:"reconciled"`
	Roots      []RootStatus `json:"roots"`
	Watches    int64        `json:"watches"`
	Overflows  uint64       `json:"overflows"`
	// FilesKnown is the number of files in the baseline.
	FilesKnown       int             `json:"files_known"`
	Scanned          int64           `json:"scanned"`
	Flagged          int64           `json:"flagged"`
	Quarantined      int64           `json:"quarantined"`
	QuarantineFailed int64           `json:"quarantine_failed"`
	ScanErrors       int64           `json:"scan_errors"`
	Webhooks         []WebhookStatus `json:"webhooks"`
	Deploys          []DeployStatus  `json:"deploys"`
	LastAlerts       []RecentAlert   `json:"last_alerts"`
}

// RootStatus describes one watched root.
type RootStatus struct {
	Path string `json:"path"`
	Mode string `json:"mode"`
}

// WebhookStatus is the delivery state of one webhook.
type WebhookStatus struct {
	Name             string  `json:"name"`
	Spooled          int     `json:"spooled"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
	Delivered        uint64  `json:"delivered"`
	Retries          uint64  `json:"retries"`
	Dropped          uint64  `json:"dropped"`
}

// status gathers the figures of the running agent.
func (a *Agent) status() Status {
	a.mu.RLock()
	g := a.gen
	a.mu.RUnlock()
	ws := a.watches.stats()
	st := Status{
		Version: a.opts.Version, Host: a.host, StartedAt: a.startedAt.UTC(), Config: a.opts.ConfigPath,
		Ready: a.ready.Load(), Reconciled: a.allReconciled(g), Watches: ws.Watches, Overflows: ws.Overflows,
		FilesKnown: a.filesKnown(),
		Scanned:    a.stats.scanned.Load(), Flagged: a.stats.flagged.Load(),
		Quarantined: a.stats.quarantined.Load(), QuarantineFailed: a.stats.quarantineFailed.Load(),
		ScanErrors: a.stats.scanErrors.Load(),
		Roots:      []RootStatus{}, Webhooks: []WebhookStatus{}, Deploys: a.deployStatus(),
		LastAlerts: a.recent.list(),
	}
	for _, w := range g.cfg.Watch {
		st.Roots = append(st.Roots, RootStatus{Path: w.Path, Mode: w.Mode})
	}
	for _, w := range g.webhooks {
		s := w.Stats()
		st.Webhooks = append(st.Webhooks, WebhookStatus{Name: w.Name(), Spooled: s.Spooled,
			OldestAgeSeconds: s.OldestAge.Seconds(), Delivered: s.Delivered, Retries: s.Retries, Dropped: s.Dropped})
	}
	return st
}

// allReconciled reports whether every root of g was reconciled.
func (a *Agent) allReconciled(g *generation) bool {
	a.reconciledMu.Lock()
	defer a.reconciledMu.Unlock()
	for root := range g.roots {
		if !a.reconcileFinished[root] {
			return false
		}
	}
	return true
}
