package agent

// shutdown is the agent's one ordered shutdown: each part that starts
// pushes how to stop it, and unwind stops what started, last first. A
// start that fails midway unwinds what it had started, and the stop after
// a clean start unwinds everything, by the same code.
type shutdown struct {
	steps []func()
}

// push adds the way to stop what just started.
func (s *shutdown) push(stop func()) { s.steps = append(s.steps, stop) }

// unwind stops everything pushed, last first, once.
func (s *shutdown) unwind() {
	for i := len(s.steps) - 1; i >= 0; i-- {
		s.steps[i]()
	}
	s.steps = nil
}
