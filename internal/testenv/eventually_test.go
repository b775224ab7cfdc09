package testenv

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fatalRecorder is a testing.TB whose Fatalf records the failure instead of
// ending the test, so a test can check how a helper fails.
type fatalRecorder struct {
	testing.TB
	failure string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	calls := 0
	Eventually(rec, time.Minute, "the third call", func() bool {
		calls++
		return calls == 3
	})
	if rec.failure != "" || calls != 3 {
		t.Errorf("Eventually: %d calls, failure %q; want 3 calls and no failure", calls, rec.failure)
	}
}

func TestEventuallyFailsNamingWhatAndHowLong(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	start := time.Now()
	calls := 0
	Eventually(rec, 30*time.Millisecond, "the moon to turn blue", func() bool {
		calls++
		return false
	})
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Errorf("gave up after %s, before the 30ms timeout", waited)
	}
	_, after, found := strings.Cut(rec.failure, " after ")
	waited, err := time.ParseDuration(after)
	if !strings.Contains(rec.failure, "the moon to turn blue") || !found || err != nil || waited < 30*time.Millisecond {
		t.Errorf("failure %q does not name what was awaited and how long (at least 30ms)", rec.failure)
	}
	if calls < 2 {
		t.Errorf("the condition was checked %d times in 30ms: not polled", calls)
	}
}
