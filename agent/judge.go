package agent

import (
	"encoding/hex"
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/scanner"
	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/watcher"
)

// digest parses a hex SHA-256; zeros when there is none.
func digest(h string) (sum [32]byte) {
	if b, err := hex.DecodeString(h); err == nil && len(b) == len(sum) {
		copy(sum[:], b)
	}
	return sum
}

// unixMode turns a regular file's fs.FileMode back into st_mode.
func unixMode(m fs.FileMode) uint32 {
	return unix.S_IFREG | uint32(m.Perm()) | setBits(m)
}

// record returns the baseline record of path, or nil.
func (a *Agent) record(path string) *state.File {
	if f, pending := a.records.get(path); pending {
		return f
	}
	f, ok, err := a.db.Get(path)
	if err != nil {
		a.log.Error("state: read a record", "path", safetext.Path(path), "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	return &f
}

// remember stores what v saw in the baseline.
func (a *Agent) remember(v scanner.Verdict, prev *state.File, accepted bool) {
	now := time.Now().UTC()
	f := state.File{
		Path: v.Path, Dev: v.Dev, Inode: v.Inode, Size: v.Size, Mode: unixMode(v.Mode),
		UID: v.UID, GID: v.GID, MTime: v.ModTime, CTime: v.ChangeTime,
		SHA256: digest(v.SHA256), Severity: v.Severity,
		FirstSeen: now, LastSeen: now, Accepted: accepted,
	}
	for _, m := range v.Matches {
		f.Rules = append(f.Rules, m.Rule)
	}
	if prev != nil {
		f.FirstSeen = prev.FirstSeen
		if accepted && prev.Accepted && prev.SHA256 == f.SHA256 {
			f.AcceptedAt = prev.AcceptedAt
		}
	}
	if accepted && f.AcceptedAt.IsZero() {
		f.AcceptedAt = now
	}
	a.records.put(f)
}

// forgetRecord drops path from the baseline (it left the root).
func (a *Agent) forgetRecord(path string) {
	a.records.delete(path)
}

// removed handles a path that is gone: a file, or a folder and all below.
func (a *Agent) removed(c watcher.Change) {
	a.born.drop(c.Path)
	// The common case, a file (a quarantined one among them), costs no
	// database scan and never waits for the writer.
	if f, pending := a.records.get(c.Path); pending || a.record(c.Path) != nil {
		if f != nil || !pending {
			a.noteRemovedInWindow(c.Root, []string{c.Path})
		}
		a.records.delete(c.Path)
		return
	}
	// Perhaps a folder: its files go with it, pending or stored.
	paths := a.records.pendingBelow(c.Path)
	if err := a.db.ForEach(c.Path, func(f state.File) error {
		paths = append(paths, f.Path)
		return nil
	}); err != nil {
		a.log.Error("state: list records below a removed path", "path", safetext.Path(c.Path), "err", err)
	}
	if len(paths) > 0 {
		a.noteRemovedInWindow(c.Root, paths)
		a.records.delete(paths...)
	}
}

// deletedWhileDown alerts a file that was in the baseline and is gone.
func (a *Agent) deletedWhileDown(t task) {
	old := t.deleted
	defer a.forgetRecord(old.Path)
	a.mu.RLock()
	defer a.mu.RUnlock()
	g := a.gen
	rp := g.roots[t.c.Root]
	open := a.deployWindowFor(t.c.Root) != nil
	kind, sev := policy.DecideDeleted(policy.Deleted{
		Script:     rp != nil && rp.protected && rp.isScript(old.Path),
		Baseline:   t.baseline,
		WindowOpen: open,
	})
	if kind == "" {
		if open && !t.baseline {
			a.noteRemovedInWindow(t.c.Root, []string{old.Path})
		}
		return
	}
	al := alert.Alert{Kind: kind, Severity: sev,
		File: &alert.File{Path: old.Path, Root: t.c.Root, Size: old.Size, Mode: fmt.Sprintf("%04o", old.Mode&0o7777),
			UID: old.UID, GID: old.GID, MTime: old.MTime.UTC(), Dev: old.Dev, Inode: old.Inode,
			SHA256: hex.EncodeToString(old.SHA256[:])},
		Action: &alert.Action{Taken: alert.ActionAlerted, Reason: "the file is gone"},
	}
	al.Message = detectionMessage(al, "while the agent was down: deleted", "removed from the baseline")
	a.send(g, al)
}
