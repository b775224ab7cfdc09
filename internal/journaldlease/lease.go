// Package journaldlease gives a test or a benchmark a real systemd-journald
// on a machine where systemd is not PID 1: it takes a lock shared by every
// shellwatch process that needs journald, starts
// /lib/systemd/systemd-journald unless one already answers, and stops the
// one it started (by PID) when the lease is released. The lock keeps one
// process from stopping the journald another is reading from.
package journaldlease

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Where journald lives. The socket path is fixed: go-systemd's journal
// package sends to it and cannot be pointed elsewhere at run time.
const (
	Binary   = "/lib/systemd/systemd-journald"
	Socket   = "/run/systemd/journal/socket"
	LockPath = "/run/shellwatch-test-journald.lock"
)

// Lease is a hold on a running journald.
type Lease struct {
	lock    *os.File
	cmd     *exec.Cmd // nil when journald was already running
	exited  chan struct{}
	waitErr error
}

// Acquire takes the lock, waiting for another holder (saying so on
// progress), and starts journald unless one answers on its socket. Its
// stderr goes to progress too.
func Acquire(progress io.Writer) (*Lease, error) {
	lock, err := os.OpenFile(LockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the journald lock %s (run as root): %w", LockPath, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(progress, "waiting for %s (another process uses journald)\n", LockPath)
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
			lock.Close()
			return nil, fmt.Errorf("lock %s: %w", LockPath, err)
		}
	}
	l := &Lease{lock: lock}
	if Answers() {
		return l, nil
	}
	if _, err := os.Stat(Binary); err != nil {
		l.unlock()
		return nil, fmt.Errorf("no journald answers on %s and %s is missing (install the Debian package systemd): %w", Socket, Binary, err)
	}
	if err := os.MkdirAll("/run/systemd/journal", 0o755); err != nil {
		l.unlock()
		return nil, fmt.Errorf("create journald's runtime dir: %w", err)
	}
	cmd := exec.Command(Binary)
	cmd.Stderr = progress
	// A process killed without cleanup (a test binary's timeout) takes its
	// journald along; the flock goes with the process anyway.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		l.unlock()
		return nil, fmt.Errorf("start %s: %w", Binary, err)
	}
	l.cmd, l.exited = cmd, make(chan struct{})
	go func() {
		l.waitErr = cmd.Wait()
		close(l.exited)
	}()
	// Wait for the socket to answer, not for a fixed time; the deadline
	// only bounds a journald that never comes up.
	deadline := time.Now().Add(30 * time.Second)
	for !Answers() {
		select {
		case <-l.exited:
			l.cmd = nil
			l.unlock()
			return nil, fmt.Errorf("%s exited before opening %s: %v", Binary, Socket, l.waitErr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			err := l.Release()
			return nil, fmt.Errorf("%s did not answer on %s within 30s (stop: %v)", Binary, Socket, err)
		}
	}
	return l, nil
}

// StartedHere reports whether this lease started the journald.
func (l *Lease) StartedHere() bool { return l.cmd != nil }

// Release stops the journald started here, by PID, and drops the lock.
func (l *Lease) Release() error {
	defer l.unlock()
	if l.cmd == nil {
		return nil
	}
	cmd := l.cmd
	l.cmd = nil
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop systemd-journald pid %d: %w", cmd.Process.Pid, err)
	}
	select {
	case <-l.exited:
		// SIGTERM is how journald is meant to stop: its exit status
		// says nothing of interest.
		return nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-l.exited
		return fmt.Errorf("systemd-journald pid %d ignored SIGTERM for 30s and was killed", cmd.Process.Pid)
	}
}

func (l *Lease) unlock() {
	if l.lock != nil {
		_ = syscall.Flock(int(l.lock.Fd()), syscall.LOCK_UN)
		l.lock.Close()
		l.lock = nil
	}
}

// Answers reports whether something listens on the journal socket. A
// socket file alone proves nothing: a stopped journald leaves it behind,
// and connecting to it then fails with ECONNREFUSED.
func Answers() bool {
	conn, err := net.Dial("unixgram", Socket)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
