package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/shellwatch/shellwatch/finding"
)

// The journald fields of an alert. Only fields with a value are sent. The
// README and packaging/shellwatch.catalog document them; JournaldFields
// lists them for the tests that keep those in step.
const (
	JournalMessage          = "MESSAGE"           // Alert.Message on one line: control characters escaped
	JournalPriority         = "PRIORITY"          // by severity: critical 2, high 3, medium 4, low 5; the agent's routine kinds 6
	JournalMessageID        = "MESSAGE_ID"        // Kind.MessageID()
	JournalSyslogIdentifier = "SYSLOG_IDENTIFIER" // always "shellwatch"
	JournalAlertID          = "SHELLWATCH_ALERT_ID"
	JournalKind             = "SHELLWATCH_KIND"
	JournalSeverity         = "SHELLWATCH_SEVERITY" // "low" … "critical"; absent for none
	JournalPath             = "SHELLWATCH_PATH"     // byte-exact, newlines and invalid UTF-8 included
	JournalRoot             = "SHELLWATCH_ROOT"
	JournalLinkTarget       = "SHELLWATCH_LINK_TARGET" // a symbolic link's target, byte-exact
	JournalSHA256           = "SHELLWATCH_SHA256"
	JournalMD5              = "SHELLWATCH_MD5"
	JournalSize             = "SHELLWATCH_SIZE" // bytes, decimal
	JournalUID              = "SHELLWATCH_UID"
	JournalGID              = "SHELLWATCH_GID"
	JournalUser             = "SHELLWATCH_USER"
	JournalGroup            = "SHELLWATCH_GROUP"
	JournalMode             = "SHELLWATCH_MODE"     // octal permission bits, "0644"
	JournalMTime            = "SHELLWATCH_MTIME"    // RFC 3339, nanoseconds
	JournalRules            = "SHELLWATCH_RULES"    // matched rule names, comma-separated
	JournalFamilies         = "SHELLWATCH_FAMILIES" // their distinct families, comma-separated
	JournalAction           = "SHELLWATCH_ACTION"   // Action.Taken
	JournalVaultID          = "SHELLWATCH_VAULT_ID"
	JournalActionReason     = "SHELLWATCH_ACTION_REASON"
	JournalDetail           = "SHELLWATCH_DETAIL"
	JournalCount            = "SHELLWATCH_COUNT" // alerts folded into a grouped or dropped alert
	JournalVersion          = "SHELLWATCH_VERSION"
)

// JournalIdentifier is the SYSLOG_IDENTIFIER of every alert, so
// `journalctl -t shellwatch` shows them.
const JournalIdentifier = "shellwatch"

// JournaldFields returns the name of every field an alert can carry in the
// journal, in a fixed order.
func JournaldFields() []string {
	return []string{
		JournalMessage, JournalPriority, JournalMessageID, JournalSyslogIdentifier,
		JournalAlertID, JournalKind, JournalSeverity,
		JournalPath, JournalRoot, JournalLinkTarget, JournalSHA256, JournalMD5, JournalSize,
		JournalUID, JournalGID, JournalUser, JournalGroup, JournalMode, JournalMTime,
		JournalRules, JournalFamilies,
		JournalAction, JournalVaultID, JournalActionReason,
		JournalDetail, JournalCount, JournalVersion,
	}
}

// JournaldOptions configure a [Journald] sink.
type JournaldOptions struct {
	// Fallback receives each alert as one JSON line (the documented schema)
	// while no journald listens; default os.Stderr, which systemd hands to
	// journald too once it runs.
	Fallback io.Writer
}

// Journald is the sink that writes alerts to the local systemd journal as
// structured fields, through journald's native protocol. It talks to
// /run/systemd/journal/socket on every Deliver, so a journald that starts
// after the agent is used from then on.
type Journald struct {
	fallbackMu sync.Mutex // one JSON line at a time
	fallback   io.Writer

	// send is journal.Send; tests replace it to act as if no journald ran.
	send func(message string, priority journal.Priority, vars map[string]string) error
}

// NewJournald returns a journald sink.
func NewJournald(opts JournaldOptions) *Journald {
	j := &Journald{fallback: opts.Fallback, send: journal.Send}
	if j.fallback == nil {
		j.fallback = os.Stderr
	}
	return j
}

// Name implements Sink.
func (j *Journald) Name() string { return "journald" }

// Deliver sends the alert to journald, or writes it as a JSON line to the
// fallback writer when journald does not run. Values are sent byte-exact:
// go-systemd's journal.Send uses the protocol's length-prefixed binary form
// for values holding a newline, and every other byte is safe in the plain
// NAME=value form.
func (j *Journald) Deliver(a Alert) error {
	vars := journalFields(a)
	message := vars[JournalMessage]
	delete(vars, JournalMessage) // journal.Send writes MESSAGE and PRIORITY itself
	delete(vars, JournalPriority)
	err := j.send(message, journalPriority(a), vars)
	if err == nil {
		return nil
	}
	fallbackErr := j.writeFallback(a)
	if isJournaldAbsent(err) {
		return fallbackErr
	}
	// journald runs but refused the alert: say so, even though it is in the
	// fallback stream now.
	if fallbackErr != nil {
		return fmt.Errorf("send alert to journald: %w; fallback: %w", err, fallbackErr)
	}
	return fmt.Errorf("send alert to journald (written to the fallback stream instead): %w", err)
}

// isJournaldAbsent reports whether a journal.Send error means that no
// journald listens, the normal case in a container or a test without it.
func isJournaldAbsent(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) ||
		strings.Contains(err.Error(), "could not initialize socket to journald")
}

// writeFallback writes the alert as one JSON line.
func (j *Journald) writeFallback(a Alert) error {
	line, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode alert %s as JSON: %w", a.ID, err)
	}
	line = append(line, '\n')
	j.fallbackMu.Lock()
	defer j.fallbackMu.Unlock()
	if _, err := j.fallback.Write(line); err != nil {
		return fmt.Errorf("write alert %s to the journald fallback: %w", a.ID, err)
	}
	return nil
}

// Close implements Sink; each Deliver is complete when it returns, so
// there is nothing left to do.
func (j *Journald) Close(context.Context) error { return nil }

// journalPriority maps an alert to a syslog priority: the agent's routine
// news is info, findings by severity, an unranked alert a warning.
func journalPriority(a Alert) journal.Priority {
	switch a.Kind {
	case KindAgentStarted, KindAgentStopping, KindReloaded, KindRootRestored, KindDeployStarted:
		return journal.PriInfo
	}
	switch a.Severity {
	case finding.SeverityCritical:
		return journal.PriCrit
	case finding.SeverityHigh:
		return journal.PriErr
	case finding.SeverityLow:
		return journal.PriNotice
	default: // medium, and an alert nobody ranked
		return journal.PriWarning
	}
}

// journalFields returns every field of the alert that has a value, MESSAGE
// and PRIORITY included.
func journalFields(a Alert) map[string]string {
	f := map[string]string{
		JournalMessage:          oneLine(a.Message),
		JournalPriority:         strconv.Itoa(int(journalPriority(a))),
		JournalMessageID:        a.Kind.MessageID(),
		JournalSyslogIdentifier: JournalIdentifier,
	}
	if f[JournalMessage] == "" {
		f[JournalMessage] = a.Kind.Summary()
	}
	set := func(name, value string) {
		if value != "" {
			f[name] = value
		}
	}
	set(JournalAlertID, a.ID)
	set(JournalKind, string(a.Kind))
	if a.Severity != finding.SeverityNone {
		set(JournalSeverity, a.Severity.String())
	}
	if file := a.File; file != nil {
		set(JournalPath, file.Path)
		set(JournalRoot, file.Root)
		set(JournalLinkTarget, file.LinkTarget)
		set(JournalSHA256, file.SHA256)
		set(JournalMD5, file.MD5)
		// Size, owner and mode are values even when zero (an empty file,
		// root's uid), so they are sent whenever the alert has a file.
		set(JournalSize, strconv.FormatInt(file.Size, 10))
		set(JournalUID, strconv.FormatUint(uint64(file.UID), 10))
		set(JournalGID, strconv.FormatUint(uint64(file.GID), 10))
		set(JournalUser, file.User)
		set(JournalGroup, file.Group)
		set(JournalMode, file.Mode)
		if !file.MTime.IsZero() {
			set(JournalMTime, file.MTime.Format(time.RFC3339Nano))
		}
	}
	set(JournalRules, strings.Join(a.RuleNames(), ","))
	set(JournalFamilies, strings.Join(ruleFamilies(a.Rules), ","))
	if act := a.Action; act != nil {
		set(JournalAction, act.Taken)
		set(JournalVaultID, act.VaultID)
		set(JournalActionReason, act.Reason)
	}
	set(JournalDetail, a.Detail)
	if a.Count > 0 {
		set(JournalCount, strconv.Itoa(a.Count))
	}
	set(JournalVersion, a.AgentVersion)
	return f
}

// ruleFamilies returns the distinct non-empty families of the rules, in
// the order they first appear.
func ruleFamilies(rs []Rule) []string {
	var out []string
	seen := make(map[string]bool)
	for _, r := range rs {
		if r.Family != "" && !seen[r.Family] {
			seen[r.Family] = true
			out = append(out, r.Family)
		}
	}
	return out
}

// oneLine returns msg with every control character, line separator and
// invalid byte escaped (\n, \x1b, \u2028), so a path inside a message can
// neither split the journal line nor turn MESSAGE into a binary field.
// Messages are built with quoted paths already; this is the last guard.
func oneLine(msg string) string {
	clean := true
	for _, r := range msg {
		if needsEscape(r) {
			clean = false
			break
		}
	}
	if clean {
		return msg
	}
	var b strings.Builder
	for i := 0; i < len(msg); {
		r, size := utf8.DecodeRuneInString(msg[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, msg[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case needsEscape(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
}
