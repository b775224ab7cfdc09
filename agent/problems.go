package agent

import (
	"fmt"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/watcher"
)

// handleProblem turns what the watcher could not do into an alert: an agent
// that is blind to part of a root must say so. A root past the watch
// limit, with a folder it cannot watch, removed or replaced by a link is
// the blind state root_unwatched: the first of these problems carries it
// (Alert.Blind), and root_restored, or a blind_resolved when every folder
// is watched again, ends it.
func (a *Agent) handleProblem(p watcher.Problem) {
	if p.Kind == watcher.ProblemRootWatched {
		a.resolveBlind(blind.RootUnwatched, p.Root, fmt.Sprintf("every folder of root %s is watched again; its rescans stop", safetext.Path(p.Root)))
		return
	}
	kind := alert.KindWatchError
	switch p.Kind {
	case watcher.ProblemOverflow:
		kind = alert.KindOverflowResync
	case watcher.ProblemWatchLimit:
		kind = alert.KindWatchLimit
	case watcher.ProblemRootMissing:
		kind = alert.KindRootMissing
	case watcher.ProblemRootRestored:
		kind = alert.KindRootRestored
	case watcher.ProblemRootSymlink:
		kind = alert.KindRootSymlink
	}
	sev := policy.EventSeverity(kind)
	detail := ""
	if p.Err != nil {
		detail = safetext.PathsIn(p.Err.Error(), p.Path)
	}
	where := p.Root
	if p.Path != "" {
		where = p.Path
	}
	if where == "" {
		where = "all roots"
	}
	al := alert.Alert{Kind: kind, Severity: sev, Detail: detail,
		Message: fmt.Sprintf("%s: %s", kind.Summary(), safetext.Path(where))}
	if detail != "" {
		al.Message += ": " + firstLine(detail)
	}
	if p.Path != "" || p.Root != "" {
		al.File = &alert.File{Path: where, Root: p.Root, LinkTarget: p.LinkTarget}
	}
	if p.Root != "" {
		switch p.Kind {
		case watcher.ProblemWatchLimit, watcher.ProblemWatchError, watcher.ProblemRootMissing, watcher.ProblemRootSymlink:
			if !p.Degraded && (p.Kind == watcher.ProblemWatchLimit || p.Kind == watcher.ProblemWatchError) {
				break // a folder that could not be read this time: the root stays watched
			}
			if c, ok := a.blind.Raise(blind.RootUnwatched, p.Root, al.Message); ok {
				al.Blind = blindMember(c, false)
			}
		case watcher.ProblemRootRestored:
			if c, ok := a.blind.Resolve(blind.RootUnwatched, p.Root); ok {
				al.Blind = blindMember(c, true)
			}
		}
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.send(a.gen, al)
}
