package access

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/internal/weblogtest"
	"github.com/shellwatch/shellwatch/roots"
	"github.com/shellwatch/shellwatch/state"
)

// BenchmarkFollowUp: the time from a file alert to its access_report,
// with 1 GiB of access log (ACCESSBENCH_MB) behind the live one in rotated
// and gzipped parts, four hours of a busy server, so that the last 30
// minutes the daemon reads back fill the index to its memory bound. Each
// round is what a drop does: the alert, then the upload's line written
// (nginx writes it when the request ends), then the report, which waits
// for that line and one more poll. ms/report is the median; max-ms the
// slowest round.
func BenchmarkFollowUp(b *testing.B) {
	mb := 1024
	if v, err := strconv.Atoi(os.Getenv("ACCESSBENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	dir := b.TempDir()
	root := filepath.Join(dir, "www")
	if err := os.Mkdir(root, 0o755); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	spec := weblogtest.Spec{Dir: filepath.Join(dir, "log"), Lines: mb * 8600, Parts: 8, Start: now.Add(-4 * time.Hour), Span: 4 * time.Hour,
		Shell: "/up/x.php", Upload: "/upload.php", ShellEvery: 5000, ShellClients: []string{"203.0.113.7", "203.0.113.8"}, Seed: 1}
	if _, err := spec.Write(); err != nil {
		b.Fatal(err)
	}
	var onDisk int64
	for _, f := range spec.Files() {
		st, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		onDisk += st.Size()
	}
	live := filepath.Join(spec.Dir, "access.log")
	text, err := os.ReadFile(live) // the parts' text is alike: the live one's lines' length times all lines
	if err != nil {
		b.Fatal(err)
	}
	textBytes := float64(len(text)) / float64(bytes.Count(text, []byte("\n"))) * float64(spec.Lines)
	text = nil
	started := time.Now()
	cfg, err := config.Parse(fmt.Sprintf("[[watch]]\npath = %q\n[[access_log]]\npath = %q\nformat = \"nginx:combined\"\n", root, live))
	if err != nil {
		b.Fatal(err)
	}
	rs, err := roots.Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	reports := make(chan alert.Alert, 1)
	l := Start(cfg, rs, Options{Send: func(a alert.Alert) {
		if a.Kind == alert.KindAccessReport {
			reports <- a
		}
	}})
	defer l.Stop()
	for !l.logs[0].live.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	warm := time.Since(started)
	logFile, err := os.OpenFile(live, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	var took []time.Duration
	var last alert.Alert
	for b.Loop() {
		first := detection(rs.List()[0].Path, "up/x.php", alert.ActionQuarantined)
		start := time.Now()
		l.FollowUp(first, start)
		if _, err := logFile.WriteString(weblogtest.Line("203.0.113.7", time.Now(), "POST", "/upload.php", 200, 31, "python")); err != nil {
			b.Fatal(err)
		}
		last = <-reports
		took = append(took, time.Since(start))
		if last.RefID != first.ID {
			b.Fatalf("report of %s, want %s", last.RefID, first.ID)
		}
	}
	if len(last.Access.DroppedBy) == 0 || last.Access.DroppedBy[0].URL != "/upload.php" || last.Access.Count == 0 {
		b.Fatalf("last report %+v", last.Access)
	}
	slices.Sort(took)
	st, _ := l.Stats()
	b.ReportMetric(float64(took[len(took)/2])/1e6, "ms/report")
	b.ReportMetric(float64(took[len(took)-1])/1e6, "max-ms")
	b.ReportMetric(textBytes/(1<<30), "log-GiB")
	b.ReportMetric(float64(onDisk)/(1<<30), "GiB-on-disk")
	b.ReportMetric(float64(st[0].Entries), "requests-held")
	b.ReportMetric(float64(st[0].Bytes)/(1<<20), "index-MiB")
	b.ReportMetric(warm.Seconds(), "warm-s")
}

// BenchmarkRestoreFlagged: what the start adds when the state holds
// MaxFlagged flagged URLs (a real state database in a temp dir): reading
// them back and putting them in the registry, before any log is read.
func BenchmarkRestoreFlagged(b *testing.B) {
	db, err := state.Open(filepath.Join(b.TempDir(), "state.db"), state.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var batch state.FlaggedBatch
	at := time.Now().Add(-time.Hour)
	for i := range MaxFlagged {
		batch.Put = append(batch.Put, state.FlaggedURL{Root: "/var/www/html", URL: fmt.Sprintf("/wp-content/uploads/2026/03/%d.php", i),
			Hosts: []string{"shop.example.com"}, AlertID: alert.NewID(at), At: at.Add(time.Duration(i) * time.Millisecond),
			Path: fmt.Sprintf("/var/www/html/wp-content/uploads/2026/03/%d.php", i), SHA256: strings.Repeat("ab", 32),
			Kind: string(alert.KindDetection), Action: alert.ActionQuarantined})
	}
	if err := db.WriteFlagged(batch); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		fl := NewFlagged()
		fl.restore(db, slog.New(slog.DiscardHandler))
		if fl.Len() != MaxFlagged {
			b.Fatalf("restored %d", fl.Len())
		}
	}
}
