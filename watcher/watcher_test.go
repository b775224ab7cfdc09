package watcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/testenv"
)

func TestNewRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no roots", Options{}, "no roots"},
		{"empty path", Options{Roots: []Root{{Path: ""}}}, "empty path"},
		{"nested roots", Options{Roots: []Root{{Path: dir}, {Path: filepath.Join(dir, "sub")}}}, "overlap"},
		{"same root twice", Options{Roots: []Root{{Path: dir}, {Path: dir + "/"}}}, "overlap"},
		{"negative MaxWatches", Options{Roots: []Root{{Path: dir}}, MaxWatches: -1}, "MaxWatches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}
}

// TestSteadyWritesAreReported: a file written to without pause is reported
// while the writes go on (a stream of writes never postpones its report),
// and again after the last write.
func TestSteadyWritesAreReported(t *testing.T) {
	root := t.TempDir()
	h := startWatcher(t, Options{Roots: []Root{{Path: root}}, Settle: 100 * time.Millisecond})
	path := filepath.Join(root, "stream.php")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := f.WriteString("<?php /* padding */ ?>\n"); err != nil {
				t.Error(err)
				return
			}
			// Paces the stream, far below the 100 ms settle interval.
			// The checks do not hang on it: were a loaded machine to
			// stretch one pause past the settle interval, that pause
			// would bring a report of its own (the test then proves
			// less, it does not fail), and the writes go on after it.
			time.Sleep(2 * time.Millisecond)
		}
	})
	h.waitChange(0, path, OpCreated)
	h.waitChange(0, path, OpModified)
	// And again: reports keep coming while the writes do.
	h.waitChange(h.mark(), path, OpModified)
	close(stop)
	writer.Wait()
	m := h.mark()
	if _, err := f.WriteString("last"); err != nil {
		t.Fatal(err)
	}
	h.waitChange(m, path, OpModified)
}

// TestMkdirThenCreateRace repeats mkdir -p then create at once: every file
// must be reported even though it lands before its directory's watch.
func TestMkdirThenCreateRace(t *testing.T) {
	root := t.TempDir()
	h := startWatcher(t, Options{Roots: []Root{{Path: root}}})
	var want []string
	for i := range 100 {
		dir := filepath.Join(root, fmt.Sprintf("d%03d", i), "a", "b")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "x.php")
		if err := os.WriteFile(p, []byte("<?php"), 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	for _, p := range want {
		h.waitChange(0, p, OpCreated, OpModified, OpResync)
	}
}

// TestFIFONotOpened: a FIFO in a root is reported and nobody holds it open
// (opening a FIFO for writing without blocking fails with ENXIO when it has
// no reader).
func TestFIFONotOpened(t *testing.T) {
	root := t.TempDir()
	h := startWatcher(t, Options{Roots: []Root{{Path: root}}, InitialScan: true})
	p := filepath.Join(root, "pipe")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitChange(0, p, OpCreated)
	f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err == nil {
		f.Close()
		t.Fatal("the FIFO has a reader: something opened it")
	}
	if !errors.Is(err, syscall.ENXIO) {
		t.Fatalf("open FIFO for writing: %v, want ENXIO", err)
	}
}

// TestInitialScan reports what the roots hold when they are first watched.
func TestInitialScan(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "a", "old.php")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("<?php"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startWatcher(t, Options{Roots: []Root{{Path: root}}, InitialScan: true})
	h.waitChange(0, p, OpResync)
}

// TestBackpressure: while nobody reads Changes the watcher holds its reports
// (and stops reading events once its pending set is full); once the
// consumer reads, every file is reported: nothing was dropped.
func TestBackpressure(t *testing.T) {
	root := t.TempDir()
	w := runWatcher(t, Options{Roots: []Root{{Path: root}}, QueueSize: 1, Settle: 10 * time.Millisecond},
		func(w *Watcher) { w.pendingLimit = 20 })
	want := make(map[string]bool)
	for i := range 300 {
		p := filepath.Join(root, fmt.Sprintf("f%03d.php", i))
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		want[p] = true
	}
	// Wait until the watcher is visibly held up by the consumer.
	testenv.Eventually(t, deadline, fmt.Sprintf("the pending set to fill up to %d", w.pendingLimit), func() bool {
		return w.pending.len() >= w.pendingLimit
	})
	timeout := time.After(deadline)
	for len(want) > 0 {
		select {
		case c := <-w.Changes():
			delete(want, c.Path)
		case <-timeout:
			t.Fatalf("%d files never reported", len(want))
		}
	}
}

// TestRunStopsEverything: cancelling the context makes Run return with every
// goroutine it started (and fsnotify's) gone.
func TestRunStopsEverything(t *testing.T) {
	before := testenv.RunningGoroutines()
	root := t.TempDir()
	w, err := New(Options{Roots: []Root{{Path: root}, {Path: filepath.Join(t.TempDir(), "missing")}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-w.Ready()
	if err := os.WriteFile(filepath.Join(root, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	<-w.Changes() // nobody reads Problems: they must not block anything
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("Run did not return")
	}
	for range w.Changes() {
	}
	for range w.Problems() {
	}
	testenv.NoGoroutinesLeft(t, before, deadline)
	if err := w.Run(context.Background()); err == nil {
		t.Fatal("second Run returned nil")
	}
}

// TestWatchLimit injects the watch limit (Options.MaxWatches goes down the
// same path as the kernel's ENOSPC): the Problem names the sysctl and the
// directory, watched directories keep reporting at once, and a file created
// later in an unwatched directory is reported by the periodic rescan.
func TestWatchLimit(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a", "b", "c", "z"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	old := filepath.Join(root, "z", "old.php")
	if err := os.WriteFile(old, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h := startWatcher(t, Options{Roots: []Root{{Path: root}}, MaxWatches: 3, RescanInterval: 100 * time.Millisecond})
	p := h.waitProblem(ProblemWatchLimit)
	msg := p.Err.Error()
	for _, want := range []string{"fs.inotify.max_user_watches", readSysctl("max_user_watches"), filepath.Join(root, "c"), root} {
		if !strings.Contains(msg, want) {
			t.Errorf("problem %q does not mention %q", msg, want)
		}
	}
	if !errors.Is(p.Err, syscall.ENOSPC) {
		t.Errorf("problem error %v is not ENOSPC", p.Err)
	}
	if p.Root != root || p.Path != filepath.Join(root, "c") {
		t.Errorf("problem root %q path %q, want %q and %q", p.Root, p.Path, root, filepath.Join(root, "c"))
	}
	if n := h.w.Stats().Watches; n != 3 {
		t.Errorf("Stats().Watches = %d, want 3", n)
	}

	// The first rescan reports everything; after it, only differences.
	h.waitChange(0, old, OpResync)
	late := filepath.Join(root, "z", "late.php")
	if err := os.WriteFile(late, []byte("<?php"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitChange(0, late, OpCreated)
	if err := os.Remove(old); err != nil {
		t.Fatal(err)
	}
	h.waitChange(0, old, OpRemoved)

	fast := filepath.Join(root, "a", "fast.php")
	if err := os.WriteFile(fast, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitChange(0, fast, OpCreated)
}

// TestOverflow forces the kernel's inotify queue to overflow, the way an
// attacker flooding a root would: the consumer stalls, the watcher's pending
// set fills and its event loop stops reading, and a flood of files goes on
// well past what the kernel queue (fs.inotify.max_queued_events) and the
// buffers in front of it can hold. A file planted after that point has lost
// its events for sure: the overflow must be a Problem, and the planted file
// must be reported by the resync that follows. No sysctl is changed.
func TestOverflow(t *testing.T) {
	testenv.Flood(t)
	root := t.TempDir()
	const pendingLimit = 1024
	h := startWatcher(t, Options{Roots: []Root{{Path: root}}, QueueSize: 1, Settle: 10 * time.Millisecond},
		func(w *Watcher) { w.pendingLimit = pendingLimit })
	dir := filepath.Join(root, "flood")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.pause()
	// Every file makes two events (create, modify). What can be absorbed
	// before the kernel drops events: its queue, fsnotify's read buffer
	// (64 KiB, 2048 events of this size) and Events channel, and the
	// pending set.
	queued, err := strconv.Atoi(readSysctl("max_queued_events"))
	if err != nil {
		t.Skipf("cannot read fs.inotify.max_queued_events: %v", err)
	}
	n := (queued+2048+eventBuffer+2*pendingLimit)/2 + 2000
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%06d", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	planted := filepath.Join(dir, "planted.php")
	if err := os.WriteFile(planted, []byte("<?php"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("g%06d", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.resume()
	p := h.waitProblem(ProblemOverflow)
	if !strings.Contains(p.Err.Error(), "fs.inotify.max_queued_events") {
		t.Errorf("overflow problem %q does not name fs.inotify.max_queued_events", p.Err)
	}
	h.waitChange(0, planted, OpResync)
	if s := h.w.Stats(); s.Overflows == 0 || s.Resyncs == 0 {
		t.Errorf("Stats() = %+v, want overflows and resyncs counted", s)
	}
}

// TestRootSymlinkRefused: a root that is a symlink (or is named through one)
// is not followed; the Problem says so (a root that is itself a link is
// ProblemRootSymlink), and Run goes on with the other roots.
func TestRootSymlinkRefused(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, root string
		kind       ProblemKind
	}{
		{"root is a symlink", filepath.Join(base, "link"), ProblemRootSymlink},
		{"root below a symlink", filepath.Join(base, "dirlink", "real"), ProblemRootMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.Symlink(real, filepath.Join(base, "link"))
			_ = os.Symlink(base, filepath.Join(base, "dirlink"))
			other := t.TempDir()
			h := startWatcher(t, Options{Roots: []Root{{Path: tc.root}, {Path: other}}})
			p := h.waitProblem(tc.kind)
			if p.Root != tc.root || !strings.Contains(p.Err.Error(), "symbolic link") && !strings.Contains(p.Err.Error(), "symlink") {
				t.Errorf("problem %+v, want one about %s being or going through a symlink", p, tc.root)
			}
			x := filepath.Join(other, "x.php")
			if err := os.WriteFile(x, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			h.waitChange(0, x, OpCreated)
			if err := os.WriteFile(filepath.Join(real, "never.php"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNewDirFirstWriteAtOnce: a file created empty in a directory made an
// instant earlier, then written (an upload, a dropper), has its bytes
// reported at once, however the new directory's walk and the file's own
// events interleave. The settle interval is an hour: a report that waited
// for it would never come within the test, so only the immediate report of
// the first write can deliver the bytes. The consumer reads the file when a
// Change arrives, as the scanner does.
func TestNewDirFirstWriteAtOnce(t *testing.T) {
	root := t.TempDir()
	w := runWatcher(t, Options{Roots: []Root{{Path: root}}, Settle: time.Hour}, nil)
	// What the consumer read, by path, as it read it.
	read := make(chan [2]string, 64)
	go func() {
		for c := range w.Changes() {
			b, _ := os.ReadFile(c.Path)
			read <- [2]string{c.Path, string(b)}
		}
	}()
	payload := "<?php @eval($_POST['x']); ?>\n"
	for i := range 200 {
		dir := filepath.Join(root, fmt.Sprintf("d%03d", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "x.php")
		if err := os.WriteFile(p, []byte(payload), 0o644); err != nil {
			t.Fatal(err)
		}
		timeout := time.After(deadline)
		for seen := false; !seen; {
			select {
			case r := <-read:
				seen = r[0] == p && r[1] == payload
			case <-timeout:
				t.Fatalf("drop %d: the bytes of %s were never reported (the settle interval is an hour); pending: %s", i, p, w.pending.debug())
			}
		}
	}
}

// runWatcher runs a Watcher made from opts (tweak, when not nil, applied
// before Run) until the test ends, drains its Problems and waits for it to
// be Ready; the test reads Changes itself, or gave a Sink.
func runWatcher(t *testing.T, opts Options, tweak func(*Watcher)) *Watcher {
	t.Helper()
	w, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	if problems := w.Problems(); problems != nil { // nil with a Sink
		go func() {
			for range problems {
			}
		}()
	}
	select {
	case <-w.Ready():
	case <-time.After(deadline):
		t.Fatal("watcher not Ready")
	}
	return w
}

// TestRootReplacedBySymlink: a watched root swapped for a symbolic link to
// the attacker's folder (issue 10, item 11) raises ProblemRootSymlink naming
// the link's target, once per target, and the link is never followed: what
// is written through it is not reported. When a directory is back, it is
// watched again.
func TestRootReplacedBySymlink(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "www")
	evil := filepath.Join(base, "evil")
	for _, d := range []string{root, evil} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h := startWatcher(t, Options{Roots: []Root{{Path: root}}})
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(evil, root); err != nil {
		t.Fatal(err)
	}
	p := h.waitProblem(ProblemRootSymlink)
	if p.Root != root || p.LinkTarget != evil || !strings.Contains(p.Err.Error(), strconv.Quote(evil)) {
		t.Errorf("problem %+v (%v), want root %s linked to %s, named in the error", p, p.Err, root, evil)
	}
	if err := os.WriteFile(filepath.Join(root, "shell.php"), []byte("x"), 0o644); err != nil {
		t.Fatal(err) // written through the link, into evil
	}
	// Pointed elsewhere: said again.
	other := filepath.Join(base, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(base, "tmp-link")
	if err := os.Symlink(other, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, root); err != nil {
		t.Fatal(err)
	}
	h.waitFor("problem root-symlink to "+other, 0, func(r record) bool {
		return r.problem != nil && r.problem.Kind == ProblemRootSymlink && r.problem.LinkTarget == other
	})
	if err := os.Remove(root); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	h.waitProblem(ProblemRootRestored)
	back := filepath.Join(root, "back.php")
	if err := os.WriteFile(back, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitChange(0, back)
	h.mu.Lock()
	defer h.mu.Unlock()
	links := 0
	for _, r := range h.records {
		if r.problem != nil {
			if r.problem.Kind == ProblemRootSymlink {
				links++
			}
			continue
		}
		if strings.HasPrefix(r.change.Path, evil) || strings.HasPrefix(r.change.Path, other) || r.change.Path == filepath.Join(root, "shell.php") {
			t.Errorf("reported %s %s: the link was followed", r.change.Op, r.change.Path)
		}
	}
	if links != 2 {
		t.Errorf("%d root-symlink problems, want 2 (one per target)", links)
	}
}

// TestTransientFilesReported: files written and deleted at once, faster
// than anyone can scan them (issue 10, item 14), are each reported with
// unread content, whether the report says created or modified (gone by the
// time it is read) or removed (deleted before it was taken).
func TestTransientFilesReported(t *testing.T) {
	root := t.TempDir()
	h := startWatcher(t, Options{Roots: []Root{{Path: root}}})
	var paths []string
	for i := range 20 {
		p := filepath.Join(root, fmt.Sprintf("t%02d.php", i))
		if err := os.WriteFile(p, []byte("<?php system($_GET['c']);"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	for _, p := range paths {
		h.waitFor("a report of "+p+" with unread content", 0, func(r record) bool {
			return r.problem == nil && r.change.Path == p && r.change.Unread != nil
		})
	}
}
