package guard

import (
	"fmt"
	"path/filepath"
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
