package watcher

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/testenv"
)

// recordingSink takes every change, and refuses problems when full.
type recordingSink struct {
	mu       sync.Mutex
	changes  []Change
	problems []Problem
	refuse   bool
}

func (s *recordingSink) Change(_ context.Context, c Change) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes = append(s.changes, c)
	return true
}

func (s *recordingSink) Problem(p Problem) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse {
		return false
	}
	s.problems = append(s.problems, p)
	return true
}

func (s *recordingSink) has(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.changes {
		if c.Path == path {
			return true
		}
	}
	return false
}

// With a Sink the watcher delivers into it, from its own goroutines (no
// channels, no relay): a change reaches it; a problem it refuses is logged
// and counted, never waited for.
func TestSinkReceivesChangesAndMayRefuseProblems(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{refuse: true}
	w, err := New(Options{Roots: []Root{{Path: root}}, Sink: sink, Settle: 20 * time.Millisecond, RootPollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if w.Changes() != nil || w.Problems() != nil {
		t.Error("a watcher with a Sink also offers channels")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-w.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}
	p := filepath.Join(root, "a.php")
	if err := os.WriteFile(p, []byte("<?php\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The root goes away: a root_missing problem the sink refuses.
	if err := os.Rename(root, filepath.Join(dir, "gone")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the change delivered and the refused problem counted", func() bool {
		return sink.has(p) && w.Stats().ProblemsDropped > 0
	})
}
