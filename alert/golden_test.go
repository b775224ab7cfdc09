package alert

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenTime is the time of every golden alert.
var goldenTime = time.Date(2026, 12, 1, 9, 7, 9, 412_000_000, time.UTC)

// goldenFile is the file of the golden alerts about a file.
func goldenFile(path string) *File {
	return &File{
		Path: path, Root: "/var/www/html",
		Size: 36, Mode: "0644", UID: 33, GID: 33, User: "www-data", Group: "www-data",
		MTime: goldenTime.Add(-14 * time.Millisecond), Dev: 2049, Inode: 1835011,
		SHA256: strings.Repeat("5e", 32), MD5: strings.Repeat("d4", 16),
	}
}

// goldenAlerts are one alert of each shape receivers see, with fixed ids
// and times, by the name of their golden files.
func goldenAlerts() map[string]Alert {
	evalRule := Rule{Name: "php_eval_request_input", Namespace: "shellwatch", Tags: []string{"php", "webshell"},
		Severity: finding.SeverityCritical, Family: "php_generic_eval", Description: "request input reaches eval"}
	polyglot := Rule{Name: "polyglot_image_php", Namespace: "shellwatch",
		Severity: finding.SeverityHigh, Family: "polyglot", Description: "PHP code inside an image"}
	agent := func(id string, kind Kind, sev finding.Severity, msg, detail string) Alert {
		return Alert{ID: id, Time: goldenTime, Host: "web-01", Kind: kind, Severity: sev,
			Message: msg, Detail: detail, AgentVersion: "1.0.0"}
	}

	quarantined := agent("019ad7a4c3e1f0b2a9d84c6e1f3a7b20", KindDetection, finding.SeverityCritical,
		"webshell detected: /var/www/html/uploads/avatar.gif [critical] rules php_eval_request_input,polyglot_image_php; quarantined as 20261201T090709-6bd69547513b", "")
	quarantined.File = goldenFile("/var/www/html/uploads/avatar.gif")
	quarantined.Rules = []Rule{evalRule, polyglot}
	quarantined.Action = &Action{Taken: ActionQuarantined, VaultID: "20261201T090709-6bd69547513b"}

	alerted := agent("019ad7a4c3e1f0b2a9d84c6e1f3a7b21", KindDetection, finding.SeverityHigh,
		"webshell detected: /var/www/html/.htaccess [high] rules htaccess_php_handler; alerted, left in place", "")
	alerted.File = goldenFile("/var/www/html/.htaccess")
	alerted.Rules = []Rule{{Name: "htaccess_php_handler", Severity: finding.SeverityHigh}}
	alerted.Action = &Action{Taken: ActionAlerted}

	failed := agent("019ad7a4c3e1f0b2a9d84c6e1f3a7b22", KindQuarantineFailed, finding.SeverityCritical,
		"detected file could not be quarantined: /var/www/html/shell.php [critical]; still in place", "")
	failed.File = goldenFile("/var/www/html/shell.php")
	failed.Rules = []Rule{evalRule}
	failed.Action = &Action{Taken: ActionQuarantineFailed, Reason: "the file was replaced between the scan and the move"}

	// A path that is not valid UTF-8 travels exactly as path_base64.
	hostile := quarantined
	hostile.ID = "019ad7a4c3e1f0b2a9d84c6e1f3a7b23"
	hostile.Message = `webshell detected: "/var/www/html/up/\xff\n.php" [critical] rules php_eval_request_input; quarantined as 20261201T090709-0123456789ab`
	hostile.File = goldenFile("/var/www/html/up/\xff\n.php")
	hostile.Rules = []Rule{evalRule}
	hostile.Action = &Action{Taken: ActionQuarantined, VaultID: "20261201T090709-0123456789ab"}

	scanFailed := agent("019ad7a4c3e1f0b2a9d84c6e1f3a7b24", KindScanFailed, finding.SeverityMedium,
		"file could not be scanned: /var/www/html/backup.tar", "read /var/www/html/backup.tar: input/output error")
	scanFailed.File = goldenFile("/var/www/html/backup.tar")
	scanFailed.File.SHA256, scanFailed.File.MD5 = "", ""

	started := agent("019ad7a4c3e1f0b2a9d84c6e1f3a7b25", KindAgentStarted, finding.SeverityLow,
		"shellwatch 1.0.0 watching 2 roots", "/var/www/html, /srv/shop")

	// A grouped alert as the dispatcher folds a flood.
	g := &pendingGroup{byKind: map[Kind]int{}}
	for i, p := range []string{"/var/www/html/cache/a.php", "/var/www/html/cache/b.php", "/var/www/html/cache/c.php"} {
		a := scanFailed
		a.ID = fmt.Sprintf("019ad7a4c3e1f0b2a9d84c6e1f3a7c%02d", i)
		a.File = goldenFile(p)
		g.add(a, 3)
	}
	g.add(hostile, 3)
	grouped := g.alert(time.Second)
	grouped.ID, grouped.Time, grouped.Host, grouped.AgentVersion = "019ad7a4c3e1f0b2a9d84c6e1f3a7b26", goldenTime, "web-01", "1.0.0"

	// The notice of a full webhook spool.
	dropped := agent("019ad7a4c3e1f0b2a9d84c6e1f3a7b27", KindAlertsDropped, finding.SeverityHigh,
		"2 low or medium alerts dropped: the webhook https://alerts.example/hook spool /var/lib/shellwatch/spool/3f2a was full (10000 alerts); no high or critical alert was dropped",
		"the receiver has not accepted alerts for a while; see the agent's log for why")
	dropped.Count = 2
	dropped.CountByKind = map[Kind]int{KindScanFailed: 1, KindChangedWhileDown: 1}
	dropped.Samples = []Sample{scanFailed.Sample(), {ID: "019ad7a4c3e1f0b2a9d84c6e1f3a7c10", Kind: KindChangedWhileDown,
		Severity: finding.SeverityLow, Path: "/var/www/html/\xfe.css", PathBase64: "L3Zhci93d3cvaHRtbC/+LmNzcw=="}}

	// The notice of a webhook spool that cannot be written.
	atRisk := agent("019ad7a4c3e1f0b2a9d84c6e1f3a7b28", KindAlertsAtRisk, finding.SeverityHigh,
		"the webhook https://alerts.example/hook spool /var/lib/shellwatch/spool/3f2a cannot be written: its alerts are held in memory (at most 1000) and delivered from there; they are lost if the agent stops before the spool takes them",
		"spool /var/lib/shellwatch/spool/3f2a/tmp-00000000000000000042-019ad7a4c3e1f0b2a9d84c6e1f3a7b20.json: write: no space left on device")

	// Its end: as severe as the notice it ends, and marked resolved.
	atRiskResolved := agent("019ad7a4c3e1f0b2a9d84c6e1f3a7b2e", KindAlertsAtRisk, finding.SeverityHigh,
		"resolved: the webhook https://alerts.example/hook spool /var/lib/shellwatch/spool/3f2a is written again: the 3 alerts held in memory since 2026-12-01T09:07:09Z are spooled or delivered (alerts_dropped says if any were dropped)",
		"the write failed with: spool /var/lib/shellwatch/spool/3f2a/tmp-00000000000000000042-019ad7a4c3e1f0b2a9d84c6e1f3a7b20.json: write: no space left on device")
	atRiskResolved.Count = 3
	atRiskResolved.Resolved = true

	// The follow-ups of the quarantined detection.
	accessReport, _ := accessReportAlert()
	accessReport.ID, accessReport.Time, accessReport.Host, accessReport.AgentVersion = "019ad7a4c3e1f0b2a9d84c6e1f3a7b29", goldenTime.Add(600*time.Millisecond), "web-01", "1.0.0"
	accessReport.RefID = quarantined.ID
	accessReport.File = goldenFile("/var/www/html/uploads/avatar.gif")
	returned, _ := returnedAlert()
	returned.ID, returned.Time, returned.Host, returned.AgentVersion = "019ad7a4c3e1f0b2a9d84c6e1f3a7b2a", goldenTime.Add(10*time.Minute), "web-01", "1.0.0"
	returned.RefID = quarantined.ID
	returned.File = goldenFile("/var/www/html/uploads/avatar.gif")
	returnedClients, _ := groupedReturnedAlert()
	returnedClients.ID, returnedClients.Time, returnedClients.Host, returnedClients.AgentVersion = "019ad7a4c3e1f0b2a9d84c6e1f3a7b2d", goldenTime.Add(11*time.Minute), "web-01", "1.0.0"
	returnedClients.RefID = quarantined.ID
	returnedClients.File = goldenFile("/var/www/html/uploads/avatar.gif")
	returnedClients.Message = "attacker returned: 7 more clients (198.51.100.1, 198.51.100.2, \"x\\xff\\n,y\") sent 9 requests for the URL of /var/www/html/uploads/avatar.gif"

	// A refused open, by a web server's worker; and by one whose ids
	// could not be read: no uid, not uid 0 (root).
	blocked := agent("019ad7a4c3e1f0b2a9d84c6e1f3a7b2b", KindExecutionBlocked, finding.SeverityCritical, "", "judged critical by scan")
	blocked.File = goldenFile("/var/www/html/uploads/x.php")
	blocked.Rules = []Rule{evalRule}
	blocked.Opener = &Process{PID: 4242, UID: new(uint32(33)), User: "www-data", Exe: "/usr/sbin/php-fpm8.2", Cmdline: "php-fpm: pool www"}
	blocked.Message = blocked.FindingMessage(blocked.Detail, "open refused to pid 4242 ("+blocked.Opener.Who()+") /usr/sbin/php-fpm8.2")
	blockedUnknown := blocked
	blockedUnknown.ID = "019ad7a4c3e1f0b2a9d84c6e1f3a7b2c"
	blockedUnknown.Opener = &Process{PID: 4243}
	blockedUnknown.Message = blocked.FindingMessage(blocked.Detail, "open refused to pid 4243 ("+blockedUnknown.Opener.Who()+")")

	return map[string]Alert{
		"execution-blocked":                blocked,
		"execution-blocked-opener-unknown": blockedUnknown,
		"access-report":                    accessReport,
		"attacker-returned":                returned,
		"attacker-returned-clients":        returnedClients,
		"alerts-at-risk":                   atRisk,
		"alerts-at-risk-resolved":          atRiskResolved,
		"detection-quarantined":            quarantined,
		"detection-alerted":                alerted,
		"quarantine-failed":                failed,
		"hostile-path":                     hostile,
		"scan-failed":                      scanFailed,
		"agent-started":                    started,
		"alerts-grouped":                   grouped,
		"alerts-dropped":                   dropped,
	}
}

// TestAlertJSONGolden: the alert JSON is a contract with every receiver
// (field names, nesting, encodings). Each shape of alert is posted by a real
// Webhook, in both formats, to a real HTTP receiver, and written by the
// journald sink's fallback; the bytes must equal testdata/alert-*.json,
// which `go test ./alert -update` rewrites. A failure here means receivers
// break: add fields, never rename or remove one.
func TestAlertJSONGolden(t *testing.T) {
	alerts := goldenAlerts()
	for _, format := range []string{FormatJSON, FormatAlertmanager} {
		bodies := postedBodies(t, format, alerts)
		for name := range alerts {
			golden := "alert-" + name + ".json"
			if format == FormatAlertmanager {
				golden = "alert-" + name + ".alertmanager.json"
			}
			checkGolden(t, golden, append(bodies[alerts[name].ID], '\n'))
		}
	}

	// Without journald the same bytes are the JSON lines on stderr.
	var out bytes.Buffer
	j := NewJournald(JournaldOptions{Fallback: &out})
	j.send = func(string, journal.Priority, map[string]string) error { return syscall.ENOENT }
	for name, a := range alerts {
		out.Reset()
		if err := j.Deliver(a); err != nil {
			t.Fatalf("%s: journald fallback: %v", name, err)
		}
		checkGolden(t, "alert-"+name+".json", out.Bytes())
	}
}

// postedBodies delivers alerts through a real Webhook of format and returns
// the body of each request, by the alert id it carries.
func postedBodies(t *testing.T, format string, alerts map[string]Alert) map[string][]byte {
	t.Helper()
	var mu sync.Mutex
	bodies := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		bodies[req.Header.Get(AlertIDHeader)] = body
		mu.Unlock()
	}))
	defer srv.Close()
	log, _ := testLogger(t)
	w, err := NewWebhook(WebhookOptions{URL: srv.URL, Format: format, SpoolDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if err := w.Deliver(a); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, waitTimeout, fmt.Sprintf("%d alerts delivered", len(alerts)), func() bool {
		return w.Stats().Delivered == uint64(len(alerts))
	})
	closeWebhook(t, w)
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != len(alerts) {
		t.Fatalf("%s receiver got %d alerts, want %d", format, len(bodies), len(alerts))
	}
	return bodies
}

// checkGolden compares got with testdata/name byte for byte, after
// rewriting the file with got under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./alert -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: the alert JSON changed; receivers rely on it (go test ./alert -update rewrites it once the change is meant):\n got %s\nwant %s", path, got, want)
	}
}
