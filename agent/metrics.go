package agent

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/metrics"
	"github.com/shellwatch/shellwatch/scanner"
	"github.com/shellwatch/shellwatch/watcher"
)

// filesKnownMaxAge bounds how stale shellwatch_baseline_files may be:
// counting the baseline walks the whole bucket, too much for every scrape
// of a tree of millions of files.
const filesKnownMaxAge = 10 * time.Second

// metricsShutdownTimeout bounds the wait for scrapes in progress when the
// metrics server stops.
const metricsShutdownTimeout = 2 * time.Second

// agentMetrics is the agent's side of the Prometheus endpoint: the event
// metrics, the counters nothing else keeps, and the server when
// metrics.listen is set. The registry exists even when nothing serves it.
type agentMetrics struct {
	m *metrics.Metrics

	// srv and listen belong to the goroutine of run (start, reload, stop).
	srv    *metrics.Server
	listen string

	handled, scannedBytes, reloadsOK, reloadsFailed atomic.Uint64

	knownMu sync.Mutex
	knownAt time.Time
	known   int
}

func newAgentMetrics(a *Agent) *agentMetrics {
	sevs := []string{}
	for s := finding.SeverityLow; s <= finding.SeverityCritical; s++ {
		sevs = append(sevs, s.String())
	}
	kinds := []string{}
	for _, k := range alert.Kinds() {
		kinds = append(kinds, string(k))
	}
	return &agentMetrics{m: metrics.New(metrics.Options{
		Snapshot:   a.metricsSnapshot,
		Version:    a.opts.Version,
		Started:    a.startedAt,
		Severities: sevs,
		Kinds:      kinds,
	})}
}

// countScan counts one scan that took d.
func (a *Agent) countScan(v scanner.Verdict, d time.Duration) {
	a.stats.scanned.Add(1)
	if v.SHA256 != "" { // read to the end
		a.metrics.scannedBytes.Add(uint64(max(v.Size, 0)))
	}
	a.metrics.m.ObserveScan(d)
}

// startMetrics serves the metrics on cfg's metrics.listen, if set.
func (a *Agent) startMetrics(cfg config.Config) error {
	srv, err := a.listenMetrics(cfg)
	if err != nil {
		return err
	}
	a.metrics.srv, a.metrics.listen = srv, cfg.Metrics.Listen
	return nil
}

func (a *Agent) listenMetrics(cfg config.Config) (*metrics.Server, error) {
	addr := cfg.Metrics.Listen
	if addr == "" {
		return nil, nil
	}
	if !cfg.Metrics.IsLoopback() {
		a.log.Warn("metrics.listen is not a loopback address: anyone who can reach it reads the agent's figures, unauthenticated", "addr", addr)
	}
	srv, err := metrics.Listen(addr, a.metrics.m, a.log.With("component", "metrics"))
	if err != nil {
		return nil, fmt.Errorf("metrics.listen %s: %w", addr, err)
	}
	a.log.Info("serving metrics", "addr", srv.Addr())
	return srv, nil
}

// stopMetrics stops the metrics server, if one runs.
func (a *Agent) stopMetrics() {
	shutdownMetrics(a.metrics.srv, a)
	a.metrics.srv, a.metrics.listen = nil, ""
}

func shutdownMetrics(srv *metrics.Server, a *Agent) {
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), metricsShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		a.log.Warn("metrics server: shutdown", "err", err)
	}
}

// metricsReload is what a reload does to the metrics server: when
// metrics.listen changed, the new address is bound before anything is
// swapped, so an address that cannot be bound fails the reload as a whole
// and the old server keeps serving.
type metricsReload struct {
	a       *Agent
	changed bool
	srv     *metrics.Server
	listen  string
}

// prepareMetricsReload binds cfg's metrics.listen when it differs from the
// address served now. Moving to another host on the same port needs a
// restart: both cannot be bound at once.
func (a *Agent) prepareMetricsReload(cfg config.Config) (*metricsReload, error) {
	r := &metricsReload{a: a, listen: cfg.Metrics.Listen}
	if cfg.Metrics.Listen == a.metrics.listen {
		return r, nil
	}
	srv, err := a.listenMetrics(cfg)
	if err != nil {
		return nil, err
	}
	r.changed, r.srv = true, srv
	return r, nil
}

// commit swaps the new server in and stops the old one.
func (r *metricsReload) commit() {
	if !r.changed {
		return
	}
	old := r.a.metrics.srv
	r.a.metrics.srv, r.a.metrics.listen = r.srv, r.listen
	shutdownMetrics(old, r.a)
}

// abort stops the new server of a reload that failed.
func (r *metricsReload) abort() {
	if r.changed {
		shutdownMetrics(r.srv, r.a)
	}
}

// metricsSnapshot gathers the agent's figures for a scrape.
func (a *Agent) metricsSnapshot() metrics.Snapshot {
	a.mu.RLock()
	g := a.gen
	a.mu.RUnlock()
	ws := a.watches.totals()
	s := metrics.Snapshot{
		Ready:  a.ready.Load(),
		Events: ws.Events, Watches: ws.Watches, Overflows: ws.Overflows, Resyncs: ws.Resyncs, Rescans: ws.Rescans,
		Changes:          a.metrics.handled.Load(),
		Scanned:          uint64(a.stats.scanned.Load()),
		ScannedBytes:     a.metrics.scannedBytes.Load(),
		Quarantined:      uint64(a.stats.quarantined.Load()),
		QuarantineFailed: uint64(a.stats.quarantineFailed.Load()),
		ScanErrors:       uint64(a.stats.scanErrors.Load()),
		QueueDepth:       a.inflight.Load(),
		ReloadsOK:        a.metrics.reloadsOK.Load(),
		ReloadsFailed:    a.metrics.reloadsFailed.Load(),
		FilesKnown:       a.cachedFilesKnown(),
		DeployWindows:    a.baseline.OpenWindows(),
	}
	for i, w := range g.webhooks {
		st := w.Stats()
		s.Webhooks = append(s.Webhooks, metrics.Webhook{
			Sink: metrics.SinkID(i), Spooled: st.Spooled, OldestAge: st.OldestAge,
			Delivered: st.Delivered, Retries: st.Retries, Dropped: st.Dropped,
		})
	}
	return s
}

// cachedFilesKnown returns the size of the baseline, counted at most every
// filesKnownMaxAge; -1 when it cannot be counted.
func (a *Agent) cachedFilesKnown() int {
	m := a.metrics
	m.knownMu.Lock()
	defer m.knownMu.Unlock()
	if m.knownAt.IsZero() || time.Since(m.knownAt) >= filesKnownMaxAge {
		n, err := a.baseline.Count()
		if err != nil {
			a.log.Error("state: count records", "err", err)
			n = -1
		}
		m.known, m.knownAt = n, time.Now()
	}
	return m.known
}

// addCounts adds the counters of b to a (not Watches, a gauge).
func addCounts(a, b watcher.Stats) watcher.Stats {
	a.Events += b.Events
	a.Changes += b.Changes
	a.Overflows += b.Overflows
	a.Resyncs += b.Resyncs
	a.Rescans += b.Rescans
	a.ProblemsDropped += b.ProblemsDropped
	return a
}
