package agent

import (
	"fmt"
	"sync"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/watcher"
)

// transient alerts, when policy says so, a file that was created or
// written in a root and deleted before it could be scanned: what the
// watcher saw of it (c.Unread) is all there is to report. a.mu must be
// read-locked by the caller.
func (a *Agent) transient(g *generation, c watcher.Change) {
	rp := g.roots.Get(c.Root)
	kind, sev := policy.DecideTransient(policy.Transient{
		Script:     rp != nil && rp.IsScript(c.Path),
		WindowOpen: a.baseline.WindowFor(c.Root) != nil,
	})
	if kind == "" {
		return
	}
	f := &alert.File{Path: c.Path, Root: c.Root}
	seen := "gone before the watcher could look at it: size and writer unknown"
	if s := c.Unread; s != nil && s.Known {
		f.Size, f.UID, f.Mode = s.Size, s.UID, alert.ModeString(uint32(s.Mode.Perm()))
		f.User = a.names.User(s.UID)
		who := fmt.Sprintf("uid %d", s.UID)
		if f.User != "" {
			who += " (" + f.User + ")"
		}
		seen = fmt.Sprintf("%d bytes, written by %s, when the watcher saw it", s.Size, who)
	}
	a.send(g, alert.Alert{Kind: kind, Severity: sev, File: f,
		Detail:  "appeared and was deleted before it could be scanned; " + seen,
		Message: fmt.Sprintf("%s: %s: %s", kind.Summary(), safetext.Path(c.Path), seen)})
}

// maxVanished bounds the paths a vanished set holds: past it, it starts
// again empty (at worst one file is alerted twice).
const maxVanished = 4096

// vanished is the paths whose removal is the agent's to expect, until it
// is handled: alerted as transient by a scan that found them gone (a
// file's creation and deletion are often reported apart, and one
// transient file is one alert), or moved to the vault by the agent (the
// dropper's write events come after the move). A path's changes are
// handled in order by one worker, so the removal that follows is the one
// that clears it. The zero value is ready to use.
type vanished struct {
	mu    sync.Mutex
	paths map[string]struct{}
}

// note remembers path.
func (v *vanished) note(path string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.paths == nil || len(v.paths) >= maxVanished {
		v.paths = make(map[string]struct{})
	}
	v.paths[path] = struct{}{}
}

// expected reports whether path is remembered and the unread content u
// of a change is nothing new: only written since its last report. A
// creation since is another file, and is not expected — even the
// creation of the very file moved, when a resync, re-check or sweep met
// it before its creation was reported (a second alert then, never a
// missed file: an inode is reused at once, so identity cannot tell).
func (v *vanished) expected(path string, u *watcher.Look) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.paths[path]
	return ok && (u == nil || !u.Born)
}

// take forgets path.
func (v *vanished) take(path string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.paths, path)
}
