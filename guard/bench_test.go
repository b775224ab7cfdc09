package guard

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// BenchmarkOpens opens 10,000 small files of a root from another process,
// as root (never held: the cost is the event and the /proc read) and as
// www-data (held; the files already judged, so answered from the cache),
// with prevention off and on. It reports the time of the burst and the
// p50 and p99 of one open.
func BenchmarkOpens(b *testing.B) {
	needRoot(b)
	root := webRoot(b)
	files := filepath.Join(root, "files")
	for i := range 10000 {
		testenv.WriteFile(b, filepath.Join(files, fmt.Sprintf("f%05d.php", i)), "<?php echo 1;\n")
	}
	testenv.Searchable(b, files)
	for _, who := range []struct {
		name string
		uid  uint32
	}{{"root", 0}, {"www-data", wwwData}} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/prevention=%v", who.name, on), func(b *testing.B) {
				if on {
					startGuard(b, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: time.Second,
						MinSeverity: finding.SeverityHigh, Scan: judge, Workers: 2})
				}
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
				run() // the first pass judges every file (www-data) and warms the page cache
				b.ResetTimer()
				var p50, p99, total time.Duration
				for range b.N {
					a, c, t := run()
					p50, p99, total = p50+a, p99+c, total+t
				}
				n := time.Duration(b.N)
				b.ReportMetric(float64(total/n)/1e6, "ms/10k-opens")
				b.ReportMetric(float64(p50/n)/1e3, "p50-µs")
				b.ReportMetric(float64(p99/n)/1e3, "p99-µs")
			})
		}
	}
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
						g = startGuard(b, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: time.Second,
							MinSeverity: finding.SeverityHigh, Scan: judge, Workers: 2})
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
