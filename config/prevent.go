package config

import (
	"fmt"
	"os/user"
	"strconv"
	"time"

	"github.com/shellwatch/shellwatch/finding"
)

// Prevent is the [prevent] table: fanotify permission events that hold the
// web server's opens of files in the roots until shellwatch has judged
// them (package guard).
type Prevent struct {
	// Enabled turns prevention on; it needs CAP_SYS_ADMIN (see the
	// packaged drop-in).
	Enabled bool `toml:"enabled"`
	// Users are the web server's users (names): their opens are held,
	// anyone else's are allowed at once. Required when Enabled.
	Users []string `toml:"users"`
	// Deadline is the longest an open is held: past it, the open is
	// allowed and prevention_degraded is alerted.
	Deadline Duration `toml:"deadline"`
	// MinSeverity is the least severity denied.
	MinSeverity Threshold `toml:"min_severity"`
	// Trust hands the kernel the files judged clean that no web user can
	// write, so that their opens raise no event until they change (see
	// the README, "Trusted files"); false judges every open in the roots.
	Trust bool `toml:"trust"`

	// UIDs are Users resolved to user ids when the config is validated,
	// in the same order.
	UIDs []uint32 `toml:"-"`
}

// Bounds of prevent.deadline: below the low one, a scan of an ordinary
// PHP file would not fit; above the high one, a web server waits too long
// on a stalled agent.
const (
	minPreventDeadline = time.Millisecond
	maxPreventDeadline = 10 * time.Second
)

// DefaultPrevent returns the [prevent] table's defaults.
func DefaultPrevent() Prevent {
	return Prevent{
		Users:       []string{},
		Deadline:    Duration(100 * time.Millisecond),
		MinSeverity: Threshold(finding.SeverityHigh),
		Trust:       true,
	}
}

// validatePrevent checks the [prevent] table and resolves prevent.users to
// user ids (UIDs).
func (c *Config) validatePrevent(bad func(key, format string, args ...any)) {
	p := &c.Prevent
	p.UIDs = nil
	if d := p.Deadline.Std(); d < minPreventDeadline || d > maxPreventDeadline {
		bad("prevent.deadline", "= %s, want %s to %s", p.Deadline, minPreventDeadline, maxPreventDeadline)
	}
	if p.MinSeverity.Off() {
		bad("prevent.min_severity", "= \"off\", want low, medium, high or critical (set prevent.enabled = false to turn prevention off)")
	}
	for i, name := range p.Users {
		u, err := user.Lookup(name)
		if err != nil {
			bad(fmt.Sprintf("prevent.users[%d]", i), "= %q: no such user on this host", name)
			continue
		}
		uid, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			bad(fmt.Sprintf("prevent.users[%d]", i), "= %q: user id %q is not a number", name, u.Uid)
			continue
		}
		if uid == 0 {
			bad(fmt.Sprintf("prevent.users[%d]", i), "= %q is root: every open of the agent itself, of deploys and of root's tools would be held", name)
			continue
		}
		p.UIDs = append(p.UIDs, uint32(uid))
	}
	if p.Enabled && len(p.Users) == 0 {
		bad("prevent.users", "is empty: name the web server's users whose opens are held, such as [\"www-data\"]")
	}
}
