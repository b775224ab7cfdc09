package agent

import (
	"net"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

const (
	// notifyQueue bounds the states waiting for systemd; past it the
	// oldest is dropped (each state supersedes the ones before).
	notifyQueue = 16
	// notifyTimeout bounds one write to the notify socket.
	notifyTimeout = time.Second
)

// notifier sends sd_notify states to systemd (NOTIFY_SOCKET) without ever
// making its caller wait: a systemd that stops reading fills the socket,
// and a blocking write there would freeze the main loop, and with it the
// reloads and the stop. States are queued, written by one goroutine with a
// deadline, and the oldest dropped when the queue is full. go-systemd's
// daemon.SdNotify writes without a deadline, hence this.
type notifier struct {
	socket string // "" outside systemd: states go nowhere

	mu      sync.Mutex
	queue   []string
	busy    bool // a flush goroutine runs
	dropped int  // states dropped unsent
	flushed sync.WaitGroup
}

func newNotifier(socket string) *notifier { return &notifier{socket: socket} }

// send queues state and returns at once.
func (n *notifier) send(state string) {
	if n.socket == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.queue) >= notifyQueue {
		n.queue = n.queue[1:]
		n.dropped++
	}
	n.queue = append(n.queue, state)
	if !n.busy {
		n.busy = true
		n.flushed.Go(n.flush)
	}
}

func (n *notifier) flush() {
	for {
		n.mu.Lock()
		if len(n.queue) == 0 {
			n.busy = false
			n.mu.Unlock()
			return
		}
		state := n.queue[0]
		n.queue = n.queue[1:]
		n.mu.Unlock()
		if err := writeNotify(n.socket, state, notifyTimeout); err != nil {
			n.mu.Lock()
			n.dropped++
			n.mu.Unlock()
		}
	}
}

// wait waits, at most timeout, for the states queued to be written.
func (n *notifier) wait(timeout time.Duration) {
	done := make(chan struct{})
	go func() { n.flushed.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// writeNotify writes one datagram to the notify socket (an abstract one
// when it starts with "@", which package net maps).
func writeNotify(socket, state string, timeout time.Duration) error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err = conn.Write([]byte(state))
	return err
}

// watchdog ticks at half of systemd's WatchdogSec (WATCHDOG_USEC), or never
// when no watchdog is set. The ticks are served by the agent's main loop,
// so a loop that hangs stops the pings and systemd restarts the agent.
type watchdog struct{ t *time.Ticker }

func newWatchdog() watchdog {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return watchdog{}
	}
	return watchdog{time.NewTicker(interval / 2)}
}

func (w watchdog) C() <-chan time.Time {
	if w.t == nil {
		return nil
	}
	return w.t.C
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, which systemd wants
// with RELOADING=1.
func monotonicUsec() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano() / 1000
}
