package guard

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// degradedTest is a guard whose scans never end until the test does, so
// that every open of a new file is allowed at the deadline, with a
// Degraded report at most once per every.
// unblock ends the scans.
func degradedTest(t *testing.T, every time.Duration) (g *Guard, root string, rep *reports, web *opener, unblock func()) {
	t.Helper()
	root = webRoot(t)
	release := make(chan struct{})
	unblock = sync.OnceFunc(func() { close(release) })
	rep = &reports{}
	g = startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 50 * time.Millisecond,
		MinSeverity: finding.SeverityHigh, Report: rep.add, degradedEvery: every,
		Scan: func(context.Context, int, string) Verdict { <-release; return Verdict{} }})
	t.Cleanup(unblock) // before g.Stop, which waits for the scans
	return g, root, rep, startOpener(t, wwwData), unblock
}

// missDeadlines opens n new files, each allowed at the deadline.
func missDeadlines(t *testing.T, root string, web *opener, n int) {
	t.Helper()
	for i := range n {
		p := testenv.WriteFile(t, filepath.Join(root, fmt.Sprintf("miss%d.php", i)), "<?php echo 1;")
		if _, err := web.open(p); err != nil {
			t.Errorf("open past the deadline: %v, want allowed", err)
		}
	}
}

// degradedSums returns the number of Degraded reports and the deadline
// misses they told, in all.
func degradedSums(rep *reports) (n int, misses uint64) {
	for _, r := range rep.all() {
		if r.Kind == Degraded {
			n++
			misses += r.DeadlineMisses
		}
	}
	return n, misses
}

// Every open allowed unjudged reaches a report: the misses that come
// while a report was made lately are told in one report when the interval
// ends, not dropped.
func TestGuardDegradedReportsEveryCount(t *testing.T) {
	g, root, rep, web, _ := degradedTest(t, 3*time.Second)
	missDeadlines(t, root, web, 4)
	// Counted just after the answer, which the opener may hear first.
	testenv.Eventually(t, waitFor, "4 deadline misses counted", func() bool { return g.Stats().DeadlineMisses == 4 })
	testenv.Eventually(t, waitFor, "reports telling the 4 misses", func() bool {
		_, misses := degradedSums(rep)
		return misses == 4
	})
	if n, _ := degradedSums(rep); n != 2 {
		t.Errorf("%d Degraded reports for 4 misses within the interval, want 2: the first at once, the rest at its end (%+v)", n, rep.all())
	}
}

// Stop makes the report held back at once, and leaves no timer behind.
func TestGuardStopTellsTheDegradedReportHeldBack(t *testing.T) {
	before := testenv.RunningGoroutines()
	g, root, rep, web, unblock := degradedTest(t, time.Hour)
	missDeadlines(t, root, web, 3)
	testenv.Eventually(t, waitFor, "the first report", func() bool { n, _ := degradedSums(rep); return n == 1 })
	if n, misses := degradedSums(rep); n != 1 || misses != 1 {
		t.Fatalf("%d reports telling %d misses before Stop, want the first miss alone", n, misses)
	}
	unblock()
	g.Stop()
	if n, misses := degradedSums(rep); n != 2 || misses != 3 {
		t.Errorf("%d reports telling %d misses after Stop, want 2 telling 3: the one held back made at Stop", n, misses)
	}
	web.in.Close() // the opener ends, and its pipes with it
	web.cmd.Wait()
	testenv.NoGoroutinesLeft(t, before, waitFor)
}
