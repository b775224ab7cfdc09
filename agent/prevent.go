package agent

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/guard"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/scanner"
	"github.com/shellwatch/shellwatch/state"
)

// prevention is the running guard (package guard) of the current
// generation, when [prevent] enables it: composition only, the guard does
// the work.
type prevention struct {
	mu    sync.Mutex
	guard *guard.Guard
	users []string
}

// startPrevention starts a guard over g's roots with g's prevention
// scanners, and stops the one running before (after the new one holds
// opens, so that no open slips between them). With prevention off it only
// stops the old one.
func (a *Agent) startPrevention(g *generation) error {
	var next *guard.Guard
	if g.cfg.Prevent.Enabled {
		var paths []string
		for _, r := range g.roots.List() {
			paths = append(paths, r.Path)
		}
		var err error
		next, err = guard.Start(guard.Options{
			Roots:       paths,
			Vaults:      []string{g.vault.Dir()},
			UIDs:        g.cfg.Prevent.UIDs,
			Deadline:    g.cfg.Prevent.Deadline.Std(),
			MinSeverity: g.cfg.Prevent.MinSeverity.Severity(),
			Workers:     g.engine.Prevent.Workers(),
			NoTrust:     !g.cfg.Prevent.Trust,
			Known:       a.knownVerdict,
			Scan: func(ctx context.Context, fd int, path string) guard.Verdict {
				return preventVerdict(g.engine.Prevent.ScanDescriptor(ctx, fd, path))
			},
			IsScript: func(path string) bool {
				r := g.roots.Of(path)
				return r == nil || r.IsScript(path)
			},
			Report: a.preventionReport,
			Logger: a.log.With("component", "prevent"),
		})
		if err != nil {
			// The old guard stops all the same: its scanners are the old
			// generation's, closed once it is replaced.
			a.swapGuard(nil, nil)
			return fmt.Errorf("prevent: %w", err)
		}
		a.log.Info("prevention on", "users", g.cfg.Prevent.Users, "deadline", g.cfg.Prevent.Deadline,
			"folders", next.Stats().Marks)
	}
	a.swapGuard(next, g.cfg.Prevent.Users)
	return nil
}

// preventVerdict is the guard's verdict of a prevention scan. A PHP
// analysis that stopped early (its budget there is at most 1 s) judged
// nothing clean: it is an error, and the guard allows the open unjudged,
// counted (prevention_degraded), never cached nor trusted, unless what was
// found already denies it; the next open asks the baseline, which the
// full scan of the normal pipeline fills.
func preventVerdict(v scanner.Verdict) guard.Verdict {
	err := v.Err
	if err == nil && v.Incomplete != "" {
		err = fmt.Errorf("PHP analysis incomplete: %s", v.Incomplete)
	}
	return guard.Verdict{Severity: v.Severity, Err: err, Detail: v}
}

// swapGuard makes next the running guard and stops the one before: the
// kernel allows what it held.
func (a *Agent) swapGuard(next *guard.Guard, users []string) {
	a.prevent.mu.Lock()
	old := a.prevent.guard
	a.prevent.guard, a.prevent.users = next, users
	a.prevent.mu.Unlock()
	if old != nil {
		old.Stop()
	}
}

// stopPrevention stops the guard.
func (a *Agent) stopPrevention() { a.swapGuard(nil, nil) }

// preventionStats returns the running guard's counters and users; ok is
// false when prevention is off.
func (a *Agent) preventionStats() (st guard.Stats, users []string, ok bool) {
	a.prevent.mu.Lock()
	defer a.prevent.mu.Unlock()
	if a.prevent.guard == nil {
		return st, nil, false
	}
	return a.prevent.guard.Stats(), a.prevent.users, true
}

// preventionStatus is the prevention part of `shellwatch status`.
func (a *Agent) preventionStatus() wire.PreventionStatus {
	st, users, ok := a.preventionStats()
	if !ok {
		return wire.PreventionStatus{Users: []string{}}
	}
	return wire.PreventionStatus{Active: true, Users: users, Folders: st.Marks, Events: st.Events,
		Allowed: st.Allowed, Denied: st.Denied, DeadlineMisses: st.DeadlineMisses + st.QueueFull + st.Unjudgeable,
		Trusted: uint64(st.TrustedNow)}
}

// knownVerdict is the guard's look into the baseline: the last verdict on
// path, when its record is of this very file, with the rules that judged
// it (for the alert of a refusal). Content an operator accepted is clean
// to it.
func (a *Agent) knownVerdict(path string, id guard.Identity) (guard.Verdict, bool) {
	rec := a.baseline.Record(path)
	if rec == nil || !rec.Stat().SameIdentity(state.Stat{Dev: id.Dev, Inode: id.Inode, Size: id.Size,
		MTime: id.ModTime(), CTime: id.ChangeTime()}) {
		return guard.Verdict{}, false
	}
	// The verdict, whatever accepted the content: a monitor root's
	// baseline accepts what it saw, a flagged file left in place (edited in
	// place, quarantine_modified off, or there at the first baseline)
	// included, and a webshell must not be served for that. An operator
	// clears a false positive with rules.allow_lists, which makes the
	// verdict clean.
	return guard.Verdict{Severity: rec.Severity, Detail: recorded{rules: rec.Rules, sha256: rec.SHA256}}, true
}

// recorded is what the baseline's record told the guard of a file it
// judged: the rules that matched when the normal pipeline scanned it.
type recorded struct {
	rules  []string
	sha256 [32]byte
}

// preventionReport turns what the guard tells, after its answer, into
// alerts.
func (a *Agent) preventionReport(r guard.Report) {
	switch r.Kind {
	case guard.Blocked:
		a.sendPreventionAlert(a.blockedAlert(r))
	case guard.Degraded:
		a.sendPreventionAlert(alert.Alert{Kind: alert.KindPreventionDegraded, Severity: policy.EventSeverity(alert.KindPreventionDegraded),
			Message: fmt.Sprintf("prevention allowed opens it could not judge: %d past prevent.deadline, %d with its queue full, %d of files whose scan failed lately; %d folders not guarded",
				r.DeadlineMisses, r.QueueFull, r.Unjudgeable, r.MarkErrors),
			Detail: fmt.Sprintf("deadline_misses=%d queue_full=%d unjudgeable=%d mark_errors=%d", r.DeadlineMisses, r.QueueFull, r.Unjudgeable, r.MarkErrors)})
	}
}

// blockedAlert is the execution_blocked alert of a refused open.
func (a *Agent) blockedAlert(r guard.Report) alert.Alert {
	kind := alert.KindExecutionBlocked
	v, scanned := r.Verdict.Detail.(scanner.Verdict)
	from := r.From
	var rules []alert.Rule
	if !scanned {
		v = scanner.Verdict{Path: r.Path, Dev: r.Identity.Dev, Inode: r.Identity.Inode, Size: r.Identity.Size,
			ModTime: r.Identity.ModTime(), ChangeTime: r.Identity.ChangeTime(), Severity: r.Verdict.Severity}
		if rec, ok := r.Verdict.Detail.(recorded); ok {
			// Judged by the baseline's record, now or through the
			// guard's cache: its rules, named as the record keeps them.
			from = "the baseline's record"
			if rec.sha256 != ([32]byte{}) {
				v.SHA256 = hex.EncodeToString(rec.sha256[:])
			}
			for _, name := range rec.rules {
				rules = append(rules, alert.Rule{Name: name})
			}
		}
	} else {
		rules = alert.RulesOf(v.Matches)
	}
	g := a.current.Load()
	root := ""
	if rt := g.roots.Of(r.Path); rt != nil {
		root = rt.Path
	}
	al := alert.Alert{Kind: kind, Severity: policy.EventSeverity(kind), File: &alert.File{
		Path: r.Path, Root: root, Size: v.Size, Mode: alert.ModeString(v.StMode), UID: v.UID, GID: v.GID,
		MTime: v.ModTime.UTC(), Dev: v.Dev, Inode: v.Inode, SHA256: v.SHA256, MD5: v.MD5,
	}, Rules: rules}
	if v.StMode != 0 {
		al.File.User, al.File.Group = a.names.User(v.UID), a.names.Group(v.GID)
	}
	al.Opener = a.opener(r)
	why := fmt.Sprintf("judged %s by %s", r.Verdict.Severity, from)
	al.Detail = why
	outcome := fmt.Sprintf("open refused to pid %d (%s)", r.PID, al.Opener.Who())
	if r.Exe != "" {
		outcome += " " + safetext.Path(r.Exe)
	}
	al.Message = al.FindingMessage(why, outcome)
	return al
}

// opener is the process whose open was refused, as an alert tells it:
// no uid when its ids could not be read (uid 0 would say root).
func (a *Agent) opener(r guard.Report) *alert.Process {
	p := &alert.Process{PID: int(r.PID), Exe: r.Exe, Cmdline: r.Cmdline}
	if r.UIDsKnown {
		uid := r.UIDs[1] // effective
		p.UID, p.User = &uid, a.names.User(uid)
	}
	return p
}

// sendPreventionAlert raises an alert of the guard's, which runs beside
// reloads: it takes the agent's lock as any alert does.
func (a *Agent) sendPreventionAlert(al alert.Alert) {
	al.Time = time.Now().UTC()
	al.ID = alert.NewID(al.Time)
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.send(a.gen, al)
}
