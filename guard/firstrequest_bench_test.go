package guard

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/scanner"
)

// BenchmarkFirstRequestNewFile requests, once each, clean PHP scripts that
// just appeared in the root (written beside it, renamed in whole), through
// Debian's nginx and php-fpm, with prevention off and on; on, each first
// open is held while the guard's own scanners — the bundled rules and the
// PHP analyzer, as the daemon builds them — judge the file. It reports the
// p50 and p99 of that first request, and of the scan alone of the same
// kind of file: the goal is a first request within the scan time
// plus 1 ms.
func BenchmarkFirstRequestNewFile(b *testing.B) {
	needRoot(b)
	cfg := config.Default()
	cfg.Prevent.Enabled = true
	eng, err := scanner.NewEngine(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(eng.Close)
	root := webRoot(b)
	staging := filepath.Join(filepath.Dir(root), "staging")
	if err := os.Mkdir(staging, 0o755); err != nil {
		b.Fatal(err)
	}
	web := testenv.Web(b, testenv.WebOptions{Root: root})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	const files = 200
	page := func(i int) string {
		return fmt.Sprintf("<?php\n// page %d\n$n = isset($_GET['n']) ? (int)$_GET['n'] : 40;\necho \"OK-\".($n+2);\n", i)
	}
	serial := 0
	newFile := func() string {
		serial++
		name := fmt.Sprintf("p%06d.php", serial)
		tmp := filepath.Join(staging, name)
		if err := os.WriteFile(tmp, []byte(page(serial)), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(root, name)); err != nil {
			b.Fatal(err)
		}
		return name
	}
	get := func(name string) time.Duration {
		start := time.Now()
		resp, err := client.Get(web.URL + "/" + name)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(body) != "OK-42" {
			b.Fatalf("%s: %d %q %v", name, resp.StatusCode, body, err)
		}
		return time.Since(start)
	}
	report := func(b *testing.B, took []time.Duration, unit string) {
		slices.Sort(took)
		b.ReportMetric(float64(took[len(took)/2])/1e3, unit+"-p50-µs")
		b.ReportMetric(float64(took[len(took)*99/100])/1e3, unit+"-p99-µs")
	}
	get(newFile()) // php-fpm warm

	b.Run("scan-alone", func(b *testing.B) {
		var took []time.Duration
		for range b.N {
			for range files {
				p := filepath.Join(staging, "scan.php")
				if err := os.WriteFile(p, []byte(page(serial)), 0o644); err != nil {
					b.Fatal(err)
				}
				serial++
				start := time.Now()
				v := eng.Prevent.ScanContext(context.Background(), p)
				took = append(took, time.Since(start))
				if v.Err != nil || v.Flagged() {
					b.Fatalf("the page scans as %v %v", v.Err, v.Matches)
				}
			}
		}
		report(b, took, "scan")
	})
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("prevention=%v", on), func(b *testing.B) {
			var g *Guard
			if on {
				g = startGuard(b, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: time.Second,
					MinSeverity: finding.SeverityHigh, Workers: scanner.PreventWorkers,
					Scan: func(ctx context.Context, fd int, path string) Verdict {
						v := eng.Prevent.ScanDescriptor(ctx, fd, path)
						return Verdict{Severity: v.Severity, Err: v.Err, Detail: v}
					}})
			}
			var took []time.Duration
			for range b.N {
				for range files {
					took = append(took, get(newFile()))
				}
			}
			if on && g.Stats().DeadlineMisses > 0 {
				b.Errorf("%d first opens were allowed unjudged past the deadline", g.Stats().DeadlineMisses)
			}
			report(b, took, "first")
		})
	}
}
