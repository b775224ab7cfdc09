package guard

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// BenchmarkOpens opens 10,000 small files of a root from another process,
// as root (never held) and as www-data (held), with prevention off and on.
// With prevention on it reports three bursts: "cold-ms", files the
// baseline does not know (a fresh guard: every first open a round trip
// through it, root's allowed at once, www-data's judged); "first-ms",
// the first burst of a fresh guard whose baseline knows the files clean,
// once its start's pass has trusted them ("pretrust-ms" is that pass);
// and the bursts after it (ms/10k-opens, p50, p99): what the same burst
// costs again. "off" is the same burst without a guard.
func BenchmarkOpens(b *testing.B) {
	root, files := burstFiles(b)
	for _, who := range []struct {
		name string
		uid  uint32
	}{{"root", 0}, {"www-data", wwwData}} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/prevention=%v", who.name, on), func(b *testing.B) {
				o := startOpener(b, who.uid)
				run := func() (p50, p99, total time.Duration) {
					o.ask("bench " + files)
					got, err := o.answer()
					if err != nil {
						b.Fatal(err)
					}
					fmt.Sscan(got, &p50, &p99, &total)
					return
				}
				run() // warms the page cache
				var g *Guard
				var cold, first, pretrust time.Duration
				if on {
					unknown := startGuard(b, benchGuard(root, false))
					_, _, cold = run()
					unknown.Stop()
					g, pretrust = startPretrusted(b, root)
					_, _, first = run()
				}
				events := guardEvents(g)
				b.ResetTimer()
				var p50, p99, total time.Duration
				for range b.N {
					a, c, t := run()
					p50, p99, total = p50+a, p99+c, total+t
				}
				n := time.Duration(b.N)
				if on {
					b.ReportMetric(float64(cold)/1e6, "cold-ms")
					b.ReportMetric(float64(pretrust)/1e6, "pretrust-ms")
					b.ReportMetric(float64(first)/1e6, "first-ms")
					b.ReportMetric(float64(guardEvents(g)-events)/float64(b.N), "events/burst")
				}
				b.ReportMetric(float64(total/n)/1e6, "ms/10k-opens")
				b.ReportMetric(float64(p50/n)/1e3, "p50-µs")
				b.ReportMetric(float64(p99/n)/1e3, "p99-µs")
			})
		}
	}
}

// burstFiles makes a root with 10,000 small scripts in its folder files,
// which www-data can reach.
func burstFiles(b *testing.B) (root, files string) {
	needRoot(b)
	root = webRoot(b)
	files = filepath.Join(root, "files")
	for i := range 10000 {
		testenv.WriteFile(b, filepath.Join(files, fmt.Sprintf("f%05d.php", i)), "<?php echo 1;\n")
	}
	testenv.Searchable(b, files)
	return root, files
}

// guardEvents is the number of events g has read; 0 without a guard.
func guardEvents(g *Guard) uint64 {
	if g == nil {
		return 0
	}
	return g.Stats().Events
}

// benchGuard is the benchmarks' guard over root: every file is in the
// baseline, clean, as it is in the agent once the baseline is built —
// or, known false, none is.
func benchGuard(root string, known bool) Options {
	return Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: time.Second,
		MinSeverity: finding.SeverityHigh, Scan: judge, Workers: 2,
		Known: func(string, Identity) (Verdict, bool) { return Verdict{Severity: finding.SeverityNone}, known }}
}

// startPretrusted starts a guard whose baseline knows root's files clean,
// and waits for its start's pass to trust them; it returns how long the
// pass took.
func startPretrusted(b *testing.B, root string) (*Guard, time.Duration) {
	start := time.Now()
	g := startGuard(b, benchGuard(root, true))
	for !g.Stats().Pretrusted {
		if time.Since(start) > time.Minute {
			b.Fatal("the start's pass over the root did not end")
		}
		time.Sleep(time.Millisecond)
	}
	return g, time.Since(start)
}

// BenchmarkVerifiedRequest requests a PHP script already judged clean
// through Debian's nginx and php-fpm (pool user www-data) on loopback,
// with prevention off and on, and PHP's OPcache on (Debian's default:
// php-fpm stats a cached script and opens it only when it changed) and off
// (php-fpm opens the script at every request, and the guard answers each
// open from its cache). It reports the p50 and p99 of one request; the
// difference between prevention on and off is what prevention adds.
func BenchmarkVerifiedRequest(b *testing.B) {
	needRoot(b)
	for _, opcache := range []bool{true, false} {
		// Not "opcache=…": the name goes into the temp dir's path, and
		// php-fpm's configuration cannot hold a path with "=".
		b.Run(map[bool]string{true: "opcache-on", false: "opcache-off"}[opcache], func(b *testing.B) {
			root := webRoot(b)
			testenv.WriteFile(b, filepath.Join(root, "page.php"), "<?php echo \"OK-\".(40+2);\n")
			web := testenv.Web(b, testenv.WebOptions{Root: root, NoOPcache: !opcache})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for _, on := range []bool{false, true} {
				b.Run(fmt.Sprintf("prevention=%v", on), func(b *testing.B) {
					var g *Guard
					if on {
						g = startGuard(b, benchGuard(root, true))
					}
					requestLatencies(b, client, web.URL+"/page.php", "OK-42")
					if on && !opcache && g.Stats().Events == 0 {
						b.Fatal("prevention on, OPcache off, and php-fpm's opens never reached the guard")
					}
				})
			}
		})
	}
}

// requestLatencies requests url 2,000 times per round, one at a time,
// after one request that warms php-fpm (and has the guard judge the
// script), and reports the p50 and p99 of one request.
func requestLatencies(b *testing.B, client *http.Client, url, want string) {
	get := func() time.Duration {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(body) != want {
			b.Fatalf("%s: %d %q %v", url, resp.StatusCode, body, err)
		}
		return time.Since(start)
	}
	const requests = 2000
	get()
	b.ResetTimer()
	var p50, p99 time.Duration
	for range b.N {
		took := make([]time.Duration, requests)
		for i := range took {
			took[i] = get()
		}
		slices.Sort(took)
		p50 += took[requests/2]
		p99 += took[requests*99/100]
	}
	b.StopTimer()
	n := time.Duration(b.N)
	b.ReportMetric(float64(p50/n)/1e3, "p50-µs")
	b.ReportMetric(float64(p99/n)/1e3, "p99-µs")
}

// BenchmarkRootBurst is the burst: root reads the 10,000 small
// files of a root with find(1) and cat(1), one cat per file ("each", the
// way `find -exec cat {} \;` does it) and one cat for many files
// ("batched", `-exec cat {} +`), with prevention off and on. Root is
// never held. With prevention on: "cold-ms", files the baseline does not
// know (each open a round trip through the guard); "first-ms", the first
// burst after a guard's start whose baseline knows them clean (trusted
// by its start's pass); "ms/10k-files", the bursts after it.
func BenchmarkRootBurst(b *testing.B) {
	root, files := burstFiles(b)
	for _, mode := range []struct{ name, end string }{{"each", ";"}, {"batched", "+"}} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/prevention=%v", mode.name, on), func(b *testing.B) {
				burst := func() time.Duration {
					start := time.Now()
					cmd := exec.Command("find", files, "-type", "f", "-exec", "cat", "{}", mode.end)
					var stderr bytes.Buffer
					cmd.Stdout, cmd.Stderr = io.Discard, &stderr
					if err := cmd.Run(); err != nil {
						b.Fatalf("find: %v: %s", err, stderr.Bytes())
					}
					return time.Since(start)
				}
				burst() // warms the page cache and the dentries
				var g *Guard
				var cold, first time.Duration
				if on {
					unknown := startGuard(b, benchGuard(root, false))
					cold = burst()
					unknown.Stop()
					g, _ = startPretrusted(b, root)
					first = burst()
				}
				events := guardEvents(g)
				b.ResetTimer()
				var total time.Duration
				for range b.N {
					total += burst()
				}
				if on {
					b.ReportMetric(float64(cold)/1e6, "cold-ms")
					b.ReportMetric(float64(first)/1e6, "first-ms")
					b.ReportMetric(float64(guardEvents(g)-events)/float64(b.N), "events/burst")
				}
				b.ReportMetric(float64(total/time.Duration(b.N))/1e6, "ms/10k-files")
			})
		}
	}
}
