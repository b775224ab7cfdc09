package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/shellwatch/shellwatch/config"

	"github.com/shellwatch/shellwatch/watcher"
	"golang.org/x/sys/unix"
)

// watchOptions are the watcher's options for g's roots: it delivers into
// the agent's queues (pipeline).
func (a *Agent) watchOptions(g *generation) watcher.Options {
	var rs []watcher.Root
	for _, r := range g.roots.List() {
		rs = append(rs, watcher.Root{Path: r.Path, Exclude: r.Skipper()})
	}
	return watcher.Options{
		Roots:          rs,
		Settle:         g.cfg.Agent.Settle.Std(),
		RescanInterval: g.cfg.Agent.RescanInterval.Std(),
		// What the roots hold at start is compared with the baseline by
		// Agent.reconcile once they are watched.
		InitialScan:  false,
		PendingLimit: a.opts.pendingLimit,
		FenceDir:     a.fenceFor(g),
		Sink:         pipeline{a},
		Logger:       a.log.With("component", "watcher"),
	}
}

// watchNewRoots starts watching g's roots beside the current watcher and
// waits until every one is watched (its walk done), or ctx ends.
func (a *Agent) watchNewRoots(ctx context.Context, g *generation) (*watcher.Running, error) {
	r, err := a.watches.Launch(a.watchOptions(g))
	if err != nil {
		return nil, err
	}
	if a.hooks.rootsWalking != nil {
		a.hooks.rootsWalking(ctx)
	}
	select {
	case <-r.Ready():
		return r, nil
	case <-ctx.Done():
		a.watches.Discard(r)
		return nil, ctx.Err()
	}
}

// makeFenceDir makes the folder where the watchers make their fences
// (see watcher.Options.FenceDir), in the state folder, and returns its
// real path; "" when it cannot, or when what is there is not a folder of
// the agent's own that only it can write (a name made there by another
// could pass for a fence).
func (a *Agent) makeFenceDir(cfg config.Config) string {
	dir := filepath.Join(cfg.Agent.StateDir, "fence")
	err := os.Mkdir(dir, 0o700)
	if err == nil || errors.Is(err, fs.ErrExist) {
		var st unix.Stat_t
		if err = unix.Lstat(dir, &st); err == nil {
			switch {
			case st.Mode&unix.S_IFMT != unix.S_IFDIR:
				err = errors.New("not a folder (symbolic links are not followed)")
			case st.Uid != uint32(os.Geteuid()) || st.Mode&0o022 != 0:
				err = fmt.Errorf("owned by uid %d with mode %o: want the agent's own (uid %d), writable by it alone", st.Uid, st.Mode&0o7777, os.Geteuid())
			}
		}
		if err == nil {
			var real string
			if real, err = filepath.EvalSymlinks(dir); err == nil {
				return real
			}
		}
	}
	a.log.Warn("cannot use the fence folder: deploy end falls back to waiting for a quiet queue", "dir", dir, "err", err)
	return ""
}

// fenceFor returns the fence folder for a watcher of g's roots: none when
// it is inside one of them (a state folder inside a web root).
func (a *Agent) fenceFor(g *generation) string {
	if a.fenceDir == "" || g.roots.Of(a.fenceDir) != nil {
		return ""
	}
	return a.fenceDir
}
