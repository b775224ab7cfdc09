package testenv

import (
	"strings"
	"testing"
	"time"
)

// parkedUntil blocks until release is closed: a goroutine with a name of
// its own in a stack.
func parkedUntil(release chan struct{}, exited chan struct{}) {
	<-release
	close(exited)
}

func TestNoGoroutinesLeftNamesTheLeakAndWaitsForExits(t *testing.T) {
	before := RunningGoroutines()
	release, exited := make(chan struct{}), make(chan struct{})
	go parkedUntil(release, exited)

	rec := &fatalRecorder{TB: t}
	NoGoroutinesLeft(rec, before, 20*time.Millisecond)
	for _, want := range []string{"1 goroutines", "testenv.parkedUntil", "created by github.com/shellwatch/shellwatch/internal/testenv.TestNoGoroutinesLeftNamesTheLeakAndWaitsForExits", "goroutines_test.go:"} {
		if !strings.Contains(rec.failure, want) {
			t.Errorf("failure does not mention %q:\n%s", want, rec.failure)
		}
	}

	// Once it exits, or while it is on its way out, nothing is left.
	rec = &fatalRecorder{TB: t}
	close(release)
	NoGoroutinesLeft(rec, before, time.Minute)
	<-exited
	if rec.failure != "" {
		t.Errorf("a goroutine that exited counts as left:\n%s", rec.failure)
	}
}
