package guard

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"golang.org/x/sys/unix"
)

// The web server's user is refused a flagged file and served a clean one;
// root, never held, is served both; the refusal is reported, once, with
// the opener.
func TestGuardDeniesFlaggedToWebUserOnly(t *testing.T) {
	root := webRoot(t)
	shell := testenv.WriteFile(t, filepath.Join(root, "up", "x.php"), "<?php SHELL ?>")
	clean := testenv.WriteFile(t, filepath.Join(root, "index.php"), "<?php echo 1;")
	var rep reports
	var scans atomic.Int32
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Report: rep.add,
		Scan: countedJudge(&scans)})
	web := startOpener(t, wwwData)

	if got, err := web.open(clean); err != nil || got != "<?php echo 1;" {
		t.Errorf("www-data opening a clean file: %q %v", got, err)
	}
	for range 3 {
		if got, err := web.open(shell); err == nil || !strings.Contains(err.Error(), "operation not permitted") {
			t.Errorf("www-data opening a flagged file: read %q, err %v; want EPERM", got, err)
		}
	}
	if scans.Load() != 2 {
		t.Errorf("%d scans for two files opened four times: the verdicts are not cached", scans.Load())
	}
	out, err := exec.Command("cat", shell).CombinedOutput()
	if err != nil || string(out) != "<?php SHELL ?>" {
		t.Errorf("root's cat of the flagged file: %q %v; root is never held", out, err)
	}
	testenv.Eventually(t, waitFor, "a Blocked report", func() bool { return len(rep.all()) > 0 })
	r := rep.all()[0]
	// The first refusal's report comes from the scan, or from the cache
	// when the opener's next try is answered before the scanner's
	// goroutine hands its report on (the answer is written first): one
	// report either way.
	if r.Kind != Blocked || r.Path != shell || (r.From != "scan" && r.From != "cache") || r.Verdict.Severity != finding.SeverityCritical ||
		r.PID != int32(web.cmd.Process.Pid) || !r.UIDsKnown || r.UIDs[1] != wwwData || !strings.HasSuffix(r.Exe, "/opener") {
		t.Errorf("report %+v", r)
	}
	// The counts follow the answers the opener heard.
	var st Stats
	testenv.Eventually(t, waitFor, "4 opens held", func() bool { st = g.Stats(); return st.Held >= 4 })
	if st.Denied != 3 || st.Held != 4 || st.Marks != 2 || st.DeadlineMisses != 0 {
		t.Errorf("stats %+v: want 3 denied, 4 held, 2 folders marked", st)
	}
	g.Stop() // every report handed on
	if n := len(rep.all()); n != 1 {
		t.Errorf("%d reports for one file refused three times, want 1", n)
	}
}

// A file the baseline knows, by its identity, is answered without a scan;
// once it changes, it is scanned.
func TestGuardTrustsTheBaselineByIdentity(t *testing.T) {
	root := webRoot(t)
	known := testenv.WriteFile(t, filepath.Join(root, "known.php"), "<?php SHELL ?>")
	var st syscall.Stat_t
	if err := syscall.Stat(known, &st); err != nil {
		t.Fatal(err)
	}
	var scans atomic.Int32
	startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, racyWindow: time.Nanosecond, // the file is new: the baseline's word is the subject here
		Known: func(path string, id Identity) (Verdict, bool) {
			// Clean, says the baseline, of this inode as it was.
			return Verdict{Severity: finding.SeverityNone}, path == known && id.Inode == st.Ino && id.Size == st.Size && id.MTime == st.Mtim.Nano()
		},
		Scan: countedJudge(&scans)})
	web := startOpener(t, wwwData)
	if _, err := web.open(known); err != nil || scans.Load() != 0 {
		t.Errorf("a file the baseline knows clean: err %v after %d scans, want allowed unscanned", err, scans.Load())
	}
	testenv.WriteFile(t, known, "<?php SHELL; ?>")
	if _, err := web.open(known); err == nil || scans.Load() != 1 {
		t.Errorf("the same path rewritten: err %v after %d scans, want scanned and refused", err, scans.Load())
	}
}

// Past the deadline an open is allowed, counted and reported degraded;
// the web server never waits on a stuck scan longer than that.
func TestGuardDeadlineAllows(t *testing.T) {
	root := webRoot(t)
	slow := testenv.WriteFile(t, filepath.Join(root, "slow.php"), "<?php SHELL ?>")
	release := make(chan struct{})
	defer close(release)
	var rep reports
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 50 * time.Millisecond,
		MinSeverity: finding.SeverityHigh, Report: rep.add,
		Scan: func(ctx context.Context, fd int, path string) Verdict { <-release; return Verdict{} }})
	web := startOpener(t, wwwData)
	if got, err := web.open(slow); err != nil || got != "<?php SHELL ?>" {
		t.Errorf("an open past the deadline: %q %v, want allowed", got, err)
	}
	// The miss is counted just after the answer the opener heard.
	var st Stats
	testenv.Eventually(t, waitFor, "the deadline miss counted", func() bool { st = g.Stats(); return st.DeadlineMisses >= 1 })
	if st.DeadlineMisses != 1 || st.Allowed != 1 {
		t.Errorf("stats %+v, want one deadline miss, allowed", st)
	}
	testenv.Eventually(t, waitFor, "a Degraded report", func() bool {
		for _, r := range rep.all() {
			if r.Kind == Degraded && r.DeadlineMisses == 1 {
				return true
			}
		}
		return false
	})
}

// A folder made after the start, deep, is guarded as soon as it exists,
// its files too.
func TestGuardMarksNewFolders(t *testing.T) {
	root := webRoot(t)
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Scan: judge})
	deep := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitFor, "a, a/b and a/b/c marked", func() bool { return marked(t, g, deep) })
	shell := testenv.WriteFile(t, filepath.Join(deep, "x.php"), "<?php SHELL ?>")
	web := startOpener(t, wwwData)
	if _, err := web.open(shell); err == nil {
		t.Errorf("a shell in a new folder was served")
	}
	// A tree moved in from outside the root, files and all.
	outside := filepath.Join(filepath.Dir(root), "outside")
	testenv.WriteFile(t, filepath.Join(outside, "d", "y.php"), "<?php SHELL ?>")
	testenv.Searchable(t, filepath.Join(outside, "d"))
	if err := os.Rename(outside, filepath.Join(root, "moved")); err != nil {
		t.Fatal(err)
	}
	// Marked by the kernel's own account (the group's fdinfo): the count
	// of marks also counts folders marked again, and passed before the
	// moved tree was marked.
	testenv.Eventually(t, waitFor, "the moved tree marked", func() bool { return marked(t, g, filepath.Join(root, "moved", "d")) })
	if _, err := web.open(filepath.Join(root, "moved", "d", "y.php")); err == nil {
		t.Errorf("a shell in a folder moved into the root was served")
	}
}

// A script the web server opens while someone writes it is refused, and
// judged again once written.
func TestGuardRefusesScriptsBeingWritten(t *testing.T) {
	root := webRoot(t)
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Scan: judge,
		IsScript: func(p string) bool { return strings.HasSuffix(p, ".php") }})
	p := filepath.Join(root, "x.php")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("<?php echo 1; ")
	data := testenv.WriteFile(t, filepath.Join(root, "data.txt"), "x")
	df, err := os.OpenFile(data, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	web := startOpener(t, wwwData)
	if _, err := web.open(p); err == nil {
		t.Errorf("a script open for writing was served")
	}
	if got, err := web.open(data); err != nil || got != "x" {
		t.Errorf("a data file open for writing: %q %v, want served", got, err)
	}
	f.WriteString("?>")
	f.Close()
	if got, err := web.open(p); err != nil || got != "<?php echo 1; ?>" {
		t.Errorf("the script once written: %q %v", got, err)
	}
	if g.Stats().Writing != 1 {
		t.Errorf("stats %+v, want one refusal while writing", g.Stats())
	}
}

// Stop lets every held open through at once: the kernel allows what is
// pending when the group closes.
func TestGuardStopFailsOpen(t *testing.T) {
	root := webRoot(t)
	p := testenv.WriteFile(t, filepath.Join(root, "x.php"), "<?php SHELL ?>")
	block := make(chan struct{})
	needRoot(t)
	g, err := Start(Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: time.Hour,
		MinSeverity: finding.SeverityHigh,
		Scan: func(context.Context, int, string) Verdict {
			<-block
			return Verdict{Severity: finding.SeverityCritical}
		}})
	if err != nil {
		t.Fatal(err)
	}
	web := startOpener(t, wwwData)
	web.ask(p)
	testenv.Eventually(t, waitFor, "the open held", func() bool { return testenv.InFanotify(web.cmd.Process.Pid) })
	stopped := make(chan struct{})
	go func() { g.Stop(); close(stopped) }()
	if got, err := web.answer(); err != nil || got != "<?php SHELL ?>" {
		t.Errorf("held open after Stop: %q %v, want allowed", got, err)
	}
	close(block)
	<-stopped
}

// The race TestPreventionRace found: the daemon's own scan of a script just
// created, still empty, puts it in the baseline as clean; the web server
// opens it while its writer is still writing. Neither the baseline nor the
// cache lets a script through while someone writes it.
func TestGuardKnownCleanButBeingWritten(t *testing.T) {
	root := webRoot(t)
	startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Scan: judge,
		Known:    func(string, Identity) (Verdict, bool) { return Verdict{Severity: finding.SeverityNone}, true },
		IsScript: func(p string) bool { return strings.HasSuffix(p, ".php") }})
	p := filepath.Join(root, "x.php")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	web := startOpener(t, wwwData)
	if _, err := web.open(p); err == nil {
		t.Errorf("an empty script known clean, open for writing, was served")
	}
	f.WriteString("<?php echo 1;")
	f.Close()
	if got, err := web.open(p); err != nil || got != "<?php echo 1;" {
		t.Errorf("once written and known clean: %q %v", got, err)
	}
}

// marked reports whether the permission group holds an inode mark on dir,
// as /proc/self/fdinfo of its descriptor lists them ("fanotify ino:HEX
// sdev:HEX ...").
func marked(t *testing.T, g *Guard, dir string) bool {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return false
	}
	var info []byte
	err := rawFD(g.perm, func(fd int) error {
		var err error
		info, err = os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(info), fmt.Sprintf("fanotify ino:%x ", st.Ino))
}

// A scan that gives up at the deadline (its context's) allows the open as
// the deadline's timer would: counted as a deadline miss, and
// prevention_degraded told, whichever of the two answers first. It was
// once counted as a scan error, with no Degraded report: a shell served
// under load with nothing said but a log line.
func TestGuardScanCutByDeadlineIsADeadlineMiss(t *testing.T) {
	root := webRoot(t)
	slow := testenv.WriteFile(t, filepath.Join(root, "slow.php"), "<?php SHELL ?>")
	var rep reports
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 20 * time.Millisecond,
		MinSeverity: finding.SeverityHigh, Report: rep.add,
		Scan: func(ctx context.Context, fd int, path string) Verdict { <-ctx.Done(); return Verdict{Err: ctx.Err()} }})
	web := startOpener(t, wwwData)
	if _, err := web.open(slow); err != nil {
		t.Fatalf("an open whose scan ran out of time: %v, want allowed", err)
	}
	var st Stats
	testenv.Eventually(t, waitFor, "the deadline miss counted", func() bool { st = g.Stats(); return st.DeadlineMisses >= 1 })
	if st.DeadlineMisses != 1 || st.Unjudgeable != 0 {
		t.Errorf("stats %+v, want one deadline miss", st)
	}
	testenv.Eventually(t, waitFor, "a Degraded report", func() bool {
		for _, r := range rep.all() {
			if r.Kind == Degraded && r.DeadlineMisses == 1 {
				return true
			}
		}
		return false
	})
}

// A denial the baseline's record made is remembered with its Detail: the
// refusals the cache answers next are told with the rules that judged the
// file, as a scan's are.
func TestGuardBaselineDenialKeepsItsDetail(t *testing.T) {
	root := webRoot(t)
	bad := testenv.WriteFile(t, filepath.Join(root, "left.php"), "<?php SHELL ?>")
	var rep reports
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Report: rep.add, racyWindow: time.Nanosecond,
		Known: func(path string, _ Identity) (Verdict, bool) {
			return Verdict{Severity: finding.SeverityCritical, Detail: "the record's rules"}, path == bad
		},
		Scan: func(context.Context, int, string) Verdict {
			t.Error("a file the baseline knows was scanned")
			return Verdict{}
		}})
	web := startOpener(t, wwwData)
	if _, err := web.open(bad); err == nil {
		t.Fatal("a file the baseline judged critical was opened")
	}
	var st unix.Stat_t
	if err := unix.Stat(bad, &st); err != nil {
		t.Fatal(err)
	}
	if v, ok := g.cache.get(identityOf(&st)); !ok || v.Detail != "the record's rules" {
		t.Errorf("cached %+v (%v): want the baseline's denial with its detail", v, ok)
	}
	g.Stop()
	if got := rep.all(); len(got) != 1 || got[0].From != "baseline" || got[0].Verdict.Detail != "the record's rules" {
		t.Errorf("reports %+v: want one refusal by the baseline, with its detail", got)
	}
}

// A web server's open that races the move of a shell out of the root
// finishes on the file in the vault, and the kernel asks the vault
// folder's marks, not the root's: the vault is marked, and a held user's
// open of a file there is refused, whatever the file holds; root's is
// allowed.
func TestGuardRefusesHeldOpensInTheVault(t *testing.T) {
	root := webRoot(t)
	vault := filepath.Join(filepath.Dir(root), "vault")
	if err := os.Mkdir(vault, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.Searchable(t, vault)
	moved := testenv.WriteFile(t, filepath.Join(vault, "20261202T000000-abc"), "<?php echo 1; ?>")
	var scans atomic.Int32
	startGuard(t, Options{Roots: []string{root}, Vaults: []string{vault}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Scan: countedJudge(&scans)})
	web := startOpener(t, wwwData)
	if _, err := web.open(moved); err == nil {
		t.Error("www-data opened a file in the vault")
	}
	if _, err := startOpener(t, 0).open(moved); err != nil {
		t.Errorf("root could not open a file in the vault: %v", err)
	}
	if n := scans.Load(); n != 0 {
		t.Errorf("%d scans of a vault file, want none: refused as it is", n)
	}
}
