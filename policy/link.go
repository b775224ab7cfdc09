package policy

import (
	"path/filepath"
	"strings"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
)

// Link is what the agent knows of a symbolic link that appeared in a root.
// Web servers follow links (Apache's FollowSymLinks and nginx's
// disable_symlinks off are the defaults), so a link serves its target.
type Link struct {
	// Outside: the link leads out of its root (see LeavesRoot).
	Outside bool
	// Script: the link's name, or its target's, is a script by the root's
	// script_globs.
	Script bool
	// Dir: it reaches a directory, which the web server serves as a folder
	// of the root.
	Dir bool
	// Content is the scan of the target when it is a regular file that was
	// read; nil when it was not.
	Content *Verdict
	// Born: the link appeared while the agent watched.
	Born bool
	// Baseline: the link was found by its root's first baseline: there
	// before shellwatch, judged as a file found then is (see DecideLink).
	Baseline bool
	// WindowOpen: a deploy window is open on the root; deploys make links.
	WindowOpen bool
	Quarantine config.Quarantine
}

// LeavesRoot reports whether a link at linkPath in root, whose text is
// target and which resolves to resolved ("" when it reaches nothing),
// leads out of the root: its text, taken lexically from the link's
// folder, or the path it resolves to is not in the root. Either is
// enough: a link through a hop outside (a link in /tmp back into the root)
// can be turned elsewhere later, unseen.
func LeavesRoot(root, linkPath, target, resolved string) bool {
	lexical := target
	if !filepath.IsAbs(lexical) {
		lexical = filepath.Join(filepath.Dir(linkPath), target)
	}
	return !within(filepath.Clean(lexical), root) || (resolved != "" && !within(resolved, root))
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

// DecideLink decides about a symbolic link: a target whose content a rule
// flags is a detection on the link (the path the web server serves); a
// link that leads out of the root, or whose name or target is a script, is
// a symlink alert (high), but for one made in a deploy window. The link
// itself, never its target, is moved to the vault by the rules of a new
// file: when it was born while watched and its severity reaches
// quarantine.min_severity. Links are not recorded in the baseline.
//
// A link found by the root's first baseline is judged as a file found
// then: what a rule flags, and a link out of the root (it serves what is
// not the site's), are reported and left in place; a link inside the root
// that is a script only by its name is accepted, as a script there is.
func DecideLink(l Link) Decision {
	var d Decision
	var why []string
	switch {
	case l.Content != nil && l.Content.Flagged:
		d.Kind, d.Severity, d.Detection = alert.KindDetection, l.Content.Severity, true
		if l.Content.OnlyHashLists {
			d.Kind = alert.KindIOCMatch
		}
		why = append(why, "served through a symbolic link to it")
	case (l.Outside || (l.Script && !l.Baseline)) && !l.WindowOpen:
		d.Kind, d.Severity = alert.KindSymlink, finding.SeverityHigh
	default:
		return Decision{}
	}
	if l.Outside {
		what := "a symbolic link that leads out of the root"
		if l.Dir {
			what += ", to a folder"
		}
		why = append(why, what)
	}
	if l.Script {
		why = append(why, "a script by name (script_globs)")
	}
	d.Why = strings.Join(why, "; ")
	q := l.Quarantine
	switch {
	case q.MinSeverity.Off():
		d.LeftBecause = "quarantine.min_severity is off"
	case !q.MinSeverity.Allows(d.Severity):
		d.LeftBecause = "below quarantine.min_severity " + q.MinSeverity.String()
	case l.Baseline:
		d.LeftBecause = "found by the root's first baseline: it was there before shellwatch"
	case !l.Born:
		d.LeftBecause = "the link was there before the agent saw it appear"
	default:
		d.Quarantine = true
	}
	return d
}
