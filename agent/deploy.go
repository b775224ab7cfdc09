package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/state"
)

// Meta keys in the state database.
const (
	metaDeployWindows = "deploy_windows"
	metaApprovals     = "approvals"
	metaBaselinePre   = "baseline_built:" // + root: the root's first baseline is complete
)

// deployWindows holds the open deploy windows by root, kept in the state
// database so a restart inside a window keeps it.
type deployWindows struct {
	mu      sync.Mutex
	windows map[string]*wire.DeployStatus
	// closed keeps recently closed windows: a change made inside a window
	// but scanned after it closed (a long queue) still counts as deployed.
	closed []wire.DeployStatus
	// dirty says Removed grew since the windows were last stored: removals
	// are stored every few seconds, not one fsync each (an rsync --delete
	// of thousands of files must not stall the workers).
	dirty bool
}

// closedWindowMemory is how long a closed window still covers changes
// made while it was open.
const closedWindowMemory = 10 * time.Minute

// approval is a hash a deploy manifest announced for a path.
type approval struct {
	SHA256 string    `json:"sha256"`
	Until  time.Time `json:"until"`
}

// storedApproval is an approval as the state database keeps it: a list,
// since JSON map keys could not carry every path exactly.
type storedApproval struct {
	Path safetext.JSONPath `json:"path"`
	approval
}

type approvals struct {
	mu     sync.Mutex
	byPath map[string]approval
	dirty  bool // consumed since last stored
}

// loadDeployState reads the open windows and pending approvals back.
func (a *Agent) loadDeployState() {
	a.deploys.windows = map[string]*wire.DeployStatus{}
	var ws []*wire.DeployStatus
	if _, err := a.db.GetMeta(metaDeployWindows, &ws); err != nil {
		a.log.Error("state: read deploy windows", "err", err)
	}
	for _, w := range ws {
		a.deploys.windows[w.Root] = w
	}
	a.approvals.byPath = map[string]approval{}
	var stored []storedApproval
	if _, err := a.db.GetMeta(metaApprovals, &stored); err != nil {
		a.log.Error("state: read manifest approvals", "err", err)
	}
	for _, s := range stored {
		a.approvals.byPath[string(s.Path)] = s.approval
	}
}

// saveWindowsLocked persists the windows; deploys.mu is held.
func (a *Agent) saveWindowsLocked() {
	a.deploys.dirty = false
	ws := make([]*wire.DeployStatus, 0, len(a.deploys.windows))
	for _, w := range a.deploys.windows {
		ws = append(ws, w)
	}
	if err := a.db.PutMeta(metaDeployWindows, ws); err != nil {
		a.log.Error("state: store deploy windows", "err", err)
	}
}

func (a *Agent) deployStatus() []wire.DeployStatus {
	a.deploys.mu.Lock()
	defer a.deploys.mu.Unlock()
	out := []wire.DeployStatus{}
	for _, w := range a.deploys.windows {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Root < out[j].Root })
	return out
}

// deployWindowFor returns the open window of root, or nil.
func (a *Agent) deployWindowFor(root string) *wire.DeployStatus {
	a.deploys.mu.Lock()
	defer a.deploys.mu.Unlock()
	w := a.deploys.windows[root]
	if w == nil || time.Now().After(w.Until) {
		return nil
	}
	c := *w
	return &c
}

// deployedAt reports whether a change of root at time t (a file's ctime)
// was made inside a deploy window, open or recently closed.
func (a *Agent) deployedAt(root string, t time.Time) bool {
	a.deploys.mu.Lock()
	defer a.deploys.mu.Unlock()
	if w := a.deploys.windows[root]; w != nil && time.Now().Before(w.Until) && !t.Before(w.Started) {
		return true
	}
	for _, w := range a.deploys.closed {
		if w.Root == root && !t.Before(w.Started) && !t.After(w.Until) {
			return true
		}
	}
	return false
}

// drain waits until every change the watcher saw before the call has been
// scanned and judged — the queue empty twice a settle interval apart — or
// until ctx is done. deploy end calls it so that the files a deploy just
// copied are accepted by it, not alerted after it.
func (a *Agent) drain(ctx context.Context, settle time.Duration) {
	quiet := 0
	for quiet < 2 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(settle + 20*time.Millisecond):
		}
		if a.inflight.Load() == 0 && len(a.changes) == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
}

func (a *Agent) noteRemovedInWindow(root string, paths []string) {
	a.deploys.mu.Lock()
	defer a.deploys.mu.Unlock()
	if w := a.deploys.windows[root]; w != nil && time.Now().Before(w.Until) {
		w.Removed = append(w.Removed, paths...)
		a.deploys.dirty = true
	}
}

// saveDeployState stores what changed in the windows and approvals since
// they were last stored. The status ticker calls it, and stop. A crash in
// between loses at most a few seconds of it: removals missing from a
// deploy summary, or an announcement used once more.
func (a *Agent) saveDeployState() {
	a.deploys.mu.Lock()
	if a.deploys.dirty {
		a.saveWindowsLocked()
	}
	a.deploys.mu.Unlock()
	a.approvals.mu.Lock()
	if a.approvals.dirty {
		a.saveApprovalsLocked()
	}
	a.approvals.mu.Unlock()
}

// saveApprovalsLocked stores the approvals; approvals.mu is held.
func (a *Agent) saveApprovalsLocked() {
	a.approvals.dirty = false
	stored := make([]storedApproval, 0, len(a.approvals.byPath))
	for p, ap := range a.approvals.byPath {
		stored = append(stored, storedApproval{Path: safetext.JSONPath(p), approval: ap})
	}
	if err := a.db.PutMeta(metaApprovals, stored); err != nil {
		a.log.Error("state: store manifest approvals", "err", err)
	}
}

// consumeApproval reports whether a manifest announced this content for
// path, and uses the announcement up.
func (a *Agent) consumeApproval(path, sha256 string) bool {
	a.approvals.mu.Lock()
	defer a.approvals.mu.Unlock()
	ap, ok := a.approvals.byPath[path]
	if !ok || ap.SHA256 != sha256 || time.Now().After(ap.Until) {
		return false
	}
	delete(a.approvals.byPath, path)
	a.approvals.dirty = true
	return true
}

// rootsNamed returns the roots a command names: the one whose configured
// or real path is name, or all of them for "".
func (a *Agent) rootsNamed(g *generation, name string) ([]string, error) {
	var all []string
	for _, w := range g.cfg.Watch {
		all = append(all, realRoot(w.Path))
	}
	if name == "" {
		return all, nil
	}
	want := realRoot(name)
	for i, w := range g.cfg.Watch {
		if filepath.Clean(w.Path) == filepath.Clean(name) || all[i] == want {
			return []string{all[i]}, nil
		}
	}
	return nil, fmt.Errorf("%s is not a watched root (roots: %s)", safetext.Path(name), strings.Join(all, ", "))
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
	roots, err := a.rootsNamed(g, args.Root)
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
	now := time.Now().UTC()
	by := fmt.Sprintf("uid %d pid %d", peer.UID, peer.PID)
	a.deploys.mu.Lock()
	var res wire.DeployResult
	for _, root := range roots {
		w := a.deploys.windows[root]
		if w == nil || now.After(w.Until) {
			w = &wire.DeployStatus{Root: root, Started: now}
			a.deploys.windows[root] = w
		}
		w.Until, w.By = now.Add(ttl), by
		res.Windows = append(res.Windows, *w)
	}
	a.saveWindowsLocked()
	a.deploys.mu.Unlock()
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
	a.drain(ctx, g.cfg.Agent.Settle.Std())
	var res wire.DeployResult
	for _, root := range roots {
		if sum, ok := a.closeWindow(root, fmt.Sprintf("ended by uid %d pid %d", peer.UID, peer.PID)); ok {
			res.Closed = append(res.Closed, sum)
		}
	}
	if len(res.Closed) == 0 {
		return nil, errors.New("no deploy window is open there")
	}
	return res, nil
}

// expireDeploys closes the windows whose TTL ran out.
func (a *Agent) expireDeploys() {
	a.deploys.mu.Lock()
	var due []string
	for root, w := range a.deploys.windows {
		if time.Now().After(w.Until) {
			due = append(due, root)
		}
	}
	a.deploys.mu.Unlock()
	for _, root := range due {
		a.closeWindow(root, "its TTL ran out")
	}
}

// closeWindow accepts what changed in root's window into the baseline and
// raises the summary alert.
func (a *Agent) closeWindow(root, how string) (wire.DeploySummary, bool) {
	a.deploys.mu.Lock()
	w := a.deploys.windows[root]
	delete(a.deploys.windows, root)
	a.saveWindowsLocked()
	if w != nil {
		closed := *w
		if now := time.Now().UTC(); now.Before(closed.Until) {
			closed.Until = now
		}
		kept := a.deploys.closed[:0]
		for _, c := range a.deploys.closed {
			if time.Since(c.Until) < closedWindowMemory {
				kept = append(kept, c)
			}
		}
		a.deploys.closed = append(kept, closed)
	}
	a.deploys.mu.Unlock()
	if w == nil {
		return wire.DeploySummary{}, false
	}
	sum := wire.DeploySummary{Root: root, Added: safetext.Paths{}, Changed: safetext.Paths{}, Removed: w.Removed}
	if sum.Removed == nil {
		sum.Removed = safetext.Paths{}
	}
	now := time.Now().UTC()
	var accept []state.File
	a.records.flush()
	if err := a.db.ForEach(root, func(f state.File) error {
		if f.Accepted || f.LastSeen.Before(w.Started) {
			return nil
		}
		if f.FirstSeen.Before(w.Started) {
			sum.Changed = append(sum.Changed, f.Path)
		} else {
			sum.Added = append(sum.Added, f.Path)
		}
		f.Accepted, f.AcceptedAt = true, now
		accept = append(accept, f)
		return nil
	}); err != nil {
		a.log.Error("state: read the window's changes", "root", root, "err", err)
	}
	if err := a.db.Put(accept...); err != nil {
		a.log.Error("state: accept the window's changes", "root", root, "err", err)
	}
	msg := fmt.Sprintf("deploy window on %s closed (%s): %d added, %d changed, %d removed, accepted into the baseline",
		safetext.Path(root), how, len(sum.Added), len(sum.Changed), len(sum.Removed))
	a.mu.RLock()
	a.send(a.gen, alert.Alert{Kind: alert.KindDeployFinished, Severity: policy.EventSeverity(alert.KindDeployFinished), Message: msg,
		Detail: listDetail("added", sum.Added) + listDetail("changed", sum.Changed) + listDetail("removed", sum.Removed),
		Count:  len(sum.Added) + len(sum.Changed) + len(sum.Removed)})
	a.mu.RUnlock()
	return sum, true
}

// listDetail lists paths for an alert's detail, the first 50 of them.
func listDetail(what string, paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d):", what, len(paths))
	for i, p := range paths {
		if i == 50 {
			fmt.Fprintf(&b, " … %d more", len(paths)-50)
			break
		}
		b.WriteString(" " + safetext.Path(p))
	}
	return b.String() + "\n"
}

// addControlCommands adds the deploy and baseline commands.
func (a *Agent) addControlCommands(m control.Mux) {
	m[wire.CmdDeployBegin] = a.deployBegin
	m[wire.CmdDeployEnd] = a.deployEnd
	m[wire.CmdBaselineAccept] = a.baselineAccept
	m[wire.CmdBaselineDiff] = a.baselineDiff
}

func (a *Agent) filesKnown() int {
	a.records.flush()
	n, err := a.db.Count()
	if err != nil {
		a.log.Error("state: count records", "err", err)
	}
	return n
}
