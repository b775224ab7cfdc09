package agent

import (
	"cmp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/guard"
	"github.com/shellwatch/shellwatch/metrics"
	"github.com/shellwatch/shellwatch/scanner"
)

// filesKnownMaxAge bounds how stale shellwatch_baseline_files may be:
// counting the baseline walks the whole bucket, too much for every scrape
// of a tree of millions of files.
const filesKnownMaxAge = 10 * time.Second

// agentMetrics is the agent's side of the Prometheus endpoint: the event
// metrics, the counters nothing else keeps, and the server when
// metrics.listen is set. The registry exists even when nothing serves it.
type agentMetrics struct {
	m *metrics.Metrics

	// endpoint serves m where metrics.listen says; run, reloads and the
	// stop use it in turn.
	endpoint *metrics.Endpoint

	handled, scannedBytes, reloadsOK, reloadsFailed atomic.Uint64
	// What `shellwatch status`, STATUS= and the metrics count.
	scanned, flagged, quarantined, quarantineFailed, scanErrors atomic.Int64
	// The sweeps and re-checks (sweep.go): rounds, the last one's time,
	// changes found with no file event.
	sweeps, unseen atomic.Uint64
	// slowLane counts the tasks handed to the slow lane.
	slowLane   atomic.Uint64
	sweepNanos atomic.Int64

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
	m := metrics.New(metrics.Options{
		Snapshot:   a.metricsSnapshot,
		Version:    a.opts.Version,
		Started:    a.startedAt,
		Severities: sevs,
		Kinds:      kinds,
	})
	return &agentMetrics{m: m, endpoint: metrics.NewEndpoint(m, a.log)}
}

// countScan counts one scan that took d.
func (a *Agent) countScan(v scanner.Verdict, d time.Duration) {
	a.metrics.scanned.Add(1)
	if v.SHA256 != "" { // read to the end
		a.metrics.scannedBytes.Add(uint64(max(v.Size, 0)))
	}
	a.metrics.m.ObserveScan(d)
}

// metricsAddress is where cfg serves the metrics.
func metricsAddress(cfg config.Config) metrics.Address {
	return metrics.Address{Addr: cfg.Metrics.Listen, Loopback: cfg.Metrics.IsLoopback()}
}

// metricsSnapshot gathers the agent's figures for a scrape.
func (a *Agent) metricsSnapshot() metrics.Snapshot {
	a.mu.RLock()
	g := a.gen
	a.mu.RUnlock()
	ws := a.watches.Totals()
	s := metrics.Snapshot{
		Ready:  a.ready.Load(),
		Events: ws.Events, Watches: ws.Watches, Overflows: ws.Overflows, Resyncs: ws.Resyncs, Rescans: ws.Rescans,
		Changes:          a.metrics.handled.Load(),
		Scanned:          uint64(a.metrics.scanned.Load()),
		ScannedBytes:     a.metrics.scannedBytes.Load(),
		Quarantined:      uint64(a.metrics.quarantined.Load()),
		QuarantineFailed: uint64(a.metrics.quarantineFailed.Load()),
		ScanErrors:       uint64(a.metrics.scanErrors.Load()),
		QueueDepth:       a.q.tasks.load(),
		ReloadsOK:        a.metrics.reloadsOK.Load(),
		ReloadsFailed:    a.metrics.reloadsFailed.Load(),
		FilesKnown:       a.cachedFilesKnown(),
		DeployWindows:    a.baseline.OpenWindows(),
		Sweeps:           a.metrics.sweeps.Load(),
		SweepDuration:    time.Duration(a.metrics.sweepNanos.Load()),
		Unseen:           a.metrics.unseen.Load(),
		Rechecked:        a.q.recheck.Stats().Listed,
		SlowLane:         a.metrics.slowLane.Load(),
		Blind:            a.blindCounts(),
	}
	ids := map[string]string{a.journal.Name(): "journald"}
	for i, w := range g.webhooks {
		st := w.Stats()
		s.Webhooks = append(s.Webhooks, metrics.Webhook{
			Sink: metrics.SinkID(i), Spooled: st.Spooled, OldestAge: st.OldestAge,
			Delivered: st.Delivered, Retries: st.Retries, Dropped: st.Dropped,
			Held: st.Held, AtRisk: st.AtRisk,
		})
		ids[w.Name()] = cmp.Or(ids[w.Name()], metrics.SinkID(i))
	}
	for _, r := range g.dispatch.Stats() {
		s.Sinks = append(s.Sinks, metrics.Sink{Sink: ids[r.Sink], Dropped: r.Dropped, Failed: r.Errors})
	}
	s.AccessLogs, s.AccessReportsDropped = g.access.Metrics()
	if st, _, ok := a.preventionStats(); ok {
		s.Prevention = &metrics.Prevention{
			Events: st.Events, Allowed: st.Allowed, Denied: st.Denied,
			HeldBuckets: guard.HeldBuckets, HeldCounts: st.HeldCounts, Held: st.Held, HeldSum: st.HeldSum,
			DeadlineMisses: st.DeadlineMisses, QueueFull: st.QueueFull, Writing: st.Writing, ScanErrors: st.ScanErrors,
			Folders: st.Marks, MarkErrors: st.MarkErrors, Cached: st.Cached, Unjudgeable: st.Unjudgeable,
			FromCache: st.FromCache, Trusted: st.Trusted, Untrusted: st.Untrusted, TrustErrors: st.TrustErrors,
		}
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
