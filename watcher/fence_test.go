package watcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// runSinkWatcher runs a watcher of opts delivering into a recordingSink
// until the test ends, and waits until it is ready.
func runSinkWatcher(t *testing.T, opts Options) (*Watcher, *recordingSink) {
	t.Helper()
	sink := &recordingSink{}
	opts.Sink = sink
	if opts.Settle == 0 {
		opts.Settle = 50 * time.Millisecond
	}
	return runWatcher(t, opts, nil), sink
}

// missing returns the paths of want the sink has not received.
func (s *recordingSink) missing(want []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := map[string]bool{}
	for _, c := range s.changes {
		got[c.Path] = true
	}
	var out []string
	for _, p := range want {
		if !got[p] {
			out = append(out, filepath.Base(p))
		}
	}
	return out
}

// When Sync returns, every change made before it was called has reached
// the sink — files in the root, and in a folder made with them, which only
// a walk finds — even when the watcher lags: a pending set of 8 paths
// stops its reading until the paths it reported cool down, so most events
// still wait in the kernel when Sync is called.
func TestSyncDeliversEveryChangeMadeBefore(t *testing.T) {
	d := tempDirs(t, "root", "fence", "stage")
	root, fence, stage := d[0], d[1], d[2]
	w, sink := runSinkWatcher(t, Options{Roots: []Root{{Path: root}}, FenceDir: fence, PendingLimit: 8})
	var want []string
	for i := range 60 {
		p := filepath.Join(root, fmt.Sprintf("f%02d.php", i))
		if err := os.WriteFile(p, []byte("<?php\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	// A folder renamed in whole: its files raise no event of their own.
	for i := range 40 {
		if err := os.WriteFile(filepath.Join(stage, fmt.Sprintf("g%02d.php", i)), []byte("<?php\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, filepath.Join(root, "lib", fmt.Sprintf("g%02d.php", i)))
	}
	if err := os.Rename(stage, filepath.Join(root, "lib")); err != nil {
		t.Fatal(err)
	}
	syncNow(t, w)
	if m := sink.missing(want); len(m) > 0 {
		t.Errorf("Sync returned with %d of %d changes not delivered: %v", len(m), len(want), m)
	}
	if names, _ := os.ReadDir(fence); len(names) != 0 {
		t.Errorf("fence files left behind: %v", names)
	}
}

// A root past the watch limit is only rescanned: Sync rescans it, so a
// file made in a folder it does not watch reaches the sink too.
func TestSyncRescansARootPastTheWatchLimit(t *testing.T) {
	dir := t.TempDir()
	root, fence := filepath.Join(dir, "root"), filepath.Join(dir, "fence")
	for _, d := range []string{filepath.Join(root, "a", "b", "c"), fence} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w, sink := runSinkWatcher(t, Options{Roots: []Root{{Path: root}}, FenceDir: fence, MaxWatches: 2, RescanInterval: time.Hour})
	p := filepath.Join(root, "a", "b", "c", "unwatched.php")
	if err := os.WriteFile(p, []byte("<?php\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	syncNow(t, w)
	if m := sink.missing([]string{p}); len(m) > 0 {
		t.Errorf("Sync returned before the rescan reported %s", p)
	}
}

// A deploy that swaps the whole root (mv shop shop.old; mv shop.new shop)
// is covered too: the new root is attached and walked by Sync, not by the
// poll a while later (an hour here).
func TestSyncAttachesARootReplaced(t *testing.T) {
	dir := t.TempDir()
	root, fence, next := filepath.Join(dir, "root"), filepath.Join(dir, "fence"), filepath.Join(dir, "next")
	for _, d := range []string{root, fence, filepath.Join(next, "lib")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for i := range 20 {
		rel := filepath.Join("lib", fmt.Sprintf("m%02d.php", i))
		if err := os.WriteFile(filepath.Join(next, rel), []byte("<?php\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, filepath.Join(root, rel))
	}
	w, sink := runSinkWatcher(t, Options{Roots: []Root{{Path: root}}, FenceDir: fence, RootPollInterval: time.Hour})
	if err := os.Rename(root, filepath.Join(dir, "old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, root); err != nil {
		t.Fatal(err)
	}
	syncNow(t, w)
	if m := sink.missing(want); len(m) > 0 {
		t.Errorf("Sync returned with %d files of the new root not delivered: %v", len(m), m)
	}
}

// A name in the fence folder that claims a fence not made yet (someone
// else who can write the folder) does not end a Sync early.
func TestSyncIgnoresForgedFences(t *testing.T) {
	d := tempDirs(t, "root", "fence")
	root, fence := d[0], d[1]
	w, _ := runSinkWatcher(t, Options{Roots: []Root{{Path: root}}, FenceDir: fence})
	forged := filepath.Join(fence, fencePrefix+w.fences.id+"-99999")
	if err := os.WriteFile(forged, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	syncNow(t, w)
	w.fences.mu.Lock()
	seen, made := w.fences.seen, w.fences.made
	w.fences.mu.Unlock()
	if seen != made {
		t.Errorf("fence %d seen after %d made: the forged name counted", seen, made)
	}
}

// Without a fence folder Sync says so at once; a fence folder inside a
// root is refused by New; two watchers sharing a folder each see their own
// fences only.
func TestSyncFenceFolder(t *testing.T) {
	d := tempDirs(t, "root", "fence")
	root, fence := d[0], d[1]
	w, _ := runSinkWatcher(t, Options{Roots: []Root{{Path: root}}})
	if err := w.Sync(context.Background()); !errors.Is(err, ErrNoFence) {
		t.Errorf("Sync without a fence folder: %v, want ErrNoFence", err)
	}
	if _, err := New(Options{Roots: []Root{{Path: root}}, FenceDir: filepath.Join(root, "fence")}); err == nil || !strings.Contains(err.Error(), "inside root") {
		t.Errorf("New with the fence folder inside the root: %v", err)
	}
	a, _ := runSinkWatcher(t, Options{Roots: []Root{{Path: root}}, FenceDir: fence})
	b, _ := runSinkWatcher(t, Options{Roots: []Root{{Path: root}}, FenceDir: fence})
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	for range 3 {
		if err := a.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	b.fences.mu.Lock()
	got := b.fences.seen
	b.fences.mu.Unlock()
	if got != 1 {
		t.Errorf("watcher b saw fence %d, want its own first one", got)
	}
}

// gatedSink takes changes only while its gate is open (a consumer busy
// with something else), and gives up on one when the watcher stops.
type gatedSink struct {
	recordingSink
	gate chan struct{}
}

func (s *gatedSink) Change(ctx context.Context, c Change) bool {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return false
	}
	return s.recordingSink.Change(ctx, c)
}

// A Set syncs the watchers a reload launched and has not swapped in yet
// (their roots may already be served), and a watcher a Swap stops during
// its Sync is let go for the one that replaced it: the Sync then ends
// without an error.
func TestSetSyncsLaunchedAndSwappedWatchers(t *testing.T) {
	d := tempDirs(t, "a", "b", "fence")
	a, b, fence := d[0], d[1], d[2]
	var set Set
	t.Cleanup(set.Stop)
	gate := make(chan struct{})
	var gateOnce sync.Once
	t.Cleanup(func() { gateOnce.Do(func() { close(gate) }) })
	slow := &gatedSink{gate: gate}
	ready, err := set.Start(Options{Roots: []Root{{Path: a}}, FenceDir: fence, Sink: slow, Settle: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	<-ready
	fast := &recordingSink{}
	next, err := set.Launch(Options{Roots: []Root{{Path: a}, {Path: b}}, FenceDir: fence, Sink: fast, Settle: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	<-next.Ready()
	inB := filepath.Join(b, "new-root.php")
	if err := os.WriteFile(inB, []byte("<?php\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a, "held.php"), []byte("<?php\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The current watcher cannot deliver (its consumer's gate is shut):
	// the Sync waits on it until the Swap stops it.
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	synced := make(chan error, 1)
	go func() { synced <- set.Sync(ctx) }()
	time.Sleep(100 * time.Millisecond) // let the Sync reach the current watcher
	set.Swap(next)
	if err := <-synced; err != nil {
		t.Fatalf("Set.Sync across a Swap: %v, want nil", err)
	}
	if m := fast.missing([]string{inB}); len(m) > 0 {
		t.Errorf("Set.Sync returned before the launched watcher delivered %s", inB)
	}
}

// The watcher a reload launched is synced before it is swapped in: a
// change in a root only it watches is delivered when Set.Sync returns,
// though its consumer takes a while.
func TestSetSyncsALaunchedWatcher(t *testing.T) {
	d := tempDirs(t, "a", "b", "fence")
	a, b, fence := d[0], d[1], d[2]
	var set Set
	t.Cleanup(set.Stop)
	ready, err := set.Start(Options{Roots: []Root{{Path: a}}, FenceDir: fence, Sink: &recordingSink{}})
	if err != nil {
		t.Fatal(err)
	}
	<-ready
	gate := make(chan struct{})
	slow := &gatedSink{gate: gate}
	next, err := set.Launch(Options{Roots: []Root{{Path: a}, {Path: b}}, FenceDir: fence, Sink: slow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Discard(next) })
	<-next.Ready()
	inB := filepath.Join(b, "new-root.php")
	if err := os.WriteFile(inB, []byte("<?php\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(200*time.Millisecond, func() { close(gate) }) // a consumer that takes a while
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := set.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if m := slow.missing([]string{inB}); len(m) > 0 {
		t.Errorf("Set.Sync returned before the launched watcher delivered %s", inB)
	}
}

// tempDirs makes folders of the given names in a temp dir of the test,
// and returns their paths.
func tempDirs(t *testing.T, names ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join(dir, n))
		if err := os.MkdirAll(paths[len(paths)-1], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// syncNow syncs w, failing the test if it cannot within the deadline.
func syncNow(t *testing.T, w *Watcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}
