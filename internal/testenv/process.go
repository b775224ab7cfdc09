package testenv

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// start starts cmd and waits until ready, or fails the test.
func start(t testing.TB, name string, stopSig syscall.Signal, cmd *exec.Cmd, ready func() bool) {
	t.Helper()
	if err := tryStart(t, name, stopSig, cmd, ready); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// tryStart starts cmd (a server the tests talk to), waits until ready, and
// stops it by its PID with stopSig (SIGKILL after 10 s) when the test ends;
// an error says why it did not get ready (it is stopped then). It never
// outlives a killed test binary (Pdeathsig).
func tryStart(t testing.TB, name string, stopSig syscall.Signal, cmd *exec.Cmd, ready func() bool) error {
	out := &Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(stopSig)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	var exitErr error
	gone := false
	ok := poll(30*time.Second, func() bool {
		select {
		case exitErr = <-exited:
			gone = true
			return true
		default:
		}
		return ready()
	})
	switch {
	case gone:
		return fmt.Errorf("exited before it was ready (%v): %s", exitErr, strings.TrimSpace(out.String()))
	case !ok:
		stop()
		return errors.New("not ready after 30s: " + strings.TrimSpace(out.String()))
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return nil
}
