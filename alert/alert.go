// Package alert holds the one Alert record every part of shellwatch reports
// with, and the sinks that carry it to people: journald, webhooks (with a
// durable spool) and Alertmanager.
package alert

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/weblog"
)

// SchemaVersion is the "schema_version" of the JSON form of an Alert (the
// webhook body, the stderr fallback, the spool files). Fields are added
// freely; it is bumped only when an old receiver would misread an alert.
const SchemaVersion = 1

// Kind says what an alert is about. Each kind has a fixed journald
// MESSAGE_ID (see [Kind.MessageID]) documented in the README and in the
// journald catalog.
type Kind string

// The kinds of alert. Keep kindInfo, the README and packaging/shellwatch.catalog
// in step with this list.
const (
	// KindDetection: a file matched a YARA rule.
	KindDetection Kind = "detection"
	// KindIOCMatch: a file's hash is on a known-bad hash list (and no rule
	// matched it).
	KindIOCMatch Kind = "ioc_match"
	// KindQuarantineFailed: a file that policy says must leave the web root
	// could not be moved into the vault; it is still in place.
	KindQuarantineFailed Kind = "quarantine_failed"
	// KindScanFailed: a file could not be read or scanned to the end (YARA
	// timeout, I/O error); it may hide anything.
	KindScanFailed Kind = "scan_failed"
	// KindOverflowResync: the inotify queue overflowed, events were lost and
	// the roots are being walked again.
	KindOverflowResync Kind = "overflow_resync"
	// KindWatchLimit: fs.inotify.max_user_watches is reached; the root is
	// rescanned periodically instead of watched.
	KindWatchLimit Kind = "watch_limit"
	// KindWatchError: a directory could not be watched or walked.
	KindWatchError Kind = "watch_error"
	// KindRootMissing: a configured root does not exist or was removed.
	KindRootMissing Kind = "root_missing"
	// KindRootRestored: a missing root is back and watched again.
	KindRootRestored Kind = "root_restored"
	// KindReloadFailed: SIGHUP found a broken config or rule file; the old
	// one keeps running.
	KindReloadFailed Kind = "rules_reload_failed"
	// KindReloaded: SIGHUP loaded a new config and rule set.
	KindReloaded Kind = "reloaded"
	// KindAlertsDropped: a sink lost alerts: a webhook spool was full and
	// low or medium alerts were dropped from it (never high or critical
	// ones), or a sink's queue in the dispatcher was full (the sink hung or
	// did not keep up).
	KindAlertsDropped Kind = "alerts_dropped"
	// KindAlertsAtRisk: a webhook spool cannot be written (disk full,
	// read-only, I/O errors): its alerts are held in memory, bounded, until
	// it can. As severe as the alerts held (LossSeverity), raised once
	// more when a more severe one is held, and sent again when it can,
	// Resolved and as severe as the last one.
	KindAlertsAtRisk Kind = "alerts_at_risk"
	// KindAlertsGrouped: more alerts came than a sink's rate allows; they
	// are summed up in one alert with counts.
	KindAlertsGrouped Kind = "alerts_grouped"
	// KindChangedWhileDown: a file was added, modified, deleted, or had
	// its mode or owner changed while the agent was not running.
	KindChangedWhileDown Kind = "changed_while_down"
	// KindUnexpectedChange: a script in a protected root was added or
	// changed outside a deploy window, whatever the rules say of it.
	KindUnexpectedChange Kind = "unexpected_change"
	// KindDeployStarted: a deploy window opened.
	KindDeployStarted Kind = "deploy_started"
	// KindDeployFinished: a deploy window closed (ended or expired); what
	// changed in it is accepted into the baseline and listed.
	KindDeployFinished Kind = "deploy_finished"
	// KindBaselineAccepted: an operator accepted files into the baseline
	// (`shellwatch baseline accept`, a deploy manifest).
	KindBaselineAccepted Kind = "baseline_accepted"
	// KindStateReset: the state database was unreadable; it was set aside
	// and a fresh baseline built, so changes made while the agent was
	// down cannot be told.
	KindStateReset Kind = "state_reset"
	// KindRootReadOnly: a watched root is on a read-only mount for the
	// agent (a systemd unit without ReadWritePaths for it, say): flagged
	// files there cannot be moved out.
	KindRootReadOnly Kind = "root_read_only"
	// KindHardLink: a file with other hard links appeared in a root: a
	// name outside the root can rewrite it with no event in the root.
	KindHardLink Kind = "hard_link"
	// KindRootSymlink: a watched root was replaced by a symbolic link
	// (File.LinkTarget says where to); nothing there is watched, and the
	// web server may now serve the link's target.
	KindRootSymlink Kind = "root_symlink"
	// KindSymlink: a symbolic link appeared in a root that leads out of it,
	// or whose name or target is a script (File.LinkTarget says where to).
	// A link whose target a rule flags is a KindDetection instead.
	KindSymlink Kind = "symlink"
	// KindTransientScript: a script appeared and was gone before it could
	// be scanned (write, run, delete): what it did is unknown.
	KindTransientScript Kind = "transient_script"
	// KindExecutionBlocked: prevention refused the web server's open of a
	// flagged file (Opener says who asked; Rules and File what was
	// refused).
	KindExecutionBlocked Kind = "execution_blocked"
	// KindPreventionDegraded: prevention could not judge opens in time (a
	// deadline passed, the queue was full) and allowed them unjudged, or
	// could not guard a folder; counts in Detail.
	KindPreventionDegraded Kind = "prevention_degraded"
	// KindAgentStarted: the agent watches every root.
	KindAgentStarted Kind = "agent_started"
	// KindAgentStopping: the agent was asked to stop.
	KindAgentStopping Kind = "agent_stopping"
	// KindHeartbeat: the agent is alive; sent to every webhook every
	// [heartbeat] interval, never spooled, never to journald.
	KindHeartbeat Kind = "heartbeat"
	// KindAccessReport: the follow-up of a file alert (RefID names it):
	// what the web server's access logs say of the file's URL (Access):
	// who requested it, and the request that most likely wrote it.
	KindAccessReport Kind = "access_report"
	// KindAttackerReturned: a request came for the URL of a file
	// shellwatch flagged or quarantined (RefID names that file's alert;
	// Request says who and how).
	KindAttackerReturned Kind = "attacker_returned"
	// KindBlind: the agent cannot see or act on something (Alert.Blind
	// names the state and its subject: the state database or the vault
	// unwritable, a webhook failing, journald unreachable), until a KindBlindResolved says it can again.
	// Raised once per episode.
	KindBlind Kind = "blind"
	// KindBlindResolved: a blind state is over; Alert.Blind names it and
	// when it began.
	KindBlindResolved Kind = "blind_resolved"
)

type kindInfo struct {
	messageID string // journald MESSAGE_ID: 128-bit, hex, never changed
	summary   string // what happened, for MESSAGE lines and Alertmanager
}

var kinds = map[Kind]kindInfo{
	KindDetection:        {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a601", "webshell detected"},
	KindIOCMatch:         {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a602", "known-bad file hash"},
	KindQuarantineFailed: {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a603", "detected file could not be quarantined"},
	KindScanFailed:       {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a604", "file could not be scanned"},
	KindOverflowResync:   {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a605", "inotify queue overflow, roots resynced"},
	KindWatchLimit:       {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a606", "inotify watch limit reached"},
	KindWatchError:       {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a607", "directory could not be watched"},
	KindRootMissing:      {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a608", "watched root missing"},
	KindRootRestored:     {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a609", "watched root restored"},
	KindReloadFailed:     {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a60a", "reload failed, previous config kept"},
	KindReloaded:         {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a60b", "config and rules reloaded"},
	KindAlertsDropped:    {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a60c", "alerts dropped for a sink"},
	KindAlertsGrouped:    {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a60d", "alert flood grouped"},
	KindAlertsAtRisk:     {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a617", "webhook spool cannot be written, alerts held in memory"},
	KindChangedWhileDown: {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a610", "file changed while the agent was down"},
	KindUnexpectedChange: {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a611", "script changed outside a deploy window"},
	KindDeployStarted:    {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a612", "deploy window opened"},
	KindDeployFinished:   {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a613", "deploy window closed, changes accepted"},
	KindBaselineAccepted: {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a614", "files accepted into the baseline"},
	KindStateReset:       {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a615", "state database reset, fresh baseline"},
	KindRootReadOnly:     {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a616", "watched root is read-only, quarantine impossible"},
	KindHardLink:         {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a618", "file with other hard links appeared in a root"},
	KindRootSymlink:      {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a61a", "watched root replaced by a symbolic link"},
	KindSymlink:          {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a61b", "symbolic link out of the root or to a script"},
	KindTransientScript:  {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a619", "script vanished before it could be scanned"},
	KindAgentStarted:     {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a60e", "agent started"},
	KindAgentStopping:    {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a60f", "agent stopping"},
	KindHeartbeat:        {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a61c", "agent alive"},
	// 5d7a3c1e9b2f4e08a1c6f3b2d4e5a61c is the heartbeat's (issue 12).
	KindAccessReport:       {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a61d", "access log report on a flagged file"},
	KindAttackerReturned:   {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a61e", "request for a flagged file's URL"},
	KindExecutionBlocked:   {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a630", "web server refused a flagged file"},
	KindPreventionDegraded: {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a631", "prevention allowed opens it could not judge in time"},
	KindBlind:              {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a620", "agent blind"},
	KindBlindResolved:      {"5d7a3c1e9b2f4e08a1c6f3b2d4e5a621", "agent no longer blind"},
}

// Kinds returns every kind, for documentation and tests.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	return out
}

// MessageID returns the journald MESSAGE_ID of the kind: 32 lower-case hex
// digits, fixed forever. Unknown kinds share the detection's ID's prefix
// with the last byte 00.
func (k Kind) MessageID() string {
	if info, ok := kinds[k]; ok {
		return info.messageID
	}
	return "5d7a3c1e9b2f4e08a1c6f3b2d4e5a600"
}

// Summary returns a few words on what the kind means.
func (k Kind) Summary() string {
	if info, ok := kinds[k]; ok {
		return info.summary
	}
	return string(k)
}

// Action values: what the agent did about a file.
const (
	ActionQuarantined      = "quarantined"       // moved into the vault; Action.VaultID names it, Action.Reason says what remains (other hard links)
	ActionAlerted          = "alerted"           // left in place by policy; only alerted
	ActionQuarantineFailed = "quarantine_failed" // policy wanted it moved but it could not be; Action.Reason says why
)

// Action is what the agent did about the file of an alert.
type Action struct {
	Taken   string `json:"taken"`
	VaultID string `json:"vault_id,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Rule is one rule (or known-bad hash list) that matched, with its meta.
type Rule struct {
	Name        string           `json:"name"`
	Namespace   string           `json:"namespace,omitempty"`
	Tags        []string         `json:"tags,omitempty"`
	Severity    finding.Severity `json:"severity"`
	Family      string           `json:"family,omitempty"`
	Description string           `json:"description,omitempty"`
}

// File describes the file an alert is about, as it was scanned.
type File struct {
	// Path is byte-exact; a path that is not valid UTF-8 is also carried
	// exactly as path_base64 in JSON.
	Path  string    `json:"path"`
	Root  string    `json:"root,omitempty"` // the watched root it is under
	Size  int64     `json:"size"`
	Mode  string    `json:"mode"` // permission bits in octal, "0644"
	UID   uint32    `json:"uid"`
	GID   uint32    `json:"gid"`
	User  string    `json:"user,omitempty"`  // name of UID, when it has one
	Group string    `json:"group,omitempty"` // name of GID, when it has one
	MTime time.Time `json:"mtime"`
	Dev   uint64    `json:"dev"`
	Inode uint64    `json:"inode"`
	// SHA256 and MD5 are of the bytes that were scanned; empty when the
	// file could not be read to the end.
	SHA256 string `json:"sha256,omitempty"`
	MD5    string `json:"md5,omitempty"`
	// LinkTarget is, for a symbolic link (or a root replaced by one), its
	// target as readlink gives it: attacker-chosen bytes, never followed
	// to read it. Not valid UTF-8, it is also carried exactly as
	// link_target_base64 in JSON.
	LinkTarget string `json:"link_target,omitempty"`
}

// Process is a process that opened a file: the web server's worker that
// prevention refused. Exe and Cmdline are read from /proc after the
// refusal; the process may have changed them (its command line is its
// own to write) or be gone (then they are empty). UID is its effective
// user id, nil (and User empty) when its ids could not be read: unknown,
// which uid 0 would misstate as root.
type Process struct {
	PID     int     `json:"pid"`
	UID     *uint32 `json:"uid,omitempty"`
	User    string  `json:"user,omitempty"`
	Exe     string  `json:"exe,omitempty"`
	Cmdline string  `json:"cmdline,omitempty"` // arguments joined by spaces
}

// Sample is one alert folded into a KindAlertsGrouped or KindAlertsDropped
// alert.
type Sample struct {
	ID       string           `json:"id"`
	Kind     Kind             `json:"kind"`
	Severity finding.Severity `json:"severity"`
	Path     string           `json:"path,omitempty"`
	// PathBase64 holds the exact bytes of a Path that is not valid UTF-8.
	PathBase64 string `json:"path_base64,omitempty"`
	SHA256     string `json:"sha256,omitempty"`
	Rule       string `json:"rule,omitempty"`
	Action     string `json:"action,omitempty"`
	// Seq is the folded alert's seq.
	Seq uint64 `json:"seq,omitempty"`
}

// UnmarshalJSON reads a sample, restoring from path_base64 the exact bytes
// of a path that is not valid UTF-8 (JSON carries it with U+FFFD in place
// of the invalid bytes).
func (s *Sample) UnmarshalJSON(data []byte) error {
	type plain Sample // without this method
	var out plain
	if err := json.Unmarshal(data, &out); err != nil {
		return err
	}
	if out.PathBase64 != "" {
		p, err := base64.StdEncoding.DecodeString(out.PathBase64)
		if err != nil {
			return fmt.Errorf("sample path_base64: %w", err)
		}
		out.Path = string(p)
	}
	*s = Sample(out)
	return nil
}

// Sample returns what identifies a in an alert that folds it in.
func (a *Alert) Sample() Sample {
	s := Sample{ID: a.ID, Kind: a.Kind, Severity: a.Severity, Path: a.Path(), Seq: a.Seq}
	if !utf8.ValidString(s.Path) {
		s.PathBase64 = base64.StdEncoding.EncodeToString([]byte(s.Path))
	}
	if a.File != nil {
		s.SHA256 = a.File.SHA256
	}
	if len(a.Rules) > 0 {
		s.Rule = a.Rules[0].Name
	}
	if a.Action != nil {
		s.Action = a.Action.Taken
	}
	return s
}

// Alert is one thing on-call should hear about. Its JSON form (schema
// version [SchemaVersion]) is the webhook body and is documented in the
// README: add fields, never rename them.
type Alert struct {
	// ID is unique and stays the same across retries and restarts, so a
	// receiver can de-duplicate at-least-once delivery.
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	Host string    `json:"host"`
	Kind Kind      `json:"kind"`
	// Severity is the highest severity of Rules for file alerts; for the
	// agent's own alerts it is set by the agent.
	Severity finding.Severity `json:"severity"`
	// Message is one human line: what happened, to what, what was done.
	// Paths in it are quoted when they hold anything unprintable.
	Message string  `json:"message"`
	File    *File   `json:"file,omitempty"`
	Rules   []Rule  `json:"rules,omitempty"`
	Action  *Action `json:"action,omitempty"`
	// Opener is the process whose open prevention refused
	// (execution_blocked).
	Opener *Process `json:"opener,omitempty"`
	// Detail carries the error or explanation of the agent's own alerts.
	Detail string `json:"detail,omitempty"`
	// Count and Samples are set on KindAlertsGrouped and KindAlertsDropped:
	// how many alerts were folded in, and the first of them.
	Count        int          `json:"count,omitempty"`
	CountByKind  map[Kind]int `json:"count_by_kind,omitempty"`
	Samples      []Sample     `json:"samples,omitempty"`
	AgentVersion string       `json:"agent_version"`

	// Start is set on KindAgentStarted: where this run's seqs start and
	// what the previous run left (a clean stop, a crash, a lost seq file).
	Start *SeqStart `json:"start,omitempty"`
	// Heartbeat is set on KindHeartbeat.
	Heartbeat *Heartbeat `json:"heartbeat,omitempty"`
	// Blind is set on every alert that raises or resolves a blind state:
	// KindBlind and KindBlindResolved, and the older kinds that raise or
	// resolve one (watch_limit, watch_error, root_missing, root_symlink,
	// root_restored, rules_reload_failed).
	Blind *Blind `json:"blind,omitempty"`
	// Resolved, on KindAlertsAtRisk, says the alert ends the episode the
	// alerts_at_risk before it raised. It is as severe as the last of
	// them, so that it reaches every sink that heard them.
	Resolved bool `json:"resolved,omitempty"`

	// Seq numbers the alert: per agent, increasing, never reused, the same
	// in every sink (see [Sequencer]). 0 only on a heartbeat, which is not
	// part of any stream.
	Seq uint64 `json:"seq,omitempty"`
	// PrevSeq, PrevChain and StreamStart link the alert into the stream of
	// the sink that carries it (see [Stream]): the seq and chain of the
	// alert before it in that sink's stream, or, on the first alert of a
	// stream, why it has none.
	PrevSeq     uint64 `json:"prev_seq,omitempty"`
	PrevChain   string `json:"prev_chain,omitempty"`
	StreamStart string `json:"stream_start,omitempty"`
	// Seqs, on KindAlertsGrouped and KindAlertsDropped, lists the seqs of
	// the alerts it stands for that this sink's stream does not carry
	// ("12-40,45"): the gaps it explains.
	Seqs string `json:"seqs,omitempty"`
	// Chain is the hex SHA-256 of the alert's canonical JSON (see
	// [Alert.Canonical]); it is always the last member of the JSON form.
	Chain string `json:"-"`
	// RefID, on KindAccessReport and KindAttackerReturned, is the id of
	// the file alert it follows up.
	RefID string `json:"ref_id,omitempty"`
	// Access is set on KindAccessReport: what the access logs say of the
	// file's URL. Its names are documented and fixed (see weblog.Report).
	Access *weblog.Report `json:"access,omitempty"`
	// Request is set on KindAttackerReturned: the request that came back.
	Request *Request `json:"request,omitempty"`
}

// Request is the request of an attacker_returned alert, as the access log
// has it.
type Request struct {
	weblog.Hit
	// Requests counts the requests of this client for this URL the alert
	// stands for: 1, or more when the ones after the previous alert came
	// too soon to be alerted one by one. On a grouped alert (Clients set),
	// the requests of all its clients.
	Requests int `json:"requests"`
	// Clients is set on a grouped alert: the clients of the URL past the
	// first few alerted one by one, gathered into one alert (the request
	// is the one that raised it). It counts them; FirstClients names the
	// first of them, in the order they came.
	Clients      int      `json:"clients,omitempty"`
	FirstClients []string `json:"first_clients,omitempty"`
}

// RuleNames returns the names of the rules that matched, in order.
func (a *Alert) RuleNames() []string {
	out := make([]string, len(a.Rules))
	for i, r := range a.Rules {
		out[i] = r.Name
	}
	return out
}

// Path returns the path of the alert's file, or "".
func (a *Alert) Path() string {
	if a.File == nil {
		return ""
	}
	return a.File.Path
}

// NewID returns a new alert ID: 32 hex digits, the first 12 the creation
// time in milliseconds (so IDs sort by time), the rest random.
func NewID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	if _, err := rand.Read(b[6:]); err != nil {
		panic(fmt.Sprintf("alert: no randomness for an alert ID: %v", err)) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// alertJSON is the wire form: the schema version first, and the exact bytes
// of a file path that is not valid UTF-8.
type alertJSON struct {
	SchemaVersion int `json:"schema_version"`
	*alertFields
	PathBase64       string `json:"path_base64,omitempty"`
	LinkTargetBase64 string `json:"link_target_base64,omitempty"`
	// Chain is last, so the canonical JSON is the body without it.
	Chain string `json:"chain,omitempty"`
}

type alertFields Alert

// MarshalJSON writes the alert in the documented, versioned schema.
func (a Alert) MarshalJSON() ([]byte, error) {
	j := alertJSON{SchemaVersion: SchemaVersion, alertFields: (*alertFields)(&a), Chain: a.Chain}
	if a.File != nil && !utf8.ValidString(a.File.Path) {
		j.PathBase64 = base64.StdEncoding.EncodeToString([]byte(a.File.Path))
	}
	if a.File != nil && !utf8.ValidString(a.File.LinkTarget) {
		j.LinkTargetBase64 = base64.StdEncoding.EncodeToString([]byte(a.File.LinkTarget))
	}
	// Log text is the attacker's: JSON cannot carry its invalid bytes,
	// which become U+FFFD here (journald has them exact). Written as the
	// character itself, not as \ufffd, so the bytes stay the same after a
	// spool's round trip.
	if a.Access != nil {
		a.Access = validReport(a.Access)
	}
	if a.Request != nil {
		r := *a.Request
		r.Hit = validHit(r.Hit)
		r.FirstClients = make([]string, len(a.Request.FirstClients))
		for i, c := range a.Request.FirstClients {
			r.FirstClients[i] = validText(c)
		}
		if len(r.FirstClients) == 0 {
			r.FirstClients = nil
		}
		a.Request = &r
	}
	return json.Marshal(j)
}

func validText(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func validHit(h weblog.Hit) weblog.Hit {
	h.Client, h.Method, h.URL, h.UserAgent = validText(h.Client), validText(h.Method), validText(h.URL), validText(h.UserAgent)
	return h
}

// validReport returns a copy of r with its text made valid UTF-8.
func validReport(r *weblog.Report) *weblog.Report {
	out := *r
	out.URL = validText(r.URL)
	out.Clients = make([]weblog.ClientReport, len(r.Clients))
	for i, c := range r.Clients {
		c.IP = validText(c.IP)
		c.UserAgents = make([]string, len(r.Clients[i].UserAgents))
		for j, ua := range r.Clients[i].UserAgents {
			c.UserAgents[j] = validText(ua)
		}
		out.Clients[i] = c
	}
	out.DroppedBy = make([]weblog.Hit, len(r.DroppedBy))
	for i, h := range r.DroppedBy {
		out.DroppedBy[i] = validHit(h)
	}
	return &out
}

// UnmarshalJSON reads what MarshalJSON wrote, restoring exact paths.
func (a *Alert) UnmarshalJSON(data []byte) error {
	var out Alert
	j := alertJSON{alertFields: (*alertFields)(&out)}
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	if j.SchemaVersion != SchemaVersion {
		return fmt.Errorf("alert schema_version %d, this shellwatch reads %d", j.SchemaVersion, SchemaVersion)
	}
	if j.PathBase64 != "" && out.File != nil {
		p, err := base64.StdEncoding.DecodeString(j.PathBase64)
		if err != nil {
			return fmt.Errorf("alert path_base64: %w", err)
		}
		out.File.Path = string(p)
	}
	if j.LinkTargetBase64 != "" && out.File != nil {
		t, err := base64.StdEncoding.DecodeString(j.LinkTargetBase64)
		if err != nil {
			return fmt.Errorf("alert link_target_base64: %w", err)
		}
		out.File.LinkTarget = string(t)
	}
	out.Chain = j.Chain
	*a = out
	return nil
}

// Sink carries alerts somewhere. Deliver must return quickly: a sink that
// talks to a slow or distant receiver persists the alert and delivers it in
// the background. An error from Deliver means the alert was not accepted
// (not even spooled) and is logged by the caller.
type Sink interface {
	// Name identifies the sink in logs and metrics: "journald",
	// "webhook https://alerts.example/hook".
	Name() string
	Deliver(a Alert) error
	// Close delivers what it still can until ctx is done, persists the rest
	// and releases the sink. Deliver is not called after Close.
	Close(ctx context.Context) error
}

// Blind is a blind state an alert raises or resolves.
type Blind struct {
	// State names it: "root_unwatched", "state_unwritable",
	// "vault_unwritable", "webhook_failing", "journald_unreachable",
	// "reload_failed".
	State string `json:"state"`
	// Subject is what it is about: the root, the file, the sink.
	Subject string `json:"subject"`
	// Since is when it was raised.
	Since time.Time `json:"since"`
	// Resolved says the alert ends it.
	Resolved bool `json:"resolved,omitempty"`
}

// Heartbeat is what a KindHeartbeat alert tells: that the agent runs, what
// it did so far, and where the sink's stream stands.
type Heartbeat struct {
	// Interval is the time to the next heartbeat ("60s").
	Interval string `json:"interval"`
	// Since is when the agent started.
	Since time.Time `json:"since"`
	// LastSeq and LastChain are the head of the stream of the sink the
	// heartbeat goes to: a receiver that does not hold LastSeq lost it.
	LastSeq   uint64 `json:"last_seq"`
	LastChain string `json:"last_chain,omitempty"`
	// Counters are the agent's counters (scanned, flagged, quarantined…).
	Counters map[string]uint64 `json:"counters,omitempty"`
	// Roots are the watched roots.
	Roots []string `json:"roots,omitempty"`
}
