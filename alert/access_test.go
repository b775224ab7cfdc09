package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/weblog"
)

// hostileUA is a user agent an attacker wrote: a newline, invalid UTF-8
// and an escape sequence, which journald must keep byte for byte.
const hostileUA = "python-requests/2.31\n\xff\x1b[31mX"

// accessReportAlert is an access_report with a value in every access
// field, and the journald fields it must give.
func accessReportAlert() (Alert, map[string]string) {
	born := time.Date(2026, 12, 1, 9, 7, 9, 0, time.UTC)
	first, last, since := born.Add(-2*time.Minute), born.Add(3*time.Second), born.Add(-30*time.Minute)
	rep := &weblog.Report{
		URL: "/uploads/x.php", Count: 3, First: &first, Last: &last,
		Clients: []weblog.ClientReport{
			{IP: "203.0.113.7", Count: 2, First: first, Last: last, UserAgents: []string{hostileUA}},
			{IP: "198.51.100.1", Count: 1, First: first, Last: first, UserAgents: []string{"Mozilla/5.0"}},
		},
		ClientsTotal: 2, Statuses: map[string]int{"404": 2, "200": 1},
		DroppedBy: []weblog.Hit{{Time: born, Client: "203.0.113.7", Method: "POST", URL: "/upload.php?dir=../uploads\n", Status: 200, UserAgent: hostileUA}},
		Since:     &since,
	}
	a := Alert{ID: NewID(time.Now()), Time: time.Now().UTC(), Host: "web1", Kind: KindAccessReport, Severity: finding.SeverityCritical,
		Message: "access report on /var/www/html/uploads/x.php: 3 requests from 2 clients; dropped by POST /upload.php from 203.0.113.7",
		File:    &File{Path: "/var/www/html/uploads/x.php", Root: "/var/www/html"},
		RefID:   "019ad7a4c3e1f0b2a9d84c6e1f3a7b20", Access: rep, AgentVersion: "1.2.3"}
	js, _ := json.Marshal(rep)
	return a, map[string]string{
		JournalRefID:              a.RefID,
		JournalAccessURL:          "/uploads/x.php",
		JournalAccessCount:        "3",
		JournalAccessFirst:        "2026-12-01T09:05:09Z",
		JournalAccessLast:         "2026-12-01T09:07:12Z",
		JournalAccessClients:      "203.0.113.7=2,198.51.100.1=1",
		JournalAccessClientsTotal: "2",
		JournalAccessTopClient:    "203.0.113.7",
		JournalAccessStatuses:     "200=1,404=2",
		JournalAccessSince:        "2026-12-01T08:37:09Z",
		JournalDroppedByTime:      "2026-12-01T09:07:09Z",
		JournalDroppedByClient:    "203.0.113.7",
		JournalDroppedByMethod:    "POST",
		JournalDroppedByURL:       "/upload.php?dir=../uploads\n",
		JournalDroppedByStatus:    "200",
		JournalDroppedByUserAgent: hostileUA,
		JournalAccessJSON:         string(js),
	}
}

// returnedAlert is an attacker_returned and the journald fields it must
// give.
func returnedAlert() (Alert, map[string]string) {
	at := time.Date(2026, 12, 1, 9, 20, 0, 0, time.UTC)
	a := Alert{ID: NewID(time.Now()), Time: time.Now().UTC(), Host: "web1", Kind: KindAttackerReturned, Severity: finding.SeverityCritical,
		Message:      "attacker returned: 203.0.113.7 GET /uploads/x.php?c=id → 404",
		File:         &File{Path: "/var/www/html/uploads/x.php", Root: "/var/www/html"},
		RefID:        "019ad7a4c3e1f0b2a9d84c6e1f3a7b20",
		Request:      &Request{Hit: weblog.Hit{Time: at, Client: "203.0.113.7", Method: "GET", URL: "/uploads/x.php?c=id\x00", Status: 404, UserAgent: hostileUA}, Requests: 4},
		AgentVersion: "1.2.3"}
	return a, map[string]string{
		JournalRefID:            a.RefID,
		JournalRequestTime:      "2026-12-01T09:20:00Z",
		JournalRequestClient:    "203.0.113.7",
		JournalRequestMethod:    "GET",
		JournalRequestURL:       "/uploads/x.php?c=id\x00",
		JournalRequestStatus:    "404",
		JournalRequestUserAgent: hostileUA,
		JournalRequestCount:     "4",
	}
}

// groupedReturnedAlert is an attacker_returned for many clients at once,
// one of whose addresses is the attacker's text (a forwarded-for header
// logged as the client).
func groupedReturnedAlert() (Alert, map[string]string) {
	a, want := returnedAlert()
	a.ID = NewID(time.Now())
	r := *a.Request
	r.Requests, r.Clients, r.FirstClients = 9, 7, []string{"198.51.100.1", "198.51.100.2", "x\xff\n,y"}
	a.Request = &r
	want[JournalRequestCount] = "9"
	want[JournalRequestClients] = "7"
	want[JournalRequestFirstClients] = "198.51.100.1,198.51.100.2,x\xff\n,y"
	return a, want
}

// The follow-ups of a file alert reach a real journald with every access
// and request field, byte-exact: the attacker's newlines, NUL and invalid
// UTF-8 included.
func TestJournaldAccessFields(t *testing.T) {
	journal := testenv.Journald(t)
	sink := NewJournald(JournaldOptions{})
	for _, mk := range []func() (Alert, map[string]string){accessReportAlert, returnedAlert, groupedReturnedAlert} {
		a, want := mk()
		if err := sink.Deliver(a); err != nil {
			t.Fatal(err)
		}
		entry := journal.WaitEntries(t, journalTimeout, 1, JournalAlertID+"="+a.ID)[0]
		want[JournalMessageID] = a.Kind.MessageID()
		want[JournalPath] = a.File.Path
		for name, v := range want {
			if got := testenv.FieldBytes(entry, name); string(got) != v {
				t.Errorf("%s: %s = %q, want %q", a.Kind, name, got, v)
			}
		}
	}
}

// Alertmanager's labels of a follow-up stay few-valued: counts and a
// client address, never what the attacker writes (URLs, user agents),
// which are annotations on one line.
func TestAlertmanagerAccessLabels(t *testing.T) {
	report, _ := accessReportAlert()
	returned, _ := returnedAlert()
	grouped, _ := groupedReturnedAlert()
	for _, tc := range []struct {
		a      Alert
		labels map[string]string
		ann    map[string]string
	}{
		{report,
			map[string]string{"access_count": "3", "access_clients": "2", "top_client": "203.0.113.7", "kind": "access_report"},
			map[string]string{"ref_id": report.RefID, "access_url": "/uploads/x.php", "access_statuses": "200=1,404=2",
				"dropped_by": `2026-12-01T09:07:09Z 203.0.113.7 POST "/upload.php?dir=../uploads\n" 200`}},
		{returned,
			map[string]string{"client": "203.0.113.7", "kind": "attacker_returned"},
			map[string]string{"ref_id": returned.RefID, "requests": "4", "user_agent": `"python-requests/2.31\n\xff\x1b[31mX"`,
				"request": `2026-12-01T09:20:00Z 203.0.113.7 GET "/uploads/x.php?c=id\x00" 404`}},
		{grouped,
			map[string]string{"client": "203.0.113.7", "kind": "attacker_returned"},
			map[string]string{"requests": "9", "clients": "7", "first_clients": `"198.51.100.1,198.51.100.2,x\xff\n,y"`}},
	} {
		body, err := alertmanagerBody(&tc.a)
		if err != nil {
			t.Fatal(err)
		}
		var got []amAlert
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		for k, v := range tc.labels {
			if got[0].Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q", tc.a.Kind, k, got[0].Labels[k], v)
			}
		}
		for k, v := range tc.ann {
			if got[0].Annotations[k] != v {
				t.Errorf("%s: annotation %s = %q, want %q", tc.a.Kind, k, got[0].Annotations[k], v)
			}
		}
		for k, v := range got[0].Labels {
			if strings.ContainsAny(v, "\n?") || strings.Contains(v, "python") {
				t.Errorf("%s: label %s = %q carries the attacker's text", tc.a.Kind, k, v)
			}
		}
	}
}
