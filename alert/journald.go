package alert

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-systemd/v22/journal"
	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/weblog"
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
	JournalOpenerPID        = "SHELLWATCH_OPENER_PID" // the process prevention refused (execution_blocked)
	JournalOpenerUID        = "SHELLWATCH_OPENER_UID"
	JournalOpenerExe        = "SHELLWATCH_OPENER_EXE"
	JournalOpenerCmdline    = "SHELLWATCH_OPENER_CMDLINE" // its arguments joined by spaces, byte-exact
	JournalDetail           = "SHELLWATCH_DETAIL"
	JournalCount            = "SHELLWATCH_COUNT" // alerts folded into a grouped or dropped alert
	JournalVersion          = "SHELLWATCH_VERSION"
	JournalSeq              = "SHELLWATCH_SEQ"      // Alert.Seq, decimal
	JournalPrevSeq          = "SHELLWATCH_PREV_SEQ" // the seq before it in journald's stream
	JournalChain            = "SHELLWATCH_CHAIN"    // Alert.Chain
	JournalJSON             = "SHELLWATCH_JSON"     // the alert's whole JSON form, chain last: what `shellwatch verify` checks

	// An access_report's and an attacker_returned's.
	JournalRefID              = "SHELLWATCH_REF_ID"         // Alert.RefID: the file alert followed up
	JournalAccessURL          = "SHELLWATCH_ACCESS_URL"     // the file's URL path
	JournalAccessCount        = "SHELLWATCH_ACCESS_COUNT"   // requests for it, decimal
	JournalAccessFirst        = "SHELLWATCH_ACCESS_FIRST"   // RFC 3339; absent when none
	JournalAccessLast         = "SHELLWATCH_ACCESS_LAST"    // RFC 3339; absent when none
	JournalAccessClients      = "SHELLWATCH_ACCESS_CLIENTS" // the busiest clients, "ip=count" comma-separated
	JournalAccessClientsTotal = "SHELLWATCH_ACCESS_CLIENTS_TOTAL"
	JournalAccessTopClient    = "SHELLWATCH_ACCESS_TOP_CLIENT" // the busiest client's address
	JournalAccessStatuses     = "SHELLWATCH_ACCESS_STATUSES"   // "200=3,404=1", by status
	JournalAccessSince        = "SHELLWATCH_ACCESS_SINCE"      // RFC 3339: older requests are not counted
	JournalDroppedByTime      = "SHELLWATCH_ACCESS_DROPPED_BY_TIME"
	JournalDroppedByClient    = "SHELLWATCH_ACCESS_DROPPED_BY_CLIENT"
	JournalDroppedByMethod    = "SHELLWATCH_ACCESS_DROPPED_BY_METHOD"
	JournalDroppedByURL       = "SHELLWATCH_ACCESS_DROPPED_BY_URL" // byte-exact, as sent
	JournalDroppedByStatus    = "SHELLWATCH_ACCESS_DROPPED_BY_STATUS"
	JournalDroppedByUserAgent = "SHELLWATCH_ACCESS_DROPPED_BY_USER_AGENT"
	JournalAccessJSON         = "SHELLWATCH_ACCESS_JSON" // the whole access object
	JournalRequestTime        = "SHELLWATCH_REQUEST_TIME"
	JournalRequestClient      = "SHELLWATCH_REQUEST_CLIENT"
	JournalRequestMethod      = "SHELLWATCH_REQUEST_METHOD"
	JournalRequestURL         = "SHELLWATCH_REQUEST_URL" // byte-exact, as sent
	JournalRequestStatus      = "SHELLWATCH_REQUEST_STATUS"
	JournalRequestUserAgent   = "SHELLWATCH_REQUEST_USER_AGENT"
	JournalRequestCount       = "SHELLWATCH_REQUEST_COUNT" // Request.Requests
	// A grouped attacker_returned's clients: how many, and the first
	// (comma-separated).
	JournalRequestClients      = "SHELLWATCH_REQUEST_CLIENTS"
	JournalRequestFirstClients = "SHELLWATCH_REQUEST_FIRST_CLIENTS"

	JournalBlindState   = "SHELLWATCH_BLIND_STATE"   // Alert.Blind.State: the blind state raised or resolved
	JournalBlindSubject = "SHELLWATCH_BLIND_SUBJECT" // Alert.Blind.Subject, byte-exact

	JournalResolved = "SHELLWATCH_RESOLVED" // "true": Alert.Resolved, an alerts_at_risk that ends its episode
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
		JournalOpenerPID, JournalOpenerUID, JournalOpenerExe, JournalOpenerCmdline,
		JournalDetail, JournalCount, JournalVersion,
		JournalSeq, JournalPrevSeq, JournalChain, JournalJSON,
		JournalRefID, JournalAccessURL, JournalAccessCount, JournalAccessFirst, JournalAccessLast,
		JournalAccessClients, JournalAccessClientsTotal, JournalAccessTopClient, JournalAccessStatuses, JournalAccessSince,
		JournalDroppedByTime, JournalDroppedByClient, JournalDroppedByMethod, JournalDroppedByURL,
		JournalDroppedByStatus, JournalDroppedByUserAgent, JournalAccessJSON,
		JournalRequestTime, JournalRequestClient, JournalRequestMethod, JournalRequestURL,
		JournalRequestStatus, JournalRequestUserAgent, JournalRequestCount, JournalRequestClients, JournalRequestFirstClients,
		JournalBlindState, JournalBlindSubject, JournalResolved,
	}
}

// DefaultJournalSocket is where journald takes entries in its native
// protocol.
const DefaultJournalSocket = "/run/systemd/journal/socket"

// DefaultJournaldTimeout bounds one write to journald, retries included.
const DefaultJournaldTimeout = time.Second

// JournaldOptions configure a [Journald] sink.
type JournaldOptions struct {
	// Fallback receives each alert as one JSON line (the documented schema)
	// while no journald listens; default os.Stderr, which systemd hands to
	// journald too once it runs.
	Fallback io.Writer
	// Socket is journald's native-protocol socket; default
	// DefaultJournalSocket.
	Socket string
	// Timeout bounds the write of one alert, its sends again after a
	// signal included: a journald that stops reading fills its socket, and
	// Deliver then fails after Timeout instead of waiting for ever;
	// default DefaultJournaldTimeout.
	Timeout time.Duration
}

// Journald is the sink that writes alerts to the local systemd journal as
// structured fields, through journald's native protocol. It sends each
// alert as one datagram to the socket, not connected, so a journald that
// starts (or restarts) after the agent is used from then on. The socket is
// blocking with a send timeout (SO_SNDTIMEO), set before each send to what
// is left of the write's timeout: while journald's queue is full the
// kernel puts the sender to sleep, and once the timeout has passed Deliver
// fails; the sender never spins.
type Journald struct {
	fallbackMu sync.Mutex // one JSON line at a time
	fallback   io.Writer
	addr       *unix.SockaddrUnix
	timeout    time.Duration

	// fd is the socket, -1 while not open. Sends hold fdMu shared, Close
	// exclusively, so the descriptor is never closed under a send.
	fdMu sync.RWMutex
	fd   atomic.Int64
	// turn is held (a value in it) by the send that has set the socket's
	// send timeout and sends: SO_SNDTIMEO is the socket's, not the
	// send's, so sends take turns (see sendmsg).
	turn chan struct{}

	// now is the clock of the timeout (time.Now), and setSendTimeout sets
	// SO_SNDTIMEO (setSendTimeout); tests replace them to see the timeout
	// each send is given.
	now            func() time.Time
	setSendTimeout func(fd int, d time.Duration) error

	// send writes one entry; tests replace it to act as if no journald ran.
	send func(message string, priority journal.Priority, vars map[string]string) error

	// streamOf is journald's stream, set by the sinks of each config
	// (SetStream); alerts that reach Deliver unlinked are linked into it.
	streamOf atomic.Pointer[Stream]
}

// SetStream makes s the stream of the alerts journald is given.
func (j *Journald) SetStream(s *Stream) { j.streamOf.Store(s) }

func (j *Journald) stream() *Stream { return j.streamOf.Load() }

// errJournaldTimeout: journald did not take an entry within the timeout.
var errJournaldTimeout = errors.New("journald did not take the entry in time: its socket is full (journald hangs or is overloaded)")

// NewJournald returns a journald sink.
func NewJournald(opts JournaldOptions) *Journald {
	j := &Journald{fallback: opts.Fallback, timeout: opts.Timeout, turn: make(chan struct{}, 1),
		now: time.Now, setSendTimeout: setSendTimeout}
	j.fd.Store(-1)
	if j.fallback == nil {
		j.fallback = os.Stderr
	}
	if opts.Socket == "" {
		opts.Socket = DefaultJournalSocket
	}
	j.addr = &unix.SockaddrUnix{Name: opts.Socket}
	if j.timeout <= 0 {
		j.timeout = DefaultJournaldTimeout
	}
	j.send = j.sendNative
	return j
}

// Name implements Sink.
func (j *Journald) Name() string { return "journald" }

// Deliver sends the alert to journald, or writes it as a JSON line to the
// fallback writer when journald does not run. Values are sent byte-exact:
// the native protocol's length-prefixed binary form for values holding a
// newline, and every other byte is safe in the plain NAME=value form. A
// journald that does not take the alert within the timeout is an error,
// and the alert is not written to the fallback: under systemd that stream
// goes to the same journald.
func (j *Journald) Deliver(a Alert) error {
	if a.Chain == "" {
		j.stream().Link(&a) // raised when no dispatcher ran (the agent stopping)
	}
	vars := journalFields(a)
	message := vars[JournalMessage]
	delete(vars, JournalMessage) // send writes MESSAGE and PRIORITY itself
	delete(vars, JournalPriority)
	err := j.send(message, journalPriority(a), vars)
	if err == nil {
		return nil
	}
	if errors.Is(err, errJournaldTimeout) {
		return fmt.Errorf("send alert %s to journald: %w", a.ID, err)
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

// sendNative writes one entry in journald's native protocol: one datagram,
// or, when the entry is too large for one, a sealed memfd passed along;
// within the timeout, whatever it takes.
func (j *Journald) sendNative(message string, priority journal.Priority, vars map[string]string) error {
	deadline := j.now().Add(j.timeout)
	var data bytes.Buffer
	appendJournalField(&data, "PRIORITY", strconv.Itoa(int(priority)))
	appendJournalField(&data, JournalMessage, message)
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		appendJournalField(&data, k, vars[k])
	}

	j.fdMu.RLock()
	defer j.fdMu.RUnlock()
	fd, err := j.socketLocked()
	if err != nil {
		return err
	}
	err = j.sendmsg(fd, data.Bytes(), nil, deadline)
	if errors.Is(err, unix.EMSGSIZE) || errors.Is(err, unix.ENOBUFS) {
		err = j.sendLarge(fd, data.Bytes(), deadline)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		return errJournaldTimeout
	}
	return fmt.Errorf("sendmsg %s: %w", j.addr.Name, err)
}

// socketLocked returns the sink's socket, opening it on first use. The
// caller holds fdMu shared; two first sends may both open one, and the
// loser closes its own.
func (j *Journald) socketLocked() (int, error) {
	if fd := int(j.fd.Load()); fd >= 0 {
		return fd, nil
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("could not initialize socket to journald: %w", err)
	}
	if !j.fd.CompareAndSwap(-1, int64(fd)) {
		unix.Close(fd)
		return int(j.fd.Load()), nil
	}
	return fd, nil
}

// sendLarge passes an entry too large for a datagram as a sealed memfd,
// as sd_journal_sendv does, by deadline.
func (j *Journald) sendLarge(sock int, data []byte, deadline time.Time) error {
	mfd, err := unix.MemfdCreate("shellwatch-journal", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return fmt.Errorf("memfd for a large journal entry: %w", err)
	}
	f := os.NewFile(uintptr(mfd), "memfd:shellwatch-journal")
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("memfd for a large journal entry: %w", err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		return fmt.Errorf("seal the memfd of a large journal entry: %w", err)
	}
	return j.sendmsg(sock, nil, unix.UnixRights(int(f.Fd())), deadline)
}

// sendmsg sends one datagram to journald by deadline, and again when a
// signal interrupts the send: with SO_SNDTIMEO set the kernel does not
// restart an interrupted send, and the Go runtime's own preemption signal
// interrupts one now and then (an alert once went to the fallback stream
// for it: "sendmsg …: interrupted system call"). An interrupted datagram
// was not sent, so sending it again never doubles an entry. Each send is
// given as its SO_SNDTIMEO what is left until deadline, so the sends of
// one entry together end by it, however many signals come; a timeout
// that passed is EAGAIN, as the kernel's. The timeout is the socket's:
// the sends of concurrent Delivers take turns, and one that waits for its
// turn waits until its own deadline at most.
func (j *Journald) sendmsg(fd int, p, oob []byte, deadline time.Time) error {
	if !j.takeTurn(deadline) {
		return unix.EAGAIN
	}
	defer func() { <-j.turn }()
	for {
		left := deadline.Sub(j.now())
		if left <= 0 {
			return unix.EAGAIN
		}
		if err := j.setSendTimeout(fd, left); err != nil {
			return err
		}
		err := unix.Sendmsg(fd, p, oob, j.addr, 0)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// takeTurn waits for the turn to send until deadline, and reports whether
// it got it.
func (j *Journald) takeTurn(deadline time.Time) bool {
	select {
	case j.turn <- struct{}{}:
		return true
	default:
	}
	wait := time.NewTimer(deadline.Sub(j.now()))
	defer wait.Stop()
	select {
	case j.turn <- struct{}{}:
		return true
	case <-wait.C:
		return false
	}
}

// setSendTimeout sets the socket's SO_SNDTIMEO to d, at least a
// microsecond: a zero timeout would be none, a send that waits for ever.
func setSendTimeout(fd int, d time.Duration) error {
	tv := unix.NsecToTimeval(max(d, time.Microsecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return fmt.Errorf("SO_SNDTIMEO: %w", err)
	}
	return nil
}

// appendJournalField writes one field in the native protocol: NAME=value
// and a newline, or, for a value holding a newline, the name, a newline,
// the value's length as 64-bit little endian, the value and a newline.
func appendJournalField(b *bytes.Buffer, name, value string) {
	if !strings.Contains(value, "\n") {
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(value)
		b.WriteByte('\n')
		return
	}
	b.WriteString(name)
	b.WriteByte('\n')
	var size [8]byte
	binary.LittleEndian.PutUint64(size[:], uint64(len(value)))
	b.Write(size[:])
	b.WriteString(value)
	b.WriteByte('\n')
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

// Close implements Sink: each Deliver is complete when it returns, so it
// only closes the socket (waiting for a send under way, at most the
// timeout). The sink stays usable: the next Deliver opens a new socket, so
// one Journald can serve the dispatchers of successive reloads.
func (j *Journald) Close(context.Context) error {
	j.fdMu.Lock()
	defer j.fdMu.Unlock()
	if fd := int(j.fd.Swap(-1)); fd >= 0 {
		return unix.Close(fd)
	}
	return nil
}

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
	if p := a.Opener; p != nil {
		set(JournalOpenerPID, strconv.Itoa(p.PID))
		if p.UID != nil {
			set(JournalOpenerUID, strconv.FormatUint(uint64(*p.UID), 10))
		}
		set(JournalOpenerExe, p.Exe)
		set(JournalOpenerCmdline, p.Cmdline)
	}
	set(JournalDetail, a.Detail)
	if a.Count > 0 {
		set(JournalCount, strconv.Itoa(a.Count))
	}
	set(JournalVersion, a.AgentVersion)
	if a.Blind != nil {
		set(JournalBlindState, a.Blind.State)
		set(JournalBlindSubject, a.Blind.Subject)
	}
	if a.Resolved {
		set(JournalResolved, "true")
	}
	if a.Seq != 0 {
		set(JournalSeq, strconv.FormatUint(a.Seq, 10))
	}
	if a.PrevSeq != 0 {
		set(JournalPrevSeq, strconv.FormatUint(a.PrevSeq, 10))
	}
	if a.Chain != "" {
		set(JournalChain, a.Chain)
		if body, err := json.Marshal(a); err == nil {
			set(JournalJSON, string(body))
		}
	}
	set(JournalRefID, a.RefID)
	if a.Access != nil {
		accessFields(a.Access, set)
	}
	if r := a.Request; r != nil {
		set(JournalRequestTime, r.Time.Format(time.RFC3339))
		set(JournalRequestClient, r.Client)
		set(JournalRequestMethod, r.Method)
		set(JournalRequestURL, r.URL)
		set(JournalRequestStatus, strconv.Itoa(r.Status))
		set(JournalRequestUserAgent, r.UserAgent)
		set(JournalRequestCount, strconv.Itoa(r.Requests))
		if r.Clients > 0 {
			set(JournalRequestClients, strconv.Itoa(r.Clients))
			set(JournalRequestFirstClients, strings.Join(r.FirstClients, ","))
		}
	}
	return f
}

// accessFields sets the SHELLWATCH_ACCESS_* fields of an access report.
// Text from the log (URLs, user agents, even client addresses when the
// format logs a header there) goes byte-exact, as every field does.
func accessFields(r *weblog.Report, set func(name, value string)) {
	set(JournalAccessURL, r.URL)
	set(JournalAccessCount, strconv.Itoa(r.Count))
	if r.First != nil && r.Last != nil {
		set(JournalAccessFirst, r.First.Format(time.RFC3339))
		set(JournalAccessLast, r.Last.Format(time.RFC3339))
	}
	clients := make([]string, len(r.Clients))
	for i, c := range r.Clients {
		clients[i] = c.IP + "=" + strconv.Itoa(c.Count)
	}
	set(JournalAccessClients, strings.Join(clients, ","))
	set(JournalAccessClientsTotal, strconv.Itoa(r.ClientsTotal))
	if len(r.Clients) > 0 {
		set(JournalAccessTopClient, r.Clients[0].IP)
	}
	set(JournalAccessStatuses, statusList(r.Statuses))
	if r.Since != nil {
		set(JournalAccessSince, r.Since.Format(time.RFC3339))
	}
	if len(r.DroppedBy) > 0 {
		d := r.DroppedBy[0]
		set(JournalDroppedByTime, d.Time.Format(time.RFC3339))
		set(JournalDroppedByClient, d.Client)
		set(JournalDroppedByMethod, d.Method)
		set(JournalDroppedByURL, d.URL)
		set(JournalDroppedByStatus, strconv.Itoa(d.Status))
		set(JournalDroppedByUserAgent, d.UserAgent)
	}
	if b, err := json.Marshal(r); err == nil {
		set(JournalAccessJSON, string(b))
	}
}

// statusList writes statuses as "200=3,404=1", in the order of the codes.
func statusList(statuses map[string]int) string {
	codes := make([]string, 0, len(statuses))
	for c := range statuses {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for i, c := range codes {
		codes[i] = c + "=" + strconv.Itoa(statuses[c])
	}
	return strings.Join(codes, ",")
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

// Socket returns the path of journald's socket the sink writes to.
func (j *Journald) Socket() string { return j.addr.Name }

// Reachable reports whether something serves journald's socket now: it
// connects a datagram socket to it and sends nothing. The error is why
// not (ENOENT: no socket; ECONNREFUSED: a socket nobody serves, as a
// stopped journald leaves), naming the socket. A journald that serves
// its socket but does not read it (hung) is reachable; the dispatcher
// tells of the alerts it loses (alerts_dropped).
func (j *Journald) Reachable() error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("journald socket %s: %w", j.addr.Name, err)
	}
	defer unix.Close(fd)
	// A SockaddrUnix of its own: the kernel form is built in it, and the
	// sends use j.addr meanwhile.
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: j.addr.Name}); err != nil {
		return fmt.Errorf("journald socket %s: %w", j.addr.Name, err)
	}
	return nil
}
