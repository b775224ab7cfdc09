// Package metrics exposes the daemon's figures to Prometheus: a collector
// that reads a snapshot of the agent's counters at scrape time, the few
// metrics that must see each event (scan latency, detections by severity,
// alerts by kind), and an HTTP server for /metrics on a private registry.
//
// No metric carries a file path, a rule name or a webhook URL: paths are
// chosen by the attacker and unbounded, and URLs may hold credentials.
// Labels take values from fixed sets only (severity, alert kind, reload
// result, a webhook's index in the config); anything else is counted under
// "other".
package metrics

import (
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric of shellwatch.
const Namespace = "shellwatch"

// other is the label value of anything outside a label's fixed set.
const other = "other"

// ScanBuckets are the upper bounds, in seconds, of the scan latency
// histogram: from a small cached file to a file at the YARA timeout.
var ScanBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Snapshot is what the agent reports at one moment. Counters only grow for
// as long as the process lives (webhook counters restart when a reload
// rebuilds the sinks, which Prometheus reads as a counter reset).
type Snapshot struct {
	Ready bool // every root is watched

	// From the watcher.
	Events    uint64 // events read from inotify
	Watches   int64  // inotify watches held now
	Overflows uint64 // inotify queue overflows
	Resyncs   uint64 // walks of a root after an overflow or a new folder
	Rescans   uint64 // periodic walks of roots past the watch limit

	// From the agent's workers.
	Changes          uint64 // changes handled (one per task a worker ran)
	Scanned          uint64 // files scanned
	ScannedBytes     uint64 // bytes read and hashed by those scans
	Quarantined      uint64 // files moved into the vault
	QuarantineFailed uint64 // flagged files that could not be moved
	ScanErrors       uint64 // files that could not be scanned
	QueueDepth       int64  // changes queued or being handled
	SlowLane         uint64 // changes handed to the slow lane (files past 1 MiB)

	ReloadsOK, ReloadsFailed uint64

	FilesKnown    int // records in the baseline; negative when unknown
	DeployWindows int // deploy windows open now

	// The writes no file event reports: sweeps of the roots, the last
	// one's duration, changes found with no event, files re-checked.
	Sweeps        uint64
	SweepDuration time.Duration
	Unseen        uint64
	Rechecked     int

	Webhooks []Webhook
	Sinks    []Sink

	// Blind counts the blind states that are on, by state; every state the
	// agent knows is in it (0 when off), so each series exists from the
	// start.
	Blind map[string]int
	// The followed access logs, and the access reports not made because
	// too many waited.
	AccessLogs           []AccessLog
	AccessReportsDropped uint64

	// Prevention is the guard's figures; nil when prevention is off. Its
	// counters restart with the guard (at a reload that restarts it),
	// which Prometheus reads as a counter reset.
	Prevention *Prevention
}

// Prevention is what the guard (package guard) did since it started.
type Prevention struct {
	Events          uint64 // permission events read (every open in the roots)
	Allowed, Denied uint64 // their answers
	// Held is the time the web users' opens were held: HeldBuckets are
	// the upper bounds, HeldCounts the cumulative counts (as Prometheus
	// wants), HeldSum the total.
	HeldBuckets []time.Duration
	HeldCounts  []uint64
	Held        uint64
	HeldSum     time.Duration
	// Opens allowed unjudged (the deadline, a full queue), scripts refused
	// while open for writing, scans that failed (their opens allowed).
	DeadlineMisses, QueueFull, Writing, ScanErrors uint64
	Folders                                        uint64 // folders marked
	MarkErrors                                     uint64 // folders that could not be marked
	Cached                                         int    // judgements remembered

	// Unjudgeable counts the opens allowed unjudged because their file's
	// scan failed lately (it is not scanned again for a while).
	Unjudgeable uint64
	// Opens allowed from the cache before the opener was looked at; files
	// trusted to the kernel (no more events until they change), trusts
	// ended by a change of attributes, marks the kernel refused.
	FromCache, Trusted, Untrusted, TrustErrors uint64
}

// AccessLog is what the agent read of one followed access log and holds
// of it in memory.
type AccessLog struct {
	// Log identifies the log without its path: its index among the
	// [[access_log]] tables, "0", "1", ...
	Log             string
	Lines, Unparsed uint64 // lines read; those not in the log's format (or too long)
	Entries         int    // requests held in the index
	Bytes           int64  // the index's memory, as estimated
}

// Sink is what one alert sink (journald, a webhook) lost in the agent.
type Sink struct {
	// Sink is "journald" or, for a webhook, its SinkID.
	Sink string
	// Dropped counts alerts lost because the sink's queue was full (it
	// hung or did not keep up); Failed those the sink did not take.
	Dropped, Failed uint64
}

// Webhook is the delivery state of one webhook sink.
type Webhook struct {
	// Sink identifies the webhook without its URL: its index among the
	// [[webhook]] tables, "0", "1", ...
	Sink      string
	Spooled   int           // alerts on disk, not yet accepted
	OldestAge time.Duration // age of the oldest spooled alert; 0 when none
	Delivered uint64
	Retries   uint64
	Dropped   uint64
	Held      int    // alerts in memory only: the spool could not be written
	AtRisk    uint64 // episodes of a spool that could not be written
}

// Options configure [New].
type Options struct {
	// Snapshot is called at each scrape; it must be safe to call from any
	// goroutine and should be cheap.
	Snapshot func() Snapshot
	// Version is the agent's version, the label of shellwatch_build_info.
	Version string
	// Started is when the agent started.
	Started time.Time
	// Severities and Kinds are the label values detections and alerts may
	// carry; each is exported from the start with a count of zero.
	Severities []string
	Kinds      []string
}

// Metrics is the daemon's metric registry.
type Metrics struct {
	reg         *prometheus.Registry
	scanLatency prometheus.Histogram
	detections  *prometheus.CounterVec
	alerts      *prometheus.CounterVec
	severities  []string
	kinds       []string
}

// New builds the registry: the snapshot collector, the event metrics, and
// Go runtime and process metrics.
func New(opts Options) *Metrics {
	m := &Metrics{
		reg:        prometheus.NewRegistry(),
		severities: slices.Clone(opts.Severities),
		kinds:      slices.Clone(opts.Kinds),
		scanLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "scan_duration_seconds",
			Help:    "Time to read, hash and YARA-scan one file.",
			Buckets: ScanBuckets,
		}),
		detections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "detections_total",
			Help: "Files a rule or hash list flagged, by the highest severity matched (a rewrite of the same flagged bytes is not counted again).",
		}, []string{"severity"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "alerts_total",
			Help: "Alerts raised, by kind (before per-sink severity thresholds and rate limits).",
		}, []string{"kind"}),
	}
	for _, s := range m.severities {
		m.detections.WithLabelValues(s)
	}
	for _, k := range m.kinds {
		m.alerts.WithLabelValues(k)
	}
	m.reg.MustRegister(
		m.scanLatency, m.detections, m.alerts,
		newSnapshotCollector(opts),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// ObserveScan records the duration of one scan.
func (m *Metrics) ObserveScan(d time.Duration) { m.scanLatency.Observe(d.Seconds()) }

// Detection counts one flagged file of the given severity.
func (m *Metrics) Detection(severity string) {
	m.detections.WithLabelValues(bounded(severity, m.severities)).Inc()
}

// Alert counts one alert of the given kind.
func (m *Metrics) Alert(kind string) {
	m.alerts.WithLabelValues(bounded(kind, m.kinds)).Inc()
}

// Gatherer returns the registry, for tests and other exporters.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// bounded returns v when it is one of the allowed values, else "other".
func bounded(v string, allowed []string) string {
	if slices.Contains(allowed, v) {
		return v
	}
	return other
}

// desc builds the description of a metric of the shellwatch namespace.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

// snapshotCollector turns a Snapshot into metrics at each scrape.
type snapshotCollector struct {
	snapshot func() Snapshot
	version  string
	started  time.Time

	buildInfo, startTime, ready                               *prometheus.Desc
	events, watches, overflows, resyncs, rescans              *prometheus.Desc
	changes, scanned, scannedBytes                            *prometheus.Desc
	quarantined, quarantineFailed, scanErrors, queueDepth     *prometheus.Desc
	reloads, filesKnown, deployWindows                        *prometheus.Desc
	sweeps, sweepSeconds, unseen, rechecked, slowLane         *prometheus.Desc
	spoolDepth, spoolAge, delivered, retries, webhookDropped  *prometheus.Desc
	held, atRisk, sinkDropped, sinkFailed                     *prometheus.Desc
	accessLines, accessUnparsed, accessEntries, accessBytes   *prometheus.Desc
	accessDropped                                             *prometheus.Desc
	blind                                                     *prometheus.Desc
	preventActive, preventEvents, preventAnswers, preventHeld *prometheus.Desc
	preventUnjudged, preventWriting, preventScanErrors        *prometheus.Desc
	preventFolders, preventMarkErrors, preventCached          *prometheus.Desc
	preventFromCache, preventTrust                            *prometheus.Desc
}

func newSnapshotCollector(opts Options) *snapshotCollector {
	return &snapshotCollector{
		snapshot: opts.Snapshot,
		version:  opts.Version,
		started:  opts.Started,

		buildInfo: desc("build_info", "Always 1; the labels tell the agent's version and the Go version it was built with.", "version", "goversion"),
		startTime: desc("start_time_seconds", "When the agent started, in seconds since the Unix epoch."),
		ready:     desc("ready", "1 once every configured root is watched, else 0."),

		events:    desc("inotify_events_total", "Events read from inotify."),
		watches:   desc("inotify_watches", "inotify watches held now (one per watched folder)."),
		overflows: desc("inotify_overflows_total", "inotify queue overflows; each makes the watcher walk the roots again."),
		resyncs:   desc("resyncs_total", "Walks that reported every file of a root: after an overflow, or of a folder that appeared."),
		rescans:   desc("rescans_total", "Periodic walks of roots that cannot be fully watched (agent.rescan_interval)."),

		changes:          desc("changes_handled_total", "Changes handled by the workers: reported by the watcher or found by reconciliation at start."),
		scanned:          desc("files_scanned_total", "Files scanned."),
		scannedBytes:     desc("scanned_bytes_total", "Bytes read and hashed by scans (YARA-scanned up to scanner.max_file_size)."),
		quarantined:      desc("quarantined_total", "Files moved into the quarantine vault."),
		quarantineFailed: desc("quarantine_failures_total", "Flagged files that could not be moved into the vault."),
		scanErrors:       desc("scan_errors_total", "Files that could not be scanned (each raises a scan_failed alert)."),
		queueDepth:       desc("queue_depth", "Changes queued for the workers or being handled now."),

		reloads:       desc("reloads_total", "Reloads (SIGHUP), by result: ok, or failed with the previous config kept.", "result"),
		filesKnown:    desc("baseline_files", "Files recorded in the baseline (refreshed at most every few seconds)."),
		deployWindows: desc("deploy_windows_open", "Deploy windows open now."),

		sweeps:       desc("sweeps_total", "Sweeps of the roots against the baseline (agent.sweep_interval)."),
		sweepSeconds: desc("sweep_duration_seconds", "How long the last sweep took."),
		unseen:       desc("unseen_changes_total", "Changes found by a sweep or a re-check with no file event (written through another hard link or a shared mapping), scanned."),
		slowLane:     desc("slow_lane_total", "Changes of files past 1 MiB, scanned one at a time in the slow lane so that they never delay small files."),
		rechecked:    desc("recheck_files", "Files re-checked by lstat every agent.recheck_interval (other hard links, appeared lately)."),

		spoolDepth:     desc("webhook_spool_depth", "Alerts spooled on disk for a webhook, not yet accepted by its receiver. sink is the index of the [[webhook]] table.", "sink"),
		spoolAge:       desc("webhook_spool_oldest_age_seconds", "Age of the oldest alert spooled for a webhook; 0 when the spool is empty.", "sink"),
		delivered:      desc("webhook_deliveries_total", "Alerts a webhook receiver accepted with a 2xx.", "sink"),
		retries:        desc("webhook_retries_total", "Failed webhook delivery attempts, each followed by a backoff.", "sink"),
		webhookDropped: desc("webhook_dropped_total", "Alerts dropped by a webhook: low and medium ones from a full spool, any past the memory hold of a spool that cannot be written.", "sink"),
		held:           desc("webhook_held_in_memory", "Alerts of a webhook held in memory only, because its spool cannot be written (disk full, read-only); a stop loses them.", "sink"),
		atRisk:         desc("webhook_spool_unwritable_total", "Times a webhook's spool could not be written and alerts had to be held in memory (alerts_at_risk).", "sink"),
		sinkDropped:    desc("sink_dropped_total", "Alerts lost for a sink because its queue in the agent was full: it hung or did not keep up. sink is journald or a webhook's index.", "sink"),
		sinkFailed:     desc("sink_failures_total", "Alerts a sink did not take (journald timed out or refused, a webhook was closed).", "sink"),

		accessLines:       desc("access_log_lines_total", "Lines read from a followed access log (its warm-up included). log is the index of the [[access_log]] table.", "log"),
		accessUnparsed:    desc("access_log_unparsed_lines_total", "Lines of a followed access log not in its format, or longer than 64 KiB.", "log"),
		accessEntries:     desc("access_index_requests", "Requests of an access log held in memory for access reports (the last 30 minutes, within the memory bound).", "log"),
		accessBytes:       desc("access_index_bytes", "Memory the requests of an access log take in the index, as estimated against its bound.", "log"),
		accessDropped:     desc("access_reports_dropped_total", "Access reports not made because too many waited to be made."),
		preventActive:     desc("prevention_active", "1 while prevention holds the web users' opens ([prevent] enabled and started), else 0."),
		preventEvents:     desc("prevention_events_total", "Permission events read by prevention: every open of a file in the roots, by anyone."),
		preventAnswers:    desc("prevention_answers_total", "Answers to those events, by answer: allow or deny.", "answer"),
		preventHeld:       desc("prevention_held_seconds", "How long prevention held an open of a web user, from its event to its answer."),
		preventUnjudged:   desc("prevention_unjudged_total", "Opens of a web user allowed without a judgement, by reason: deadline (prevent.deadline passed), queue_full, or unjudgeable (the file's scan failed lately: not scanned again for 10 minutes).", "reason"),
		preventWriting:    desc("prevention_writing_refused_total", "Scripts refused to a web user because they were empty or still open for writing."),
		preventScanErrors: desc("prevention_scan_errors_total", "Scans of prevention that failed (YARA's timeout, a read error); their opens allowed."),
		preventFolders:    desc("prevention_folders", "Folders of the roots marked for prevention."),
		preventMarkErrors: desc("prevention_mark_errors_total", "Folders prevention could not mark (fs.fanotify.max_user_marks reached, a folder gone)."),
		preventCached:     desc("prevention_cached_identities", "File identities whose judgement prevention remembers."),
		preventFromCache:  desc("prevention_cache_answers_total", "Opens allowed from prevention's cache (a clean verdict, no writer) before the opener was looked at."),
		preventTrust:      desc("prevention_trust_total", "Files judged clean that no web user can write, handed to the kernel to stop reporting their opens until they change (trusted), trusts ended by a change of attributes (ended), marks the kernel refused (refused).", "event"),
		blind:             desc("blind", "Blind states that are on, by state: what the agent cannot see or act on now (a root unwatched, the state database or the vault unwritable, a webhook failing past its alert_after, journald unreachable, a failed reload). 0 when all is seen.", "state"),
	}
}

// Describe sends every description.
func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.buildInfo, c.startTime, c.ready,
		c.events, c.watches, c.overflows, c.resyncs, c.rescans,
		c.changes, c.scanned, c.scannedBytes,
		c.quarantined, c.quarantineFailed, c.scanErrors, c.queueDepth,
		c.reloads, c.filesKnown, c.deployWindows,
		c.sweeps, c.sweepSeconds, c.unseen, c.rechecked, c.slowLane,
		c.spoolDepth, c.spoolAge, c.delivered, c.retries, c.webhookDropped,
		c.held, c.atRisk, c.sinkDropped, c.sinkFailed,
		c.accessLines, c.accessUnparsed, c.accessEntries, c.accessBytes, c.accessDropped, c.blind,
		c.preventActive, c.preventEvents, c.preventAnswers, c.preventHeld,
		c.preventUnjudged, c.preventWriting, c.preventScanErrors,
		c.preventFolders, c.preventMarkErrors, c.preventCached, c.preventFromCache, c.preventTrust,
	} {
		ch <- d
	}
}

// Collect takes one snapshot and sends its metrics.
func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.buildInfo, 1, c.version, runtime.Version())
	gauge(c.startTime, float64(c.started.UnixNano())/1e9)
	gauge(c.ready, boolValue(s.Ready))

	counter(c.events, s.Events)
	gauge(c.watches, float64(s.Watches))
	counter(c.overflows, s.Overflows)
	counter(c.resyncs, s.Resyncs)
	counter(c.rescans, s.Rescans)

	counter(c.changes, s.Changes)
	counter(c.scanned, s.Scanned)
	counter(c.scannedBytes, s.ScannedBytes)
	counter(c.quarantined, s.Quarantined)
	counter(c.quarantineFailed, s.QuarantineFailed)
	counter(c.scanErrors, s.ScanErrors)
	gauge(c.queueDepth, float64(s.QueueDepth))

	counter(c.reloads, s.ReloadsOK, "ok")
	counter(c.reloads, s.ReloadsFailed, "failed")
	if s.FilesKnown >= 0 {
		gauge(c.filesKnown, float64(s.FilesKnown))
	}
	gauge(c.deployWindows, float64(s.DeployWindows))
	counter(c.sweeps, s.Sweeps)
	gauge(c.sweepSeconds, s.SweepDuration.Seconds())
	counter(c.unseen, s.Unseen)
	gauge(c.rechecked, float64(s.Rechecked))
	counter(c.slowLane, s.SlowLane)

	for _, w := range s.Webhooks {
		gauge(c.spoolDepth, float64(w.Spooled), w.Sink)
		gauge(c.spoolAge, w.OldestAge.Seconds(), w.Sink)
		counter(c.delivered, w.Delivered, w.Sink)
		counter(c.retries, w.Retries, w.Sink)
		counter(c.webhookDropped, w.Dropped, w.Sink)
		gauge(c.held, float64(w.Held), w.Sink)
		counter(c.atRisk, w.AtRisk, w.Sink)
	}
	for _, k := range s.Sinks {
		counter(c.sinkDropped, k.Dropped, k.Sink)
		counter(c.sinkFailed, k.Failed, k.Sink)
	}
	for _, l := range s.AccessLogs {
		counter(c.accessLines, l.Lines, l.Log)
		counter(c.accessUnparsed, l.Unparsed, l.Log)
		gauge(c.accessEntries, float64(l.Entries), l.Log)
		gauge(c.accessBytes, float64(l.Bytes), l.Log)
	}
	counter(c.accessDropped, s.AccessReportsDropped)
	for state, n := range s.Blind {
		gauge(c.blind, float64(n), state)
	}
	c.collectPrevention(ch, s.Prevention, gauge, counter)
}

// collectPrevention sends the guard's figures: every series exists, at
// zero, while prevention is off, and prevention_active says which.
func (c *snapshotCollector) collectPrevention(ch chan<- prometheus.Metric, p *Prevention,
	gauge func(*prometheus.Desc, float64, ...string), counter func(*prometheus.Desc, uint64, ...string)) {
	active := p != nil
	if p == nil {
		p = &Prevention{}
	}
	gauge(c.preventActive, boolValue(active))
	counter(c.preventEvents, p.Events)
	counter(c.preventAnswers, p.Allowed, "allow")
	counter(c.preventAnswers, p.Denied, "deny")
	buckets := map[float64]uint64{}
	for i, b := range p.HeldBuckets {
		if i < len(p.HeldCounts) {
			buckets[b.Seconds()] = p.HeldCounts[i]
		}
	}
	ch <- prometheus.MustNewConstHistogram(c.preventHeld, p.Held, p.HeldSum.Seconds(), buckets)
	counter(c.preventUnjudged, p.DeadlineMisses, "deadline")
	counter(c.preventUnjudged, p.QueueFull, "queue_full")
	counter(c.preventUnjudged, p.Unjudgeable, "unjudgeable")
	counter(c.preventWriting, p.Writing)
	counter(c.preventScanErrors, p.ScanErrors)
	gauge(c.preventFolders, float64(p.Folders))
	counter(c.preventMarkErrors, p.MarkErrors)
	gauge(c.preventCached, float64(p.Cached))
	counter(c.preventFromCache, p.FromCache)
	counter(c.preventTrust, p.Trusted, "trusted")
	counter(c.preventTrust, p.Untrusted, "ended")
	counter(c.preventTrust, p.TrustErrors, "refused")
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// SinkID is the sink label of the webhook at index i of the config.
func SinkID(i int) string { return strconv.Itoa(i) }
