package agent

import (
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// sdNotify sends state to systemd when it started us with a NOTIFY_SOCKET;
// elsewhere it does nothing.
func sdNotify(state string) {
	_, _ = daemon.SdNotify(false, state)
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
