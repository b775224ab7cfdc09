// Package policy decides what shellwatch does about a file: which alert,
// how severe, whether the file is moved to the vault, and what the baseline
// records. It is pure: the agent gathers the facts (the scan's verdict, the
// file's baseline record, its root's mode, the deploy windows, the
// settings), calls [Decide], and carries the decision out. No I/O, no
// clock, no locks: every rule of the README's alert table is a table test.
package policy

import (
	"fmt"
	"strings"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
)

// ScanError says how a scan failed, as far as policy cares.
type ScanError uint8

// The kinds of scan failure.
const (
	// NoError: the file was scanned (to the end, or as far as the PHP
	// analysis's budget went).
	NoError ScanError = iota
	// Gone: the file vanished before it was read, or is not a regular
	// file (a symlink, never followed; a FIFO or device, never opened):
	// nothing to judge.
	Gone
	// NotHashed: larger than scanner.max_hash_size, or sparse: not hashed;
	// its data was scanned, head and tail (Partial).
	NotHashed
	// TimedOut: the YARA scan ran out of scanner.timeout; the two ends of
	// the file were scanned again.
	TimedOut
	// Failed: unreadable, or YARA stopped on another error.
	Failed
)

// Verdict is what the scan of a file found, and the file's lstat.
type Verdict struct {
	// Severity is the highest of the matches; finding.SeverityNone when
	// nothing matched.
	Severity finding.Severity
	// Flagged: a rule, an analyzer finding or a hash list matched.
	Flagged bool
	// OnlyHashLists: every match is a known-bad hash (no rule matched).
	OnlyHashLists bool
	// TooLarge: larger than scanner.max_file_size: hashed and checked
	// against the hash lists, scanned on its head and tail only.
	TooLarge bool
	// Script: the file is code, by its name or by its content (a PHP
	// open tag in an image counts).
	Script bool
	// Incomplete says why the PHP analysis stopped before the end of the
	// file (its budget); "" when it did not.
	Incomplete string
	// Err is how the scan failed, NoError when it did not.
	Err ScanError
	// SHA256 is the content's digest, all zeros when the file could not
	// be hashed (HasSHA256 false).
	SHA256    [32]byte
	HasSHA256 bool
	// The file's lstat: identity, size, permission bits (with setuid,
	// setgid and sticky), owners.
	Dev, Inode uint64
	Size       int64
	Perm       uint32
	UID, GID   uint32
	// Nlink is the file's number of hard links.
	Nlink uint64
}

// Record is what the baseline held for the path before this scan.
type Record struct {
	Dev, Inode uint64
	Size       int64
	Perm       uint32
	UID, GID   uint32
	SHA256     [32]byte
	// Severity is the last verdict's severity (none when clean).
	Severity finding.Severity
	// Accepted: the content was accepted into the baseline.
	Accepted bool
	// Appeared: the file appeared while shellwatch watched and nothing
	// accepted it since (see state.File.Appeared); it is new for good.
	Appeared bool
}

// Root is what the file's root says of it.
type Root struct {
	// Script: the root is protected and the path matches its
	// script_globs.
	Script bool
	// NoScriptZone: the path is in the root's no_script_globs.
	NoScriptZone bool
	// WebUser is the root's web_user, and ByWebUser says the file is
	// owned by it (written by the web server).
	WebUser   string
	ByWebUser bool
}

// Facts are everything a decision about one scanned file rests on.
type Facts struct {
	Verdict Verdict
	// Prev is the path's record in the baseline; nil when it has none.
	Prev *Record
	Root Root
	// Born: the file appeared since the agent started (seen created,
	// or born after the start by its birth time), or, for a change found
	// at start, has no record. A record that says the file Appeared
	// makes it born too.
	Born bool
	// WhileDown: found by the reconciliation at start, changed while the
	// agent was not running. Baseline: the root's first baseline is being
	// built (everything there was there before shellwatch).
	WhileDown, Baseline bool
	// Rescan: scanned again because the file was swapped between its
	// scan and its move; each round is alerted.
	Rescan bool
	// Unseen: the change was found by a sweep or a re-check, not by a
	// file event: the file was written through another hard link or a
	// shared mapping.
	Unseen bool
	// WindowOpen: a deploy window is open on the root now. DeployedAt:
	// the change was made inside a deploy window since closed.
	WindowOpen, DeployedAt bool
	// Approved: `baseline accept` announced this very content for the
	// path (the agent consumes the approval only when ContentChanged and
	// not Baseline).
	Approved bool
	// Settings.
	Quarantine  config.Quarantine
	MaxFileSize string // scanner.max_file_size as configured, for the message
	MaxHashSize int64
	MaxScanSize int64  // scanner.max_file_size in bytes
	YARATimeout string // scanner.timeout, for the message
}

// ContentChanged reports whether the content differs from the record's (or
// there is no record).
func (f Facts) ContentChanged() bool {
	return f.Prev == nil || f.Prev.SHA256 != f.Verdict.SHA256
}

// sameInode reports whether the record is of this very inode.
func (f Facts) sameInode() bool {
	return f.Prev != nil && f.Prev.Dev == f.Verdict.Dev && f.Prev.Inode == f.Verdict.Inode
}

// Decision is what to do about a scanned file.
type Decision struct {
	// Kind is the alert to raise; "" for none.
	Kind     alert.Kind
	Severity finding.Severity
	// Why says what is wrong beyond the rules (an unexpected change,
	// what changed while the agent was down, why a scan failed).
	Why string
	// Quarantine: move the file to the vault. When not, LeftBecause says
	// why it is left in place (for an alert).
	Quarantine  bool
	LeftBecause string
	// Remember: record what was seen in the baseline, Accepted saying
	// whether the content now belongs to it. A file moved to the vault
	// is forgotten instead.
	Remember, Accepted bool
	// Appeared: the file's record says it stays new (it appeared while
	// watched, and neither the first baseline, a deploy window nor an
	// approval took it in), whenever it is recorded.
	Appeared bool
	// Detection: the alert reports a flagged file (counted as one).
	Detection bool
}

// Decide applies the policy to one scanned file.
func Decide(f Facts) Decision {
	f.Born = f.Born || (f.Prev != nil && f.Prev.Appeared)
	d := decide(f)
	// New stays new until a deploy, an approval or the first baseline
	// takes the file in.
	d.Appeared = f.Born && !f.Baseline && !f.WindowOpen && !f.DeployedAt && !(f.Approved && f.ContentChanged())
	return d
}

func decide(f Facts) Decision {
	v := f.Verdict
	if v.Err != NoError && !v.Flagged {
		if v.Err == Gone {
			return Decision{}
		}
		return scanFailed(f)
	}
	d := judge(f)
	if !v.Flagged && d.Kind == "" {
		d.Remember = true
		if v.Nlink > 1 && !f.sameInode() && !f.Baseline && !f.WindowOpen && !f.DeployedAt {
			// Linked into the root: a name outside it can rewrite the
			// file with no event here.
			d.Kind, d.Severity = alert.KindHardLink, finding.SeverityMedium
			if f.Root.Script {
				d.Severity = finding.SeverityHigh
			}
			d.Why = fmt.Sprintf("%d hard links: another name, perhaps outside the root, can rewrite it unseen by file events; re-checked every agent.recheck_interval", v.Nlink)
			d.LeftBecause = "a clean file with other names is alerted, not moved"
			return d
		}
		// Too large to scan in full: alerted once for this inode, however
		// it grows.
		tooLargeBefore := f.sameInode() && f.Prev.Size > f.MaxScanSize
		analysedBefore := f.sameInode() && f.Prev.SHA256 == v.SHA256
		switch {
		case v.TooLarge && !alreadyAlerted(f) && !tooLargeBefore:
			d.Kind, d.Severity = alert.KindScanFailed, finding.SeverityLow
			d.Why = fmt.Sprintf("not scanned in full: %d bytes, %d over scanner.max_file_size %s; head and tail scanned clean", v.Size, v.Size-f.MaxScanSize, f.MaxFileSize)
			if newScript(f) {
				d.Severity = finding.SeverityHigh
				d.Why = "a new script: " + d.Why
			}
		case v.Incomplete != "" && newScript(f) && !analysedBefore:
			d.Kind, d.Severity = alert.KindScanFailed, finding.SeverityHigh
			d.Why = fmt.Sprintf("a new script: PHP analysis not finished (%s); YARA and the analysis so far found nothing", v.Incomplete)
		}
		return d
	}
	if alreadyAlerted(f) && !f.Rescan && d.Kind == alert.KindDetection && !f.WhileDown {
		// The same flagged bytes, rewritten or touched again.
		return Decision{Remember: true, Accepted: d.Accepted}
	}
	d.Detection = v.Flagged
	d.Remember = !d.Quarantine
	return d
}

// alreadyAlerted reports whether these very bytes, as this inode, were
// judged before and alerted (something matched, or too large to scan): the
// baseline says so.
func alreadyAlerted(f Facts) bool {
	v := f.Verdict
	return f.sameInode() && v.HasSHA256 && f.Prev.SHA256 == v.SHA256 && (f.Prev.Severity != finding.SeverityNone || v.TooLarge)
}

// newScript reports whether the file is a script that appeared since the
// agent started (or while it was down): one that could not be scanned in
// full is high, not low or medium, since nothing says it is harmless, and a
// webshell padded, slowed down or made sparse is that (issue 10).
func newScript(f Facts) bool {
	return f.Verdict.Script && f.Born && !f.Baseline
}

// scanFailed decides about a file that could not be scanned (to the end).
func scanFailed(f Facts) Decision {
	v := f.Verdict
	d := Decision{Kind: alert.KindScanFailed, Severity: finding.SeverityMedium}
	switch v.Err {
	case NotHashed:
		d.Why = "not hashed (sparse, or over scanner.max_hash_size); its data scanned clean, head and tail"
		// A huge file that keeps growing (a backup written into the
		// root) is alerted once, not at every write: its record says it
		// was already not hashed, and over the scan size, as this inode.
		d.Remember, d.Accepted = true, f.Prev != nil && f.Prev.Accepted
		if f.sameInode() && f.Prev.Size > f.MaxScanSize && f.Prev.SHA256 == [32]byte{} {
			return Decision{Remember: true, Accepted: d.Accepted}
		}
	case TimedOut:
		d.Why = fmt.Sprintf("YARA timed out after %s; head and tail scanned again, clean", f.YARATimeout)
		// Recorded by identity, so that neither a restart nor a sweep
		// spends another timeout on the same bytes; alerted once.
		d.Remember = v.HasSHA256
		d.Accepted = f.Prev != nil && f.Prev.Accepted && f.Prev.SHA256 == v.SHA256
		if f.sameInode() && v.HasSHA256 && f.Prev.SHA256 == v.SHA256 {
			return Decision{Remember: true, Accepted: d.Accepted}
		}
	default:
		d.Why = "could not be read or scanned"
	}
	if newScript(f) {
		d.Severity = finding.SeverityHigh
		d.Why = "a new script: " + d.Why
	}
	return d
}

// judge decides, from the verdict, the file's record in the baseline and its
// root's policy, what to alert and whether to move the file.
func judge(f Facts) Decision {
	v := f.Verdict
	contentChanged := f.ContentChanged()
	deployed := f.WindowOpen || f.DeployedAt
	approved := f.Approved && !f.Baseline && contentChanged

	d := Decision{Severity: v.Severity}
	switch {
	case f.Baseline:
		d.Accepted = true
	case !f.Root.Script || approved:
		d.Accepted = true
	case !contentChanged && f.Prev != nil:
		d.Accepted = f.Prev.Accepted
	case deployed && !f.WindowOpen:
		d.Accepted = true // made in a window that closed before this scan
	}
	if v.Flagged {
		d.Kind = alert.KindDetection
		if v.OnlyHashLists {
			d.Kind = alert.KindIOCMatch
		}
	}
	var why []string
	// An empty file runs nothing; and a new file is often seen empty, an
	// instant before its bytes land: judge it when they do.
	hasCode := v.Size > 0
	noScript := f.Root.Script && hasCode && f.Root.NoScriptZone
	unexpected := f.Root.Script && hasCode && contentChanged && !f.Baseline && !deployed && !approved
	if unexpected || noScript {
		sev, reason := finding.SeverityHigh, "script added outside a deploy window"
		if f.Prev != nil {
			reason = "script changed outside a deploy window"
		}
		if noScript {
			sev, reason = finding.SeverityCritical, "script where no code belongs (no_script_globs)"
		}
		if f.Root.ByWebUser {
			sev = finding.SeverityCritical
			reason += "; written by the web server's user " + f.Root.WebUser
		}
		if d.Kind == "" {
			d.Kind = alert.KindUnexpectedChange
		}
		d.Severity = max(d.Severity, sev)
		why = append(why, reason)
	}
	if f.WhileDown && !f.Baseline {
		if what := ChangedWhileDown(f.Prev, v); what != "" {
			if d.Kind == "" {
				d.Kind = alert.KindChangedWhileDown
				d.Severity = max(d.Severity, finding.SeverityMedium)
				if f.Root.Script {
					d.Severity = max(d.Severity, finding.SeverityHigh)
				}
			}
			why = append(why, "while the agent was down: "+what)
		}
	}
	if f.Unseen && contentChanged && f.Prev != nil {
		why = append(why, "changed with no file event (written through another hard link or a shared mapping)")
	}
	if v.Nlink > 1 {
		why = append(why, fmt.Sprintf("the file has %d hard links", v.Nlink))
	}
	d.Why = strings.Join(why, "; ")

	q := f.Quarantine
	switch {
	case d.Kind == "":
	case q.MinSeverity.Off():
		d.LeftBecause = "quarantine.min_severity is off"
	case f.Baseline:
		d.LeftBecause = "found by the root's first baseline: it was there before shellwatch"
	case noScript:
		d.Quarantine = true
	case v.Flagged:
		d.Quarantine = q.MinSeverity.Allows(d.Severity) && (f.Born || q.QuarantineModified)
		if !d.Quarantine {
			d.LeftBecause = notMovedReason(f.Born, d.Severity, q)
		}
	case d.Kind == alert.KindUnexpectedChange && d.Severity == finding.SeverityCritical && f.Born:
		d.Quarantine = true // a new script written by the web server
	case d.Kind == alert.KindUnexpectedChange:
		d.LeftBecause = "an unexpected change is alerted, not moved (accept it with `shellwatch baseline accept`)"
	default:
		d.LeftBecause = "a change made while the agent was down is alerted, not moved"
	}
	return d
}

func notMovedReason(born bool, sev finding.Severity, q config.Quarantine) string {
	switch {
	case q.MinSeverity.Off():
		return "quarantine.min_severity is off"
	case !q.MinSeverity.Allows(sev):
		return "below quarantine.min_severity " + q.MinSeverity.String()
	case !born:
		return "the file existed before it changed (quarantine.quarantine_modified is false)"
	default:
		return "policy"
	}
}

// ChangedWhileDown says what differs between the record and the file now:
// "" when only times changed (a touch).
func ChangedWhileDown(prev *Record, v Verdict) string {
	if prev == nil {
		return "added"
	}
	var what []string
	if prev.SHA256 != v.SHA256 {
		what = append(what, fmt.Sprintf("content modified (sha256 %x… → %x…, size %d → %d)",
			prev.SHA256[:4], v.SHA256[:4], prev.Size, v.Size))
	}
	if perm := v.Perm & 0o7777; prev.Perm&0o7777 != perm {
		what = append(what, fmt.Sprintf("mode %04o → %04o", prev.Perm&0o7777, perm))
	}
	if prev.UID != v.UID || prev.GID != v.GID {
		what = append(what, fmt.Sprintf("owner %d:%d → %d:%d", prev.UID, prev.GID, v.UID, v.GID))
	}
	if prev.Inode != v.Inode && len(what) == 0 {
		what = append(what, "replaced by another file with the same content")
	}
	return strings.Join(what, ", ")
}

// Deleted is what the reconciliation at start knows of a file that was in
// the baseline and is gone.
type Deleted struct {
	// Script: the root is protected and the path matches its
	// script_globs.
	Script bool
	// Baseline: the root's first baseline is being built.
	Baseline bool
	// WindowOpen: a deploy window is open on the root.
	WindowOpen bool
}

// DecideDeleted decides about a file deleted while the agent was down: the
// alert's kind and severity, or "" when there is nothing to alert (a first
// baseline; a deploy window, which lists the removal when it closes).
func DecideDeleted(f Deleted) (alert.Kind, finding.Severity) {
	if f.Baseline || f.WindowOpen {
		return "", finding.SeverityNone
	}
	if f.Script {
		return alert.KindChangedWhileDown, finding.SeverityHigh
	}
	return alert.KindChangedWhileDown, finding.SeverityMedium
}

// Transient is what the agent knows of a file that appeared in a root and
// was gone before it could be scanned (the watcher saw it created; the
// scan, or the report itself, found it deleted).
type Transient struct {
	// Script: the path matches its root's script_globs (in any mode).
	Script bool
	// WindowOpen: a deploy window is open on the root, where tools write
	// and delete scripts of their own.
	WindowOpen bool
}

// DecideTransient decides about a transient file: a script that runs for
// a millisecond and deletes itself leaves nothing to scan, so its passing
// is the alert. Other files (temporary files, uploads in progress) and
// anything in a deploy window raise nothing.
func DecideTransient(t Transient) (alert.Kind, finding.Severity) {
	if !t.Script || t.WindowOpen {
		return "", finding.SeverityNone
	}
	return alert.KindTransientScript, finding.SeverityHigh
}
