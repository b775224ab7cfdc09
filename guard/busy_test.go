package guard

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// A file that is slow to judge (YARA running into its timeout), which the
// web server opens again and again, is scanned once: its opens wait for
// that scan, so the other scanner is free, and a webshell opened meanwhile
// is refused. Once the slow scan has failed, the file's opens are allowed
// without another scan, counted, and a verdict the baseline learns
// meanwhile is still heard.
func TestGuardSlowFileDoesNotKeepScannersBusy(t *testing.T) {
	root := webRoot(t)
	slow := testenv.WriteFile(t, filepath.Join(root, "slow.php"), "<?php echo 'padding';")
	release := make(chan struct{})
	unblock := sync.OnceFunc(func() { close(release) })
	var slowScans atomic.Int32
	var knownBad atomic.Bool
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 2 * time.Second,
		MinSeverity: finding.SeverityHigh, Workers: 2, racyWindow: time.Nanosecond,
		Known: func(path string, _ Identity) (Verdict, bool) {
			// The normal pipeline's verdict, once it has one.
			return Verdict{Severity: finding.SeverityCritical}, path == slow && knownBad.Load()
		},
		Scan: func(ctx context.Context, fd int, path string) Verdict {
			if path != slow {
				return judge(ctx, fd, path)
			}
			slowScans.Add(1)
			<-release // as YARA would be, until its timeout
			return Verdict{Err: errors.New("yara timeout")}
		}})
	t.Cleanup(unblock) // before g.Stop, which waits for the scans
	a, b, web := startOpener(t, wwwData), startOpener(t, wwwData), startOpener(t, wwwData)

	const rounds = 3
	for round := range rounds {
		a.ask(slow)
		b.ask(slow)
		for _, o := range []*opener{a, b} {
			testenv.Eventually(t, waitFor, "the open of slow.php held", func() bool { return testenv.InFanotify(o.cmd.Process.Pid) })
		}
		shell := testenv.WriteFile(t, filepath.Join(root, fmt.Sprintf("shell%d.php", round)), "<?php SHELL ?>")
		asked := time.Now()
		if got, err := web.open(shell); err == nil || !strings.Contains(err.Error(), "operation not permitted") {
			t.Errorf("round %d: a webshell opened while slow.php is opened again and again: read %q, err %v; want EPERM", round, got, err)
		}
		t.Logf("round %d: the webshell's open answered %s after it was asked", round, time.Since(asked).Round(time.Microsecond))
		for _, o := range []*opener{a, b} {
			if _, err := o.answer(); err != nil {
				t.Errorf("round %d: slow.php: %v, want allowed at the deadline", round, err)
			}
		}
	}
	if n := slowScans.Load(); n != 1 {
		t.Errorf("slow.php scanned %d times for %d opens, want once: its opens wait for the scan under way", n, 2*rounds)
	}

	// The scan fails: slow.php is not scanned again, its opens are
	// allowed at once (not at the deadline), counted.
	unblock()
	testenv.Eventually(t, waitFor, "the slow scan's failure", func() bool { return g.Stats().ScanErrors == 1 })
	before := g.Stats()
	for range 3 {
		if _, err := a.open(slow); err != nil {
			t.Errorf("slow.php after its scan failed: %v, want allowed", err)
		}
	}
	// Counted just after the answer, which the opener may hear first.
	testenv.Eventually(t, waitFor, "3 opens counted unjudgeable", func() bool { return g.Stats().Unjudgeable-before.Unjudgeable >= 3 })
	st := g.Stats()
	if n := slowScans.Load(); n != 1 || st.Unjudgeable-before.Unjudgeable != 3 || st.DeadlineMisses != before.DeadlineMisses {
		t.Errorf("after the failed scan, 3 opens: %d scans of slow.php in all, stats %+v (before %+v); want 1 scan, 3 more unjudgeable, no deadline miss",
			n, st, before)
	}
	// The baseline is still asked.
	knownBad.Store(true)
	if _, err := a.open(slow); err == nil {
		t.Errorf("slow.php once the baseline knows it flagged: served")
	}
}

// One scan answers every open of the same file that waited for it, by its
// verdict.
func TestGuardOneScanAnswersEveryWaitingOpen(t *testing.T) {
	root := webRoot(t)
	shell := testenv.WriteFile(t, filepath.Join(root, "x.php"), "<?php SHELL ?>")
	release := make(chan struct{})
	unblock := sync.OnceFunc(func() { close(release) })
	var scans atomic.Int32
	var rep reports
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: waitFor,
		MinSeverity: finding.SeverityHigh, Workers: 2, Report: rep.add,
		Scan: func(ctx context.Context, fd int, path string) Verdict {
			scans.Add(1)
			<-release
			return judge(ctx, fd, path)
		}})
	t.Cleanup(unblock)
	var webs []*opener
	for range 3 {
		w := startOpener(t, wwwData)
		w.ask(shell)
		webs = append(webs, w)
	}
	testenv.Eventually(t, waitFor, "three opens waiting for one scan", func() bool { return waiting(g) == 3 })
	unblock()
	for i, w := range webs {
		if got, err := w.answer(); err == nil {
			t.Errorf("open %d: read %q, want refused by the one scan's verdict", i, got)
		}
	}
	if n := scans.Load(); n != 1 {
		t.Errorf("%d scans for three opens of one file, want 1", n)
	}
	if st := g.Stats(); st.Denied != 3 || st.DeadlineMisses != 0 {
		t.Errorf("stats %+v, want 3 denied, none at the deadline", st)
	}
}

// waiting is the number of events g holds in flights.
func waiting(g *Guard) int {
	g.flights.mu.Lock()
	defer g.flights.mu.Unlock()
	return g.flights.waiting
}
