package countdown

import (
	"context"
	"testing"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A mark waits for the things numbered up to it, whatever their order, and
// not for those begun after it; a new mark replaces the one before.
func TestCountdown(t *testing.T) {
	var c Countdown
	c.Ended(1) // no mark: nothing to count
	if done := c.Mark(5, 0); !closed(done) {
		t.Error("a mark with nothing under way is not over at once")
	}
	done := c.Mark(7, 3) // say 3, 6 and 7 are under way
	c.Ended(9)           // begun after the mark
	c.Ended(7)
	c.Ended(3)
	if closed(done) {
		t.Fatal("over with one thing of the mark under way")
	}
	c.Ended(6)
	if !closed(done) {
		t.Fatal("not over once every thing of the mark ended")
	}
	c.Ended(2) // late and stray: no double close
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Wait(ctx, c.Mark(10, 1)); err == nil {
		t.Error("Wait with a cancelled context and a thing under way returned nil")
	}
	if err := Wait(context.Background(), done); err != nil {
		t.Error(err)
	}
}
