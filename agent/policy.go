package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"golang.org/x/sys/unix"

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
	done      func()
}

// handleTask runs one task.
func (a *Agent) handleTask(ctx context.Context, t task) {
	defer a.q.inflight.Add(-1)
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
		a.removed(c)
		return
	}
	if c.Op == watcher.OpResync && !t.whileDown && a.unchangedSinceScan(c.Path) {
		return // a resync walk met a file we scanned as it is now
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	g := a.gen
	for attempt := 0; ; attempt++ {
		start := time.Now()
		v := g.engine.Scanner.ScanContext(ctx, c.Path)
		a.countScan(v, time.Since(start))
		if a.hooks.afterScan != nil {
			a.hooks.afterScan(v)
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
	if err := unix.Lstat(path, &st); err != nil {
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
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, v.Path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME|unix.STATX_INO, &stx)
	if err == nil && stx.Mask&unix.STATX_BTIME != 0 && stx.Ino == v.Inode {
		return time.Unix(stx.Btime.Sec, int64(stx.Btime.Nsec)).After(a.startedAt)
	}
	return v.ChangeTime.After(a.startedAt)
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
	if t.whileDown && v.ChangeTime.After(a.startedAt) {
		// Changed after the agent started: a live change that the
		// start-up walk happened to meet before its event did.
		t.whileDown, t.baseline = false, false
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
	born := c.Op == watcher.OpCreated || a.born.has(v.Path, v.Dev, v.Inode, now)
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
		a.born.add(v.Path, v.Dev, v.Inode, now)
	} else {
		a.born.drop(v.Path)
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
	if rp := g.roots[c.Root]; rp != nil && rp.protected && rp.isScript(v.Path) {
		f.Root = policy.Root{Script: true, NoScriptZone: rp.inNoScriptZone(v.Path), WebUser: rp.webUser, ByWebUser: rp.writtenByWebUser(v.UID)}
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
		Dev: v.Dev, Inode: v.Inode, Size: v.Size, Perm: unixMode(v.Mode) & 0o7777, UID: v.UID, GID: v.GID,
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
		SHA256: f.SHA256, Severity: f.Severity, Accepted: f.Accepted}
}

// execute carries out a decision about one scanned file.
func (a *Agent) execute(g *generation, c watcher.Change, v scanner.Verdict, prev *state.File, d policy.Decision, attempt int) (rescan bool) {
	if d.Kind == "" || d.Kind == alert.KindScanFailed {
		if d.Kind != "" {
			al := a.fileAlert(c, v, d.Kind, d.Severity)
			al.Detail = d.Why
			if v.Err != nil {
				a.stats.scanErrors.Add(1)
				al.Detail += prefixed("; ", safetext.PathsIn(v.Err.Error(), v.Path))
			}
			if v.Partial != "" {
				al.Detail += "; scanned " + v.Partial
			}
			al.Message = fmt.Sprintf("%s: %s [%s] %s", al.Kind.Summary(), safetext.Path(v.Path), al.Severity, al.Detail)
			a.send(g, al)
		}
		if d.Remember {
			a.remember(v, prev, d.Accepted)
		}
		return false
	}
	if d.Detection {
		a.stats.flagged.Add(1)
		a.metrics.m.Detection(v.Severity.String())
	}
	al := a.fileAlert(c, v, d.Kind, d.Severity)
	al.Detail = d.Why
	if !d.Quarantine {
		al.Action = &alert.Action{Taken: alert.ActionAlerted, Reason: d.LeftBecause}
		al.Message = detectionMessage(al, d.Why, "left in place: "+al.Action.Reason)
		a.send(g, al)
		a.remember(v, prev, d.Accepted)
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
	switch {
	case err == nil:
		a.stats.quarantined.Add(1)
		al.Action = &alert.Action{Taken: alert.ActionQuarantined, VaultID: entry.ID}
		al.Message = detectionMessage(al, d.Why, "quarantined as "+entry.ID)
		a.baseline.Forget(v.Path)
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
		al.Message = detectionMessage(al, d.Why, "NOT quarantined: "+al.Action.Reason)
		a.stats.quarantineFailed.Add(1)
	default:
		a.stats.quarantineFailed.Add(1)
		al.Kind = alert.KindQuarantineFailed
		al.Action = &alert.Action{Taken: alert.ActionQuarantineFailed, Reason: safetext.PathsIn(err.Error(), v.Path)}
		al.Message = detectionMessage(al, d.Why, "NOT quarantined, still in place: "+al.Action.Reason)
		a.remember(v, prev, false)
	}
	a.send(g, al)
	return rescan
}

// detectionMessage is the one human line of a file finding: what, where,
// how bad, why (the rules, or what changed), and what was done.
func detectionMessage(al alert.Alert, why, outcome string) string {
	names := al.RuleNames()
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("+%d more", len(al.RuleNames())-5))
	}
	if len(names) > 0 {
		why = "rules " + strings.Join(names, ",") + prefixed("; ", why)
	}
	return fmt.Sprintf("%s: %s [%s] %s; %s", al.Kind.Summary(), safetext.Path(al.Path()), al.Severity, why, outcome)
}

func prefixed(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
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
		Mode: fmt.Sprintf("%04o", uint32(v.Mode.Perm())|setBits(v.Mode)),
		UID:  v.UID, GID: v.GID, MTime: v.ModTime.UTC(),
		Dev: v.Dev, Inode: v.Inode, SHA256: v.SHA256, MD5: v.MD5,
	}
	if v.Inode != 0 {
		f.User, f.Group = a.names.User(v.UID), a.names.Group(v.GID)
	}
	al := alert.Alert{Kind: kind, Severity: sev, File: f}
	for _, m := range v.Matches {
		al.Rules = append(al.Rules, alert.Rule{
			Name: m.Rule, Namespace: m.Namespace, Tags: m.Tags,
			Severity: m.Severity, Family: m.Family, Description: m.Description,
		})
	}
	return al
}

// setBits returns the setuid, setgid and sticky bits of m as Unix numbers.
func setBits(m fs.FileMode) uint32 {
	var b uint32
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}
