// Package wire is what the control socket carries: the command names and
// the JSON of their arguments and answers, shared by the daemon that
// serves them and the CLI that sends them (which so never imports the
// daemon). Add fields, never rename them: `status --json` and scripts
// read them.
package wire

import (
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/safetext"
)

// Commands of the control socket. The CLI (`shellwatch status`, `deploy`,
// `baseline`) sends them; only root may.
const (
	CmdStatus         = "status"
	CmdDeployBegin    = "deploy.begin"
	CmdDeployEnd      = "deploy.end"
	CmdBaselineAccept = "baseline.accept"
	CmdBaselineDiff   = "baseline.diff"
)

// RecentAlert is one of the last alerts, as `shellwatch status` shows it.
type RecentAlert struct {
	ID       string           `json:"id"`
	Time     time.Time        `json:"time"`
	Kind     alert.Kind       `json:"kind"`
	Severity finding.Severity `json:"severity"`
	Message  string           `json:"message"`
}

// Status is the answer to `shellwatch status`: a documented JSON object
// (`status --json`); add fields, never rename them.
type Status struct {
	Version   string    `json:"version"`
	Host      string    `json:"host"`
	StartedAt time.Time `json:"started_at"`
	Config    string    `json:"config"`
	Ready     bool      `json:"ready"`
	// Reconciled: every root was compared with the baseline (or got its
	// first one) since the agent started.
	Reconciled bool         `json:"reconciled"`
	Roots      []RootStatus `json:"roots"`
	Watches    int64        `json:"watches"`
	Overflows  uint64       `json:"overflows"`
	// FilesKnown is the number of files in the baseline.
	FilesKnown       int             `json:"files_known"`
	Scanned          int64           `json:"scanned"`
	Flagged          int64           `json:"flagged"`
	Quarantined      int64           `json:"quarantined"`
	QuarantineFailed int64           `json:"quarantine_failed"`
	ScanErrors       int64           `json:"scan_errors"`
	Webhooks         []WebhookStatus `json:"webhooks"`
	Deploys          []DeployStatus  `json:"deploys"`
	LastAlerts       []RecentAlert   `json:"last_alerts"`
	// Blind lists what the agent cannot see or do right now (a root
	// unwatched, the state database or the vault unwritable, a webhook
	// failing, journald unreachable, a failed reload); empty when
	// nothing.
	Blind []blind.Condition `json:"blind"`
	// Prevention is the state of [prevent].
	Prevention PreventionStatus `json:"prevention"`
}

// PreventionStatus says whether prevention holds the web server's opens,
// for which users, and what it did since the agent started.
type PreventionStatus struct {
	Active bool     `json:"active"`
	Users  []string `json:"users"`
	// Folders is the number of folders marked.
	Folders uint64 `json:"folders"`
	// Events counts the opens reported by the kernel since the last
	// reload; Allowed and Denied their answers; DeadlineMisses those allowed unjudged (deadline
	// passed, queue full, a file whose scan failed lately).
	Events         uint64 `json:"events"`
	Allowed        uint64 `json:"allowed"`
	Denied         uint64 `json:"denied"`
	DeadlineMisses uint64 `json:"deadline_misses"`
	// Trusted is the number of files the kernel ignores now until they
	// change (no event at all for their opens). Every count here is the
	// running guard's, since the agent's start or last reload.
	Trusted uint64 `json:"trusted"`
}

// RootStatus describes one watched root.
type RootStatus struct {
	Path string `json:"path"`
	Mode string `json:"mode"`
}

// WebhookStatus is the delivery state of one webhook.
type WebhookStatus struct {
	Name             string  `json:"name"`
	Spooled          int     `json:"spooled"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
	Delivered        uint64  `json:"delivered"`
	Retries          uint64  `json:"retries"`
	Dropped          uint64  `json:"dropped"`
}

// DeployStatus is one open deploy window.
type DeployStatus struct {
	Root    string    `json:"root"`
	Started time.Time `json:"started"`
	Until   time.Time `json:"until"`
	By      string    `json:"by"`
	// Removed lists the files removed during the window (what was added
	// or changed is read back from the baseline when it closes).
	Removed safetext.Paths `json:"removed,omitempty"`
}

// DeployArgs are the arguments of deploy.begin and deploy.end.
type DeployArgs struct {
	Root string `json:"root,omitempty"` // empty: every root
	TTL  string `json:"ttl,omitempty"`  // Go duration; empty: deploy.default_ttl
}

// DeployResult answers deploy.begin and deploy.end.
type DeployResult struct {
	Windows []DeployStatus  `json:"windows,omitempty"` // begin: the windows open now
	Closed  []DeploySummary `json:"closed,omitempty"`  // end: what each window accepted
}

// DeploySummary is what a closed deploy window accepted into the baseline.
type DeploySummary struct {
	Root    string         `json:"root"`
	Added   safetext.Paths `json:"added"`
	Changed safetext.Paths `json:"changed"`
	Removed safetext.Paths `json:"removed"`
}

// ManifestEntry is one line of a deploy manifest: the SHA-256 a file will
// have when it lands at Path.
type ManifestEntry struct {
	SHA256 string            `json:"sha256"`
	Path   safetext.JSONPath `json:"path"`
}

// AcceptArgs are the arguments of baseline.accept.
type AcceptArgs struct {
	Paths    safetext.Paths  `json:"paths,omitempty"`
	Manifest []ManifestEntry `json:"manifest,omitempty"`
}

// AcceptResult answers baseline.accept. Paths that are not valid UTF-8
// travel as "base64:…" (safetext.ExactPath), as in every answer of the
// control socket.
type AcceptResult struct {
	Accepted safetext.Paths `json:"accepted"`
	// Pending lists manifest paths whose file is not (yet) there with the
	// announced hash: it is accepted when it arrives so, until
	// deploy.max_ttl from now.
	Pending safetext.Paths `json:"pending"`
	// Refused lists what could not be accepted, with why.
	Refused []string `json:"refused"`
	// Flagged lists accepted files that rules or hash lists flag: the
	// baseline does not silence them.
	Flagged safetext.Paths `json:"flagged"`
}

// DiffEntry is one line of `baseline diff`.
type DiffEntry struct {
	// Kind is "added", "changed" or "deleted" (the file differs from its
	// record now), or "unaccepted" (recorded, but changed since it was
	// last accepted: an unexpected change nobody accepted yet).
	Kind   string            `json:"kind"`
	Path   safetext.JSONPath `json:"path"`
	Since  time.Time         `json:"since,omitempty"`
	Detail string            `json:"detail,omitempty"`
}

// DiffResult answers baseline.diff.
type DiffResult struct {
	Entries []DiffEntry `json:"entries"`
	Errors  []string    `json:"errors"`
}
