// Package countdown waits for the end of the things begun before a moment
// while later ones come and go: tasks in a queue, paths in a coalescing
// set. Its owner numbers the things as they begin (a number that only
// grows), marks a moment with the number reached and how many are still
// under way, and tells each end; the wait is over once every thing
// numbered up to the mark has ended.
package countdown

import "context"

// Countdown counts down the things numbered up to a mark. Its zero value
// has no mark. It is not safe for concurrent use: its owner guards it with
// the lock that guards its numbering.
type Countdown struct {
	mark uint64
	left int64
	done chan struct{}
}

// Mark starts a countdown of the left things numbered up to mark that
// have not ended, and replaces the one before; the channel returned is
// closed once they all have.
func (c *Countdown) Mark(mark uint64, left int64) <-chan struct{} {
	c.mark, c.left = mark, left
	c.done = make(chan struct{})
	if left <= 0 {
		close(c.done)
	}
	return c.done
}

// Ended tells the end of the thing numbered n.
func (c *Countdown) Ended(n uint64) {
	if n <= c.mark && c.left > 0 {
		if c.left--; c.left == 0 {
			close(c.done)
		}
	}
}

// Wait returns nil once done is closed, or ctx's error.
func Wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
