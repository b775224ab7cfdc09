package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/tamper"
)

// selfWatch watches the agent's own files (package tamper): a change on
// disk outside a reload is the blind state self_changed. A reload that
// works reads the config and rules on disk, so it resolves what changed
// before it began reading; nothing resolves the binary but a restart.
type selfWatch struct {
	mu sync.Mutex
	w  *tamper.Watch // nil when inotify could not be had
	// exe and config are the binary and the config file, absolute; set
	// before the watch starts.
	exe, config string
	// secrets names the webhook secret files watched by their key
	// ("webhook[0].secret_file"), by path.
	secrets map[string]string
}

// exePath is the agent's binary: opts.selfExe in tests, else the target
// of /proc/self/exe, and whether it was already replaced or removed.
func (a *Agent) exePath() (string, bool) {
	if a.opts.selfExe != "" {
		return a.opts.selfExe, false
	}
	p, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return "", false
	}
	p, gone := strings.CutSuffix(p, " (deleted)")
	return p, gone
}

// selfTargets are the files the agent runs from under cfg.
func (a *Agent) selfTargets(cfg *config.Config) []string {
	out := []string{a.self.exe, a.self.config}
	out = append(out, cfg.Rules.Paths...)
	out = append(out, cfg.Rules.HashLists...)
	out = append(out, cfg.Rules.AllowLists...)
	for _, f := range cfg.SecretFiles() {
		out = append(out, f.Path)
	}
	return out
}

// watchSelf starts watching the files of cfg and returns the watch it
// replaces (nil at the start), for the caller to close.
func (a *Agent) watchSelf(cfg *config.Config) *tamper.Watch {
	w, err := tamper.Start(a.selfTargets(cfg), a.selfChanged)
	if err != nil {
		a.log.Warn("the agent's own files are not all watched: a change of those is not told", "err", err)
	}
	a.self.mu.Lock()
	defer a.self.mu.Unlock()
	old := a.self.w
	a.self.w = w
	a.self.secrets = map[string]string{}
	for _, f := range cfg.SecretFiles() {
		a.self.secrets[f.Path] = f.Key
	}
	return old
}

// startSelfWatch watches the agent's own files from the start of run; a
// binary gone already is told at once.
func (a *Agent) startSelfWatch(cfg *config.Config) {
	exe, gone := a.exePath()
	a.self.exe = exe
	a.self.config, _ = filepath.Abs(a.opts.ConfigPath)
	a.watchSelf(cfg)
	if gone {
		a.selfChanged(tamper.Change{Target: exe, Path: exe, Op: "REMOVE"})
	}
}

// stopSelfWatch ends the watch.
func (a *Agent) stopSelfWatch() {
	a.self.mu.Lock()
	w := a.self.w
	a.self.w = nil
	a.self.mu.Unlock()
	if w != nil {
		w.Close()
	}
}

// selfChanged raises self_changed for what changed.
func (a *Agent) selfChanged(c tamper.Change) {
	what := "the rule file or folder"
	cure := "a reload (SIGHUP) runs what is on disk now, once you trust it"
	a.self.mu.Lock()
	secret, isSecret := a.self.secrets[c.Target]
	a.self.mu.Unlock()
	switch {
	case c.Target == a.self.exe:
		what = "the agent's binary"
		cure = "the running agent is not what is on disk; this lasts until the agent is restarted, from a binary you trust"
	case c.Target == a.self.config:
		what = "the config file"
	case isSecret:
		// Its content is never read here, nor a hash of it told.
		what = "the webhook's " + secret
		cure = "whoever can read or write it can forge signed alerts, make the agent trust another receiver or make their receiver reject them; a reload (SIGHUP) uses what is on disk now, once you trust it"
	}
	a.raiseBlind(blind.SelfChanged, c.Target, fmt.Sprintf("%s %s, %s", c.Op, safetext.Path(c.Path), c.Now),
		fmt.Sprintf("%s %s changed on disk outside a reload: someone changed the agent; %s", what, safetext.Path(c.Target), cure))
}

// selfMark is, for each self_changed on, the changes told of its subject
// so far: taken before a reload reads anything.
func (a *Agent) selfMark() map[string]uint64 {
	a.self.mu.Lock()
	defer a.self.mu.Unlock()
	mark := map[string]uint64{}
	for _, c := range a.blind.Of(blind.SelfChanged) {
		if a.self.w != nil {
			mark[c.Subject] = a.self.w.Changes(c.Subject)
		}
	}
	return mark
}

// selfReloaded follows a reload that worked under cfg: the files of cfg
// are watched (before the old watch stops, so nothing goes unseen), and
// each self_changed of mark whose subject did not change again while the
// reload read resolved — the binary's excepted.
func (a *Agent) selfReloaded(cfg *config.Config, mark map[string]uint64) {
	a.self.mu.Lock()
	old := a.self.w
	a.self.mu.Unlock()
	for subject, n := range mark {
		if subject == a.self.exe || old == nil || old.Changes(subject) != n {
			continue
		}
		a.resolveBlind(blind.SelfChanged, subject, fmt.Sprintf("reload worked: %s runs as it is on disk now", safetext.Path(subject)))
	}
	if old = a.watchSelf(cfg); old != nil {
		old.Close()
	}
}
