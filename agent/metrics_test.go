package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/metrics/metricstest"
)

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// scrape fetches /metrics from addr and returns the raw text and the
// parsed families.
func scrape(t *testing.T, addr string) ([]byte, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s, %v", addr, resp.Status, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("scrape %s does not parse: %v\n%s", addr, err, body)
	}
	return body, fams
}

// minimum is the least value a scraped series must have.
type minimum struct {
	name   string
	labels []string // label, value pairs the series has
	min    float64
}

// checkAtLeast checks that each series is in fams with at least its minimum.
func checkAtLeast(t *testing.T, fams map[string]*dto.MetricFamily, want []minimum) {
	t.Helper()
	for _, m := range want {
		v, ok := metricstest.Value(fams, m.name, m.labels...)
		if !ok {
			t.Errorf("%s%v missing from the scrape", m.name, m.labels)
		} else if v < m.min {
			t.Errorf("%s%v = %v, want at least %v", m.name, m.labels, v, m.min)
		}
	}
}

// TestMetrics scrapes the real endpoint after a webshell drop: the figures
// are there, and nothing in the output names a file, a rule or the webhook.
func TestMetrics(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	addr := freeAddr(t)
	h.extraConfig = fmt.Sprintf("[metrics]\nlisten = %q\n", addr)
	h.start()

	p := h.write("uploads-PATHMARK/evil-PATHMARK.php", evalShell)
	a := h.recv.waitAlert(p, alert.KindDetection)
	h.checkQuarantined(a, p, evalShell)

	body, fams := scrape(t, addr)
	atLeast := []minimum{
		{"shellwatch_detections_total", []string{"severity", "critical"}, 1},
		{"shellwatch_alerts_total", []string{"kind", "detection"}, 1},
		{"shellwatch_files_scanned_total", nil, 1},
		{"shellwatch_scanned_bytes_total", nil, float64(len(evalShell))},
		{"shellwatch_changes_handled_total", nil, 1},
		{"shellwatch_quarantined_total", nil, 1},
		{"shellwatch_inotify_watches", nil, 1},
		{"shellwatch_inotify_events_total", nil, 1},
		{"shellwatch_scan_duration_seconds", nil, 1},
		{"shellwatch_webhook_spool_depth", []string{"sink", "0"}, 0},
		{"shellwatch_webhook_spool_oldest_age_seconds", []string{"sink", "0"}, 0},
		{"shellwatch_webhook_held_in_memory", []string{"sink", "0"}, 0},
		{"shellwatch_sink_dropped_total", []string{"sink", "journald"}, 0},
		{"shellwatch_sink_failures_total", []string{"sink", "0"}, 0},
		{"shellwatch_build_info", []string{"version", "test"}, 1},
		{"shellwatch_ready", nil, 1},
		{"shellwatch_start_time_seconds", nil, float64(h.agent.startedAt.Unix())},
		{"shellwatch_baseline_files", nil, 0},
		{"shellwatch_queue_depth", nil, 0},
		{"shellwatch_inotify_overflows_total", nil, 0},
		{"shellwatch_reloads_total", []string{"result", "ok"}, 0},
		{"shellwatch_deploy_windows_open", nil, 0},
	}
	checkAtLeast(t, fams, atLeast)
	// Hostile strings stay out: paths (the attacker's), rule names, the
	// webhook's URL (it may hold credentials), the state folder.
	forbidden := []string{"PATHMARK", h.dir, h.www, h.recv.url(), h.recv.ln.Addr().String(), "/hook"}
	forbidden = append(forbidden, a.RuleNames()...)
	for _, s := range forbidden {
		if bytes.Contains(body, []byte(s)) {
			t.Errorf("scrape output contains %q", s)
		}
	}

	// A reload to another address moves the endpoint.
	addr2 := freeAddr(t)
	h.extraConfig = fmt.Sprintf("[metrics]\nlisten = %q\n", addr2)
	h.writeConfig(h.recv.url())
	h.reload()
	h.recv.waitAlert("", alert.KindReloaded)
	_, fams = scrape(t, addr2)
	if v, _ := metricstest.Value(fams, "shellwatch_reloads_total", "result", "ok"); v != 1 {
		t.Errorf("reloads_total{result=ok} = %v after one reload, want 1", v)
	}
	if v, _ := metricstest.Value(fams, "shellwatch_files_scanned_total"); v < 1 {
		t.Errorf("files_scanned_total = %v after the reload, want the count kept", v)
	}
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		t.Errorf("the old address %s still serves after the reload", addr)
	}

	// A reload to an address in use fails as a whole, naming the key, and
	// the endpoint stays where it was.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	h.extraConfig = fmt.Sprintf("[metrics]\nlisten = %q\n", busy.Addr().String())
	h.writeConfig(h.recv.url())
	h.reload()
	failed := h.recv.waitAlert("", alert.KindReloadFailed)
	if !strings.Contains(failed.Detail, "metrics.listen") {
		t.Errorf("reload failure %q does not name metrics.listen", failed.Detail)
	}
	_, fams = scrape(t, addr2)
	if v, _ := metricstest.Value(fams, "shellwatch_reloads_total", "result", "failed"); v != 1 {
		t.Errorf("reloads_total{result=failed} = %v, want 1", v)
	}

	h.stop()
	if resp, err := http.Get("http://" + addr2 + "/metrics"); err == nil {
		resp.Body.Close()
		t.Errorf("%s still serves after the agent stopped", addr2)
	}
}

// TestMetricsAddressInUse: an address that cannot be bound is a start-up
// error naming the key and the address.
func TestMetricsAddressInUse(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	h.extraConfig = fmt.Sprintf("[metrics]\nlisten = %q\n", busy.Addr().String())
	h.writeConfig(h.recv.url())
	a, err := newAgent(Options{
		ConfigPath: h.cfgPath, Version: "test",
		Logger:  testLogger(t),
		Stderr:  testWriter{t},
		Notify:  func(string) {},
		Signals: make(chan os.Signal),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	err = a.run(ctx)
	if err == nil || !strings.Contains(err.Error(), "metrics.listen") || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Errorf("run = %v, want an error naming metrics.listen and %s", err, busy.Addr())
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
