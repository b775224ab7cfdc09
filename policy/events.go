package policy

import (
	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/finding"
)

// eventSeverity is the severity of each alert about the agent and what it
// watches rather than about a file's content: fixed, as the README's alert
// table says.
var eventSeverity = map[alert.Kind]finding.Severity{
	alert.KindOverflowResync:     finding.SeverityHigh,   // events lost: the roots are walked again
	alert.KindWatchLimit:         finding.SeverityHigh,   // part of a root cannot be watched
	alert.KindWatchError:         finding.SeverityMedium, // a directory could not be watched or read
	alert.KindRootMissing:        finding.SeverityHigh,   // a root is gone: nothing there is watched
	alert.KindRootRestored:       finding.SeverityLow,
	alert.KindRootSymlink:        finding.SeverityCritical, // the web server may serve the attacker's folder
	alert.KindRootReadOnly:       finding.SeverityHigh,     // flagged files there cannot be moved
	alert.KindReloadFailed:       finding.SeverityHigh,     // the old config runs on
	alert.KindReloaded:           finding.SeverityLow,
	alert.KindDeployStarted:      finding.SeverityLow,
	alert.KindDeployFinished:     finding.SeverityLow,
	alert.KindBaselineAccepted:   finding.SeverityLow,
	alert.KindStateReset:         finding.SeverityHigh,     // the baseline was lost: changes made meanwhile are not known
	alert.KindExecutionBlocked:   finding.SeverityCritical, // a webshell was requested: someone tried to run it
	alert.KindPreventionDegraded: finding.SeverityHigh,     // opens were allowed unjudged
	alert.KindAttackerReturned:   finding.SeverityCritical, // someone came back for a webshell
	alert.KindAgentStarted:       finding.SeverityLow,
	alert.KindAgentStopping:      finding.SeverityLow,
	alert.KindBlindResolved:      finding.SeverityLow,
}

// BlindSeverity is the severity of the KindBlind alert that raises state:
// high, as the agent cannot see or act on part of what it guards; critical
// when its own files changed on disk (self_changed): someone changed the
// agent itself.
func BlindSeverity(s blind.State) finding.Severity {
	if s == blind.SelfChanged {
		return finding.SeverityCritical
	}
	return finding.SeverityHigh
}

// EventSeverity is the severity of an alert about the agent or its watch
// (not a file's content). It panics on a kind that is decided per file
// (Decide), by the alert sinks themselves (alerts_dropped,
// alerts_grouped, alerts_at_risk) or by the blind state (blind: [BlindSeverity]): a
// caller asking for one is a bug.
func EventSeverity(k alert.Kind) finding.Severity {
	s, ok := eventSeverity[k]
	if !ok {
		panic("policy: no fixed severity for alert kind " + string(k))
	}
	return s
}
