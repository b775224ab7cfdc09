package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// results is the whole run, also written as JSON.
type results struct {
	Command             string    `json:"command"`
	Binary              string    `json:"binary"`
	AgentCommand        string    `json:"agent_command"`
	Settle              string    `json:"settle"`
	Defaults            bool      `json:"settle_is_default"`
	CPUs                int       `json:"cpus"`
	Kernel              string    `json:"kernel"`
	Started             time.Time `json:"started"`
	Seconds             float64   `json:"seconds"`
	JournaldStartedHere bool      `json:"journald_started_here"`
	Targets             targets   `json:"targets"`
	Warmup              int       `json:"warmup_drops"`
	PauseMs             float64   `json:"pause_ms"`
	ShellBytes          int       `json:"webshell_bytes"`

	Single singleResult `json:"single"`
	// Renamed are drops written outside the root and renamed in: the file
	// is complete when it appears, so they show the pipeline without the
	// race between the first scan and the write.
	Renamed *singleResult `json:"renamed,omitempty"`
	Burst   burstResult   `json:"burst"`
	Idle    idleResult    `json:"idle"`

	// UnexpectedAlerts counts alerts about files that were not dropped
	// webshells ("webhook detection": 2), false positives among them.
	UnexpectedAlerts map[string]int `json:"unexpected_alerts"`
	BadSignatures    int            `json:"bad_signatures"`
	GoneOverflows    int            `json:"inotify_overflows"`
}

type targets struct {
	AlertP99Ms      float64 `json:"alert_p99_ms"`
	QuarantineP99Ms float64 `json:"quarantine_p99_ms"`
	MaxFileBytes    int     `json:"max_file_bytes"`
}

type singleResult struct {
	Drops            int                   `json:"drops"`
	ReadySeconds     float64               `json:"agent_ready_seconds,omitempty"`
	StopSeconds      float64               `json:"agent_stop_seconds,omitempty"`
	Stages           map[string]stageStats `json:"stages"`
	SlowerThanSettle int                   `json:"quarantined_later_than_settle"`
	NotQuarantined   int                   `json:"not_quarantined"`
}

type burstResult struct {
	Benign                 int                   `json:"benign_files"`
	Shells                 int                   `json:"webshells"`
	WriteSeconds           float64               `json:"write_seconds"`
	FilesPerSecond         float64               `json:"files_per_second"`
	LastQuarantinedSeconds float64               `json:"last_quarantined_after_seconds"`
	Stages                 map[string]stageStats `json:"stages"`
	SlowerThanSettle       int                   `json:"quarantined_later_than_settle"`
	NotQuarantined         int                   `json:"not_quarantined"`
	AgentRSSKiB            int64                 `json:"agent_vmrss_kib_after"`
	AgentHWMKiB            int64                 `json:"agent_vmhwm_kib_after"`
}

type idleResult struct {
	Dirs         int     `json:"dirs"`
	Files        int     `json:"files"`
	Watches      int     `json:"watches"`
	ReadySeconds float64 `json:"agent_ready_seconds"`
	Seconds      float64 `json:"seconds"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	CPUPercent   float64 `json:"cpu_percent_of_one_core"`
	RSSKiB       int64   `json:"vmrss_kib"`
	MaxRSSKiB    int64   `json:"vmrss_max_kib"`
	HWMKiB       int64   `json:"vmhwm_kib"`
}

// stageStats are the latencies of one stage, in milliseconds.
type stageStats struct {
	N       int     `json:"n"`
	Missing int     `json:"missing"`
	P50     float64 `json:"p50_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
}

func stageTable(ss []*sample) map[string]stageStats {
	out := make(map[string]stageStats, numStages)
	for st := range numStages {
		var ds []time.Duration
		for _, s := range ss {
			if !s.at[st].IsZero() && !s.closed.IsZero() {
				ds = append(ds, s.at[st].Sub(s.closed))
			}
		}
		slices.Sort(ds)
		r := stageStats{N: len(ds), Missing: len(ss) - len(ds)}
		if len(ds) > 0 {
			r.P50, r.P99, r.Max = ms(percentile(ds, 0.50)), ms(percentile(ds, 0.99)), ms(ds[len(ds)-1])
		}
		out[stageNames[st]] = r
	}
	return out
}

// percentile is the nearest-rank percentile of sorted ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(ds)))) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

func countSlower(ss []*sample, st stage, d time.Duration) int {
	n := 0
	for _, s := range ss {
		if !s.at[st].IsZero() && s.at[st].Sub(s.closed) > d {
			n++
		}
	}
	return n
}

func countNotQuarantined(ss []*sample) int {
	n := 0
	for _, s := range ss {
		if s.action != "quarantined" {
			n++
		}
	}
	return n
}

func lastAt(ss []*sample, st stage) time.Time {
	var last time.Time
	for _, s := range ss {
		if s.at[st].After(last) {
			last = s.at[st]
		}
	}
	return last
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func printResults(w io.Writer, r *results) {
	settleNote := "the default"
	if !r.Defaults {
		settleNote = "NOT the default 250ms"
	}
	fmt.Fprintf(w, "\nshellwatch latency and footprint (%d CPUs, Linux %s; figures from one run on a shared machine, not asserted)\n", r.CPUs, r.Kernel)
	fmt.Fprintf(w, "command: %s\n", r.Command)
	fmt.Fprintf(w, "agent:   %s\n", r.AgentCommand)
	fmt.Fprintf(w, "config:  agent.settle = %q (%s; the first event of a file is scanned at once, a change after it waits for settle),\n", r.Settle, settleNote)
	fmt.Fprintf(w, "         quarantine.min_severity high, journald on, 1 webhook on 127.0.0.1 (min_severity low, rate 0)\n")
	fmt.Fprintf(w, "files:   %d-byte PHP webshells (each unique; the targets are for files under %d KiB), written with open/write/close;\n", r.ShellBytes, r.Targets.MaxFileBytes>>10)
	fmt.Fprintf(w, "         latency counts from just after close() returns\n")

	fmt.Fprintf(w, "\n1) %d drops one at a time (the next after webhook + quarantine, +%s pause; %d warm-up drops not counted)\n",
		r.Single.Drops, fmtMs(r.PauseMs), r.Warmup)
	printStages(w, "close", r.Single.Stages, r.Targets)
	fmt.Fprintf(w, "   quarantined later than settle (%s): %d; not quarantined: %d; agent ready in %.2fs, stopped in %.2fs\n",
		r.Settle, r.Single.SlowerThanSettle, r.Single.NotQuarantined, r.Single.ReadySeconds, r.Single.StopSeconds)
	if rn := r.Renamed; rn != nil {
		fmt.Fprintf(w, "\n1b) control: %d drops written outside the root and renamed in (complete when they appear), one at a time\n", rn.Drops)
		printStages(w, "rename", rn.Stages, r.Targets)
		fmt.Fprintf(w, "   quarantined later than settle: %d; not quarantined: %d\n", rn.SlowerThanSettle, rn.NotQuarantined)
	}

	b := r.Burst
	fmt.Fprintf(w, "\n2) burst: %d webshells among %d benign files, written in %.2fs (%.0f files/s); last webshell gone after %.2fs\n",
		b.Shells, b.Benign, b.WriteSeconds, b.FilesPerSecond, b.LastQuarantinedSeconds)
	printStages(w, "close", b.Stages, r.Targets)
	fmt.Fprintf(w, "   quarantined later than settle: %d; not quarantined: %d; agent VmRSS %s, VmHWM %s after the burst\n",
		b.SlowerThanSettle, b.NotQuarantined, mib(b.AgentRSSKiB), mib(b.AgentHWMKiB))

	i := r.Idle
	fmt.Fprintf(w, "\n3) idle: %d directories (%d files), %d inotify watches; agent ready in %.2fs\n", i.Dirs, i.Files, i.Watches, i.ReadySeconds)
	fmt.Fprintf(w, "   %-28s %s (%.2f s CPU in %.1f s; one clock tick is %.2f %%)\n", "CPU, % of one core",
		fmt.Sprintf("%.2f %%", i.CPUPercent), i.CPUSeconds, i.Seconds, 100/clockTicks/i.Seconds)
	fmt.Fprintf(w, "   %-28s %s (max sampled %s)\n", "VmRSS at the end", mib(i.RSSKiB), mib(i.MaxRSSKiB))
	fmt.Fprintf(w, "   %-28s %s (peak since start, startup walk included)\n", "VmHWM", mib(i.HWMKiB))

	if len(r.UnexpectedAlerts) > 0 || r.BadSignatures > 0 || r.GoneOverflows > 0 {
		fmt.Fprintf(w, "\nother: alerts about other files %v; bad signatures %d; harness inotify overflows %d\n",
			r.UnexpectedAlerts, r.BadSignatures, r.GoneOverflows)
	}
	fmt.Fprintf(w, "\ntotal %.0fs; journald %s\n", r.Seconds, map[bool]string{true: "started by the benchmark", false: "already running"}[r.JournaldStartedHere])
}

func printStages(w io.Writer, from string, stages map[string]stageStats, t targets) {
	fmt.Fprintf(w, "   %-27s %5s %7s %9s %9s %9s   %s\n", "stage", "n", "missing", "p50", "p99", "max", "target p99")
	for st := range numStages {
		s := stages[stageNames[st]]
		target := t.AlertP99Ms
		if st == stageGone {
			target = t.QuarantineP99Ms
		}
		verdict := "within"
		if s.N == 0 || s.P99 > target || s.Missing > 0 {
			verdict = "OVER"
		}
		if s.N == 0 {
			verdict = "no data"
		}
		fmt.Fprintf(w, "   %-27s %5d %7d %9s %9s %9s   <= %-8s %s\n", from+" -> "+stageLabels[st], s.N, s.Missing,
			fmtMs(s.P50), fmtMs(s.P99), fmtMs(s.Max), fmtMs(target), verdict)
	}
}

func fmtMs(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func writeJSON(path string, r *results) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("results: %s\n", path)
	return nil
}
