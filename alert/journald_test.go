package alert

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// journalTimeout bounds a broken journal; entries normally arrive at once.
const journalTimeout = 30 * time.Second

// fullAlert has a value in every field the journald sink sends.
func fullAlert() Alert {
	return Alert{
		ID:       NewID(time.Now()),
		Time:     time.Now().UTC(),
		Host:     "web1.example",
		Kind:     KindDetection,
		Severity: finding.SeverityCritical,
		Message:  "webshell detected: /var/www/shop/upload/x.php (php_eval_post), quarantined",
		File: &File{
			Path: "/var/www/shop/upload/x.php", Root: "/var/www/shop",
			Size: 1234, Mode: "0644", UID: 33, GID: 33, User: "www-data", Group: "www-data",
			MTime:  time.Date(2024, 3, 1, 10, 20, 30, 400, time.UTC),
			SHA256: strings.Repeat("ab", 32), MD5: strings.Repeat("cd", 16),
			LinkTarget: "../../../srv/evil\n/x.php",
		},
		Rules: []Rule{
			{Name: "php_eval_post", Family: "php_generic", Severity: finding.SeverityCritical},
			{Name: "b374k_marker", Family: "b374k", Severity: finding.SeverityHigh},
			{Name: "php_eval_get", Family: "php_generic", Severity: finding.SeverityHigh},
		},
		Action:       &Action{Taken: ActionQuarantined, VaultID: "20240301T102030-0001", Reason: "severity critical at or above quarantine_at high"},
		Opener:       &Process{PID: 4242, UID: new(uint32(33)), User: "www-data", Exe: "/usr/sbin/php-fpm8.2", Cmdline: "php-fpm: pool www\n"},
		Detail:       "matched 3 rules",
		Count:        7,
		AgentVersion: "1.2.3",
		Blind:        &Blind{State: "vault_unwritable", Subject: "/var/lib/shellwatch/quarantine", Since: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)},
		Resolved:     true,
	}
}

// An opener whose ids could not be read has no SHELLWATCH_OPENER_UID:
// "0" would say root.
func TestJournaldOpenerUnknownHasNoUID(t *testing.T) {
	journalReader := testenv.Journald(t)
	sink := NewJournald(JournaldOptions{Fallback: io.Discard})
	a := fullAlert()
	a.Opener = &Process{PID: 4243}
	if err := sink.Deliver(a); err != nil {
		t.Fatal(err)
	}
	entry := journalReader.WaitEntries(t, journalTimeout, 1, JournalAlertID+"="+a.ID)[0]
	if got := testenv.FieldBytes(entry, JournalOpenerPID); string(got) != "4243" {
		t.Errorf("%s = %q, want 4243", JournalOpenerPID, got)
	}
	if got := testenv.FieldValues(entry, JournalOpenerUID); len(got) != 0 {
		t.Errorf("%s = %q for an opener whose ids are unknown, want none", JournalOpenerUID, got)
	}
}

func TestJournaldWritesEveryDocumentedField(t *testing.T) {
	journalReader := testenv.Journald(t)
	var fallback bytes.Buffer
	sink := NewJournald(JournaldOptions{Fallback: &fallback})
	a := fullAlert()
	a.Seq, a.PrevSeq, a.PrevChain = 1001, 999, strings.Repeat("ab", 32)
	canon, err := a.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	a.Chain = ChainOf(canon)
	body, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Deliver(a); err != nil {
		t.Fatal(err)
	}
	entry := journalReader.WaitEntries(t, journalTimeout, 1, JournalAlertID+"="+a.ID)[0]

	want := map[string]string{
		JournalMessage:          a.Message,
		JournalPriority:         "2",
		JournalMessageID:        "5d7a3c1e9b2f4e08a1c6f3b2d4e5a601",
		JournalSyslogIdentifier: "shellwatch",
		JournalAlertID:          a.ID,
		JournalKind:             "detection",
		JournalSeverity:         "critical",
		JournalPath:             "/var/www/shop/upload/x.php",
		JournalRoot:             "/var/www/shop",
		JournalLinkTarget:       "../../../srv/evil\n/x.php",
		JournalSHA256:           a.File.SHA256,
		JournalMD5:              a.File.MD5,
		JournalSize:             "1234",
		JournalUID:              "33",
		JournalGID:              "33",
		JournalUser:             "www-data",
		JournalGroup:            "www-data",
		JournalMode:             "0644",
		JournalMTime:            "2024-03-01T10:20:30.0000004Z",
		JournalRules:            "php_eval_post,b374k_marker,php_eval_get",
		JournalFamilies:         "php_generic,b374k",
		JournalAction:           "quarantined",
		JournalVaultID:          "20240301T102030-0001",
		JournalActionReason:     a.Action.Reason,
		JournalOpenerPID:        "4242",
		JournalOpenerUID:        "33",
		JournalOpenerExe:        "/usr/sbin/php-fpm8.2",
		JournalOpenerCmdline:    "php-fpm: pool www\n",
		JournalDetail:           "matched 3 rules",
		JournalCount:            "7",
		JournalVersion:          "1.2.3",
		JournalSeq:              "1001",
		JournalPrevSeq:          "999",
		JournalChain:            a.Chain,
		JournalJSON:             string(body),
		JournalBlindState:       "vault_unwritable",
		JournalBlindSubject:     "/var/lib/shellwatch/quarantine",
		JournalResolved:         "true",
	}
	documented := JournaldFields()
	_, accessWant := accessReportAlert()
	_, returnedWant := returnedAlert()
	_, groupedWant := groupedReturnedAlert()
	checked := maps.Clone(want)
	maps.Copy(checked, accessWant)
	maps.Copy(checked, returnedWant)
	maps.Copy(checked, groupedWant)
	if keys := sortedKeys(checked); !slices.Equal(keys, sorted(documented)) {
		t.Errorf("JournaldFields() = %v,\nthe tests check %v", sorted(documented), keys)
	}
	for name := range want {
		if got := testenv.FieldBytes(entry, name); string(got) != want[name] {
			t.Errorf("%s = %q, want %q", name, got, want[name])
		}
	}
	if fallback.Len() != 0 {
		t.Errorf("journald runs, yet the fallback got %q", fallback.String())
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// Only fields with a value are sent: an agent alert has no file fields.
func TestJournaldOmitsEmptyFields(t *testing.T) {
	a := Alert{ID: "x", Kind: KindAgentStarted, Message: "agent started", AgentVersion: "1"}
	got := sortedKeys(journalFields(a))
	want := []string{JournalMessage, JournalMessageID, JournalPriority, JournalAlertID, JournalKind, JournalVersion, JournalSyslogIdentifier}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	full := fullAlert()
	full.Seq, full.PrevSeq, full.Chain = 2, 1, strings.Repeat("cd", 32)
	all := journalFields(full)
	report, _ := accessReportAlert()
	returned, _ := returnedAlert()
	grouped, _ := groupedReturnedAlert()
	maps.Copy(all, journalFields(report))
	maps.Copy(all, journalFields(returned))
	maps.Copy(all, journalFields(grouped))
	if got := sortedKeys(all); !slices.Equal(got, sorted(JournaldFields())) {
		t.Errorf("full alerts send %v, JournaldFields() documents %v", got, sorted(JournaldFields()))
	}
}

func TestJournaldMessageIDAndPriority(t *testing.T) {
	journalReader := testenv.Journald(t)
	sink := NewJournald(JournaldOptions{})

	type sent struct {
		id, messageID, priority string
	}
	var all []sent
	deliver := func(kind Kind, sev finding.Severity, wantPriority int) {
		a := Alert{ID: NewID(time.Now()), Kind: kind, Severity: sev, Message: fmt.Sprintf("%s at %s", kind, sev)}
		if err := sink.Deliver(a); err != nil {
			t.Fatal(err)
		}
		all = append(all, sent{a.ID, kind.MessageID(), fmt.Sprint(wantPriority)})
	}
	for _, c := range []struct {
		sev      finding.Severity
		priority int
	}{
		{finding.SeverityCritical, 2}, {finding.SeverityHigh, 3}, {finding.SeverityMedium, 4}, {finding.SeverityLow, 5},
	} {
		deliver(KindDetection, c.sev, c.priority)
	}
	info := map[Kind]bool{KindAgentStarted: true, KindAgentStopping: true, KindReloaded: true, KindRootRestored: true, KindDeployStarted: true}
	for _, kind := range Kinds() {
		if info[kind] {
			deliver(kind, finding.SeverityHigh, 6) // routine news stays info whatever its severity
		} else {
			deliver(kind, finding.SeverityMedium, 4)
		}
	}

	for _, s := range all {
		entry := journalReader.WaitEntries(t, journalTimeout, 1, JournalAlertID+"="+s.id)[0]
		if got := string(testenv.FieldBytes(entry, JournalMessageID)); got != s.messageID {
			t.Errorf("%s: MESSAGE_ID %s, want %s", testenv.FieldBytes(entry, JournalMessage), got, s.messageID)
		}
		if got := string(testenv.FieldBytes(entry, JournalPriority)); got != s.priority {
			t.Errorf("%s: PRIORITY %s, want %s", testenv.FieldBytes(entry, JournalMessage), got, s.priority)
		}
	}
}

// A file name is the attacker's: a newline in it must neither split the
// journal entry nor forge a field, and its bytes must come back exactly.
func TestJournaldHostilePathIsExactAndMessageOneLine(t *testing.T) {
	journalReader := testenv.Journald(t)
	sink := NewJournald(JournaldOptions{})
	path := "/var/www/up\nSHELLWATCH_KIND=forged\nx\xff\xfe\x1b[31m.php"
	a := fullAlert()
	a.File.Path = path
	a.File.Root = "/var/www/\xffroot"
	a.Detail = "open " + path + ": permission denied"
	a.Message = "webshell detected: " + path + "\u2028quarantined\r"
	if err := sink.Deliver(a); err != nil {
		t.Fatal(err)
	}
	entries := journalReader.WaitEntries(t, journalTimeout, 1, JournalAlertID+"="+a.ID)
	if len(entries) != 1 {
		t.Fatalf("%d entries for one alert", len(entries))
	}
	entry := entries[0]
	if got := testenv.FieldBytes(entry, JournalPath); string(got) != path {
		t.Errorf("SHELLWATCH_PATH = %q, want %q", got, path)
	}
	if got := testenv.FieldBytes(entry, JournalRoot); string(got) != a.File.Root {
		t.Errorf("SHELLWATCH_ROOT = %q, want %q", got, a.File.Root)
	}
	if got := testenv.FieldBytes(entry, JournalDetail); string(got) != a.Detail {
		t.Errorf("SHELLWATCH_DETAIL = %q, want %q", got, a.Detail)
	}
	if got := testenv.FieldValues(entry, JournalKind); len(got) != 1 || string(got[0]) != "detection" {
		t.Errorf("SHELLWATCH_KIND = %q: the path forged a field", got)
	}
	msg, ok := entry[JournalMessage].(string)
	if !ok {
		t.Fatalf("MESSAGE is not printable text: %v", entry[JournalMessage])
	}
	want := `webshell detected: /var/www/up\nSHELLWATCH_KIND=forged\nx\xff\xfe\x1b[31m.php\u2028quarantined\r`
	if msg != want {
		t.Errorf("MESSAGE\n got %s\nwant %s", msg, want)
	}
}

func TestOneLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain line, ünïcode ok", "plain line, ünïcode ok"},
		{"a\nb\r\tc", `a\nb\r\tc`},
		{"esc \x1b[2J del \x7f c1 \u0085", `esc \x1b[2J del \x7f c1 \x85`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"sep \u2028 \u2029", `sep \u2028 \u2029`},
		{"", ""},
	} {
		if got := oneLine(c.in); got != c.want {
			t.Errorf("oneLine(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// journaldAbsentError returns the error journal.Send gives when nothing
// listens at the socket path, made the same way: a datagram sent to a
// socket path that does not exist.
func journaldAbsentError(t *testing.T) error {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	missing := &net.UnixAddr{Name: filepath.Join(t.TempDir(), "socket"), Net: "unixgram"}
	_, _, err = conn.WriteMsgUnix([]byte("MESSAGE=x\n"), nil, missing)
	if err == nil {
		t.Fatal("sending to a missing socket succeeded")
	}
	return err
}

// Without journald each alert becomes one JSON line in the documented
// schema, exact paths included, and lines from concurrent Delivers never
// interleave.
func TestJournaldFallsBackToJSONLines(t *testing.T) {
	absent := journaldAbsentError(t)
	var out testenv.Buffer
	sink := NewJournald(JournaldOptions{Fallback: &out})
	sink.send = func(string, journal.Priority, map[string]string) error { return absent }

	const n = 50
	sent := make(map[string]Alert)
	var wg sync.WaitGroup
	for i := range n {
		a := fullAlert()
		a.ID = fmt.Sprintf("%032x", i)
		a.File.Path = fmt.Sprintf("/var/www/up\nload/%d\xff.php", i)
		a.Message = "webshell detected"
		sent[a.ID] = a
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sink.Deliver(a); err != nil {
				t.Errorf("Deliver without journald: %v", err)
			}
		}()
	}
	wg.Wait()

	scanner := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	lines := 0
	for scanner.Scan() {
		lines++
		line := scanner.Bytes()
		var raw map[string]any
		if err := json.Unmarshal(line, &raw); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", lines, err, line)
		}
		if raw["path_base64"] == nil || raw["schema_version"] != float64(SchemaVersion) {
			t.Errorf("line %d lacks path_base64 or schema_version: %s", lines, line)
		}
		var got Alert
		if err := got.UnmarshalJSON(line); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		want, ok := sent[got.ID]
		if !ok {
			t.Fatalf("line %d: unknown alert %s", lines, got.ID)
		}
		delete(sent, got.ID)
		if got.File.Path != want.File.Path || got.Message != want.Message || got.Severity != want.Severity ||
			!got.File.MTime.Equal(want.File.MTime) || got.Action.VaultID != want.Action.VaultID {
			t.Errorf("alert %s did not round-trip:\n got %+v\nwant %+v", got.ID, got, want)
		}
	}
	if lines != n || len(sent) != 0 {
		t.Errorf("%d lines, %d alerts missing; want %d lines", lines, len(sent), n)
	}
}

// A journald that runs but refuses an alert is reported, and the alert is
// still written to the fallback stream.
func TestJournaldSendErrorStillWritesFallback(t *testing.T) {
	var out testenv.Buffer
	sink := NewJournald(JournaldOptions{Fallback: &out})
	sink.send = func(string, journal.Priority, map[string]string) error { return fmt.Errorf("sendmsg: no buffer space") }
	if err := sink.Deliver(fullAlert()); err == nil || !strings.Contains(err.Error(), "no buffer space") {
		t.Errorf("Deliver error %v, want the send error", err)
	}
	if !bytes.HasSuffix(out.Bytes(), []byte("}\n")) {
		t.Errorf("fallback got %q, want one JSON line", out.Bytes())
	}
}

// hungJournald is a real unix datagram socket where a journald would
// listen, that nobody reads until drain is called: its queue fills as a
// hung journald's does.
type hungJournald struct {
	path string
	conn *net.UnixConn
}

func newHungJournald(t *testing.T) *hungJournald {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.socket")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &hungJournald{path: path, conn: conn}
}

// drain reads the datagrams queued so far, and goes on reading in the
// background until the test ends: journald is back. It returns a function
// that reports whether an entry holding want came in.
func (h *hungJournald) drain(t *testing.T) func(want string) bool {
	var mu sync.Mutex
	var got []string
	go func() {
		buf := make([]byte, 1<<20)
		for {
			n, err := h.conn.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, string(buf[:n]))
			mu.Unlock()
		}
	}()
	return func(want string) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.ContainsFunc(got, func(e string) bool { return strings.Contains(e, want) })
	}
}

// threadCPU is the CPU time the calling OS thread used so far.
func threadCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A journald that stops reading makes Deliver fail after the timeout, not
// hang; the sender sleeps in the kernel meanwhile rather than spin (the
// go-systemd client spun a core: its non-blocking socket is always
// "writable" for an unconnected datagram), and the alert is not written
// to the fallback stream, which under systemd goes to the same journald.
func TestJournaldHungSocketTimesOutWithoutSpinning(t *testing.T) {
	hung := newHungJournald(t)
	var fallback testenv.Buffer
	const timeout = 300 * time.Millisecond
	sink := NewJournald(JournaldOptions{Fallback: &fallback, Socket: hung.path, Timeout: timeout})
	defer sink.Close(context.Background())

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	taken := 0
	for {
		a := fullAlert()
		before := threadCPU(t)
		err := sink.Deliver(a)
		if err == nil {
			taken++
			if taken > 100000 {
				t.Fatal("the socket nobody reads took 100,000 entries")
			}
			continue
		}
		used := threadCPU(t) - before
		if !errors.Is(err, errJournaldTimeout) || !strings.Contains(err.Error(), a.ID) {
			t.Fatalf("Deliver to a hung journald: %v, want the timeout naming the alert", err)
		}
		// Sleeping in sendmsg costs no CPU; spinning costs the whole wait.
		if used > timeout/4 {
			t.Errorf("the sender used %s of CPU while journald hung for %s: it spins", used, timeout)
		}
		break
	}
	if fallback.String() != "" {
		t.Errorf("a timed-out alert went to the fallback stream: %q", fallback.String())
	}

	seen := hung.drain(t)
	a := fullAlert()
	if err := sink.Deliver(a); err != nil {
		t.Fatalf("Deliver once journald reads again: %v", err)
	}
	testenv.Eventually(t, waitTimeout, "the entry at the socket once it is read again", func() bool {
		return seen(JournalAlertID + "=" + a.ID + "\n")
	})
}

// An entry too large for one datagram goes as a sealed memfd, and a real
// journald stores it whole.
func TestJournaldLargeEntryArrivesWhole(t *testing.T) {
	journalReader := testenv.Journald(t)
	sink := NewJournald(JournaldOptions{})
	a := fullAlert()
	a.Detail = strings.Repeat("x", 300<<10) + "\nend"
	if err := sink.Deliver(a); err != nil {
		t.Fatal(err)
	}
	entry := journalReader.WaitEntries(t, journalTimeout, 1, JournalAlertID+"="+a.ID)[0]
	if got := testenv.FieldBytes(entry, JournalDetail); string(got) != a.Detail {
		t.Errorf("SHELLWATCH_DETAIL of %d bytes came back as %d bytes", len(a.Detail), len(got))
	}
}

// A hung journald must not hold back the webhook: every detection still
// reaches a real receiver, Send never waits, what journald loses is told
// to the receiver once, and the count when journald reads again.
func TestHungJournaldDoesNotHoldBackTheWebhook(t *testing.T) {
	hung := newHungJournald(t)
	rc, hook, log := newTestWebhook(t, filepath.Join(t.TempDir(), "spool"))
	journald := NewJournald(JournaldOptions{Socket: hung.path, Timeout: 100 * time.Millisecond})
	d := NewDispatcher(DispatcherOptions{
		Routes:    []Route{{Sink: journald}, {Sink: hook}},
		QueueSize: 64,
		Logger:    log,
	})
	const shells = 300 // past what the socket and the queue hold
	for i := range shells {
		a := testAlert(i, finding.SeverityCritical)
		a.ID = ""
		d.Send(a)
		if i%50 == 49 {
			// A hook's spool write takes an fsync: let its queue keep up,
			// journald's cannot.
			testenv.Eventually(t, waitTimeout, "the webhook to spool what was sent", func() bool {
				return d.Stats()[1].Queued == 0
			})
		}
	}
	testenv.Eventually(t, waitTimeout, "every detection and the notice at the receiver", func() bool {
		return len(rc.requests()) >= shells+1
	})
	var notice Alert
	paths := map[string]bool{}
	for _, a := range rc.alertsReceived(t) {
		switch a.Kind {
		case KindDetection:
			paths[a.File.Path] = true
		case KindAlertsDropped:
			notice = a
		}
	}
	if len(paths) != shells {
		t.Errorf("the receiver named %d of %d detections", len(paths), shells)
	}
	// The alerts journald lost are critical, and so is the notice.
	if !strings.Contains(notice.Message, "sink journald loses alerts") || notice.Severity != finding.SeverityCritical {
		t.Errorf("notice %q (%s), want one critical alerts_dropped naming journald", notice.Message, notice.Severity)
	}
	st := d.Stats()[0]
	if st.Dropped == 0 || st.LossEpisodes != 1 {
		t.Errorf("journald route stats %+v: want drops counted in one episode", st)
	}

	seen := hung.drain(t)
	testenv.Eventually(t, waitTimeout, "the count of lost alerts at the receiver and in journald", func() bool {
		for _, a := range rc.alertsReceived(t) {
			if a.Kind == KindAlertsDropped && strings.Contains(a.Message, "sink journald takes alerts again") {
				lost := d.Stats()[0].Dropped + d.Stats()[0].Errors
				return uint64(a.Count) == lost && seen("SHELLWATCH_ALERT_ID="+a.ID+"\n")
			}
		}
		return false
	})
	closeDispatcher(t, d)
}

// Reachable tells a socket nobody serves (what a stopped journald leaves)
// and a missing one from a socket that is served: a real journald's,
// through a link the test makes and removes.
func TestJournaldReachable(t *testing.T) {
	testenv.Journald(t)
	sock := filepath.Join(t.TempDir(), "journal.sock")
	j := NewJournald(JournaldOptions{Socket: sock})
	if err := j.Reachable(); !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), sock) {
		t.Errorf("no socket: Reachable = %v, want ENOENT naming %s", err, sock)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd) // the socket file stays, nobody serves it
	if err := j.Reachable(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("a socket nobody serves: Reachable = %v, want ECONNREFUSED", err)
	}
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(DefaultJournalSocket, sock); err != nil {
		t.Fatal(err)
	}
	if err := j.Reachable(); err != nil {
		t.Errorf("journald's own socket: Reachable = %v", err)
	}
}

// A signal that interrupts a send to a journald slow to read (the Go
// runtime's own preemption signal does, now and then) is no failure:
// with SO_SNDTIMEO the kernel does not restart the send, so the sink
// sends again until its timeout. Here signals rain on the process while
// a hung journald holds the send: the result is the timeout, never
// "interrupted system call" (which once sent a make test alert to the
// fallback stream), and once journald reads again, entries arrive.
func TestJournaldSendInterruptedBySignals(t *testing.T) {
	hung := newHungJournald(t)
	var fallback testenv.Buffer
	const timeout = 300 * time.Millisecond
	sink := NewJournald(JournaldOptions{Fallback: &fallback, Socket: hung.path, Timeout: timeout})
	defer sink.Close(context.Background())

	stop := make(chan struct{})
	var rain sync.WaitGroup
	rain.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			syscall.Kill(os.Getpid(), syscall.SIGURG) // the runtime's preemption signal: harmless
			time.Sleep(time.Millisecond)
		}
	})
	defer func() { close(stop); rain.Wait() }()

	fillJournald(t, sink, "under signals")
	if fallback.String() != "" {
		t.Errorf("an alert went to the fallback stream: %q", fallback.String())
	}
}

// fillJournald delivers alerts through sink to a hung journald until one
// times out: its socket's queue is full. how says what else goes on.
func fillJournald(t *testing.T, sink *Journald, how string) {
	t.Helper()
	for taken := 0; ; taken++ {
		if taken > 100000 {
			t.Fatal("the socket nobody reads took 100,000 entries")
		}
		err := sink.Deliver(fullAlert())
		if err == nil {
			continue
		}
		if !errors.Is(err, errJournaldTimeout) {
			t.Fatalf("Deliver to a hung journald %s: %v, want the timeout", how, err)
		}
		return
	}
}

// steppingClock is a clock that moves step forward at each reading.
type steppingClock struct {
	at   time.Time
	step time.Duration
}

func (c *steppingClock) now() time.Time {
	c.at = c.at.Add(c.step)
	return c.at
}

// One write to journald ends within its timeout, however many signals
// interrupt its sends: each send is given as its SO_SNDTIMEO what is left
// of one deadline, computed when the write began. (Given the whole
// timeout at each send again, a send interrupted just before the deadline
// was followed by one more that could take the whole timeout: twice the
// timeout in all.)
//
// That is checked on the timeouts the sink sets, not on a wall clock: the
// sink reads a clock that moves a quarter of the timeout at each reading,
// so its sends must be given 3/4, 2/4 and 1/4 of the timeout, and no
// fourth send made. The journald is a real socket nobody reads, filled;
// each send sleeps in the kernel until a signal, sent to the sending
// thread every millisecond, interrupts it (EINTR), long before the
// shortest of those timeouts (a second) would end it.
func TestJournaldSendsEndWithinOneTimeout(t *testing.T) {
	hung := newHungJournald(t)
	var fallback testenv.Buffer
	sink := NewJournald(JournaldOptions{Fallback: &fallback, Socket: hung.path, Timeout: 50 * time.Millisecond})
	defer sink.Close(context.Background())
	fillJournald(t, sink, "")

	const timeout = 4 * time.Second
	sink.timeout = timeout
	var set []time.Duration
	setSocket := sink.setSendTimeout
	sink.setSendTimeout = func(fd int, d time.Duration) error {
		set = append(set, d)
		return setSocket(fd, d)
	}
	clock := &steppingClock{at: time.Now(), step: timeout / 4}
	sink.now = clock.now

	tids := make(chan int)
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		done <- sink.Deliver(fullAlert())
	}()
	tid := <-tids
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var err error
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		case <-tick.C:
			if err := unix.Tgkill(os.Getpid(), tid, unix.SIGURG); err != nil { // the runtime's preemption signal: harmless
				t.Fatalf("signal the sending thread: %v", err)
			}
		}
	}
	if !errors.Is(err, errJournaldTimeout) {
		t.Errorf("Deliver to a hung journald under signals: %v, want the timeout", err)
	}
	if want := []time.Duration{3 * timeout / 4, timeout / 2, timeout / 4}; !slices.Equal(set, want) {
		t.Errorf("the sends were given the timeouts %v, want %v: what is left of one deadline", set, want)
	}
	if fallback.String() != "" {
		t.Errorf("an alert went to the fallback stream: %q", fallback.String())
	}
}

// The sends of concurrent writes take turns (the send timeout is the
// socket's): a write that does not get its turn fails at its own
// deadline, having sent nothing, rather than wait for the turn.
func TestJournaldWriteWaitingForItsTurnEndsAtItsDeadline(t *testing.T) {
	hung := newHungJournald(t)
	var fallback testenv.Buffer
	sink := NewJournald(JournaldOptions{Fallback: &fallback, Socket: hung.path, Timeout: 50 * time.Millisecond})
	defer sink.Close(context.Background())
	sends := 0
	setSocket := sink.setSendTimeout
	sink.setSendTimeout = func(fd int, d time.Duration) error {
		sends++
		return setSocket(fd, d)
	}
	sink.turn <- struct{}{} // another write's turn, for ever
	if err := sink.Deliver(fullAlert()); !errors.Is(err, errJournaldTimeout) {
		t.Errorf("Deliver while another write holds the turn: %v, want the timeout", err)
	}
	if sends != 0 {
		t.Errorf("%d sends made without the turn", sends)
	}
	<-sink.turn
	if err := sink.Deliver(fullAlert()); err != nil {
		t.Errorf("Deliver with the turn free, to a journald with room: %v", err)
	}
	if sends != 1 {
		t.Errorf("%d sends made for one entry, want 1", sends)
	}
	if fallback.String() != "" {
		t.Errorf("an alert went to the fallback stream: %q", fallback.String())
	}
}
