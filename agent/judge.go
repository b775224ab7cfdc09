package agent

import (
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/finding"
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
	deployed := a.baseline.WindowFor(c.Root) != nil || a.baseline.DeployedAt(c.Root, v.ChangeTime)
	approved := !t.baseline && contentChanged && a.baseline.ConsumeApproval(v.Path, v.SHA256)

	j := judgement{severity: v.Severity}
	switch {
	case t.baseline:
		j.accepted = true
	case !protectedScript || approved:
		j.accepted = true
	case !contentChanged && prev != nil:
		j.accepted = prev.Accepted
	case deployed && a.baseline.WindowFor(c.Root) == nil:
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

// removed handles a path that is gone: a file, or a folder and all below.
func (a *Agent) removed(c watcher.Change) {
	a.born.drop(c.Path)
	a.baseline.Removed(c.Root, c.Path)
}

// deletedWhileDown alerts a file that was in the baseline and is gone.
func (a *Agent) deletedWhileDown(t task) {
	old := t.deleted
	if t.baseline {
		a.baseline.Forget(old.Path)
		return
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	g := a.gen
	sev := finding.SeverityMedium
	if rp := g.roots[t.c.Root]; rp != nil && rp.protected && rp.isScript(old.Path) {
		sev = finding.SeverityHigh
	}
	if a.baseline.WindowFor(t.c.Root) != nil {
		a.baseline.Removed(t.c.Root, old.Path)
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
	a.baseline.Forget(old.Path)
}
