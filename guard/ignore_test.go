package guard

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// A file judged clean that no web user can write is trusted to the kernel:
// its next opens are no events at all, until a write changes it; then it
// is judged again, and a shell written into it is refused.
func TestGuardTrustedFileIgnoredUntilWritten(t *testing.T) {
	root := webRoot(t)
	page := testenv.WriteFile(t, filepath.Join(root, "page.php"), "<?php echo 1; ?>") // root's, 0644
	var scans atomic.Int32
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, racyWindow: time.Nanosecond, // the page is new: trusted at its first verdict
		Scan: countedJudge(&scans)})
	web := startOpener(t, wwwData)
	if _, err := web.open(page); err != nil {
		t.Fatal(err)
	}
	// The answer comes first, the mark just after it.
	testenv.Eventually(t, waitFor, "the page trusted", func() bool { return g.Stats().Trusted == 1 })
	st := g.Stats()
	if scans.Load() != 1 {
		t.Fatalf("after the first open: %d scans, want the file scanned once", scans.Load())
	}
	for range 5 {
		if _, err := web.open(page); err != nil {
			t.Fatal(err)
		}
	}
	if got := g.Stats().Events; got != st.Events {
		t.Errorf("a trusted file opened 5 times more: %d events more, want none", got-st.Events)
	}

	// write(2) raises FS_MODIFY, which clears the mark: judged again.
	f, err := os.OpenFile(page, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("<?php SHELL ?>"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := web.open(page); err == nil {
		t.Errorf("a trusted file with a shell appended: served, want refused")
	}
	if scans.Load() != 2 {
		t.Errorf("%d scans, want the changed file scanned again", scans.Load())
	}
	// Judged again and trusted again: still one inode trusted, one mark.
	f, err = os.OpenFile(page, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("<?php echo 2; ?>")
	f.Close()
	if _, err := web.open(page); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitFor, "the page trusted again", func() bool { return g.Stats().Trusted == 2 })
	if n := g.Stats().TrustedNow; n != 1 {
		t.Errorf("one file trusted twice counts %d against the bound, want 1", n)
	}
}

// A file a web user can write is never trusted: the web user could open it
// for writing unseen and change it through a shared mapping, which the
// kernel reports to no one. Every open of it is judged, and the mapping's
// change is caught by its identity.
func TestGuardWritableFileNeverTrusted(t *testing.T) {
	root := webRoot(t)
	for _, c := range []struct {
		name  string
		mode  os.FileMode
		owner int
	}{{"owned-by-web-user.php", 0o644, wwwData}, {"group-writable.php", 0o664, 0}, {"world-writable.php", 0o646, 0}} {
		t.Run(c.name, func(t *testing.T) {
			page := testenv.WriteFile(t, filepath.Join(root, c.name), "<?php echo 1; ?>/*"+string(make([]byte, 64))+"*/")
			if err := os.Chmod(page, c.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(page, c.owner, c.owner); err != nil {
				t.Fatal(err)
			}
			g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
				MinSeverity: finding.SeverityHigh, Scan: judge})
			web := startOpener(t, wwwData)
			for range 3 {
				if _, err := web.open(page); err != nil {
					t.Fatal(err)
				}
			}
			if st := g.Stats(); st.Trusted != 0 || st.Events < 3 {
				t.Errorf("%s: %d trusted, %d events for 3 opens; want never trusted, every open an event", c.name, st.Trusted, st.Events)
			}
			// A write through a shared mapping: no FS_MODIFY, but the
			// mtime moves, and the identity with it.
			mmapWrite(t, page, "SHELL")
			if _, err := web.open(page); err == nil {
				t.Errorf("%s rewritten through a mapping: served, want refused", c.name)
			}
		})
	}
}

// mmapWrite writes s at the start of path through a shared mapping, and
// unmaps it: no write(2), so no FS_MODIFY.
func mmapWrite(t *testing.T, path, s string) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	time.Sleep(10 * time.Millisecond) // a later mtime than the judged one, whatever the clock's grain
	m, err := unix.Mmap(fd, 0, len(s), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	copy(m, s)
	if err := unix.Munmap(m); err != nil {
		t.Fatal(err)
	}
}

// An open by someone not held, of a file the baseline knows clean, is
// allowed at once and the file learnt: root's second pass over the same
// files (a backup, say) raises no events. The files are made after the
// guard's start, which trusts those there already (TestGuardPretrusts).
func TestGuardLearnsWhatRootOpens(t *testing.T) {
	root := webRoot(t)
	var asked atomic.Int32
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Scan: judge, racyWindow: time.Nanosecond, // the files are new: the baseline's word is the subject
		Known: func(string, Identity) (Verdict, bool) {
			asked.Add(1)
			return Verdict{Severity: finding.SeverityNone}, true
		}})
	testenv.Eventually(t, waitFor, "the start's pass over the root", func() bool { return g.Stats().Pretrusted })
	var paths []string
	for _, n := range []string{"a.php", "b.php", "c.php"} {
		paths = append(paths, testenv.WriteFile(t, filepath.Join(root, n), "<?php echo 1; ?>"))
	}
	rootUser := startOpener(t, 0) // another process: the guard never holds its own opens
	rootUser.openAll(t, paths)
	testenv.Eventually(t, waitFor, "the three files root read trusted", func() bool { return g.Stats().Trusted == 3 })
	events := g.Stats().Events
	rootUser.openAll(t, paths)
	if got := g.Stats().Events; got != events {
		t.Errorf("root's second pass: %d events, want none", got-events)
	}
	if asked.Load() != 3 {
		t.Errorf("the baseline asked %d times, want once a file", asked.Load())
	}
}

// At its start the guard trusts the files of the roots the baseline knows
// clean (and no other): root's first pass over them after a start or a
// reload raises no events either.
func TestGuardPretrusts(t *testing.T) {
	root := webRoot(t)
	known := []string{
		testenv.WriteFile(t, filepath.Join(root, "a.php"), "<?php echo 1; ?>"),
		testenv.WriteFile(t, filepath.Join(root, "sub/b.php"), "<?php echo 2; ?>"),
	}
	unknown := testenv.WriteFile(t, filepath.Join(root, "new.php"), "<?php echo 3; ?>")
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Scan: judge, racyWindow: time.Nanosecond, // the files are new: the baseline's word is the subject
		Known: func(path string, _ Identity) (Verdict, bool) {
			return Verdict{Severity: finding.SeverityNone}, path != unknown
		}})
	testenv.Eventually(t, waitFor, "the start's pass over the root", func() bool { return g.Stats().Pretrusted })
	if got := g.Stats().Trusted; got != 2 {
		t.Fatalf("%d files trusted at the start, want the 2 the baseline knows", got)
	}
	rootUser := startOpener(t, 0)
	events := g.Stats().Events
	for _, p := range known {
		if _, err := rootUser.open(p); err != nil {
			t.Fatal(err)
		}
	}
	if got := g.Stats().Events; got != events {
		t.Errorf("root's first pass over known files: %d events, want none", got-events)
	}
	if _, err := rootUser.open(unknown); err != nil {
		t.Fatal(err)
	}
	if got := g.Stats().Events; got != events+1 {
		t.Errorf("root's open of a file the baseline does not know: %d events, want 1", got-events)
	}
}

// A chmod that makes a trusted file writable to the web users ends its
// trust: a web user could otherwise open it for writing unseen and change
// it through a shared mapping. The change of attributes is heard, the
// mark removed, and the file judged again at its next open: by the file's
// own handle in the event, or by the name the event gave on a kernel that
// refuses such handles.
func TestGuardChmodEndsTrust(t *testing.T) {
	for _, byName := range []bool{false, true} {
		t.Run(map[bool]string{false: "by handle", true: "by name"}[byName], func(t *testing.T) {
			root := webRoot(t)
			page := testenv.WriteFile(t, filepath.Join(root, "page.php"), "<?php echo 1; ?>/*"+string(make([]byte, 64))+"*/")
			g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
				MinSeverity: finding.SeverityHigh, Scan: judge, byNameOnly: byName,
				racyWindow: time.Nanosecond}) // the page is new: trusted at its first verdict
			web := startOpener(t, wwwData)
			if _, err := web.open(page); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, waitFor, "the page trusted", func() bool { return g.Stats().Trusted == 1 })
			if err := os.Chmod(page, 0o666); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, waitFor, "the chmod heard", func() bool { return g.Stats().Untrusted == 1 })
			if n := g.Stats().TrustedNow; n != 0 {
				t.Errorf("%d files trusted after the chmod, want 0", n)
			}
			mmapWrite(t, page, "SHELL")
			if _, err := web.open(page); err == nil {
				t.Error("a trusted page made world-writable and rewritten through a mapping: served, want refused")
			}
		})
	}
}

// Trusting never takes the marks a new folder needs: at most half of
// fs.fanotify.max_user_marks files are trusted at once (here a bound of
// 2); past it, opens are judged as before.
func TestGuardTrustIsBounded(t *testing.T) {
	root := webRoot(t)
	var pages []string
	for _, n := range []string{"a.php", "b.php", "c.php"} {
		pages = append(pages, testenv.WriteFile(t, filepath.Join(root, n), "<?php echo 1; ?>"))
	}
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Scan: judge, trustCap: 2, racyWindow: time.Nanosecond}) // trusted at the first verdict
	web := startOpener(t, wwwData)
	web.openAll(t, pages)
	testenv.Eventually(t, waitFor, "two pages trusted", func() bool { return g.Stats().Trusted == 2 })
	before := g.Stats().Events
	web.openAll(t, pages)
	if got := g.Stats(); got.Events-before != 1 || got.Trusted != 2 {
		t.Errorf("three pages read again past a bound of 2: %d events, %d trusted; want 1 event (the untrusted page), 2 trusted",
			got.Events-before, got.Trusted)
	}
}

func TestDefaultTrustCap(t *testing.T) {
	proc := t.TempDir()
	if got := defaultTrustCap(proc, 0); got != fallbackTrustCap {
		t.Errorf("no sysctl file: %d, want %d", got, fallbackTrustCap)
	}
	testenv.WriteFile(t, filepath.Join(proc, "sys/fs/fanotify/max_user_marks"), "205039\n")
	if got := defaultTrustCap(proc, 1000); got != 50259 { // (205039 - 4×1000) / 2 / 2
		t.Errorf("max_user_marks 205039, 1000 folders: %d, want 50259", got)
	}
}

// prevent.trust = false: no file is trusted, at the start or after a
// verdict; every open is an event, judged from the cache.
func TestGuardNoTrust(t *testing.T) {
	root := webRoot(t)
	page := testenv.WriteFile(t, filepath.Join(root, "page.php"), "<?php echo 1; ?>") // trustable
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Scan: judge, NoTrust: true,
		Known: func(string, Identity) (Verdict, bool) { return Verdict{Severity: finding.SeverityNone}, true }})
	testenv.Eventually(t, waitFor, "the start's pass", func() bool { return g.Stats().Pretrusted })
	web := startOpener(t, wwwData)
	for range 3 {
		if _, err := web.open(page); err != nil {
			t.Fatal(err)
		}
	}
	if st := g.Stats(); st.Trusted != 0 || st.Events != 3 {
		t.Errorf("trust off: %d trusted, %d events for 3 opens; want none trusted, 3 events", st.Trusted, st.Events)
	}
}

// A file changed within the racy window of its scan may be written again,
// same size, within one clock tick (kernels before 6.13) and keep the
// identity judged: its clean verdict answers the open, but is neither
// cached nor trusted, and its next open is scanned again. (Here every
// change is "recent": a window of an hour.)
func TestGuardRacyCleanNotRemembered(t *testing.T) {
	root := webRoot(t)
	page := testenv.WriteFile(t, filepath.Join(root, "page.php"), "<?php echo 1; ?>")
	var scans atomic.Int32
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, racyWindow: time.Hour,
		Scan: countedJudge(&scans)})
	web := startOpener(t, wwwData)
	for range 3 {
		if _, err := web.open(page); err != nil {
			t.Fatal(err)
		}
	}
	if st := g.Stats(); scans.Load() != 3 || st.Trusted != 0 || st.Cached != 0 {
		t.Errorf("a racily clean page opened 3 times: %d scans, %d trusted, %d cached; want 3 scans, nothing kept", scans.Load(), st.Trusted, st.Cached)
	}
}

// A trusted file made writable to the web users and renamed before the
// guard reads the change's event still loses its trust: the event names
// the file by its own handle too, and the mark is removed from that inode,
// whatever its name is by then. The folder group's reading is held until
// the file is renamed (and, in the second case, another file put at its
// old name), so the rename surely comes first.
func TestGuardChmodThenRenameEndsTrust(t *testing.T) {
	for _, repoint := range []bool{false, true} {
		name := "renamed"
		if repoint {
			name = "renamed, another file at its name"
		}
		t.Run(name, func(t *testing.T) {
			root := webRoot(t)
			page := testenv.WriteFile(t, filepath.Join(root, "page.php"), "<?php echo 1; ?>/*"+string(make([]byte, 64))+"*/")
			hold := make(chan struct{})
			var scans atomic.Int32
			g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
				MinSeverity: finding.SeverityHigh, dirHold: hold, racyWindow: time.Nanosecond, // trusted at the first verdict
				Scan: countedJudge(&scans)})
			web := startOpener(t, wwwData)
			if _, err := web.open(page); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, waitFor, "the page trusted", func() bool { return g.Stats().TrustedNow == 1 })

			if err := os.Chmod(page, 0o646); err != nil { // o+w: a web user may write it now
				t.Fatal(err)
			}
			moved := filepath.Join(root, "moved.php")
			if err := os.Rename(page, moved); err != nil {
				t.Fatal(err)
			}
			if repoint {
				testenv.WriteFile(t, page, "<?php echo 2; ?>")
			}
			// A folder made after the chmod: once it is marked, the
			// chmod's event, queued before it, has been handled.
			marks := g.Stats().Marks
			if err := os.Mkdir(filepath.Join(root, "after"), 0o755); err != nil {
				t.Fatal(err)
			}
			close(hold)
			testenv.Eventually(t, waitFor, "the folder made after the chmod marked", func() bool { return g.Stats().Marks > marks })

			st := g.Stats()
			if st.Untrusted != 1 || st.TrustedNow != 0 {
				t.Fatalf("chmod o+w then rename: %d untrusted, %d trusted now; want 1 untrusted, 0 trusted", st.Untrusted, st.TrustedNow)
			}
			if _, err := web.open(moved); err != nil {
				t.Fatal(err)
			}
			if got := g.Stats().Events - st.Events; got != 1 || scans.Load() != 2 {
				t.Errorf("the web user's open of the renamed file: %d events, %d scans in all; want 1 event, judged again (2 scans)", got, scans.Load())
			}
			// What the trust would have let through: the file, writable
			// now, changed through a shared mapping (no modify event).
			mmapWrite(t, moved, "SHELL")
			if _, err := web.open(moved); err == nil {
				t.Error("a trusted page made world-writable, renamed and rewritten through a mapping: served, want refused")
			}
		})
	}
}

// A mass chmod overflows the folder group's queue: the FAN_ATTRIB events of
// the last files made writable are lost. The guard then walks the roots and
// ends the trust of every file a web user may write now; the trusted files
// left alone stay trusted. The folder group's reading is held while more
// files are chmod'ed than its queue holds (fs.fanotify.max_queued_events,
// read at the group's start: 16384 by default), the trusted ones last, so
// their events are surely the ones lost.
func TestGuardOverflowEndsTrustOfFilesMadeWritable(t *testing.T) {
	limit := maxQueuedEvents(t)
	// On a tmpfs of its own: a queue's worth of files is made (and gone)
	// in a fraction of a second, where the temp dir's disk took seconds.
	root := filepath.Join(testenv.Tmpfs(t, 64<<20), "www")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.Searchable(t, root)
	const half = 16
	var changed, left []string
	for i := range half {
		changed = append(changed, testenv.WriteFile(t, filepath.Join(root, fmt.Sprintf("changed%02d.php", i)), "<?php echo 1; ?>"))
		left = append(left, testenv.WriteFile(t, filepath.Join(root, fmt.Sprintf("left%02d.php", i)), "<?php echo 2; ?>"))
	}
	// The queue's worth of other files, which the baseline does not know:
	// never trusted, never opened by the guard.
	fill := filepath.Join(root, "fill")
	if err := os.Mkdir(fill, 0o755); err != nil {
		t.Fatal(err)
	}
	fillers := make([]string, limit)
	for i := range fillers {
		fillers[i] = filepath.Join(fill, strconv.Itoa(i))
		if err := os.WriteFile(fillers[i], nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	known := map[string]bool{}
	for _, p := range append(slices.Clone(changed), left...) {
		known[p] = true
	}
	hold := make(chan struct{})
	var logged testenv.Buffer
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Scan: judge, dirHold: hold,
		Logger: slog.New(slog.NewTextHandler(&logged, nil)),
		Known:  func(path string, _ Identity) (Verdict, bool) { return Verdict{}, known[path] }})
	testenv.Eventually(t, waitFor, "the start's pass over the root", func() bool { return g.Stats().Pretrusted })
	if n := g.Stats().TrustedNow; n != 2*half {
		t.Fatalf("%d files trusted at the start, want the %d the baseline knows", n, 2*half)
	}

	for _, p := range append(fillers, changed...) { // o+w: a web user may write them now
		if err := os.Chmod(p, 0o646); err != nil {
			t.Fatal(err)
		}
	}
	close(hold)
	testenv.Eventually(t, waitFor, "the overflow handled", func() bool { return strings.Contains(logged.String(), "queue overflow") })
	if st := g.Stats(); st.Untrusted != half || st.TrustedNow != half {
		t.Fatalf("after the overflow: %d untrusted, %d trusted now; want the %d files made writable untrusted, the %d left alone trusted",
			st.Untrusted, st.TrustedNow, half, half)
	}
	web := startOpener(t, wwwData)
	for _, c := range []struct {
		paths  []string
		events uint64
	}{{changed, half}, {left, 0}} {
		before := g.Stats().Events
		for _, p := range c.paths {
			if _, err := web.open(p); err != nil {
				t.Fatal(err)
			}
		}
		if got := g.Stats().Events - before; got != c.events {
			t.Errorf("the web user opened %d files: %d events, want %d (%s...)", len(c.paths), got, c.events, filepath.Base(c.paths[0]))
		}
	}
}

// maxQueuedEvents is fs.fanotify.max_queued_events, the length of a
// fanotify group's queue (set when the group starts); the test is skipped
// when it is so large that filling it would be slow.
func maxQueuedEvents(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/fs/fanotify/max_queued_events")
	if err != nil {
		t.Skipf("fs.fanotify.max_queued_events: %v", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		t.Fatalf("fs.fanotify.max_queued_events is %q", b)
	}
	if n > 1<<17 {
		t.Skipf("fs.fanotify.max_queued_events is %d: filling a folder group's queue would take that many files", n)
	}
	return n
}

// A trusted file whose attributes change by a name outside the roots (no
// folder mark hears it) loses its trust all the same: moved out of the
// root, made world-writable there and moved back; or made world-writable
// by a hard link outside the root. Either way a web user could then
// change it through a shared mapping, with no modify event to clear the
// mark.
func TestGuardAttributeChangeOutsideTheRootsEndsTrust(t *testing.T) {
	for _, how := range []string{"moved out and back", "by a hard link outside"} {
		t.Run(how, func(t *testing.T) {
			base := t.TempDir()
			root := filepath.Join(base, "www")
			outside := filepath.Join(base, "elsewhere")
			for _, d := range []string{root, outside} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			testenv.Searchable(t, root)
			page := testenv.WriteFile(t, filepath.Join(root, "page.php"), "<?php echo 1; ?>")
			var scans atomic.Int32
			g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
				MinSeverity: finding.SeverityHigh, racyWindow: time.Nanosecond,
				Scan: countedJudge(&scans)})
			web := startOpener(t, wwwData)
			if _, err := web.open(page); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, waitFor, "the page trusted", func() bool { return g.Stats().TrustedNow == 1 })

			away := filepath.Join(outside, "page.php")
			switch how {
			case "moved out and back":
				if err := os.Rename(page, away); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(away, 0o646); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(away, page); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.Link(page, away); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(away, 0o646); err != nil {
					t.Fatal(err)
				}
			}
			testenv.Eventually(t, waitFor, "the trust ended", func() bool { return g.Stats().TrustedNow == 0 })
			before := g.Stats().Events
			if _, err := web.open(page); err != nil {
				t.Fatal(err)
			}
			if got := g.Stats().Events - before; got != 1 || scans.Load() != 2 {
				t.Errorf("the web user's open after the change: %d events, %d scans in all; want 1 event, judged again", got, scans.Load())
			}
			mmapWrite(t, page, "SHELL")
			if _, err := web.open(page); err == nil {
				t.Error("a trusted page made world-writable outside the root and rewritten through a mapping: served, want refused")
			}
		})
	}
}

// The baseline's record of a file changed within the racy window may be
// racily clean (a same-size rewrite in the clock tick of its scan): the
// start's pass and the learning from root's opens do not trust it on the
// record's word. (Every change is "recent" here: a window of an hour.)
func TestGuardBaselineNotTrustedForRacyFiles(t *testing.T) {
	root := webRoot(t)
	page := testenv.WriteFile(t, filepath.Join(root, "a.php"), "<?php echo 1; ?>")
	var asked atomic.Int32
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, Scan: judge, racyWindow: time.Hour,
		Known: func(string, Identity) (Verdict, bool) {
			asked.Add(1)
			return Verdict{Severity: finding.SeverityNone}, true
		}})
	testenv.Eventually(t, waitFor, "the start's pass over the root", func() bool { return g.Stats().Pretrusted })
	if st := g.Stats(); st.Trusted != 0 {
		t.Errorf("the start's pass trusted a racily clean file on the baseline's word: %+v", st)
	}
	before := asked.Load()
	rootUser := startOpener(t, 0)
	rootUser.openAll(t, []string{page})
	testenv.Eventually(t, waitFor, "the learner asking the baseline of root's open", func() bool { return asked.Load() > before })
	g.Stop() // waits for the learner
	if st := g.Stats(); st.Trusted != 0 {
		t.Errorf("the learner trusted a racily clean file on the baseline's word: %+v", st)
	}
}

// A file on a file system mounted below a root (another disk, a btrfs
// subvolume: another fsid) is judged at each open but never trusted: the
// folder group's events of its attribute changes name it by a handle the
// guard can only open on the roots' file systems, so a chmod there could
// not end its trust.
func TestGuardNeverTrustsFilesOfAnotherFileSystemBelowARoot(t *testing.T) {
	root := webRoot(t)
	disk := testenv.Tmpfs(t, 1<<20)
	if err := os.Chmod(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(root, "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.BindMount(t, disk, shared)
	page := testenv.WriteFile(t, filepath.Join(shared, "page.php"), "<?php echo 1; ?>")
	var scans atomic.Int32
	g := startGuard(t, Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: 10 * time.Second,
		MinSeverity: finding.SeverityHigh, racyWindow: time.Nanosecond, Scan: countedJudge(&scans)})
	web := startOpener(t, wwwData)
	web.openAll(t, []string{page})
	events := g.Stats().Events
	web.openAll(t, []string{page})
	if st := g.Stats(); st.Trusted != 0 || st.Events == events || scans.Load() != 1 {
		t.Errorf("a clean file on another file system below the root: %d trusted, %d events on its second open, %d scans; want none trusted, an event answered from the cache",
			st.Trusted, st.Events-events, scans.Load())
	}
}
