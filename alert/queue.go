package alert

import (
	"slices"
	"sync"

	"github.com/shellwatch/shellwatch/finding"
)

// routeQueue is the bounded queue between Dispatcher.Send and one route's
// worker. put never blocks, so a sink that hangs can never hold up the
// scan worker that raised the alert (and the quarantine that follows).
// When the queue is full, a high or critical alert takes the place of the
// oldest low or medium alert queued; an alert that finds no place is
// refused. Either way the caller learns which alert is lost for the route.
type routeQueue struct {
	max int

	mu     sync.Mutex
	items  []Alert
	closed bool

	// ready holds one signal when items were added or the queue closed
	// since the worker last looked.
	ready chan struct{}
}

func newRouteQueue(max int) *routeQueue {
	return &routeQueue{max: max, ready: make(chan struct{}, 1)}
}

// put queues a. It returns the alert that is lost for the route because
// the queue is full (a itself, or a lower alert a displaced), and whether
// one is. put must not be called after close.
func (q *routeQueue) put(a Alert) (lost Alert, isLost bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) >= q.max {
		if a.Severity < finding.SeverityHigh {
			return a, true
		}
		i := slices.IndexFunc(q.items, func(b Alert) bool { return b.Severity < finding.SeverityHigh })
		if i < 0 {
			return a, true
		}
		lost, isLost = q.items[i], true
		q.items = slices.Delete(q.items, i, i+1)
	}
	q.items = append(q.items, a)
	q.signal()
	return lost, isLost
}

// take returns the oldest queued alert, without waiting, and whether the
// queue is closed. ok is false when the queue is empty.
func (q *routeQueue) take() (a Alert, ok, closed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return Alert{}, false, q.closed
	}
	a = q.items[0]
	q.items[0] = Alert{} // let the garbage collector have what it held
	q.items = q.items[1:]
	if len(q.items) == 0 {
		q.items = nil // drop the backing array a long backlog grew
	}
	return a, true, q.closed
}

// close marks the queue as complete: the worker delivers what it holds and
// stops.
func (q *routeQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.signal()
	q.mu.Unlock()
}

// isClosed says whether close was called.
func (q *routeQueue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

func (q *routeQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func (q *routeQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}
