package phpscan

import "fmt"

// taint is request input a value carries: where it entered (the source) and
// the steps it took since, newest last. A taint is never changed once made:
// a step makes a new one pointing at the one before, so values share their
// history.
type taint struct {
	prev *taint
	line int
	what string // "$_POST['cmd']" at the source, then "assigned to $c", …
	n    int    // steps so far, to cap the chain
}

const maxSteps = 24

func newSource(line int, what string) *taint { return &taint{line: line, what: what, n: 1} }

// step returns t with one more step, or t itself past maxSteps or when the
// step adds nothing (the same words on the same line).
func (t *taint) step(line int, format string, args ...any) *taint {
	if t == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if t.n >= maxSteps || (t.line == line && t.what == what) {
		return t
	}
	return &taint{prev: t, line: line, what: what, n: t.n + 1}
}

// Step is one point of the path request input took to a sink.
type Step struct {
	Line int    `json:"line"`
	What string `json:"what"`
}

// path lists the steps oldest first.
func (t *taint) path() []Step {
	if t == nil {
		return nil
	}
	out := make([]Step, t.n)
	for i := t.n - 1; t != nil && i >= 0; t, i = t.prev, i-1 {
		out[i] = Step{Line: t.line, What: t.what}
	}
	return out
}

// source is the first step: where the input entered.
func (t *taint) source() string {
	for t != nil && t.prev != nil {
		t = t.prev
	}
	if t == nil {
		return ""
	}
	return t.what
}

func firstTaint(a, b *taint) *taint {
	if a != nil {
		return a
	}
	return b
}
