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
	"github.com/shellwatch/shellwatch/scanner"
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
		if g.roots.Of(path) == nil {
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
		a.remember(v, a.baseline.Record(path), true, false)
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
	a.baseline.Announce(announced, g.cfg.Deploy.MaxTTL.Std())
	if n := len(res.Accepted) + len(res.Pending); n > 0 {
		msg := fmt.Sprintf("%d files accepted into the baseline, %d announced by a manifest and not there yet, by uid %d pid %d",
			len(res.Accepted), len(res.Pending), peer.UID, peer.PID)
		a.send(g, alert.Alert{Kind: alert.KindBaselineAccepted, Severity: policy.EventSeverity(alert.KindBaselineAccepted), Message: msg,
			Detail: alert.ListDetail("accepted", res.Accepted) + alert.ListDetail("pending", res.Pending) + alert.ListDetail("flagged by rules", res.Flagged),
			Count:  n})
	}
	return res, nil
}

func (a *Agent) baselineDiff(ctx context.Context, _ control.Peer, _ control.Request) (any, error) {
	a.mu.RLock()
	g := a.gen
	a.mu.RUnlock()
	res := wire.DiffResult{Entries: []wire.DiffEntry{}, Errors: []string{}}
	for _, r := range g.roots.List() {
		changes, problems := a.baseline.Diff(ctx, r.Path, r.Skipper())
		for _, c := range changes {
			res.Entries = append(res.Entries, wire.DiffEntry{Kind: c.Kind, Path: safetext.JSONPath(c.Path), Since: c.Since, Detail: c.Detail})
		}
		res.Errors = append(res.Errors, problems...)
	}
	return res, nil
}

// remember stores what v saw in the baseline; accepted says whether its
// content belongs to the baseline now, appeared whether the file stays new.
func (a *Agent) remember(v scanner.Verdict, prev *state.File, accepted, appeared bool) {
	f := state.File{
		Path: v.Path, Dev: v.Dev, Inode: v.Inode, Size: v.Size, Mode: v.StMode,
		UID: v.UID, GID: v.GID, MTime: v.ModTime, CTime: v.ChangeTime,
		SHA256: digest(v.SHA256), Severity: v.Severity, Appeared: appeared,
	}
	for _, m := range v.Matches {
		f.Rules = append(f.Rules, m.Rule)
	}
	a.baseline.Remember(f, prev, accepted)
	firstSeen := time.Now()
	if prev != nil {
		firstSeen = prev.FirstSeen
	}
	a.watchClosely(v, firstSeen, appeared)
}
