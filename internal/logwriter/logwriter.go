// Package logwriter keeps the agent's own logging from ever blocking it.
//
// Under systemd the agent's stderr is a stream to journald. A journald that
// stops reading (hung, or flooded by an attacker) fills that stream, and a
// plain write to it then blocks whichever goroutine logged: a scan worker
// between a detection and its quarantine. A Writer hands each write to one
// goroutine through a bounded queue; when the queue is full the line is
// dropped and counted, and the count is written before the next line that
// gets through.
package logwriter

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Writer is an io.Writer whose Write never blocks. Make one with New; Close
// it to flush.
type Writer struct {
	out     io.Writer
	queue   chan []byte
	dropped atomic.Uint64
	done    chan struct{}

	mu     sync.RWMutex // Write holds it shared while it queues
	closed bool
}

// New returns a Writer that writes to out from its own goroutine, holding
// at most lines writes meanwhile.
func New(out io.Writer, lines int) *Writer {
	w := &Writer{out: out, queue: make(chan []byte, lines), done: make(chan struct{})}
	go w.run()
	return w
}

// Write queues a copy of p and returns at once; when the queue is full p is
// dropped and counted. It always reports success: a log line that cannot
// be written must not fail what logged it.
func (w *Writer) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...)
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		return len(p), nil
	}
	select {
	case w.queue <- b:
	default:
		w.dropped.Add(1)
	}
	return len(p), nil
}

// Dropped returns how many writes were dropped so far.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

func (w *Writer) run() {
	defer close(w.done)
	var told uint64
	for b := range w.queue {
		if d := w.dropped.Load(); d > told {
			fmt.Fprintf(w.out, "shellwatch: %d log lines dropped: stderr (journald) was not reading\n", d-told)
			told = d
		}
		w.out.Write(b)
	}
}

// Close stops taking writes and waits, at most timeout, for those queued to
// be written. Writes after Close are dropped.
func (w *Writer) Close(timeout time.Duration) {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
	case <-time.After(timeout):
	}
}
