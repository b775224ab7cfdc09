package testenv

import (
	"testing"
	"time"
)

// Polling intervals of [Eventually]: the first check comes at once, the
// next ones after an interval that doubles from minPoll to maxPoll, so a
// condition that holds soon is seen soon and a costly one (a journalctl
// run) is not run hundreds of times a second during a long wait.
const (
	minPoll = time.Millisecond
	maxPoll = 50 * time.Millisecond
)

// Eventually waits until cond returns true, and fails the test, naming what
// it waited for and how long, when timeout passes first. The timeout bounds
// a failure, it is not a speed requirement: the wait ends as soon as cond
// holds, so make it generous (the machine running the tests may be loaded).
// cond runs on the caller's goroutine and may itself fail the test.
//
// Wait this way on a state the test can observe, never on a sleep that
// hopes something has happened by then.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	if !poll(timeout, cond) {
		t.Fatalf("gave up waiting for %s after %s", what, time.Since(start).Round(time.Millisecond))
	}
}

// poll calls cond until it returns true or timeout passes, and reports
// whether cond held. cond is called once more at the deadline, so a wait
// that overslept still sees a condition that came true meanwhile.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	interval := minPoll
	for {
		if cond() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		time.Sleep(min(interval, left))
		interval = min(2*interval, maxPoll)
	}
}
