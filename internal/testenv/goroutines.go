package testenv

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Goroutines is a snapshot of the goroutines that run: each one's stack
// (as runtime.Stack prints it, "created by" line included), by id. Ids are
// never reused, so a goroutine absent from an earlier snapshot started after
// it.
type Goroutines map[uint64]string

// RunningGoroutines returns the goroutines that run now.
func RunningGoroutines() Goroutines {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := Goroutines{}
	for block := range bytes.SplitSeq(buf, []byte("\n\n")) {
		var id uint64
		if _, err := fmt.Sscanf(string(block), "goroutine %d ", &id); err == nil {
			out[id] = string(bytes.TrimSpace(block))
		}
	}
	return out
}

// ownGoroutineCreators start the goroutines that belong to the Go runtime
// and the testing package (a finalizer, a subtest, signal delivery once a
// test called signal.Notify), which outlive any code under test.
var ownGoroutineCreators = []string{"created by runtime.", "created by testing.", "created by os/signal."}

// NoGoroutinesLeft waits until every goroutine started since before has
// exited, the runtime's and testing's own aside, and fails the test listing
// each one still running, with its stack and where it was started, when
// timeout passes first. Goroutines a component stopped may still be on
// their way out when it returns: the wait gives them time, and ends as
// soon as they are gone.
func NoGoroutinesLeft(t testing.TB, before Goroutines, timeout time.Duration) {
	t.Helper()
	var left []string
	if poll(timeout, func() bool {
		left = startedSince(before)
		return len(left) == 0
	}) {
		return
	}
	t.Fatalf("%d goroutines started since the snapshot still run after %s:\n\n%s", len(left), timeout, strings.Join(left, "\n\n"))
}

// startedSince returns the stacks of the goroutines that run now and did not
// in before, the runtime's and testing's own aside, by id.
func startedSince(before Goroutines) []string {
	now := RunningGoroutines()
	ids := make([]uint64, 0, len(now))
	for id, stack := range now {
		if _, old := before[id]; old || isOwnGoroutine(stack) {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = now[id]
	}
	return out
}

func isOwnGoroutine(stack string) bool {
	for _, c := range ownGoroutineCreators {
		if strings.Contains(stack, "\n"+c) {
			return true
		}
	}
	return false
}
