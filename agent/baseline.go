package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/walk"
)

func (a *Agent) baselineAccept(ctx context.Context, peer control.Peer, req control.Request) (any, error) {
	var args wire.AcceptArgs
	if err := req.DecodeArgs(&args); err != nil {
		return nil, err
	}
	if len(args.Paths) == 0 && len(args.Manifest) == 0 {
		return nil, errors.New("nothing to accept: name files or folders, or a manifest")
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	g := a.gen
	res := wire.AcceptResult{Accepted: safetext.Paths{}, Pending: safetext.Paths{}, Refused: []string{}, Flagged: safetext.Paths{}}
	announced := map[string]string{} // path → sha256, stored once at the end
	accept := func(path, wantSHA string) {
		if _, ok := a.rootOf(g, path); !ok {
			res.Refused = append(res.Refused, safetext.Path(path)+": not under a watched root")
			return
		}
		v := g.engine.Scanner.ScanContext(ctx, path)
		switch {
		case v.Err != nil && (ignorable(v) || v.SHA256 == ""):
			if wantSHA != "" && errors.Is(v.Err, fs.ErrNotExist) {
				announced[path] = wantSHA
				res.Pending = append(res.Pending, path)
				return
			}
			res.Refused = append(res.Refused, safetext.PathsIn(v.Err.Error(), path))
			return
		case wantSHA != "" && v.SHA256 != wantSHA:
			announced[path] = wantSHA
			res.Pending = append(res.Pending, path)
			return
		}
		if v.Flagged() {
			res.Flagged = append(res.Flagged, path)
		}
		a.remember(v, a.record(path), true)
		res.Accepted = append(res.Accepted, path)
	}
	for _, p := range args.Paths {
		p = filepath.Clean(p)
		if !filepath.IsAbs(p) {
			res.Refused = append(res.Refused, safetext.Path(p)+": not an absolute path")
			continue
		}
		err := walk.Walk(ctx, p, nil, func(path string, d fs.DirEntry) error {
			if d.Type().IsRegular() {
				accept(path, "")
			}
			return nil
		}, func(path string, err error) {
			res.Refused = append(res.Refused, safetext.PathsIn(err.Error(), path))
		})
		if err != nil {
			res.Refused = append(res.Refused, safetext.PathsIn(err.Error(), p))
		}
	}
	for _, e := range args.Manifest {
		p := filepath.Clean(string(e.Path))
		if !filepath.IsAbs(p) || len(e.SHA256) != 64 {
			res.Refused = append(res.Refused, fmt.Sprintf("manifest line %s %s: want a sha256 and an absolute path", e.SHA256, safetext.Path(string(e.Path))))
			continue
		}
		accept(p, strings.ToLower(e.SHA256))
	}
	a.addApprovals(g, announced)
	if n := len(res.Accepted) + len(res.Pending); n > 0 {
		msg := fmt.Sprintf("%d files accepted into the baseline, %d announced by a manifest and not there yet, by uid %d pid %d",
			len(res.Accepted), len(res.Pending), peer.UID, peer.PID)
		a.send(g, alert.Alert{Kind: alert.KindBaselineAccepted, Severity: policy.EventSeverity(alert.KindBaselineAccepted), Message: msg,
			Detail: listDetail("accepted", res.Accepted) + listDetail("pending", res.Pending) + listDetail("flagged by rules", res.Flagged),
			Count:  n})
	}
	return res, nil
}

// addApprovals remembers that each path may arrive with its sha256, until
// deploy.max_ttl from now, and stores them all at once.
func (a *Agent) addApprovals(g *generation, announced map[string]string) {
	if len(announced) == 0 {
		return
	}
	now := time.Now().UTC()
	a.approvals.mu.Lock()
	defer a.approvals.mu.Unlock()
	for p, ap := range a.approvals.byPath {
		if now.After(ap.Until) {
			delete(a.approvals.byPath, p)
		}
	}
	for p, sum := range announced {
		a.approvals.byPath[p] = approval{SHA256: sum, Until: now.Add(g.cfg.Deploy.MaxTTL.Std())}
	}
	a.saveApprovalsLocked()
}

// rootOf returns the watched root path is under.
func (a *Agent) rootOf(g *generation, path string) (string, bool) {
	for root := range g.roots {
		if path == root || strings.HasPrefix(path, strings.TrimSuffix(root, "/")+"/") {
			return root, true
		}
	}
	return "", false
}

func (a *Agent) baselineDiff(ctx context.Context, _ control.Peer, _ control.Request) (any, error) {
	a.mu.RLock()
	g := a.gen
	a.mu.RUnlock()
	res := wire.DiffResult{Entries: []wire.DiffEntry{}, Errors: []string{}}
	a.records.flush()
	for i, w := range g.cfg.Watch {
		root := realRoot(w.Path)
		ex, err := rootExcluder(g.cfg, i)
		if err != nil {
			return nil, err
		}
		_, err = state.Reconcile(ctx, a.db, root, ex, func(d state.Difference) {
			e := wire.DiffEntry{Kind: d.Kind.String(), Path: safetext.JSONPath(d.Path)}
			switch d.Kind {
			case state.Added:
				e.Kind = "added"
			case state.Changed:
				e.Kind, e.Detail = "changed", statChange(d.Old.Stat(), d.Stat)
			case state.Deleted:
				e.Kind = "deleted"
			default:
				res.Errors = append(res.Errors, safetext.Path(d.Path)+": "+fmt.Sprint(d.Err))
				return
			}
			res.Entries = append(res.Entries, e)
		})
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
		if err := a.db.ForEach(root, func(f state.File) error {
			if !f.Accepted {
				res.Entries = append(res.Entries, wire.DiffEntry{Kind: "unaccepted", Path: safetext.JSONPath(f.Path), Since: f.LastSeen,
					Detail: fmt.Sprintf("sha256 %x, first seen %s", f.SHA256[:8], f.FirstSeen.Format(time.RFC3339))})
			}
			return nil
		}); err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
	}
	return res, nil
}

// statChange describes how a file's lstat differs from its record.
func statChange(old, now state.Stat) string {
	var what []string
	if old.Dev != now.Dev || old.Inode != now.Inode {
		what = append(what, "another inode")
	}
	if old.Size != now.Size {
		what = append(what, fmt.Sprintf("size %d → %d", old.Size, now.Size))
	}
	if !old.MTime.Equal(now.MTime) {
		what = append(what, "mtime "+now.MTime.UTC().Format(time.RFC3339))
	}
	if old.Mode&0o7777 != now.Mode&0o7777 {
		what = append(what, fmt.Sprintf("mode %04o → %04o", old.Mode&0o7777, now.Mode&0o7777))
	}
	if old.UID != now.UID || old.GID != now.GID {
		what = append(what, fmt.Sprintf("owner %d:%d → %d:%d", old.UID, old.GID, now.UID, now.GID))
	}
	if len(what) == 0 {
		what = append(what, "ctime only")
	}
	return strings.Join(what, ", ")
}
