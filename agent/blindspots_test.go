package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"golang.org/x/sys/unix"
)

// The attacker's own file stays new (issue 10, item 12): a clean file
// dropped while the agent runs, and a shell appended to it after the
// agent's short memory of new files is gone (here: a restart; in the
// attack, ten minutes), is moved to the vault like a new file, not only
// alerted.
func TestAppearedFileStaysNew(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.waitReconciled()
	p := h.write("notes.php", benignPHP)
	testenv.Eventually(t, waitFor, "notes.php recorded as appeared", func() bool {
		r := h.agent.baseline.Record(p)
		return r != nil && r.Appeared
	})
	h.stop()

	h.start()
	h.waitReconciled()
	if h.agent.baseline.IsBorn(p, 0, 0, h.agent.startedAt) {
		t.Fatal("the restarted agent still remembers notes.php as seen appearing: the test proves nothing")
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(systemShell); err != nil {
		t.Fatal(err)
	}
	f.Close()
	a := h.recv.waitAlert(p, alert.KindDetection)
	h.checkQuarantined(a, p, benignPHP+systemShell)
}

// A clean file hard-linked into the root from outside it, then rewritten
// through the outside name (issue 10, item 1): inotify reports the write
// only in the outside folder. The link raises hard_link, the re-check
// finds the rewrite, and the shell leaves the root while the outside name
// keeps its content, mode and owner.
func TestHardLinkWriteThrough(t *testing.T) {
	h := newHarness(t)
	h.agentConfig = `recheck_interval = "100ms"` + "\n" + `sweep_interval = "0"`
	h.start()
	h.waitReconciled()
	outside := filepath.Join(h.outside, "notes.php")
	if err := os.WriteFile(outside, []byte(benignPHP), 0o640); err != nil {
		t.Fatal(err)
	}
	inRoot := filepath.Join(h.www, "notes.php")
	if err := os.Link(outside, inRoot); err != nil {
		t.Fatal(err)
	}
	a := h.recv.waitAlert(inRoot, alert.KindHardLink)
	if a.Severity != finding.SeverityMedium || !strings.Contains(a.Detail, "2 hard links") {
		t.Errorf("hard_link alert: %s %q", a.Severity, a.Detail)
	}
	f, err := os.OpenFile(outside, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(systemShell); err != nil {
		t.Fatal(err)
	}
	f.Close()
	d := h.recv.waitAlert(inRoot, alert.KindDetection)
	if !strings.Contains(d.Detail, "no file event") {
		t.Errorf("detection detail %q does not say the change came with no file event", d.Detail)
	}
	if d.Action == nil || d.Action.Taken != alert.ActionQuarantined {
		t.Fatalf("the shell was not quarantined: %+v", d.Action)
	}
	if _, err := os.Lstat(inRoot); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the shell's name is still in the root: %v", err)
	}
	got, err := os.ReadFile(outside)
	fi, _ := os.Stat(outside)
	if err != nil || string(got) != benignPHP+systemShell || fi.Mode().Perm() != 0o640 {
		t.Errorf("the outside name was changed: %v, mode %v, %q", err, fi.Mode(), got)
	}
}

// A file created, then written through a shared mapping after its
// descriptor is closed (issue 10, item 2): no write(2), no event after the
// close. The re-check of files that appeared lately finds it.
func TestMmapWriteToNewFile(t *testing.T) {
	h := newHarness(t)
	h.agentConfig = `recheck_interval = "100ms"` + "\n" + `sweep_interval = "0"`
	h.start()
	h.waitReconciled()
	p := filepath.Join(h.www, "cache.php")
	m := mapNewFile(t, p, len(systemShell))
	testenv.Eventually(t, waitFor, "the empty file recorded", func() bool { return h.agent.baseline.Record(p) != nil })
	copy(m, systemShell)
	if err := unix.Msync(m, unix.MS_SYNC); err != nil {
		t.Fatal(err)
	}
	d := h.recv.waitAlert(p, alert.KindDetection)
	if d.Action == nil || d.Action.Taken != alert.ActionQuarantined {
		t.Fatalf("the shell was not quarantined: %+v", d.Action)
	}
}

// An old file, there since the first baseline, rewritten through a shared
// mapping: not on the re-check list, found by the sweep (called here as
// its ticker would).
func TestSweepFindsMmapWriteToOldFile(t *testing.T) {
	h := newHarness(t)
	h.agentConfig = `recheck_interval = "0"` + "\n" + `sweep_interval = "0"`
	p := h.write("index.php", strings.Repeat(" ", len(systemShell)))
	h.start()
	h.waitReconciled()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, len(systemShell), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	f.Close() // its close raises its event now, before any byte changes
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	time.Sleep(100 * time.Millisecond) // the close's event judged, clean
	copy(m, systemShell)
	if err := unix.Msync(m, unix.MS_SYNC); err != nil {
		t.Fatal(err)
	}
	// The sweep leaves a change of the last settle intervals to its event.
	time.Sleep(2*50*time.Millisecond + time.Second + 100*time.Millisecond)
	if _, ok := h.recv.find(p, alert.KindDetection); ok {
		t.Fatal("the mapped write raised an event after all: the test proves nothing")
	}
	h.agent.sweep(context.Background())
	d := h.recv.waitAlert(p, alert.KindDetection)
	if !strings.Contains(d.Detail, "no file event") {
		t.Errorf("detection detail %q", d.Detail)
	}
	if s := h.agent.metricsSnapshot(); s.Sweeps != 1 || s.Unseen != 1 {
		t.Errorf("after one sweep that found one change: sweeps %d, unseen %d", s.Sweeps, s.Unseen)
	}
}

// mapNewFile creates path with size bytes, maps it shared, and closes the
// descriptor: what is written to the mapping then raises no event.
func mapNewFile(t *testing.T, path string, size int) []byte {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(int64(size)); err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	return m
}

// Expensive files must not delay a real detection (issue 10, item 5):
// sixty files past the slow-lane size, each scan held as a YARA-slow file
// would hold it, are queued before a shell is dropped; the shell is still
// judged and moved while every one of them waits.
func TestExpensiveFilesDoNotDelayAShell(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	var held atomic.Int64
	h.hooks = func(a *Agent) {
		a.hooks.beforeScan = func(path string) {
			if strings.Contains(path, "/big/") {
				held.Add(1)
				<-release
			}
		}
	}
	h.start()
	t.Cleanup(func() { close(release) })
	h.waitReconciled()
	big := filepath.Join(h.www, "big")
	if err := os.Mkdir(big, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		// Made outside, renamed in whole; sparse: past the size, no disk
		// used.
		name := fmt.Sprintf("dump%d.sql", i)
		f, err := os.Create(filepath.Join(h.outside, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(slowLaneSize + 4096); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Rename(filepath.Join(h.outside, name), filepath.Join(big, name)); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, waitFor, "a big file's scan held", func() bool { return held.Load() > 0 })
	start := time.Now()
	shell := h.write("up.php", systemShell)
	a := h.recv.waitAlert(shell, alert.KindDetection)
	// Logged, not asserted: the figure the closing note of issue 10 quotes.
	t.Logf("the shell reached the webhook %s after its write, behind 60 held expensive scans", time.Since(start).Round(time.Millisecond))
	h.checkQuarantined(a, shell, systemShell)
	if n := held.Load(); n != 1 {
		t.Errorf("%d big files were being scanned at once, want 1 (the slow lane)", n)
	}
}

// Write, execute, delete in under a millisecond (issue 10, item 14): the
// attacker's script is gone before any scan, and was alerted 0 times in
// 20. Each must raise transient_script, once, naming the path, with its
// size and writer when the watcher saw it, or saying it could not. (A
// script the agent happens to scan and move before the test deletes it is
// a detection instead: caught, too.)
func TestTransientScriptsAlerted(t *testing.T) {
	h := newHarness(t)
	h.start()
	var paths []string
	caught := map[string]bool{}
	var slowest time.Duration
	for i := range 20 {
		p := filepath.Join(h.www, fmt.Sprintf("x%02d.php", i))
		start := time.Now()
		if err := os.WriteFile(p, []byte(systemShell), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(p); errors.Is(err, os.ErrNotExist) {
			caught[p] = true
		} else if err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(start))
		paths = append(paths, p)
	}
	t.Logf("slowest write-delete cycle: %s; %d of 20 scanned and moved before the delete", slowest, len(caught))
	for _, p := range paths {
		if caught[p] {
			h.recv.waitAlert(p, alert.KindDetection)
			continue
		}
		a := h.recv.waitAlert(p, alert.KindTransientScript)
		if a.Severity != finding.SeverityHigh || a.File.Root != h.www || !strings.Contains(a.Detail, "deleted before it could be scanned") {
			t.Errorf("alert %+v: want high, root %s, a detail saying it was deleted before its scan", a, h.www)
		}
		if a.File.Mode != "" && a.File.Size != 0 && a.File.Size != int64(len(systemShell)) {
			t.Errorf("%s seen with %d bytes, the script has %d", p, a.File.Size, len(systemShell))
		}
	}
	h.stop()
	for _, p := range paths {
		n := 0
		for _, a := range h.recv.all() {
			if a.Path() == p && a.Kind == alert.KindTransientScript {
				n++
			}
		}
		if n > 1 {
			t.Errorf("%s: %d transient_script alerts for one file", p, n)
		}
	}
}

// Excludes are no blind spot (issue 10, item 10): with the once documented
// exclude "*/cache/*", uploads/cache/x.php was never scanned. A script
// under an excluded folder, one there at start and one made after, is
// scanned and quarantined; exclude_scripts = true would exclude it.
func TestScriptUnderExcludedFolderDetected(t *testing.T) {
	h := newHarness(t)
	h.protected = `exclude = ["*/cache/*"]`
	if err := os.MkdirAll(filepath.Join(h.www, "uploads", "cache"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.start()
	for _, rel := range []string{"uploads/cache/x.php", "uploads/cache/new/deeper/y.php"} {
		p := h.write(rel, evalShell)
		a := h.recv.waitAlert(p, alert.KindDetection)
		h.checkQuarantined(a, p, evalShell)
	}
}

// A root swapped for a symbolic link to the attacker's folder (issue 10,
// item 11) raised only root_missing: it is root_symlink now, critical,
// naming where the link points; the link is not followed.
func TestRootSwappedForSymlinkAlerted(t *testing.T) {
	h := newHarness(t)
	h.start()
	evil := filepath.Join(h.outside, "shells")
	if err := os.MkdirAll(evil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(evil, "x.php"), []byte(systemShell), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(h.www); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(evil, h.www); err != nil {
		t.Fatal(err)
	}
	a := h.recv.waitAlert(h.www, alert.KindRootSymlink)
	if a.Severity != finding.SeverityCritical || a.File.LinkTarget != evil || !strings.Contains(a.Message, evil) {
		t.Errorf("alert %+v: want critical, link_target %s, named in the message", a, evil)
	}
	if _, ok := h.recv.find(filepath.Join(h.www, "x.php"), alert.KindDetection); ok {
		t.Errorf("the shell behind the link was scanned: the link was followed")
	}
}

// Symbolic links (issue 10, item 3): a link dropped in a root to a shell
// outside it, or to a folder of shells, was never alerted, and web servers
// follow it. A link to a flagged file is a detection on the link; a link to
// a folder outside is a symlink alert; either link — the link itself, never
// its target — is moved to the vault, which keeps its text.
func TestSymlinksOutOfRootAlerted(t *testing.T) {
	h := newHarness(t)
	h.start()
	shells := filepath.Join(h.outside, "shells")
	shell := filepath.Join(shells, "s.php")
	if err := os.MkdirAll(shells, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shell, []byte(systemShell), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, target string
		kind         alert.Kind
	}{
		{"avatar.php", shell, alert.KindDetection},
		{"assets", shells, alert.KindSymlink},
	} {
		link := filepath.Join(h.www, c.name)
		if err := os.Symlink(c.target, link); err != nil {
			t.Fatal(err)
		}
		a := h.recv.waitAlert(link, c.kind)
		if a.File.LinkTarget != c.target || a.Severity < finding.SeverityHigh || !strings.Contains(a.Detail, "leads out of the root") {
			t.Errorf("%s: alert %+v (detail %q), want at least high, link_target %s, saying it leads out", c.name, a, a.Detail, c.target)
		}
		if a.Action == nil || a.Action.Taken != alert.ActionQuarantined {
			t.Fatalf("%s: action %+v, want the link quarantined", c.name, a.Action)
		}
		if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the link is still in the root: %v", c.name, err)
		}
		e, err := h.vault().Get(a.Action.VaultID)
		if err != nil || e.Type != "symlink" || e.LinkTarget != c.target {
			t.Errorf("%s: vault entry %+v, %v; want the link with its target", c.name, e, err)
		}
	}
	if c, err := os.ReadFile(shell); err != nil || string(c) != systemShell {
		t.Errorf("the link's target was touched: %q, %v", c, err)
	}
	if _, err := os.Stat(shells); err != nil {
		t.Errorf("the folder the link led to was touched: %v", err)
	}
	if a, ok := h.recv.find(filepath.Join(h.www, "assets", "s.php"), alert.KindDetection); ok {
		t.Errorf("the folder link was walked: %+v", a)
	}
}

// A link made after the agent started that the root's first baseline
// walk meets before its creation event is judged as new, as a file met so
// is: moved, not left in place as "there before shellwatch" (which
// TestSymlinksOutOfRootAlerted met now and then, its link made while the
// walk ran). The link is made before the start here, so that no creation
// event comes, and the agent is made to have started a second before it:
// the walk meets a link changed since the start, deterministically.
func TestLinkMadeAfterStartMetByTheFirstBaseline(t *testing.T) {
	h := newHarness(t)
	shell := filepath.Join(h.outside, "s.php")
	if err := os.WriteFile(shell, []byte(systemShell), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(h.www, "avatar.php")
	if err := os.Symlink(shell, link); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(link, &st); err != nil {
		t.Fatal(err)
	}
	h.hooks = func(a *Agent) { a.startedAt = time.Unix(st.Ctim.Unix()).Add(-time.Second) }
	h.start()
	a := h.recv.waitAlert(link, alert.KindDetection)
	if a.Action == nil || a.Action.Taken != alert.ActionQuarantined {
		t.Fatalf("action %+v, want the link made after the start quarantined", a.Action)
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link is still in the root: %v", err)
	}
}

// A shell the agent quarantines is one alert, detection: the move out of
// the root is the agent's own removal, not a transient file's. The
// dropper's write events, queued behind the creation that was scanned,
// arrive after the move, and once made it look like a script written and
// deleted unscanned (a second, false, transient_script alert per shell:
// 95 to 110 of TestPreventionRace's 200). A script made at the same path
// right after the move and deleted at once is another file: alerted.
func TestQuarantinedShellIsNotAlsoTransient(t *testing.T) {
	h := newHarness(t)
	h.start()
	// After the start's walk: a file it meets before the watcher reports
	// its creation is alerted twice, by design (see vanished.expected).
	h.waitReconciled()
	var paths []string
	again := map[string]bool{}
	for i := range 40 {
		p := filepath.Join(h.www, fmt.Sprintf("q%02d.php", i))
		if err := os.WriteFile(p, []byte(systemShell), 0o644); err != nil {
			t.Fatal(err)
		}
		h.checkQuarantined(h.recv.waitAlert(p, alert.KindDetection), p, systemShell)
		paths = append(paths, p)
		if i%2 == 0 {
			// The attacker's next try, at once, at the same name.
			if err := os.WriteFile(p, []byte(systemShell), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			again[p] = true
		}
	}
	count := func(p string) int {
		n := 0
		for _, a := range h.recv.all() {
			if a.Path() == p && (a.Kind == alert.KindTransientScript || a.Kind == alert.KindDetection) {
				n++
			}
		}
		return n
	}
	for p := range again {
		testenv.Eventually(t, waitFor, "the second script at "+p+" alerted", func() bool { return count(p) >= 2 })
	}
	h.stop() // every event handled
	for _, p := range paths {
		n := count(p)
		want := 1
		if again[p] {
			want = 2
		}
		if n != want {
			var kinds []string
			for _, a := range h.recv.all() {
				if a.Path() == p {
					kinds = append(kinds, string(a.Kind)+": "+a.Message)
				}
			}
			t.Errorf("%s: %d detection and transient_script alerts, want %d (written %d times); its alerts: %q", p, n, want, want, kinds)
		}
	}
}
