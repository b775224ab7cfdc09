package blind

import (
	"sync"
	"testing"
	"time"
)

// Each condition is raised once and resolved once, whatever number of
// failures and successes report it in between.
func TestRaisedOnceResolvedOnce(t *testing.T) {
	var s Set
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }
	steps := []struct {
		raise   bool
		state   State
		subject string
		changed bool
	}{
		{false, VaultUnwritable, "/v", false}, // nothing on: nothing to resolve
		{true, VaultUnwritable, "/v", true},
		{true, VaultUnwritable, "/v", false}, // the second failure says nothing
		{true, VaultUnwritable, "/other", true},
		{true, StateUnwritable, "/v", true}, // another state, same subject
		{false, VaultUnwritable, "/v", true},
		{false, VaultUnwritable, "/v", false}, // the second success says nothing
		{true, VaultUnwritable, "/v", true},   // a new episode
	}
	for i, st := range steps {
		var changed bool
		if st.raise {
			_, changed = s.Raise(st.state, st.subject, "why")
		} else {
			_, changed = s.Resolve(st.state, st.subject)
		}
		if changed != st.changed {
			t.Fatalf("step %d (raise %v %s %s): changed %v, want %v", i, st.raise, st.state, st.subject, changed, st.changed)
		}
		clock = clock.Add(time.Second)
	}
	got := s.List()
	want := []Condition{
		{StateUnwritable, "/v", time.Date(2026, 12, 1, 9, 0, 4, 0, time.UTC), "why"},
		{VaultUnwritable, "/other", time.Date(2026, 12, 1, 9, 0, 3, 0, time.UTC), "why"},
		{VaultUnwritable, "/v", time.Date(2026, 12, 1, 9, 0, 7, 0, time.UTC), "why"},
	}
	if len(got) != len(want) {
		t.Fatalf("List = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("List[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	counts := s.Counts()
	if len(counts) != len(States()) || counts[VaultUnwritable] != 2 || counts[StateUnwritable] != 1 || counts[ReloadFailed] != 0 {
		t.Errorf("Counts = %v", counts)
	}
	if !s.Has(VaultUnwritable, "/other") || s.Has(ReloadFailed, "/v") {
		t.Error("Has disagrees with List")
	}
	if got := s.Of(VaultUnwritable); len(got) != 2 {
		t.Errorf("Of(vault_unwritable) = %+v", got)
	}
}

// Concurrent failures of one condition raise it exactly once.
func TestRaiseConcurrent(t *testing.T) {
	var s Set
	var wg sync.WaitGroup
	var mu sync.Mutex
	raised := 0
	for range 64 {
		wg.Go(func() {
			if _, ok := s.Raise(WebhookFailing, "webhook x", "down"); ok {
				mu.Lock()
				raised++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if raised != 1 {
		t.Fatalf("raised %d times, want 1", raised)
	}
}
