package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/internal/weblogtest"
	"github.com/shellwatch/shellwatch/weblog"
)

// unsafeUpload is a page with the hole that lets webshells in: it keeps
// the client's file under the client's name, in a folder the site serves.
const unsafeUpload = `<?php
if (isset($_FILES['avatar'])) {
    move_uploaded_file($_FILES['avatar']['tmp_name'], __DIR__ . '/uploads/' . $_FILES['avatar']['name']);
    echo 'saved';
}
`

// TestAccessLogEndToEnd: Debian's nginx and php-fpm serve the watched
// root. From 127.0.0.2 an attacker probes for a shell, uploads one through
// the unsafe page and, once it is quarantined, comes back for it. The
// detection is followed by an access_report naming the upload POST and its
// client, with the attacker's earlier requests counted; the return raises
// attacker_returned with the attacker's address. The log is rotated by
// rename and reopen, then by copytruncate, then the old part gzipped, in
// between: the index holds every request once.
func TestAccessLogEndToEnd(t *testing.T) {
	journal := testenv.Journald(t)
	h := newHarness(t)
	uploads := filepath.Join(h.www, "uploads")
	if err := os.Mkdir(uploads, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(uploads, 0o777); err != nil { // the web server's user writes there
		t.Fatal(err)
	}
	h.write("upload.php", unsafeUpload)
	h.write("index.html", "<h1>shop</h1>\n")
	web := testenv.Web(t, testenv.WebOptions{Root: h.www})
	h.extraConfig = fmt.Sprintf("[[access_log]]\npath = %q\nformat = \"nginx:combined\"\n", web.AccessLog)
	h.start()

	const attacker, visitor = "127.0.0.2", "127.0.0.3"
	sent := map[string]int{} // requests sent, by client
	get := func(path, from string, want int) {
		t.Helper()
		if status, _ := web.Get(t, path, from); status != want {
			t.Fatalf("GET %s from %s: %d, want %d", path, from, status, want)
		}
		sent[from]++
	}
	get("/index.html", visitor, 200)
	get("/uploads/s.php", attacker, 404) // probes before the drop
	get("/uploads/s.php?c=id", attacker, 404)

	// Rotation by rename, as logrotate does, and nginx reopens its log.
	if err := os.Rename(web.AccessLog, web.AccessLog+".1"); err != nil {
		t.Fatal(err)
	}
	web.Reopen(t)
	get("/index.html", visitor, 200)

	shell := filepath.Join(uploads, "s.php")
	if status, body := web.Post(t, "/upload.php", attacker, "avatar", "s.php", []byte(systemShell)); status != 200 || body != "saved" {
		t.Fatalf("upload: %d %q", status, body)
	}
	sent[attacker]++
	det := h.recv.waitAlert(shell, alert.KindDetection)
	h.checkQuarantined(det, shell, systemShell)

	rep := h.waitFollowUp(alert.KindAccessReport, det.ID)
	a := rep.Access
	if a == nil || a.URL != "/uploads/s.php" || rep.File == nil || rep.File.Path != shell || rep.Severity != det.Severity {
		t.Fatalf("access_report %+v, want one on /uploads/s.php", rep)
	}
	if len(a.DroppedBy) == 0 {
		t.Fatalf("access_report has no dropped_by: %+v", a)
	}
	if d := a.DroppedBy[0]; d.Method != "POST" || d.URL != "/upload.php" || d.Client != attacker || d.Status != 200 {
		t.Errorf("dropped_by[0] = %+v, want the upload POST from %s", d, attacker)
	}
	if a.Count != 2 || a.ClientsTotal != 1 || len(a.Clients) != 1 || a.Clients[0].IP != attacker || a.Clients[0].Count != 2 || a.Statuses["404"] != 2 {
		t.Errorf("access_report count %d, clients %+v, statuses %v: want the attacker's 2 probes", a.Count, a.Clients, a.Statuses)
	}
	e := journal.WaitEntries(t, waitFor, 1, "SHELLWATCH_ALERT_ID="+rep.ID)[0]
	for k, v := range map[string]string{"MESSAGE_ID": "5d7a3c1e9b2f4e08a1c6f3b2d4e5a61d", "SHELLWATCH_REF_ID": det.ID,
		"SHELLWATCH_ACCESS_DROPPED_BY_CLIENT": attacker, "SHELLWATCH_ACCESS_DROPPED_BY_URL": "/upload.php", "SHELLWATCH_ACCESS_COUNT": "2"} {
		if got := string(testenv.FieldBytes(e, k)); got != v {
			t.Errorf("journal %s = %q, want %q", k, got, v)
		}
	}

	// copytruncate, the rotated part moved on and gzipped, as logrotate's
	// copytruncate and compress do.
	if err := os.Rename(web.AccessLog+".1", web.AccessLog+".2"); err != nil {
		t.Fatal(err)
	}
	testenv.GzipAndRemove(t, web.AccessLog+".2")
	copyFile(t, web.AccessLog, web.AccessLog+".1")
	if err := os.Truncate(web.AccessLog, 0); err != nil {
		t.Fatal(err)
	}
	get("/index.html", visitor, 200)

	// The attacker comes back for the shell.
	get("/uploads/s.php?c=whoami", attacker, 404)
	ret := h.waitFollowUp(alert.KindAttackerReturned, det.ID)
	if r := ret.Request; r == nil || r.Client != attacker || r.Method != "GET" || r.URL != "/uploads/s.php?c=whoami" || r.Status != 404 || r.Requests != 1 {
		t.Errorf("attacker_returned request %+v, want the attacker's GET", ret.Request)
	}
	if ret.Severity.String() != "critical" || ret.File == nil || ret.File.Path != shell {
		t.Errorf("attacker_returned %+v", ret)
	}
	e = journal.WaitEntries(t, waitFor, 1, "SHELLWATCH_ALERT_ID="+ret.ID)[0]
	if got := string(testenv.FieldBytes(e, "SHELLWATCH_REQUEST_CLIENT")); got != attacker {
		t.Errorf("journal SHELLWATCH_REQUEST_CLIENT = %q", got)
	}

	// No line lost, none read twice: the index holds each request sent.
	x := h.agent.current.Load().access
	testenv.Eventually(t, waitFor, "every request in the index", func() bool {
		return h.indexed(x, attacker) >= sent[attacker] && h.indexed(x, visitor) >= sent[visitor]
	})
	for client, n := range sent {
		if got := h.indexed(x, client); got != n {
			t.Errorf("the index holds %d requests of %s, the test sent %d", got, client, n)
		}
	}
	if got := len(h.followUps(alert.KindAttackerReturned, det.ID)); got != 1 {
		t.Errorf("%d attacker_returned, want 1", got)
	}
}

// waitFollowUp waits for the alert of kind that follows up the alert ref.
func (h *harness) waitFollowUp(kind alert.Kind, ref string) alert.Alert {
	h.t.Helper()
	var got []alert.Alert
	testenv.Eventually(h.t, waitFor, fmt.Sprintf("a %s for alert %s", kind, ref), func() bool {
		got = h.followUps(kind, ref)
		return len(got) > 0
	})
	return got[0]
}

func (h *harness) followUps(kind alert.Kind, ref string) []alert.Alert {
	var out []alert.Alert
	for _, a := range h.recv.all() {
		if a.Kind == kind && a.RefID == ref {
			out = append(out, a)
		}
	}
	return out
}

// indexed counts the requests of client the agent's access logs hold.
func (h *harness) indexed(x interface {
	Index(i int) *weblog.Index
}, client string) int {
	return len(x.Index(0).ByClient(client))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(b), "\n") && len(b) > 0 {
		t.Fatalf("%s ends mid-line", from)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAttackerReturnedAfterRestart: a shell is quarantined, the agent is
// stopped and started again (an upgrade, a reboot), and requests for the
// shell's URL are appended to the access log: one stamped before the shell
// was flagged (a late line of a probe) is no return; a new one raises
// attacker_returned naming the shell's alert in ref_id.
func TestAttackerReturnedAfterRestart(t *testing.T) {
	h := newHarness(t)
	accessLog := filepath.Join(h.dir, "access.log")
	if err := os.WriteFile(accessLog, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	appendLine := func(client string, at time.Time, target string) {
		t.Helper()
		f, err := os.OpenFile(accessLog, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(weblogtest.Line(client, at, "GET", target, 404, 10, "python")); err != nil {
			t.Fatal(err)
		}
	}
	h.extraConfig = fmt.Sprintf("[[access_log]]\npath = %q\nformat = \"nginx:combined\"\n", accessLog)
	h.start()
	shell := h.write("uploads/s.php", systemShell)
	det := h.recv.waitAlert(shell, alert.KindDetection)
	h.checkQuarantined(det, shell, systemShell)
	h.waitFollowUp(alert.KindAccessReport, det.ID)
	h.stop()

	h.start()
	// Stamps have whole seconds: the new request's is past the flag
	// moment's.
	testenv.Eventually(t, waitFor, "the clock past the second of the flagging", func() bool {
		return time.Now().After(det.Time.Truncate(time.Second).Add(time.Second))
	})
	const prober, attacker = "198.51.100.66", "203.0.113.7"
	appendLine(prober, det.Time.Add(-time.Minute), "/uploads/s.php?c=probe")
	appendLine(attacker, time.Now(), "/uploads/s.php?c=id")
	ret := h.waitFollowUp(alert.KindAttackerReturned, det.ID)
	if r := ret.Request; r == nil || r.Client != attacker || r.URL != "/uploads/s.php?c=id" || r.Requests != 1 {
		t.Errorf("attacker_returned request %+v, want the attacker's GET", ret.Request)
	}
	if ret.Severity.String() != "critical" || ret.File == nil || ret.File.Path != shell || ret.File.SHA256 != det.File.SHA256 {
		t.Errorf("attacker_returned %+v, want critical about %s", ret, shell)
	}
	for _, a := range h.followUps(alert.KindAttackerReturned, det.ID) {
		if a.Request != nil && a.Request.Client == prober {
			t.Errorf("a line stamped before the flagging raised %+v", a.Request)
		}
	}
}
