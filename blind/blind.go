// Package blind keeps what the agent cannot see right now: a set of named
// conditions (a root unwatched, the state database or the vault
// unwritable, a webhook failing, journald unreachable, a reload that
// failed, the agent's own files changed on disk). Each condition is raised
// once and resolved once, whatever number of failures and successes tell
// it in between; the set is what `shellwatch status` lists and the
// shellwatch_blind metric counts.
//
// The set only decides and remembers. Raising or resolving says whether
// the condition changed; the caller, who knows what to tell, sends the
// alert when it did.
package blind

import (
	"sort"
	"sync"
	"time"
)

// State names a kind of blindness. A condition is a State and a Subject
// (the root, the file, the sink it is about).
type State string

// The states, each with the subject its conditions name.
const (
	// RootUnwatched: a root, or part of it, is not watched (the inotify
	// watch limit, a folder that cannot be read, a root removed or replaced
	// by a symbolic link). Subject: the root.
	RootUnwatched State = "root_unwatched"
	// StateUnwritable: the baseline cannot be stored in the state
	// database (disk full, read-only, I/O errors). Subject: the database.
	StateUnwritable State = "state_unwritable"
	// VaultUnwritable: flagged files cannot be moved into the vault (its
	// filesystem is full or read-only). Subject: the vault folder.
	VaultUnwritable State = "vault_unwritable"
	// WebhookFailing: a webhook receiver has not taken an alert for longer
	// than its alert_after. Subject: the webhook ("webhook <url>").
	WebhookFailing State = "webhook_failing"
	// JournaldUnreachable: nothing serves journald's socket. Subject: the
	// socket.
	JournaldUnreachable State = "journald_unreachable"
	// ReloadFailed: the last reload failed; the previous config and rules
	// run on. Subject: the config file.
	ReloadFailed State = "reload_failed"
	// SelfChanged: the agent's own binary, config file, rule file or
	// folder, or hash list changed on disk outside a reload: someone
	// changed the agent. Subject: the file or folder as the config names
	// it (the binary: its path).
	SelfChanged State = "self_changed"
)

// States returns every state, in a fixed order.
func States() []State {
	return []State{RootUnwatched, StateUnwritable, VaultUnwritable, WebhookFailing, JournaldUnreachable, ReloadFailed, SelfChanged}
}

// Condition is one blind state that is on.
type Condition struct {
	State   State     `json:"state"`
	Subject string    `json:"subject"`
	Since   time.Time `json:"since"`
	// Detail is what raised it: the first error.
	Detail string `json:"detail,omitempty"`
}

type key struct {
	state   State
	subject string
}

// Set is the conditions that are on. The zero value is empty and ready;
// it is safe for concurrent use.
type Set struct {
	mu sync.Mutex
	on map[key]Condition
	// now is time.Now; tests may replace it.
	now func() time.Time
}

// Raise turns the condition (state, subject) on. It returns the condition
// and true when it was off (the caller tells it), or the condition that
// is on already and false (told already: nothing to say).
func (s *Set) Raise(state State, subject, detail string) (Condition, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{state, subject}
	if c, ok := s.on[k]; ok {
		return c, false
	}
	if s.on == nil {
		s.on = map[key]Condition{}
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	c := Condition{State: state, Subject: subject, Since: now().UTC(), Detail: detail}
	s.on[k] = c
	return c, true
}

// Resolve turns the condition (state, subject) off. It returns the
// condition that was on and true (the caller tells its end), or false
// when it was not on.
func (s *Set) Resolve(state State, subject string) (Condition, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{state, subject}
	c, ok := s.on[k]
	if ok {
		delete(s.on, k)
	}
	return c, ok
}

// Has reports whether the condition (state, subject) is on.
func (s *Set) Has(state State, subject string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.on[key{state, subject}]
	return ok
}

// Of returns the conditions of state that are on, by subject.
func (s *Set) Of(state State) []Condition {
	var out []Condition
	for _, c := range s.List() {
		if c.State == state {
			out = append(out, c)
		}
	}
	return out
}

// List returns every condition that is on, by state (in the order of
// [States]) then subject.
func (s *Set) List() []Condition {
	s.mu.Lock()
	out := make([]Condition, 0, len(s.on))
	for _, c := range s.on {
		out = append(out, c)
	}
	s.mu.Unlock()
	order := map[State]int{}
	for i, st := range States() {
		order[st] = i
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].State != out[j].State {
			return order[out[i].State] < order[out[j].State]
		}
		return out[i].Subject < out[j].Subject
	})
	return out
}

// Counts returns how many conditions of each state are on, every state
// included (0 when none).
func (s *Set) Counts() map[State]int {
	out := map[State]int{}
	for _, st := range States() {
		out[st] = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.on {
		out[k.state]++
	}
	return out
}
