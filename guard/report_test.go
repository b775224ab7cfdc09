package guard

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// A flood of refusals of one file, while the reporter is stuck, never
// fills the report queue: the refusal of another file after it is still
// told. One report a file.
func TestGuardFloodOfRefusalsLeavesRoomForAnother(t *testing.T) {
	root := webRoot(t)
	one := testenv.WriteFile(t, filepath.Join(root, "one.php"), "<?php SHELL ?>")
	two := testenv.WriteFile(t, filepath.Join(root, "two.php"), "<?php SHELL ?>")
	hold := make(chan struct{})
	unhold := sync.OnceFunc(func() { close(hold) })
	var rep reports
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Scan: judge,
		Report: func(r Report) { <-hold; rep.add(r) }})
	t.Cleanup(unhold) // before g.Stop, which waits for the reporter
	web := startOpener(t, wwwData)
	const flood = reportQueue + 10
	for i := range flood {
		if _, err := web.open(one); err == nil {
			t.Fatalf("open %d of a flagged file served", i)
		}
	}
	if _, err := web.open(two); err == nil {
		t.Fatalf("another flagged file served")
	}
	unhold()
	testenv.Eventually(t, waitFor, "the refusal of two.php told", func() bool {
		for _, r := range rep.all() {
			if r.Kind == Blocked && r.Path == two {
				return true
			}
		}
		return false
	})
	g.Stop() // every report handed on
	if got := rep.all(); len(got) != 2 || got[0].Path != one || got[1].Path != two {
		t.Errorf("reports %+v, want one.php's then two.php's", got)
	}
	if st := g.Stats(); st.Denied != flood+1 {
		t.Errorf("stats %+v, want %d denied", st, flood+1)
	}
}

// An opener whose ids cannot be read (its /proc hidden, or the process
// gone: here a /proc with no process in it) is held, refused a flagged
// file, and reported with its ids unknown: never as uid 0.
func TestGuardReportsUnreadableOpenerAsUnknown(t *testing.T) {
	root := webRoot(t)
	shell := testenv.WriteFile(t, filepath.Join(root, "x.php"), "<?php SHELL ?>")
	var rep reports
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Scan: judge, Report: rep.add, proc: t.TempDir()})
	web := startOpener(t, wwwData)
	if _, err := web.open(shell); err == nil {
		t.Errorf("a flagged file served to an opener whose ids cannot be read")
	}
	g.Stop()
	got := rep.all()
	if len(got) != 1 || got[0].Kind != Blocked || got[0].UIDsKnown || got[0].PID != int32(web.cmd.Process.Pid) {
		t.Errorf("reports %+v, want one Blocked of pid %d with its ids unknown", got, web.cmd.Process.Pid)
	}
}
