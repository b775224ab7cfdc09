package agent

import (
	"encoding/hex"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/watcher"
)

// digest parses a hex SHA-256; zeros when there is none.
func digest(h string) (sum [32]byte) {
	if b, err := hex.DecodeString(h); err == nil && len(b) == len(sum) {
		copy(sum[:], b)
	}
	return sum
}

// removed handles a path that is gone: a file, or a folder and all below.
func (a *Agent) removed(c watcher.Change) {
	a.baseline.ForgetBorn(c.Path)
	a.q.recheck.Forget(c.Path)
	a.baseline.Removed(c.Root, c.Path)
}

// deletedWhileDown alerts a file that was in the baseline and is gone.
func (a *Agent) deletedWhileDown(t task) {
	old := t.deleted
	a.mu.RLock()
	defer a.mu.RUnlock()
	g := a.gen
	rp := g.roots.Get(t.c.Root)
	open := a.baseline.WindowFor(t.c.Root) != nil
	kind, sev := policy.DecideDeleted(policy.Deleted{
		Script:     rp != nil && rp.Protected() && rp.IsScript(old.Path),
		Baseline:   t.baseline,
		WindowOpen: open,
	})
	if kind == "" {
		if open && !t.baseline {
			a.baseline.Removed(t.c.Root, old.Path) // listed when the window closes
		} else {
			a.baseline.Forget(old.Path)
		}
		return
	}
	a.baseline.Forget(old.Path)
	al := alert.Alert{Kind: kind, Severity: sev,
		File: &alert.File{Path: old.Path, Root: t.c.Root, Size: old.Size, Mode: alert.ModeString(old.Mode),
			UID: old.UID, GID: old.GID, MTime: old.MTime.UTC(), Dev: old.Dev, Inode: old.Inode,
			SHA256: hex.EncodeToString(old.SHA256[:])},
		Action: &alert.Action{Taken: alert.ActionAlerted, Reason: "the file is gone"},
	}
	al.Message = al.FindingMessage("while the agent was down: deleted", "removed from the baseline")
	a.send(g, al)
}
