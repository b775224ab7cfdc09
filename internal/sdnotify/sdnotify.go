// Package sdnotify speaks systemd's notify protocol (READY=1, STATUS=,
// WATCHDOG=1, STOPPING=1) for a daemon whose main loop must never wait on
// it.
package sdnotify

import (
	"net"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

const (
	// Queue bounds the states waiting for systemd; past it the oldest is
	// dropped (each state supersedes the ones before).
	Queue = 16
	// Timeout bounds one write to the notify socket.
	Timeout = time.Second
)

// Notifier sends sd_notify states to systemd (NOTIFY_SOCKET) without ever
// making its caller wait: a systemd that stops reading fills the socket,
// and a blocking write there would freeze the main loop, and with it the
// reloads and the stop. States are queued, written by one goroutine with a
// deadline, and the oldest dropped when the queue is full. go-systemd's
// daemon.SdNotify writes without a deadline, hence this.
type Notifier struct {
	socket string // "" outside systemd: states go nowhere

	mu      sync.Mutex
	queue   []string
	busy    bool // a flush goroutine runs
	dropped int  // states dropped unsent
	flushed sync.WaitGroup
}

// New returns a Notifier writing to socket, $NOTIFY_SOCKET as systemd set
// it; "" (not under systemd) sends nothing.
func New(socket string) *Notifier { return &Notifier{socket: socket} }

// Send queues state and returns at once.
func (n *Notifier) Send(state string) {
	if n.socket == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.queue) >= Queue {
		n.queue = n.queue[1:]
		n.dropped++
	}
	n.queue = append(n.queue, state)
	if !n.busy {
		n.busy = true
		n.flushed.Go(n.flush)
	}
}

func (n *Notifier) flush() {
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
		if err := writeNotify(n.socket, state, Timeout); err != nil {
			n.mu.Lock()
			n.dropped++
			n.mu.Unlock()
		}
	}
}

// Wait waits, at most timeout, for the states queued to be written.
func (n *Notifier) Wait(timeout time.Duration) {
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

// Watchdog ticks at half of systemd's WatchdogSec (WATCHDOG_USEC), or never
// when no watchdog is set. The ticks are served by the agent's main loop,
// so a loop that hangs stops the pings and systemd restarts the agent.
type Watchdog struct{ t *time.Ticker }

// NewWatchdog returns the watchdog systemd asked for, or one that never
// ticks.
func NewWatchdog() Watchdog {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return Watchdog{}
	}
	return Watchdog{time.NewTicker(interval / 2)}
}

// C ticks when a WATCHDOG=1 is due; nil without a watchdog.
func (w Watchdog) C() <-chan time.Time {
	if w.t == nil {
		return nil
	}
	return w.t.C
}

// MonotonicUsec is CLOCK_MONOTONIC in microseconds, which systemd wants
// with RELOADING=1.
func MonotonicUsec() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano() / 1000
}
