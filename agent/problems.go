package agent

import (
	"fmt"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/watcher"
)

// handleProblem turns what the watcher could not do into an alert: an agent
// that is blind to part of a root must say so.
func (a *Agent) handleProblem(p watcher.Problem) {
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
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.send(a.gen, al)
}
