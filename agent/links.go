package agent

import (
	"context"
	"errors"
	"strconv"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/quarantine"
	"github.com/shellwatch/shellwatch/scanner"
	"github.com/shellwatch/shellwatch/watcher"
)

// handleLink judges a symbolic link found in a root (v is the scan that
// refused it: its lstat): where it leads, whether it is a script, what its
// target holds, as policy.DecideLink says; and moves the link itself, never
// its target, when policy says so. A link is judged when it appears (or a
// walk meets it, the start's reconciliation included: firstBaseline says
// it builds the root's first baseline); a chmod or chown of the link
// raises nothing new.
func (a *Agent) handleLink(ctx context.Context, g *generation, c watcher.Change, v scanner.Verdict, firstBaseline bool) {
	if c.Op != watcher.OpCreated && c.Op != watcher.OpResync {
		return
	}
	l, err := g.engine.Scanner.ScanLink(ctx, c.Path)
	if err != nil {
		return // gone or replaced since: its own events say so
	}
	rp := g.roots.Get(c.Root)
	facts := policy.Link{
		Outside: policy.LeavesRoot(c.Root, c.Path, l.Target, l.Resolved),
		Script: rp != nil && (rp.IsScript(c.Path) || rp.IsScript(l.Target) ||
			(l.Resolved != "" && rp.IsScript(l.Resolved))),
		Dir:        l.Mode.IsDir(),
		Born:       c.Op == watcher.OpCreated || v.ChangeTime.After(a.startedAt),
		Baseline:   firstBaseline,
		WindowOpen: a.baseline.WindowFor(c.Root) != nil,
		Quarantine: g.cfg.Quarantine,
	}
	if l.Content != nil {
		pv := verdictFacts(*l.Content, ctx.Err() != nil)
		facts.Content = &pv
	}
	d := policy.DecideLink(facts)
	if d.Kind == "" {
		return
	}
	al := a.fileAlert(c, v, d.Kind, d.Severity)
	al.File.LinkTarget = l.Target
	var rules []quarantine.Match
	if l.Content != nil && l.Content.Flagged() {
		rules = quarantineMatches(l.Content.Matches)
		// What the web server serves through the link.
		al.File.SHA256, al.File.MD5 = l.Content.SHA256, l.Content.MD5
		al.Rules = alert.RulesOf(l.Content.Matches)
		a.metrics.flagged.Add(1)
		a.metrics.m.Detection(d.Severity.String())
	}
	al.Detail = d.Why + "; the link points to " + strconv.Quote(l.Target)
	if l.Resolved != "" {
		al.Detail += ", which is " + strconv.Quote(l.Resolved)
	} else if l.Unresolved != nil {
		al.Detail += ", which reaches nothing that may be looked at: " + safetext.PathsIn(l.Unresolved.Error(), c.Path)
	}
	if !d.Quarantine {
		al.Action = &alert.Action{Taken: alert.ActionAlerted, Reason: d.LeftBecause}
		al.Message = al.FindingMessage(al.Detail, "left in place: "+d.LeftBecause)
		a.send(g, al)
		return
	}
	entry, err := g.vault.MoveLink(quarantine.LinkRequest{Path: c.Path, Dev: v.Dev, Inode: v.Inode, Target: l.Target,
		Rules: rules, Reason: string(d.Kind)})
	switch {
	case err == nil:
		a.metrics.quarantined.Add(1)
		al.Action = &alert.Action{Taken: alert.ActionQuarantined, VaultID: entry.ID, Reason: "the link was moved; its target was left where it is"}
		al.Message = al.FindingMessage(al.Detail, "the link quarantined as "+entry.ID)
	default:
		a.metrics.quarantineFailed.Add(1)
		al.Kind = alert.KindQuarantineFailed
		reason := safetext.PathsIn(err.Error(), c.Path)
		if errors.Is(err, quarantine.ErrChanged) {
			reason = "the link was replaced or turned elsewhere before it could be moved; what is there now is judged by its own event"
		}
		al.Action = &alert.Action{Taken: alert.ActionQuarantineFailed, Reason: reason}
		al.Message = al.FindingMessage(al.Detail, "NOT quarantined: "+reason)
	}
	a.send(g, al)
}
