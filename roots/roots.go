// Package roots compiles the [[watch]] tables of a config once: the real
// path each root is watched under, what is excluded there, which files are
// code, where code never belongs, and the web server's user. Every stage
// that asks "which root is this, and what does it say" asks a [Set], so
// the watcher, the reconciliation and the policy see one answer.
package roots

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/walk"
)

// Root is one [[watch]] table, compiled.
type Root struct {
	// Path is the real path the root is watched and reported under: the
	// configured path with its symlinks resolved once, at compile time
	// (the watcher never follows a symlink), or as configured while it
	// does not exist.
	Path       string
	Configured string      // the path as the config gives it
	Mode       string      // config.ModeMonitor or config.ModeProtected
	Exclude    *walk.Globs // scanner.exclude and the root's own exclude
	WebUser    string      // the web server's user, "" when none is named
	// ExcludeScripts: the excludes leave scripts out too (exclude_scripts).
	ExcludeScripts bool

	scripts   *walk.Globs // files that are code
	noScripts *walk.Globs // places code never belongs
	webUID    int64       // -1: no web user
}

// Set is the compiled roots of one config, in config order.
type Set struct {
	list   []*Root
	byPath map[string]*Root
}

// Compile compiles cfg's [[watch]] tables. Errors name the table and key.
func Compile(cfg config.Config) (Set, error) {
	s := Set{byPath: make(map[string]*Root, len(cfg.Watch))}
	for i, w := range cfg.Watch {
		path := filepath.Clean(w.Path)
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		} else if !errors.Is(err, os.ErrNotExist) {
			return Set{}, fmt.Errorf("watch[%d].path %s: %w", i, w.Path, err)
		}
		r := &Root{Path: path, Configured: w.Path, Mode: w.Mode, WebUser: w.WebUser, ExcludeScripts: w.ExcludeScripts, webUID: -1}
		var err error
		if r.Exclude, err = walk.CompileGlobs(append(append([]string{}, cfg.Scanner.Exclude...), w.Exclude...)); err != nil {
			return Set{}, fmt.Errorf("watch[%d].exclude: %w", i, err)
		}
		if r.scripts, err = walk.CompileGlobs(w.ScriptGlobs); err != nil {
			return Set{}, fmt.Errorf("watch[%d].script_globs: %w", i, err)
		}
		if r.noScripts, err = walk.CompileGlobs(w.NoScriptGlobs); err != nil {
			return Set{}, fmt.Errorf("watch[%d].no_script_globs: %w", i, err)
		}
		if w.WebUser != "" {
			u, err := user.Lookup(w.WebUser)
			if err != nil {
				return Set{}, fmt.Errorf("watch[%d].web_user %q: %w", i, w.WebUser, err)
			}
			if r.webUID, err = strconv.ParseInt(u.Uid, 10, 64); err != nil {
				return Set{}, fmt.Errorf("watch[%d].web_user %q: uid %q: %w", i, w.WebUser, u.Uid, err)
			}
		}
		s.list = append(s.list, r)
		s.byPath[r.Path] = r
	}
	return s, nil
}

// List returns the roots in config order.
func (s Set) List() []*Root { return s.list }

// Len is the number of roots.
func (s Set) Len() int { return len(s.list) }

// Get returns the root whose real path is path, or nil.
func (s Set) Get(path string) *Root { return s.byPath[path] }

// Of returns the root path lies in (or is), or nil.
func (s Set) Of(path string) *Root {
	for _, r := range s.list {
		if path == r.Path || strings.HasPrefix(path, strings.TrimSuffix(r.Path, "/")+"/") {
			return r
		}
	}
	return nil
}

// Named returns the real paths of the roots a command names: the one whose
// configured or real path is name, or all of them for "".
func (s Set) Named(name string) ([]string, error) {
	var all []string
	for _, r := range s.list {
		all = append(all, r.Path)
	}
	if name == "" {
		return all, nil
	}
	clean := filepath.Clean(name)
	real := clean
	if p, err := filepath.EvalSymlinks(clean); err == nil {
		real = p
	}
	for _, r := range s.list {
		if filepath.Clean(r.Configured) == clean || r.Path == real {
			return []string{r.Path}, nil
		}
	}
	return nil, fmt.Errorf("%s is not a watched root (roots: %s)", safetext.Path(name), strings.Join(all, ", "))
}

// Protected reports whether code may change in the root only in deploys.
func (r *Root) Protected() bool { return r.Mode == config.ModeProtected }

// Skips reports whether the agent leaves path out of the root: what the
// excludes match, but for scripts. Unless exclude_scripts, a file matching
// script_globs is kept wherever it is, so no folder is left out: an
// excluded folder is still watched and walked, and only the files in it
// that are not scripts are skipped. An attacker who can write to an
// excluded folder (a cache, an upload folder) must not find a blind spot
// there. Pass it as a walk.Excluder with Skipper.
func (r *Root) Skips(path string, isDir bool) bool {
	switch {
	case r.ExcludeScripts:
		return r.Exclude.Match(path, isDir) // an excluded folder is pruned whole
	case isDir, r.IsScript(path):
		return false
	}
	return r.matchesBelow(r.Exclude, path)
}

// Skipper is Skips as a walk.Excluder (which a watcher.Excluder is too).
func (r *Root) Skipper() walk.Excluder { return walk.ExcludeFunc(r.Skips) }

// IsScript reports whether path is code by the root's script_globs.
func (r *Root) IsScript(path string) bool { return r.scripts.Match(path, false) }

// InNoScriptZone reports whether path lies where no code belongs: the file
// itself or one of its folders below the root matches no_script_globs.
func (r *Root) InNoScriptZone(path string) bool { return r.matchesBelow(r.noScripts, path) }

// matchesBelow reports whether g matches the file at path or one of its
// folders below the root.
func (r *Root) matchesBelow(g *walk.Globs, path string) bool {
	if g.Match(path, false) {
		return true
	}
	for dir := filepath.Dir(path); len(dir) > len(r.Path) && dir != "/"; dir = filepath.Dir(dir) {
		if g.Match(dir, true) {
			return true
		}
	}
	return false
}

// WrittenByWebUser reports whether uid is the root's web server user.
func (r *Root) WrittenByWebUser(uid uint32) bool {
	return r.webUID >= 0 && int64(uid) == r.webUID
}
