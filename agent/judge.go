package agent

import (
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/scanner"
	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/watcher"
)

// judgement is what policy makes of one scanned file.
type judgement struct {
	kind     alert.Kind // "": nothing to alert
	severity finding.Severity
	// why says what is wrong beyond the rules: an unexpected change, what
	// changed while the agent was down.
	why         string
	quarantine  bool
	leftBecause string // why it is not moved, when it is not
	accepted    bool   // the content now belongs to the baseline
}

func (j judgement) message(al alert.Alert, outcome string) string {
	return detectionMessage(al, j.why, outcome)
}

// judge decides, from the verdict, the file's record in the baseline and
// its root's policy, what to alert and whether to move the file.
func (a *Agent) judge(g *generation, c watcher.Change, v scanner.Verdict, prev *state.File, born bool, t task) judgement {
	rp := g.roots[c.Root]
	sum := digest(v.SHA256)
	contentChanged := prev == nil || prev.SHA256 != sum
	protectedScript := rp != nil && rp.protected && rp.isScript(v.Path)
	deployed := a.deployWindowFor(c.Root) != nil || a.deployedAt(c.Root, v.ChangeTime)
	approved := !t.baseline && contentChanged && a.consumeApproval(v.Path, v.SHA256)

	j := judgement{severity: v.Severity}
	switch {
	case t.baseline:
		j.accepted = true
	case !protectedScript || approved:
		j.accepted = true
	case !contentChanged && prev != nil:
		j.accepted = prev.Accepted
	case deployed && a.deployWindowFor(c.Root) == nil:
		j.accepted = true // made in a window that closed before this scan
	}
	if v.Flagged() {
		j.kind = alert.KindDetection
		if onlyHashLists(v.Matches) {
			j.kind = alert.KindIOCMatch
		}
	}
	var why []string
	// An empty file runs nothing; and a new file is often seen empty, an
	// instant before its bytes land: judge it when they do.
	hasCode := v.Size > 0
	noScript := protectedScript && hasCode && rp.inNoScriptZone(v.Path)
	unexpected := protectedScript && hasCode && contentChanged && !t.baseline && !deployed && !approved
	if unexpected || noScript {
		sev, reason := finding.SeverityHigh, "script added outside a deploy window"
		if prev != nil {
			reason = "script changed outside a deploy window"
		}
		if noScript {
			sev, reason = finding.SeverityCritical, "script where no code belongs (no_script_globs)"
		}
		if rp.writtenByWebUser(v.UID) {
			sev = finding.SeverityCritical
			reason += "; written by the web server's user " + rp.webUser
		}
		if j.kind == "" {
			j.kind = alert.KindUnexpectedChange
		}
		j.severity = max(j.severity, sev)
		why = append(why, reason)
	}
	if t.whileDown && !t.baseline {
		if what := changedWhileDown(prev, v, sum); what != "" {
			if j.kind == "" {
				j.kind = alert.KindChangedWhileDown
				j.severity = max(j.severity, finding.SeverityMedium)
				if protectedScript {
					j.severity = max(j.severity, finding.SeverityHigh)
				}
			}
			why = append(why, "while the agent was down: "+what)
		}
	}
	j.why = strings.Join(why, "; ")

	q := g.cfg.Quarantine
	switch {
	case j.kind == "":
	case q.MinSeverity.Off():
		j.leftBecause = "quarantine.min_severity is off"
	case t.baseline:
		j.leftBecause = "found by the root's first baseline: it was there before shellwatch"
	case noScript:
		j.quarantine = true
	case v.Flagged():
		j.quarantine = q.MinSeverity.Allows(j.severity) && (born || q.QuarantineModified)
		if !j.quarantine {
			j.leftBecause = notMovedReason(born, j.severity, g)
		}
	case j.kind == alert.KindUnexpectedChange && j.severity == finding.SeverityCritical && born:
		j.quarantine = true // a new script written by the web server
	case j.kind == alert.KindUnexpectedChange:
		j.leftBecause = "an unexpected change is alerted, not moved (accept it with `shellwatch baseline accept`)"
	default:
		j.leftBecause = "a change made while the agent was down is alerted, not moved"
	}
	return j
}

// changedWhileDown says what differs between the record and the file now:
// "" when only times changed (a touch).
func changedWhileDown(prev *state.File, v scanner.Verdict, sum [32]byte) string {
	if prev == nil {
		return "added"
	}
	var what []string
	if prev.SHA256 != sum {
		what = append(what, fmt.Sprintf("content modified (sha256 %s… → %s…, size %d → %d)",
			hex.EncodeToString(prev.SHA256[:4]), hex.EncodeToString(sum[:4]), prev.Size, v.Size))
	}
	if perm := unixMode(v.Mode) & 0o7777; prev.Mode&0o7777 != perm {
		what = append(what, fmt.Sprintf("mode %04o → %04o", prev.Mode&0o7777, perm))
	}
	if prev.UID != v.UID || prev.GID != v.GID {
		what = append(what, fmt.Sprintf("owner %d:%d → %d:%d", prev.UID, prev.GID, v.UID, v.GID))
	}
	if prev.Inode != v.Inode && len(what) == 0 {
		what = append(what, "replaced by another file with the same content")
	}
	return strings.Join(what, ", ")
}

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
	if t.baseline {
		return
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	g := a.gen
	sev := finding.SeverityMedium
	if rp := g.roots[t.c.Root]; rp != nil && rp.protected && rp.isScript(old.Path) {
		sev = finding.SeverityHigh
	}
	if w := a.deployWindowFor(t.c.Root); w != nil {
		a.noteRemovedInWindow(t.c.Root, []string{old.Path})
		return
	}
	al := alert.Alert{Kind: alert.KindChangedWhileDown, Severity: sev,
		File: &alert.File{Path: old.Path, Root: t.c.Root, Size: old.Size, Mode: fmt.Sprintf("%04o", old.Mode&0o7777),
			UID: old.UID, GID: old.GID, MTime: old.MTime.UTC(), Dev: old.Dev, Inode: old.Inode,
			SHA256: hex.EncodeToString(old.SHA256[:])},
		Action: &alert.Action{Taken: alert.ActionAlerted, Reason: "the file is gone"},
	}
	al.Message = detectionMessage(al, "while the agent was down: deleted", "removed from the baseline")
	a.send(g, al)
}
