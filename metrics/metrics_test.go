package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/shellwatch/shellwatch/metrics/metricstest"
)

func fakeSnapshot() Snapshot {
	return Snapshot{
		Ready: true, Events: 10, Watches: 3, Overflows: 1, Resyncs: 2, Rescans: 4,
		Changes: 7, Scanned: 6, ScannedBytes: 600, Quarantined: 2, QuarantineFailed: 1, ScanErrors: 5,
		QueueDepth: 8, ReloadsOK: 3, ReloadsFailed: 1, FilesKnown: 42, DeployWindows: 1,
		SlowLane: 4, Sweeps: 2, SweepDuration: 1500 * time.Millisecond, Unseen: 3, Rechecked: 7,
		Webhooks: []Webhook{
			{Sink: "0", Spooled: 2, OldestAge: 1500 * time.Millisecond, Delivered: 9, Retries: 4, Dropped: 1, Held: 6, AtRisk: 2},
			{Sink: "1"},
		},
		Sinks: []Sink{{Sink: "journald", Dropped: 11, Failed: 3}, {Sink: "0"}},
		Blind: map[string]int{"vault_unwritable": 1, "root_unwatched": 2, "reload_failed": 0},
	}
}

func newTestMetrics(snap func() Snapshot) *Metrics {
	return New(Options{
		Snapshot: snap, Version: "1.2.3", Started: time.Unix(1700000000, 0),
		Severities: []string{"low", "medium", "high", "critical"},
		Kinds:      []string{"detection", "reloaded"},
	})
}

// gather returns the registry's families by name.
func gather(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func TestCollectorReadsTheSnapshot(t *testing.T) {
	m := newTestMetrics(fakeSnapshot)
	m.ObserveScan(3 * time.Millisecond)
	m.ObserveScan(2 * time.Second)
	m.Detection("critical")
	m.Detection("critical")
	m.Detection("/var/www/shell.php") // not a severity: counted as other
	m.Alert("detection")
	m.Alert("made_up_kind")

	fams := gather(t, m)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"shellwatch_build_info", []string{"version", "1.2.3"}, 1},
		{"shellwatch_start_time_seconds", nil, 1700000000},
		{"shellwatch_ready", nil, 1},
		{"shellwatch_inotify_events_total", nil, 10},
		{"shellwatch_inotify_watches", nil, 3},
		{"shellwatch_inotify_overflows_total", nil, 1},
		{"shellwatch_resyncs_total", nil, 2},
		{"shellwatch_rescans_total", nil, 4},
		{"shellwatch_changes_handled_total", nil, 7},
		{"shellwatch_files_scanned_total", nil, 6},
		{"shellwatch_scanned_bytes_total", nil, 600},
		{"shellwatch_quarantined_total", nil, 2},
		{"shellwatch_quarantine_failures_total", nil, 1},
		{"shellwatch_scan_errors_total", nil, 5},
		{"shellwatch_queue_depth", nil, 8},
		{"shellwatch_reloads_total", []string{"result", "ok"}, 3},
		{"shellwatch_reloads_total", []string{"result", "failed"}, 1},
		{"shellwatch_baseline_files", nil, 42},
		{"shellwatch_deploy_windows_open", nil, 1},
		{"shellwatch_sweeps_total", nil, 2},
		{"shellwatch_sweep_duration_seconds", nil, 1.5},
		{"shellwatch_unseen_changes_total", nil, 3},
		{"shellwatch_recheck_files", nil, 7},
		{"shellwatch_slow_lane_total", nil, 4},
		{"shellwatch_webhook_spool_depth", []string{"sink", "0"}, 2},
		{"shellwatch_webhook_spool_depth", []string{"sink", "1"}, 0},
		{"shellwatch_webhook_spool_oldest_age_seconds", []string{"sink", "0"}, 1.5},
		{"shellwatch_webhook_deliveries_total", []string{"sink", "0"}, 9},
		{"shellwatch_webhook_retries_total", []string{"sink", "0"}, 4},
		{"shellwatch_webhook_dropped_total", []string{"sink", "0"}, 1},
		{"shellwatch_webhook_held_in_memory", []string{"sink", "0"}, 6},
		{"shellwatch_webhook_spool_unwritable_total", []string{"sink", "0"}, 2},
		{"shellwatch_sink_dropped_total", []string{"sink", "journald"}, 11},
		{"shellwatch_sink_dropped_total", []string{"sink", "0"}, 0},
		{"shellwatch_sink_failures_total", []string{"sink", "journald"}, 3},
		{"shellwatch_blind", []string{"state", "vault_unwritable"}, 1},
		{"shellwatch_blind", []string{"state", "root_unwatched"}, 2},
		{"shellwatch_blind", []string{"state", "reload_failed"}, 0},
		{"shellwatch_scan_duration_seconds", nil, 2},
		{"shellwatch_detections_total", []string{"severity", "critical"}, 2},
		{"shellwatch_detections_total", []string{"severity", "low"}, 0},
		{"shellwatch_detections_total", []string{"severity", "other"}, 1},
		{"shellwatch_alerts_total", []string{"kind", "detection"}, 1},
		{"shellwatch_alerts_total", []string{"kind", "reloaded"}, 0},
		{"shellwatch_alerts_total", []string{"kind", "other"}, 1},
	}
	for _, tt := range tests {
		got, ok := metricstest.Value(fams, tt.name, tt.labels...)
		if !ok {
			t.Errorf("%s%v missing", tt.name, tt.labels)
			continue
		}
		if got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if got := fams["shellwatch_inotify_events_total"].GetType(); got != dto.MetricType_COUNTER {
		t.Errorf("inotify_events_total is a %v, want a counter", got)
	}
	if got := fams["shellwatch_queue_depth"].GetType(); got != dto.MetricType_GAUGE {
		t.Errorf("queue_depth is a %v, want a gauge", got)
	}
	// The 2s scan lands in the 2.5s bucket, not below.
	for _, b := range fams["shellwatch_scan_duration_seconds"].GetMetric()[0].GetHistogram().GetBucket() {
		want := uint64(0)
		if b.GetUpperBound() >= 0.005 {
			want = 1
		}
		if b.GetUpperBound() >= 2.5 {
			want = 2
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v holds %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
}

func TestUnknownBaselineSizeIsLeftOut(t *testing.T) {
	m := newTestMetrics(func() Snapshot { s := fakeSnapshot(); s.FilesKnown = -1; return s })
	if _, ok := metricstest.Value(gather(t, m), "shellwatch_baseline_files"); ok {
		t.Error("shellwatch_baseline_files exported while unknown")
	}
}

func TestServerServesMetricsOnly(t *testing.T) {
	m := newTestMetrics(fakeSnapshot)
	srv, err := Listen("127.0.0.1:0", m, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}()
	base := "http://" + srv.Addr()

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	if v, ok := metricstest.Value(fams, "shellwatch_files_scanned_total"); !ok || v != 6 {
		t.Errorf("files_scanned_total over HTTP = %v, %v", v, ok)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}

	for path, want := range map[string]int{"/": 200, "/debug/pprof/": 404, "/metrics/x": 404} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
		if path == "/" && !strings.Contains(string(body), "/metrics") {
			t.Errorf("GET /: %q does not point to /metrics", body)
		}
	}
}

func TestListenReportsABusyAddress(t *testing.T) {
	m := newTestMetrics(fakeSnapshot)
	srv, err := Listen("127.0.0.1:0", m, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	if _, err := Listen(srv.Addr(), m, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("Listen on an address in use succeeded")
	}
}

// The guard's figures: every series exists while prevention is off (at 0,
// prevention_active 0), and carries the guard's counts while it is on; the
// held-time histogram keeps the guard's buckets.
func TestPreventionFigures(t *testing.T) {
	off := gather(t, newTestMetrics(fakeSnapshot))
	for _, name := range []string{"shellwatch_prevention_active", "shellwatch_prevention_events_total",
		"shellwatch_prevention_held_seconds", "shellwatch_prevention_folders"} {
		if v, ok := metricstest.Value(off, name); !ok || v != 0 {
			t.Errorf("prevention off: %s = %v (present %v), want 0", name, v, ok)
		}
	}

	on := newTestMetrics(func() Snapshot {
		s := fakeSnapshot()
		s.Prevention = &Prevention{
			Events: 120, Allowed: 110, Denied: 10,
			HeldBuckets: []time.Duration{50 * time.Microsecond, time.Millisecond, 100 * time.Millisecond},
			HeldCounts:  []uint64{60, 75, 80}, Held: 81, HeldSum: 1500 * time.Millisecond,
			DeadlineMisses: 1, QueueFull: 2, Unjudgeable: 6, Writing: 3, ScanErrors: 4, Folders: 12, MarkErrors: 5, Cached: 70,
			FromCache: 40, Trusted: 30, Untrusted: 6, TrustErrors: 7,
		}
		return s
	})
	fams := gather(t, on)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"shellwatch_prevention_active", nil, 1},
		{"shellwatch_prevention_events_total", nil, 120},
		{"shellwatch_prevention_answers_total", []string{"answer", "allow"}, 110},
		{"shellwatch_prevention_answers_total", []string{"answer", "deny"}, 10},
		{"shellwatch_prevention_held_seconds", nil, 81},
		{"shellwatch_prevention_unjudged_total", []string{"reason", "deadline"}, 1},
		{"shellwatch_prevention_unjudged_total", []string{"reason", "queue_full"}, 2},
		{"shellwatch_prevention_unjudged_total", []string{"reason", "unjudgeable"}, 6},
		{"shellwatch_prevention_writing_refused_total", nil, 3},
		{"shellwatch_prevention_scan_errors_total", nil, 4},
		{"shellwatch_prevention_folders", nil, 12},
		{"shellwatch_prevention_mark_errors_total", nil, 5},
		{"shellwatch_prevention_cached_identities", nil, 70},
		{"shellwatch_prevention_cache_answers_total", nil, 40},
		{"shellwatch_prevention_trust_total", []string{"event", "trusted"}, 30},
		{"shellwatch_prevention_trust_total", []string{"event", "ended"}, 6},
		{"shellwatch_prevention_trust_total", []string{"event", "refused"}, 7},
	}
	for _, tt := range tests {
		if got, ok := metricstest.Value(fams, tt.name, tt.labels...); !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	h := fams["shellwatch_prevention_held_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleSum() != 1.5 {
		t.Errorf("held_seconds sum = %v, want 1.5", h.GetSampleSum())
	}
	want := map[float64]uint64{50e-6: 60, 1e-3: 75, 0.1: 80}
	if len(h.GetBucket()) != len(want) {
		t.Errorf("held_seconds has %d buckets, want %d", len(h.GetBucket()), len(want))
	}
	for _, b := range h.GetBucket() {
		if n, ok := want[b.GetUpperBound()]; !ok || n != b.GetCumulativeCount() {
			t.Errorf("held_seconds bucket le=%v holds %d, want %d (known %v)", b.GetUpperBound(), b.GetCumulativeCount(), n, ok)
		}
	}
}
