package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/baseline"
	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
)

// drain waits until every change made in the roots before the call has
// been scanned and judged, or until ctx is done (its error then). deploy
// end calls it so that the files a deploy just copied are accepted by it,
// not alerted after it.
//
// The watcher's Sync returns once each such change has reached the queue,
// where it is counted as a task; then the tasks counted by then are waited
// for, while later ones come and go. Without a fence to sync with, it
// waits for an empty queue twice a settle interval apart, which a loaded
// watcher can fool. Drains run one at a time.
func (a *Agent) drain(ctx context.Context, settle time.Duration) error {
	select {
	case a.draining <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-a.draining }()
	err := a.watches.Sync(ctx)
	if err == nil {
		return a.q.tasks.waitBegun(ctx)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	a.log.Warn("deploy end: cannot sync with the watcher; waiting for a quiet queue instead", "err", err)
	for quiet := 0; quiet < 2; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(settle + 20*time.Millisecond):
		}
		if a.q.tasks.load() == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	return nil
}

// deployRequest decodes the arguments of a deploy command and finds the
// roots it names.
func (a *Agent) deployRequest(req control.Request) (wire.DeployArgs, *generation, []string, error) {
	var args wire.DeployArgs
	if err := req.DecodeArgs(&args); err != nil {
		return args, nil, nil, err
	}
	a.mu.RLock()
	g := a.gen
	a.mu.RUnlock()
	roots, err := g.roots.Named(args.Root)
	return args, g, roots, err
}

func (a *Agent) deployBegin(_ context.Context, peer control.Peer, req control.Request) (any, error) {
	args, g, roots, err := a.deployRequest(req)
	if err != nil {
		return nil, err
	}
	ttl := g.cfg.Deploy.DefaultTTL.Std()
	if args.TTL != "" {
		if ttl, err = time.ParseDuration(args.TTL); err != nil || ttl <= 0 {
			return nil, fmt.Errorf("--ttl %q is not a positive duration (30m, 2h)", args.TTL)
		}
	}
	if max := g.cfg.Deploy.MaxTTL.Std(); ttl > max {
		return nil, fmt.Errorf("--ttl %s is longer than deploy.max_ttl %s", ttl, max)
	}
	by := fmt.Sprintf("uid %d pid %d", peer.UID, peer.PID)
	var res wire.DeployResult
	for _, w := range a.baseline.Begin(roots, ttl, by) {
		res.Windows = append(res.Windows, deployStatus(w))
	}
	for _, w := range res.Windows {
		a.sendAgentAlert(alert.KindDeployStarted,
			fmt.Sprintf("deploy window opened on %s until %s by %s", safetext.Path(w.Root), w.Until.Format(time.RFC3339), by), "")
	}
	return res, nil
}

func (a *Agent) deployEnd(ctx context.Context, peer control.Peer, req control.Request) (any, error) {
	_, g, roots, err := a.deployRequest(req)
	if err != nil {
		return nil, err
	}
	if err := a.drain(ctx, g.cfg.Agent.Settle.Std()); err != nil {
		// Closed now, the window would leave what is still being judged
		// to be alerted as unexpected after it: it stays open instead.
		a.log.Warn("deploy end: the changes made before it are still being judged; the window stays open", "err", err)
		return nil, fmt.Errorf("the changes made before deploy end are still being scanned (%v): the window stays open until its TTL; run deploy end again", err)
	}
	var res wire.DeployResult
	for _, root := range roots {
		if sum, ok := a.baseline.End(root); ok {
			a.deployFinished(sum, fmt.Sprintf("ended by uid %d pid %d", peer.UID, peer.PID))
			res.Closed = append(res.Closed, wire.DeploySummary{Root: sum.Root, Added: sum.Added, Changed: sum.Changed, Removed: sum.Removed})
		}
	}
	if len(res.Closed) == 0 {
		return nil, errors.New("no deploy window is open there")
	}
	return res, nil
}

// expireDeploys closes the windows whose TTL ran out.
func (a *Agent) expireDeploys() {
	for _, sum := range a.baseline.Expire() {
		a.deployFinished(sum, "its TTL ran out")
	}
}

// deployFinished raises the summary alert of a window that closed.
func (a *Agent) deployFinished(sum baseline.Summary, how string) {
	msg := fmt.Sprintf("deploy window on %s closed (%s): %d added, %d changed, %d removed, accepted into the baseline",
		safetext.Path(sum.Root), how, len(sum.Added), len(sum.Changed), len(sum.Removed))
	a.mu.RLock()
	a.send(a.gen, alert.Alert{Kind: alert.KindDeployFinished, Severity: policy.EventSeverity(alert.KindDeployFinished), Message: msg,
		Detail: alert.ListDetail("added", sum.Added) + alert.ListDetail("changed", sum.Changed) + alert.ListDetail("removed", sum.Removed),
		Count:  len(sum.Added) + len(sum.Changed) + len(sum.Removed)})
	a.mu.RUnlock()
}

// deployStatus is a window as the control socket shows it.
func deployStatus(w baseline.Window) wire.DeployStatus {
	return wire.DeployStatus{Root: string(w.Root), Started: w.Started, Until: w.Until, By: w.By, Removed: w.Removed}
}

// deployStatuses returns the windows open now, for `shellwatch status`.
func (a *Agent) deployStatuses() []wire.DeployStatus {
	out := []wire.DeployStatus{}
	for _, w := range a.baseline.Windows() {
		out = append(out, deployStatus(w))
	}
	return out
}

// addControlCommands adds the deploy and baseline commands.
func (a *Agent) addControlCommands(m control.Mux) {
	m[wire.CmdDeployBegin] = a.deployBegin
	m[wire.CmdDeployEnd] = a.deployEnd
	m[wire.CmdBaselineAccept] = a.baselineAccept
	m[wire.CmdBaselineDiff] = a.baselineDiff
}

func (a *Agent) filesKnown() int {
	a.baseline.Flush()
	n, err := a.baseline.Count()
	if err != nil {
		a.log.Error("state: count records", "err", err)
	}
	return n
}
