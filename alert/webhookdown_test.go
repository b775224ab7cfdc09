package alert

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// failingCall is one call of OnFailing.
type failingCall struct {
	failing bool
	since   time.Time
	err     error
}

// A receiver that fails every attempt for longer than AlertAfter is told
// once, however many attempts fail; the first alert it takes again tells
// its recovery once; failures shorter than AlertAfter tell nothing.
func TestWebhookFailingLongerThanAlertAfter(t *testing.T) {
	var up atomic.Bool
	rc := newReceiver(func(int, http.Header) (int, string) {
		if up.Load() {
			return http.StatusOK, ""
		}
		return http.StatusServiceUnavailable, "down for the test"
	})
	srv := httptest.NewServer(rc)
	defer srv.Close()
	log, _ := testLogger(t)
	var mu sync.Mutex
	var calls []failingCall
	heard := func() []failingCall {
		mu.Lock()
		defer mu.Unlock()
		return append([]failingCall(nil), calls...)
	}
	const alertAfter = 2 * time.Second // long enough that the short outage below stays shorter
	w, err := NewWebhook(WebhookOptions{URL: srv.URL, SpoolDir: t.TempDir(), Logger: log,
		MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, AlertAfter: alertAfter,
		OnFailing: func(from *Webhook, failing bool, since time.Time, err error) {
			mu.Lock()
			calls = append(calls, failingCall{failing, since, err})
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeWebhook(t, w)

	start := time.Now()
	if err := w.Deliver(testAlert(1, finding.SeverityHigh)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, "OnFailing told the receiver fails", func() bool { return len(heard()) > 0 })
	failedFor := time.Since(start)
	retriesWhenTold := w.Stats().Retries
	got := heard()
	if len(got) != 1 || !got[0].failing || got[0].err == nil || !strings.Contains(got[0].err.Error(), "503") {
		t.Fatalf("OnFailing heard %+v, want one call failing with the 503", got)
	}
	if failedFor < alertAfter || got[0].since.Before(start.Add(-time.Second)) {
		t.Errorf("told after %s (since %s), want after alert_after %s", failedFor, got[0].since, alertAfter)
	}
	// More failures tell nothing more.
	testenv.Eventually(t, waitTimeout, "more failed attempts", func() bool { return w.Stats().Retries > retriesWhenTold+3 })
	if n := len(heard()); n != 1 {
		t.Fatalf("OnFailing heard %d calls while the receiver stayed down, want 1", n)
	}

	up.Store(true)
	testenv.Eventually(t, waitTimeout, "OnFailing told the receiver takes alerts again", func() bool { return len(heard()) == 2 })
	if got := heard()[1]; got.failing || !got.since.Equal(heard()[0].since) {
		t.Errorf("recovery call %+v, want failing false with the episode's since", got)
	}

	// A short outage, shorter than alert_after, tells nothing.
	up.Store(false)
	if err := w.Deliver(testAlert(2, finding.SeverityHigh)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, "a failed attempt", func() bool { return w.Stats().Retries > retriesWhenTold+5 })
	up.Store(true)
	testenv.Eventually(t, waitTimeout, "the second alert delivered", func() bool { return w.Stats().Delivered == 2 })
	if n := len(heard()); n != 2 {
		t.Errorf("a short outage told OnFailing: %+v", heard())
	}
}
