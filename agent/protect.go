package agent

import (
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/walk"
)

// rootPolicy is what a [[watch]] table says about the files of its root
// beyond the rules: whether code may change there outside deploys.
type rootPolicy struct {
	path      string // the real path the watcher reports under
	protected bool
	scripts   *walk.Globs // matches files that are code
	noScripts *walk.Globs // matches places code never belongs
	webUser   string
	webUID    int64 // -1: no web user configured
}

// newRootPolicies compiles the [[watch]] tables; roots are the real paths
// the watcher reports (watcherRoots resolved them), in the same order.
func newRootPolicies(cfg config.Config) (map[string]*rootPolicy, error) {
	out := make(map[string]*rootPolicy, len(cfg.Watch))
	for i, w := range cfg.Watch {
		p := &rootPolicy{path: realRoot(w.Path), protected: w.Mode == config.ModeProtected, webUser: w.WebUser, webUID: -1}
		var err error
		if p.scripts, err = walk.CompileGlobs(w.ScriptGlobs); err != nil {
			return nil, fmt.Errorf("watch[%d].script_globs: %w", i, err)
		}
		if p.noScripts, err = walk.CompileGlobs(w.NoScriptGlobs); err != nil {
			return nil, fmt.Errorf("watch[%d].no_script_globs: %w", i, err)
		}
		if w.WebUser != "" {
			u, err := user.Lookup(w.WebUser)
			if err != nil {
				return nil, fmt.Errorf("watch[%d].web_user %q: %w", i, w.WebUser, err)
			}
			if p.webUID, err = strconv.ParseInt(u.Uid, 10, 64); err != nil {
				return nil, fmt.Errorf("watch[%d].web_user %q: uid %q: %w", i, w.WebUser, u.Uid, err)
			}
		}
		out[p.path] = p
	}
	return out, nil
}

// realRoot is the path the watcher reports a root under: resolved once,
// as watcherRoots does, or as configured while it does not exist.
func realRoot(p string) string {
	p = filepath.Clean(p)
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real
	}
	return p
}

// isScript reports whether path is code by the root's script_globs.
func (p *rootPolicy) isScript(path string) bool { return p.scripts.Match(path, false) }

// inNoScriptZone reports whether path lies where no code belongs: the file
// itself or one of its folders below the root matches no_script_globs.
func (p *rootPolicy) inNoScriptZone(path string) bool {
	if p.noScripts.Match(path, false) {
		return true
	}
	for dir := filepath.Dir(path); len(dir) > len(p.path) && dir != "/"; dir = filepath.Dir(dir) {
		if p.noScripts.Match(dir, true) {
			return true
		}
	}
	return false
}

// writtenByWebUser reports whether uid is the configured web server user.
func (p *rootPolicy) writtenByWebUser(uid uint32) bool {
	return p.webUID >= 0 && int64(uid) == p.webUID
}
