package alert

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// alertsOfKind returns what a receiver got of one kind.
func alertsOfKind(t *testing.T, rc *receiver, kind Kind) []Alert {
	t.Helper()
	var out []Alert
	for _, a := range rc.alertsReceived(t) {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return out
}

// heardOnce waits until a receiver got n alerts of one kind (what names
// the wait), and returns each of them as describe says.
func heardOnce(t *testing.T, rc *receiver, kind Kind, n int, what string, describe func(Alert) string) []string {
	t.Helper()
	testenv.Eventually(t, waitTimeout, what, func() bool { return len(alertsOfKind(t, rc, kind)) >= n })
	var out []string
	for _, a := range alertsOfKind(t, rc, kind) {
		out = append(out, describe(a))
	}
	return out
}

// A full disk under the spool must not lose a webhook alert: the alerts
// are held in memory, alerts_at_risk goes once through the other sink,
// the spool write is retried, and once space is back every alert is
// spooled (so a crash would not lose it), the resolution is told, and the
// receiver, down meanwhile, gets all of them.
func TestWebhookSpoolDiskFullHoldsAlertsUntilSpaceReturns(t *testing.T) {
	disk := testenv.Tmpfs(t, 512<<10)
	spoolDir := filepath.Join(disk, "spool")

	var accepting atomic.Bool
	var acceptedMu sync.Mutex
	accepted := map[int]bool{} // the requests answered 200
	main := newReceiver(func(n int, _ http.Header) (int, string) {
		if accepting.Load() {
			acceptedMu.Lock()
			accepted[n] = true
			acceptedMu.Unlock()
			return http.StatusOK, ""
		}
		return http.StatusServiceUnavailable, "down for the test"
	})
	delivered := func() map[string]bool {
		acceptedMu.Lock()
		defer acceptedMu.Unlock()
		ids := map[string]bool{}
		for n, r := range main.requests() {
			if accepted[n] {
				ids[r.header.Get(AlertIDHeader)] = true
			}
		}
		return ids
	}
	srv := httptest.NewServer(main)
	defer srv.Close()
	otherRC, other, log := newTestWebhook(t, filepath.Join(t.TempDir(), "other-spool"))

	var d *Dispatcher
	var dReady sync.WaitGroup
	dReady.Add(1)
	hook, err := NewWebhook(WebhookOptions{URL: srv.URL, SpoolDir: spoolDir, Logger: log,
		MinBackoff: 10e6, MaxBackoff: 50e6,
		OnNotice: func(_ *Webhook, a Alert) bool { dReady.Wait(); return d.Relay(a) }})
	if err != nil {
		t.Fatal(err)
	}
	d = NewDispatcher(DispatcherOptions{Routes: []Route{{Sink: hook}, {Sink: other}}, Logger: log})
	dReady.Done()
	t.Cleanup(func() { d.Close(context.Background()) }) // before the unmount

	filler := testenv.FillDisk(t, disk)
	const shells = 10
	var sent []Alert
	for i := range shells {
		a := testAlert(i, finding.SeverityCritical)
		a.ID = NewID(time.Now())
		d.Send(a)
		sent = append(sent, a)
	}
	testenv.Eventually(t, waitTimeout, "alerts_at_risk at the other sink", func() bool {
		return len(alertsOfKind(t, otherRC, KindAlertsAtRisk)) > 0
	})
	// The notice reaches the webhook too (its receiver learns of it once
	// it is up), and is held with the 10.
	testenv.Eventually(t, waitTimeout, "the 10 alerts and the notice held in memory", func() bool {
		return hook.Stats().Held == shells+1
	})
	// The alerts held are critical, and so is the notice.
	risk := alertsOfKind(t, otherRC, KindAlertsAtRisk)
	if len(risk) != 1 || risk[0].Severity != finding.SeverityCritical || risk[0].Resolved ||
		!strings.Contains(risk[0].Detail, "no space left on device") {
		t.Fatalf("other sink got %+v, want one critical alerts_at_risk naming ENOSPC", risk)
	}
	if n := len(spoolFiles(t, spoolDir)); n != 0 {
		t.Fatalf("%d spool files on a full disk", n)
	}
	if st := d.Stats()[0]; st.Errors != 0 || st.Dropped != 0 {
		t.Errorf("webhook route stats %+v: the full disk lost alerts for it", st)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, "every held alert written to the spool", func() bool {
		return hook.Stats().Held == 0 && len(spoolFiles(t, spoolDir)) >= shells+1
	})
	testenv.Eventually(t, waitTimeout, "the resolution at the other sink", func() bool {
		return len(alertsOfKind(t, otherRC, KindAlertsAtRisk)) == 2
	})
	if r := alertsOfKind(t, otherRC, KindAlertsAtRisk)[1]; r.Severity != finding.SeverityCritical || !r.Resolved || r.Count != shells+1 {
		t.Errorf("resolution %+v, want critical and resolved with the count of %d held alerts (the notice among them)", r, shells+1)
	}

	accepting.Store(true)
	testenv.Eventually(t, waitTimeout, "all 10 detections accepted by the receiver", func() bool {
		got := delivered()
		for _, a := range sent {
			if !got[a.ID] {
				return false
			}
		}
		return true
	})
	if err := d.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	if n := len(spoolFiles(t, spoolDir)); n != 0 {
		t.Errorf("%d spool files left after every alert was delivered", n)
	}
	if st := hook.Stats(); st.AtRisk != 1 || st.Dropped != 0 {
		t.Errorf("webhook stats %+v, want one at-risk episode and nothing dropped", st)
	}
}

// While the disk is full and the receiver up, held alerts go to the
// receiver from memory at once. Past MaxHeld the oldest are dropped, low
// and medium first, and that is counted and said.
func TestWebhookSpoolDiskFullMemoryBound(t *testing.T) {
	disk := testenv.Tmpfs(t, 256<<10)
	spoolDir := filepath.Join(disk, "spool")

	hold := make(chan struct{})
	var holdOnce sync.Once
	release := func() { holdOnce.Do(func() { close(hold) }) }
	defer release()
	main := newReceiver(func(n int, _ http.Header) (int, string) {
		if n == 0 {
			<-hold // the first alert stays in flight until the memory overflowed
		}
		return http.StatusOK, ""
	})
	srv := httptest.NewServer(main)
	defer srv.Close()
	log, _ := testLogger(t)
	var mu sync.Mutex
	var notices []Alert
	hook, err := NewWebhook(WebhookOptions{URL: srv.URL, SpoolDir: spoolDir, Logger: log, MaxHeld: 3,
		OnNotice: func(_ *Webhook, a Alert) bool { mu.Lock(); notices = append(notices, a); mu.Unlock(); return false }})
	if err != nil {
		t.Fatal(err)
	}
	hook.dropNoticeEvery = 10e6
	t.Cleanup(func() { closeWebhook(t, hook) }) // before the unmount

	testenv.FillDisk(t, disk)
	sev := []finding.Severity{
		finding.SeverityCritical,                      // 0: in flight, in memory, never dropped
		finding.SeverityLow, finding.SeverityCritical, // 1-2: held; 3 in memory
		finding.SeverityCritical, // 3: drops 1, the low one
		finding.SeverityHigh,     // 4: drops 2, the oldest one not in flight
		finding.SeverityCritical, // 5: drops 3
	}
	alerts := deliverFirstInFlight(t, hook, main, sev)
	if st := hook.Stats(); st.Dropped != 3 || st.Held != 3 {
		t.Errorf("stats %+v, want 3 dropped and 3 held (the one in flight among them)", st)
	}
	release()
	testenv.Eventually(t, waitTimeout, "the held alerts and the drop notice at the receiver, disk still full", func() bool {
		return len(main.requests()) >= 3+1
	})
	got := map[string]bool{}
	for _, a := range main.alertsReceived(t) {
		got[a.ID] = true
	}
	for i := range alerts {
		if want := i == 0 || i >= 4; got[alerts[i].ID] != want {
			t.Errorf("alert %d (%s) delivered: %v, want %v", i, sev[i], got[alerts[i].ID], want)
		}
	}
	testenv.Eventually(t, waitTimeout, "the drop notice", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range notices {
			if n.Kind == KindAlertsDropped {
				return n.Count == 3 && strings.Contains(n.Message, "(2 of them high or critical)") && strings.Contains(n.Message, "could not be written")
			}
		}
		return false
	})
}

// Every sink that would have taken an alert held in memory hears that it
// is at risk, and every sink that heard it hears the end. The webhook's
// disk is full and its receiver down, so what it is given stays in
// memory: a high alert first (alerts_at_risk, high: the sink at high hears
// it, the one at critical not), then a critical one (one more, critical:
// both hear it), then another critical one (nothing more). When the disk
// takes writes again, the resolution is critical and marked resolved, and
// both hear it. The sinks are webhooks with real receivers.
func TestAlertsAtRiskReachEverySinkThatWouldTakeThem(t *testing.T) {
	disk := testenv.Tmpfs(t, 256<<10)
	spoolDir := filepath.Join(disk, "spool")
	rc, url := newSwitchedReceiver(t)
	rc.goDown()
	highRC, highHook, log := newTestWebhook(t, filepath.Join(t.TempDir(), "high-spool"))
	critRC, critHook, _ := newTestWebhook(t, filepath.Join(t.TempDir(), "critical-spool"))

	var d *Dispatcher
	var dReady sync.WaitGroup
	dReady.Add(1)
	hook, err := NewWebhook(WebhookOptions{URL: url, SpoolDir: spoolDir, Logger: log,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		OnNotice: func(_ *Webhook, a Alert) bool { dReady.Wait(); return d.Relay(a) }})
	if err != nil {
		t.Fatal(err)
	}
	d = NewDispatcher(DispatcherOptions{Routes: []Route{
		{Sink: hook},
		{Sink: highHook, MinSeverity: finding.SeverityHigh},
		{Sink: critHook, MinSeverity: finding.SeverityCritical},
	}, Logger: log})
	dReady.Done()
	t.Cleanup(func() { d.Close(context.Background()) }) // before the unmount

	filler := testenv.FillDisk(t, disk)
	held := 0
	send := func(i int, sev finding.Severity, notices int) {
		a := testAlert(i, sev)
		a.ID = ""
		d.Send(a)
		held += 1 + notices // the notices reach the webhook too, and wait with the alert
		testenv.Eventually(t, waitTimeout, fmt.Sprintf("%d alerts held by the webhook", held), func() bool {
			return hook.Stats().Held == held
		})
	}
	send(0, finding.SeverityHigh, 1)
	send(1, finding.SeverityCritical, 1)
	send(2, finding.SeverityCritical, 0)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	told := func(a Alert) string {
		if a.Resolved {
			return a.Severity.String() + " resolved"
		}
		return a.Severity.String()
	}
	if got, want := heardOnce(t, critRC, KindAlertsAtRisk, 2, "the resolution at the critical-only sink", told), []string{"critical", "critical resolved"}; !slices.Equal(got, want) {
		t.Errorf("the critical-only sink heard %q, want %q", got, want)
	}
	if got, want := heardOnce(t, highRC, KindAlertsAtRisk, 3, "the resolution at the high sink", told), []string{"high", "critical", "critical resolved"}; !slices.Equal(got, want) {
		t.Errorf("the high sink heard %q, want %q", got, want)
	}
	if r := alertsOfKind(t, critRC, KindAlertsAtRisk)[1]; r.Count != held {
		t.Errorf("the resolution counts %d held alerts, want %d", r.Count, held)
	}

	// The webhook whose alerts were at risk hears it all too, once its
	// receiver is up.
	rc.up.Store(true)
	if got, want := heardOnce(t, rc.receiver, KindAlertsAtRisk, 3, "the three notices at the webhook's own receiver", told), []string{"high", "critical", "critical resolved"}; !slices.Equal(got, want) {
		t.Errorf("the webhook's own receiver heard %q, want %q", got, want)
	}
}

// An alert held in memory (its spool read-only) and then delivered from
// there has no file to remove: the spool says nothing of one, where it
// used to log, falsely, that the alert would be delivered again after a
// restart.
func TestHeldAlertDeliveredFromMemoryHasNoFileToRemove(t *testing.T) {
	spoolDir := filepath.Join(t.TempDir(), "spool")
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		t.Fatal(err)
	}
	testenv.BindMount(t, spoolDir, spoolDir)
	rc := newReceiver(nil)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	log, buf := testLogger(t)
	hook, err := NewWebhook(WebhookOptions{URL: srv.URL, SpoolDir: spoolDir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	testenv.SetBindReadOnly(t, spoolDir, true)
	t.Cleanup(func() { closeWebhook(t, hook) }) // before the unmount
	a := testAlert(0, finding.SeverityCritical)
	if err := hook.Deliver(a); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, "the alert delivered from memory", func() bool {
		return len(rc.requests()) == 1 && hook.Stats().Held == 0
	})
	if got := rc.alertsReceived(t); len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("received %+v, want the one alert", got)
	}
	if strings.Contains(buf.String(), "cannot remove") {
		t.Errorf("the spool logged a removal of a file it never wrote:\n%s", buf.String())
	}
}
