package alert

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"

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
		Detail:       "matched 3 rules",
		Count:        7,
		AgentVersion: "1.2.3",
	}
}

func TestJournaldWritesEveryDocumentedField(t *testing.T) {
	journalReader := testenv.Journald(t)
	var fallback bytes.Buffer
	sink := NewJournald(JournaldOptions{Fallback: &fallback})
	a := fullAlert()
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
		JournalDetail:           "matched 3 rules",
		JournalCount:            "7",
		JournalVersion:          "1.2.3",
	}
	documented := JournaldFields()
	if keys := sortedKeys(want); !slices.Equal(keys, sorted(documented)) {
		t.Errorf("JournaldFields() = %v,\nthis test checks %v", sorted(documented), keys)
	}
	for _, name := range documented {
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
	if got := sortedKeys(journalFields(fullAlert())); !slices.Equal(got, sorted(JournaldFields())) {
		t.Errorf("a full alert sends %v, JournaldFields() documents %v", got, sorted(JournaldFields()))
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
