package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/access"
	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/quarantine"
	"github.com/shellwatch/shellwatch/scanner"
	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/walk"
	"github.com/shellwatch/shellwatch/watcher"
)

// maxSwapRetries bounds how often a file that is swapped between its scan
// and its move is scanned again: an attacker swapping in a loop must not
// keep a worker forever, and each round is alerted.
const maxSwapRetries = 3

// task is one unit of work for a path's worker: a change the watcher
// reported, or a difference reconciliation found.
type task struct {
	c watcher.Change
	// whileDown, for a difference found at start, says what changed while
	// the agent was not running; baseline says the root has no baseline
	// yet (its first start), when clean files raise nothing.
	whileDown bool
	deleted   *state.File
	baseline  bool
	// unseen: found by a re-check or a sweep, with no file event.
	unseen bool
	done   func()
	seq    uint64 // its number in queues.tasks
}

// handleTask runs one task.
func (a *Agent) handleTask(ctx context.Context, t task) {
	defer a.q.tasks.end(t.seq)
	defer a.metrics.handled.Add(1)
	if t.done != nil {
		defer t.done()
	}
	if t.deleted != nil {
		a.deletedWhileDown(t)
		return
	}
	a.handleChange(ctx, t.c, t)
}

// handleChange scans the file a change names and acts on the verdict.
func (a *Agent) handleChange(ctx context.Context, c watcher.Change, t task) {
	if c.Op == watcher.OpRemoved {
		expected := a.vanished.expected(c.Path, c.Unread)
		a.vanished.take(c.Path)
		if c.Unread != nil && !expected {
			// Deleted before its content was reported, and not yet
			// alerted by a scan that found it gone (nor moved to the
			// vault by us: a file made at the path since is another).
			a.mu.RLock()
			a.transient(a.gen, c)
			a.mu.RUnlock()
		}
		a.removed(c)
		return
	}
	if c.Op == watcher.OpResync && !t.whileDown && a.unchangedSinceScan(c.Path) {
		return // a resync walk met a file we scanned as it is now
	}
	if t.unseen {
		a.metrics.unseen.Add(1)
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	g := a.gen
	for attempt := 0; ; attempt++ {
		if a.hooks.beforeScan != nil {
			a.hooks.beforeScan(c.Path)
		}
		start := time.Now()
		v := g.engine.Scanner.ScanContext(ctx, c.Path)
		a.countScan(v, time.Since(start))
		if a.hooks.afterScan != nil {
			a.hooks.afterScan(v)
		}
		if errors.Is(v.Err, fs.ErrNotExist) && c.Unread != nil {
			// Created or written, and deleted before it could be read —
			// unless alerted so already, or moved to the vault by us (the
			// write events that follow a scanned creation; a creation
			// since is another file, alerted).
			if !a.vanished.expected(c.Path, c.Unread) {
				a.transient(g, c)
				a.vanished.note(c.Path)
			}
		} else {
			a.vanished.take(c.Path)
		}
		if t.whileDown && v.ChangeTime.After(a.startedAt) {
			// Changed after the agent started: a live change that the
			// start-up walk happened to meet before its event did, a
			// link as a file (the root's first baseline included).
			t.whileDown, t.baseline = false, false
		}
		if v.Mode&fs.ModeSymlink != 0 {
			a.handleLink(ctx, g, c, v, t.baseline)
			return
		}
		if !a.act(g, c, v, attempt, t, ctx.Err() != nil) {
			return
		}
		// The file was swapped between scan and move: what is at the
		// path now is new and unscanned.
		c.Op = watcher.OpCreated
		t.whileDown = false
	}
}

// unchangedSinceScan reports whether path is, by lstat, the very file the
// agent last scanned there: same device, inode, size, mtime and ctime. A
// write changes mtime, and anything that could keep mtime (utimes, chmod,
// rename in) changes ctime, which no one can set back.
func (a *Agent) unchangedSinceScan(path string) bool {
	var st unix.Stat_t
	if err := walk.LstatT(path, &st); err != nil {
		return false
	}
	rec := a.baseline.Record(path)
	return rec != nil && rec.Stat().SameIdentity(state.Stat{Dev: uint64(st.Dev), Inode: st.Ino, Size: st.Size,
		MTime: time.Unix(st.Mtim.Unix()), CTime: time.Unix(st.Ctim.Unix())})
}

// bornSinceStart reports whether the file of v was created after the agent
// started, by its birth time (statx), or by its ctime where the filesystem
// keeps no birth time.
func (a *Agent) bornSinceStart(v scanner.Verdict) bool {
	return access.BirthTime(v.Path, v.Inode, v.ChangeTime).After(a.startedAt)
}

// ignorable reports verdict errors that are no finding: the file vanished
// (deleted or moved on before we looked), or is not a regular file (a
// symlink, never followed; a FIFO or device, never opened).
func ignorable(v scanner.Verdict) bool {
	if errors.Is(v.Err, fs.ErrNotExist) || errors.Is(v.Err, walk.ErrSymlink) {
		return true
	}
	return v.Mode != 0 && !v.Mode.IsRegular()
}

// act applies the policy to one verdict: it gathers the facts the decision
// rests on, has policy decide, and carries the decision out. It returns
// true when the file must be scanned again because it was swapped before
// it could be moved.
func (a *Agent) act(g *generation, c watcher.Change, v scanner.Verdict, attempt int, t task, stopping bool) (rescan bool) {
	if v.Incomplete != "" {
		// Judged on what the PHP analysis found before its budget ran
		// out, and on YARA; said in the log so an operator can raise
		// scanner.php_timeout.
		a.log.Warn("PHP analysis incomplete", "path", safetext.Path(v.Path), "reason", v.Incomplete)
	}
	prev := a.baseline.Record(v.Path)
	born := false
	if v.Err == nil || v.Flagged() || v.Inode != 0 && !ignorable(v) {
		// A file that could not be scanned to the end is judged as new
		// or not too: a new script that no scan cleared is high.
		born = a.isBorn(c, v, prev, t)
	}
	d := policy.Decide(a.facts(g, c, v, prev, born, attempt, t, stopping))
	return a.execute(g, c, v, prev, d, attempt)
}

// isBorn reports whether the file is new, and notes it among the files
// seen appearing (or forgets it there).
func (a *Agent) isBorn(c watcher.Change, v scanner.Verdict, prev *state.File, t task) bool {
	now := time.Now()
	born := c.Op == watcher.OpCreated || a.baseline.IsBorn(v.Path, v.Dev, v.Inode, now)
	if !born && prev == nil && !t.whileDown && a.bornSinceStart(v) {
		// Neither seen appearing nor in the baseline, and born after the
		// agent started: a file found by the walk of a new folder (or a
		// resync after lost events) and written to since is new.
		born = true
	}
	if t.whileDown {
		// Created while the agent was down: new, unless this is the
		// root's first baseline, where everything was there before.
		born = prev == nil && !t.baseline
	}
	if born {
		a.baseline.NoteBorn(v.Path, v.Dev, v.Inode, now)
	} else {
		a.baseline.ForgetBorn(v.Path)
	}
	return born
}

// facts gathers what the policy decides on: the verdict, the record, the
// root, the deploy windows and approvals, the settings.
func (a *Agent) facts(g *generation, c watcher.Change, v scanner.Verdict, prev *state.File, born bool, attempt int, t task, stopping bool) policy.Facts {
	f := policy.Facts{
		Verdict:     verdictFacts(v, stopping),
		Prev:        recordFacts(prev),
		Born:        born,
		WhileDown:   t.whileDown,
		Unseen:      t.unseen,
		Baseline:    t.baseline,
		Rescan:      attempt > 0,
		Quarantine:  g.cfg.Quarantine,
		MaxFileSize: fmt.Sprint(g.cfg.Scanner.MaxFileSize),
		MaxScanSize: int64(g.cfg.Scanner.MaxFileSize),
		MaxHashSize: int64(g.cfg.Scanner.MaxHashSize),
		YARATimeout: fmt.Sprint(g.cfg.Scanner.Timeout),
	}
	if f.Verdict.Err == policy.Gone {
		return f
	}
	if rp := g.roots.Get(c.Root); rp != nil && rp.Protected() && rp.IsScript(v.Path) {
		f.Root = policy.Root{Script: true, NoScriptZone: rp.InNoScriptZone(v.Path), WebUser: rp.WebUser, ByWebUser: rp.WrittenByWebUser(v.UID)}
	}
	f.WindowOpen = a.baseline.WindowFor(c.Root) != nil
	f.DeployedAt = a.baseline.DeployedAt(c.Root, v.ChangeTime)
	// An approval is used up by the content it announced.
	f.Approved = !t.baseline && f.ContentChanged() && a.baseline.ConsumeApproval(v.Path, v.SHA256)
	return f
}

// verdictFacts is what policy needs of a verdict; stopping says the agent
// is stopping (a scan cut short by it is no finding).
func verdictFacts(v scanner.Verdict, stopping bool) policy.Verdict {
	pv := policy.Verdict{
		Severity: v.Severity, Flagged: v.Flagged(), OnlyHashLists: onlyHashLists(v.Matches), TooLarge: v.TooLarge,
		Script: v.Script, Incomplete: v.Incomplete,
		SHA256: digest(v.SHA256), HasSHA256: v.SHA256 != "",
		Dev: v.Dev, Inode: v.Inode, Size: v.Size, Perm: v.StMode & 0o7777, UID: v.UID, GID: v.GID, Nlink: v.Nlink,
	}
	switch {
	case v.Err == nil:
	case ignorable(v) || stopping:
		pv.Err = policy.Gone
	case errors.Is(v.Err, scanner.ErrTooLargeToHash), errors.Is(v.Err, scanner.ErrSparse):
		pv.Err = policy.NotHashed
	case errors.Is(v.Err, scanner.ErrTimeout):
		pv.Err = policy.TimedOut
	default:
		pv.Err = policy.Failed
	}
	return pv
}

// recordFacts is what policy needs of a baseline record.
func recordFacts(f *state.File) *policy.Record {
	if f == nil {
		return nil
	}
	return &policy.Record{Dev: f.Dev, Inode: f.Inode, Size: f.Size, Perm: f.Mode & 0o7777, UID: f.UID, GID: f.GID,
		SHA256: f.SHA256, Severity: f.Severity, Accepted: f.Accepted, Appeared: f.Appeared}
}

// execute carries out a decision about one scanned file.
func (a *Agent) execute(g *generation, c watcher.Change, v scanner.Verdict, prev *state.File, d policy.Decision, attempt int) (rescan bool) {
	if d.Kind == "" || d.Kind == alert.KindScanFailed {
		if d.Kind != "" {
			al := a.fileAlert(c, v, d.Kind, d.Severity)
			al.Detail = d.Why
			if v.Err != nil {
				a.metrics.scanErrors.Add(1)
				if why := safetext.PathsIn(v.Err.Error(), v.Path); al.Detail == "" {
					al.Detail = why
				} else {
					al.Detail += "; " + why
				}
			}
			if v.Partial != "" {
				al.Detail += "; scanned " + v.Partial
			}
			al.Message = fmt.Sprintf("%s: %s [%s] %s", al.Kind.Summary(), safetext.Path(v.Path), al.Severity, al.Detail)
			a.send(g, al)
		}
		if d.Remember {
			a.remember(v, prev, d.Accepted, d.Appeared)
		}
		return false
	}
	if d.Detection {
		a.metrics.flagged.Add(1)
		a.metrics.m.Detection(v.Severity.String())
	}
	al := a.fileAlert(c, v, d.Kind, d.Severity)
	al.Detail = d.Why
	// When the file was written, for its access report: read before the
	// move takes the path away.
	var written time.Time
	if g.access.Serves(c.Root) {
		written = access.WrittenAt(v.Path, v.Inode, v.ChangeTime, prev == nil)
	}
	if !d.Quarantine {
		al.Action = &alert.Action{Taken: alert.ActionAlerted, Reason: d.LeftBecause}
		al.Message = al.FindingMessage(d.Why, "left in place: "+al.Action.Reason)
		a.sendFile(g, al, written)
		a.remember(v, prev, d.Accepted, d.Appeared)
		return false
	}
	if a.hooks.beforeMove != nil {
		a.hooks.beforeMove(v.Path)
	}
	entry, err := g.vault.Move(quarantine.Request{
		Path: v.Path, Dev: v.Dev, Inode: v.Inode, Size: v.Size, SHA256: v.SHA256,
		Rules:  quarantineMatches(v.Matches),
		Reason: string(d.Kind),
	})
	a.noteMove(g, err)
	switch {
	case err == nil:
		a.metrics.quarantined.Add(1)
		// The note says what remains to be done: other hard links that
		// still hold the content, a writer that kept the file open.
		al.Action = &alert.Action{Taken: alert.ActionQuarantined, VaultID: entry.ID, Reason: entry.Note}
		outcome := "quarantined as " + entry.ID
		if entry.Note != "" {
			outcome += "; " + entry.Note
		}
		al.Message = al.FindingMessage(d.Why, outcome)
		a.baseline.Forget(v.Path)
		a.q.recheck.Forget(v.Path)
		// The removal the move causes is ours. The dropper's last write
		// events, queued behind the creation just scanned, arrive after
		// the move and would make that removal look like a script written
		// and deleted unscanned (TestQuarantinedShellIsNotAlsoTransient).
		a.vanished.note(v.Path)
	case errors.Is(err, quarantine.ErrChanged):
		// What was scanned is not what the path holds now. Alert what was
		// seen, never trust what replaced it: scan the path again.
		rescan = attempt < maxSwapRetries
		al.Kind = alert.KindQuarantineFailed
		reason := "the file was replaced between scan and move; the path is scanned again"
		if entry.ID != "" {
			reason = "the file was replaced during the move; the vault holds the replacement, unverified, as " + entry.ID + "; the path is scanned again"
			al.Action = &alert.Action{Taken: alert.ActionQuarantineFailed, VaultID: entry.ID, Reason: reason}
		} else {
			al.Action = &alert.Action{Taken: alert.ActionQuarantineFailed, Reason: reason}
		}
		if !rescan {
			al.Action.Reason = strings.TrimSuffix(reason, "; the path is scanned again") + "; gave up after repeated swaps"
		}
		al.Message = al.FindingMessage(d.Why, "NOT quarantined: "+al.Action.Reason)
		a.metrics.quarantineFailed.Add(1)
	default:
		a.metrics.quarantineFailed.Add(1)
		al.Kind = alert.KindQuarantineFailed
		al.Action = &alert.Action{Taken: alert.ActionQuarantineFailed, Reason: safetext.PathsIn(err.Error(), v.Path)}
		if stillThere(v) {
			al.Message = al.FindingMessage(d.Why, "NOT quarantined, still in place: "+al.Action.Reason)
			a.remember(v, prev, false, d.Appeared)
		} else {
			// The move took the file out of the root and failed after
			// (the vault's metadata or sync): say where it is, not that
			// it is still served.
			al.Message = al.FindingMessage(d.Why, "out of the root, but the vault could not finish its entry: "+al.Action.Reason)
			a.baseline.Forget(v.Path)
			a.q.recheck.Forget(v.Path)
			a.vanished.note(v.Path) // the removal is ours, as after a quarantine
		}
	}
	a.sendFile(g, al, written)
	return rescan
}

func onlyHashLists(ms []finding.Match) bool {
	for _, m := range ms {
		if m.Namespace != scanner.HashListNamespace {
			return false
		}
	}
	return len(ms) > 0
}

func quarantineMatches(ms []finding.Match) []quarantine.Match {
	out := make([]quarantine.Match, len(ms))
	for i, m := range ms {
		out[i] = quarantine.Match{Rule: m.Rule, Severity: m.Severity.String(), Family: m.Family}
	}
	return out
}

// fileAlert builds the alert of a file finding, without action or message.
func (a *Agent) fileAlert(c watcher.Change, v scanner.Verdict, kind alert.Kind, sev finding.Severity) alert.Alert {
	f := &alert.File{
		Path: v.Path, Root: c.Root, Size: v.Size,
		Mode: alert.ModeString(v.StMode),
		UID:  v.UID, GID: v.GID, MTime: v.ModTime.UTC(),
		Dev: v.Dev, Inode: v.Inode, SHA256: v.SHA256, MD5: v.MD5,
	}
	if v.Inode != 0 {
		f.User, f.Group = a.names.User(v.UID), a.names.Group(v.GID)
	}
	return alert.Alert{Kind: kind, Severity: sev, File: f, Rules: alert.RulesOf(v.Matches)}
}

// stillThere reports whether the file v scanned is still at its path (the
// same inode), after a move into the vault failed.
func stillThere(v scanner.Verdict) bool {
	var st unix.Stat_t
	return walk.LstatT(v.Path, &st) == nil && st.Ino == v.Inode && uint64(st.Dev) == v.Dev
}
