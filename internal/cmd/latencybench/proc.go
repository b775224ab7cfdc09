package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shellwatch/shellwatch/alert"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// agentProc is one `shellwatch run` child process.
type agentProc struct {
	cmd     *exec.Cmd
	log     *os.File
	logPath string
	started time.Time
	exited  chan struct{}
	waitErr error
	stopped bool
}

// startAgent runs `bin run --config cfg` with its stdout and stderr in
// logPath.
func startAgent(bin, cfg, logPath string) (*agentProc, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &agentProc{log: log, logPath: logPath, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "run", "--config", cfg)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	// Its own process group keeps a ^C on the terminal from reaching it
	// before the harness stops it; the harness dying stops it too.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *agentProc) pid() int { return p.cmd.Process.Pid }

func (p *agentProc) commandLine() string { return strings.Join(p.cmd.Args, " ") }

// waitReady waits for the agent_started alert of the agent watching root
// to reach the webhook receiver and returns the time since the start.
func (p *agentProc) waitReady(ctx context.Context, tr *tracker, root string, timeout time.Duration) (time.Duration, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case a := <-tr.agent:
			if a.Kind == alert.KindAgentStarted && strings.Contains(a.Detail, root) {
				return time.Since(p.started), nil
			}
		case <-p.exited:
			return 0, fmt.Errorf("shellwatch run exited before it was ready (%v); its log:\n%s", p.waitErr, p.logTail())
		case <-deadline.C:
			return 0, fmt.Errorf("no agent_started alert from shellwatch run within %s; its log:\n%s", timeout, p.logTail())
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// stop sends SIGTERM to the agent it started, by PID, and waits for it to
// drain and exit; after timeout it is killed. It returns how long the stop
// took. A second call does nothing.
func (p *agentProc) stop(timeout time.Duration) (time.Duration, error) {
	if p.stopped {
		return 0, nil
	}
	p.stopped = true
	defer p.log.Close()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return 0, fmt.Errorf("stop shellwatch pid %d: %w", p.pid(), err)
	}
	select {
	case <-p.exited:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return time.Since(start), fmt.Errorf("shellwatch pid %d ignored SIGTERM for %s and was killed", p.pid(), timeout)
	}
	took := time.Since(start)
	if p.waitErr != nil {
		return took, fmt.Errorf("shellwatch pid %d after SIGTERM: %v; its log:\n%s", p.pid(), p.waitErr, p.logTail())
	}
	return took, nil
}

var watchesRE = regexp.MustCompile(`msg=watching .*watches=(\d+)`)

// watches returns the watch count the agent logged when it became ready,
// or 0.
func (p *agentProc) watches() int {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return 0
	}
	m := watchesRE.FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// logTail returns the last lines of the agent's log.
func (p *agentProc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// readProcStat returns utime+stime of pid in clock ticks.
func readProcStat(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: fields count from
	// after the last ')'. utime and stime are fields 14 and 15, so the 12th
	// and 13th after the name.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return utime + stime, nil
}
