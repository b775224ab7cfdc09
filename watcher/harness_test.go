package watcher

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// deadline is how long a test waits for something it expects. Tests wait on
// the event, never on a sleep; the deadline only bounds a failure.
const deadline = 30 * time.Second

// record is one Change or Problem seen by a harness, in arrival order.
type record struct {
	change  Change
	problem *Problem
}

// harness runs a Watcher and collects everything it reports.
type harness struct {
	t      *testing.T
	w      *Watcher
	cancel context.CancelFunc
	done   chan error

	mu      sync.Mutex
	records []record
	changed chan struct{} // closed and replaced at every new record
	gate    chan struct{} // while not nil, the collector stops reading Changes
}

// startWatcher runs a Watcher with opts until the test ends, and waits for it
// to be Ready. Each tweak is applied to the Watcher before it runs.
func startWatcher(t *testing.T, opts Options, tweaks ...func(*Watcher)) *harness {
	t.Helper()
	if opts.Settle == 0 {
		opts.Settle = 50 * time.Millisecond
	}
	if opts.RootPollInterval == 0 {
		opts.RootPollInterval = 50 * time.Millisecond
	}
	if opts.FenceDir == "" {
		opts.FenceDir = t.TempDir() // as the agent runs it
	}
	w, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, tweak := range tweaks {
		tweak(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, w: w, cancel: cancel, done: make(chan error, 1), changed: make(chan struct{})}
	var collectors sync.WaitGroup
	collectors.Go(func() {
		for {
			h.mu.Lock()
			gate := h.gate
			h.mu.Unlock()
			if gate != nil {
				<-gate
			}
			c, ok := <-w.Changes()
			if !ok {
				return
			}
			h.add(record{change: c})
		}
	})
	collectors.Go(func() {
		for p := range w.Problems() {
			t.Logf("problem: %s %s: %v", p.Kind, p.Path, p.Err)
			h.add(record{problem: &p})
		}
	})
	go func() {
		err := w.Run(ctx)
		collectors.Wait()
		h.done <- err
	}()
	t.Cleanup(h.stop)
	select {
	case <-w.Ready():
	case err := <-h.done:
		t.Fatalf("Run returned before Ready: %v", err)
	case <-time.After(deadline):
		t.Fatal("watcher not Ready")
	}
	return h
}

// pause makes the harness a stalled consumer: it stops reading Changes
// (after at most one more) until resume.
func (h *harness) pause() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gate = make(chan struct{})
}

func (h *harness) resume() {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.gate)
	h.gate = nil
}

// stop cancels Run and checks that it returns and closes its channels.
func (h *harness) stop() {
	h.mu.Lock()
	if h.gate != nil {
		close(h.gate)
		h.gate = nil
	}
	h.mu.Unlock()
	h.cancel()
	select {
	case err, ok := <-h.done:
		if ok && err != nil {
			h.t.Errorf("Run: %v", err)
		}
		close(h.done)
	case <-time.After(deadline):
		h.t.Fatal("Run did not return after cancel")
	}
}

func (h *harness) add(r record) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	close(h.changed)
	h.changed = make(chan struct{})
}

// mark returns the number of records so far: a record at an index at or
// above it arrived after the call.
func (h *harness) mark() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.records)
}

// waitFor waits for a record at index from or later that matches, and
// returns it.
func (h *harness) waitFor(what string, from int, match func(record) bool) record {
	h.t.Helper()
	timeout := time.After(deadline)
	for {
		h.mu.Lock()
		for ; from < len(h.records); from++ {
			if r := h.records[from]; match(r) {
				h.mu.Unlock()
				return r
			}
		}
		changed := h.changed
		h.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			h.t.Fatalf("timed out waiting for %s (%s); got:\n%s", what, h.w.pending.debug(), h.dump())
		}
	}
}

// waitChange waits for a Change on path with one of ops (any op when none),
// at or after record index from, and returns it.
func (h *harness) waitChange(from int, path string, ops ...Op) Change {
	h.t.Helper()
	return h.waitFor(describe(path, ops), from, func(r record) bool {
		return r.problem == nil && r.change.Path == path && (len(ops) == 0 || hasOp(ops, r.change.Op))
	}).change
}

// waitProblem waits for a Problem of kind and returns it.
func (h *harness) waitProblem(kind ProblemKind) Problem {
	h.t.Helper()
	return *h.waitFor("problem "+kind.String(), 0, func(r record) bool {
		return r.problem != nil && r.problem.Kind == kind
	}).problem
}

func (h *harness) dump() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	start := max(0, len(h.records)-200)
	if start > 0 {
		b.WriteString("\t(" + strconv.Itoa(start) + " earlier records not shown)\n")
	}
	for i, r := range h.records[start:] {
		i += start
		if r.problem != nil {
			b.WriteString("\t" + strconv.Itoa(i) + " problem " + r.problem.Kind.String() + " " + r.problem.Path + "\n")
			continue
		}
		b.WriteString("\t" + strconv.Itoa(i) + " " + r.change.Op.String() + " " + quoteIfOdd(r.change.Path) + "\n")
	}
	return b.String()
}

func describe(path string, ops []Op) string {
	var names []string
	for _, o := range ops {
		names = append(names, o.String())
	}
	if len(names) == 0 {
		names = []string{"any"}
	}
	return strings.Join(names, "|") + " " + quoteIfOdd(path)
}

func hasOp(ops []Op, op Op) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

// debug describes the pending set for a failure message.
func (p *pendingSet) debug() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.entries {
		if e.dirty {
			n++
		}
	}
	return fmt.Sprintf("entries=%d dirty=%d ready=%d cooling=%d freed=%v", len(p.entries), n, len(p.ready.items)-p.ready.head, len(p.cooling.items)-p.cooling.head, p.freed != nil)
}
