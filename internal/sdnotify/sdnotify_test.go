package sdnotify

import (
	"testing"

	"github.com/shellwatch/shellwatch/internal/testenv"
)

// Send never waits, however full the socket: the queue keeps the latest
// states and counts what it dropped.
func TestNotifierDropsOldestWhenFull(t *testing.T) {
	path, ln := testenv.FullNotifySocket(t)
	n := New(path)
	for i := range 3 * Queue {
		n.Send("STATUS=" + string(rune('a'+i%26)))
	}
	n.mu.Lock()
	queued, dropped := len(n.queue), n.dropped
	n.mu.Unlock()
	if queued > Queue || dropped < 3*Queue-Queue-1 {
		t.Errorf("after %d sends to a full socket: %d queued, %d dropped; want at most %d queued", 3*Queue, queued, dropped, Queue)
	}
	// A socket that goes away fails the writes at once: the flush ends.
	ln.Close()
	n.flushed.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.busy || len(n.queue) != 0 {
		t.Errorf("after the socket went away: busy %v, %d queued", n.busy, len(n.queue))
	}
}
