package alert

import (
	"fmt"
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
// its recovery once; failures shorter than AlertAfter tell nothing. The
// AlertAfter timers are fired by the test, so "longer" and "shorter" do
// not hang on how fast the machine runs.
func TestWebhookFailingLongerThanAlertAfter(t *testing.T) {
	rc, url := newSwitchedReceiver(t)
	log, _ := testLogger(t)
	calls := &failingCalls{}
	const alertAfter = 10 * time.Minute
	w, err := NewWebhook(WebhookOptions{URL: url, SpoolDir: t.TempDir(), Logger: log,
		MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, AlertAfter: alertAfter,
		OnFailing: calls.record})
	if err != nil {
		t.Fatal(err)
	}
	timers := useManualTimers(w)
	defer closeWebhook(t, w)

	rc.goDown()
	before := time.Now().UTC()
	if err := w.Deliver(testAlert(1, finding.SeverityHigh)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, "a failed attempt", func() bool { return w.Stats().Retries > 0 })
	afterFirst := time.Now().UTC()
	timers.waitStarted(t, 1)
	if d := timers.after(0); d != alertAfter {
		t.Fatalf("the outage's timer runs after %s, want alert_after %s", d, alertAfter)
	}
	// Until alert_after has passed, failures tell nothing, and start no
	// other timer.
	testenv.Eventually(t, waitTimeout, "more failed attempts", func() bool { return w.Stats().Retries > 3 })
	if got := calls.heard(); len(got) != 0 || timers.started() != 1 {
		t.Fatalf("before alert_after passed: OnFailing heard %+v, %d timers started; want nothing, 1 timer", got, timers.started())
	}

	timers.fire(0) // alert_after has passed
	retriesWhenTold := w.Stats().Retries
	got := calls.heard()
	if len(got) != 1 || !got[0].failing || got[0].err == nil || !strings.Contains(got[0].err.Error(), "503") {
		t.Fatalf("OnFailing heard %+v, want one call failing with the 503", got)
	}
	if since := got[0].since; since.Before(before) || since.After(afterFirst) {
		t.Errorf("told since %s, want the first failure's time, between %s and %s", since, before, afterFirst)
	}
	// More failures tell nothing more.
	testenv.Eventually(t, waitTimeout, "more failed attempts", func() bool { return w.Stats().Retries > retriesWhenTold+3 })
	if n := len(calls.heard()); n != 1 || timers.started() != 1 {
		t.Fatalf("OnFailing heard %d calls while the receiver stayed down (%d timers started), want 1", n, timers.started())
	}

	rc.up.Store(true)
	testenv.Eventually(t, waitTimeout, "OnFailing told the receiver takes alerts again", func() bool { return len(calls.heard()) == 2 })
	if got := calls.heard()[1]; got.failing || !got.since.Equal(calls.heard()[0].since) {
		t.Errorf("recovery call %+v, want failing false with the episode's since", got)
	}

	// A short outage, over before its alert_after, tells nothing: the
	// recovery stops its timer, and a func of that timer that runs late
	// (it expired as the receiver recovered) says nothing either.
	rc.goDown()
	if err := w.Deliver(testAlert(2, finding.SeverityHigh)); err != nil {
		t.Fatal(err)
	}
	timers.waitStarted(t, 2) // a failed attempt started the outage
	rc.up.Store(true)
	testenv.Eventually(t, waitTimeout, "the second alert delivered", func() bool { return w.Stats().Delivered == 2 })
	testenv.Eventually(t, waitTimeout, "the recovery to stop the short outage's timer", func() bool { return timers.isStopped(1) })
	timers.fire(1)
	if n := len(calls.heard()); n != 2 {
		t.Errorf("a short outage told OnFailing: %+v", calls.heard())
	}
}

// manualTimers stands in for time.AfterFunc in a Webhook: the test fires
// each AlertAfter timer when it chooses, so nothing hangs on how fast the
// machine is. fire runs a timer's func even after Stop, as a real timer's
// func runs when it expired just before Stop: its goroutine was already
// waiting for the lock the caller of Stop held.
type manualTimers struct {
	mu     sync.Mutex
	timers []*manualTimer
}

// manualTimer is one timer a Webhook started.
type manualTimer struct {
	after   time.Duration
	f       func()
	stopped bool // Stop was called
	m       *manualTimers
}

// useManualTimers makes w start its AlertAfter timers on m.
func useManualTimers(w *Webhook) *manualTimers {
	m := &manualTimers{}
	w.mu.Lock()
	w.afterFunc = m.afterFunc
	w.mu.Unlock()
	return m
}

func (m *manualTimers) afterFunc(d time.Duration, f func()) stopper {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &manualTimer{after: d, f: f, m: m}
	m.timers = append(m.timers, t)
	return t
}

func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// started returns how many timers were started, and whether the i-th
// (from 0) was stopped.
func (m *manualTimers) started() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.timers)
}

func (m *manualTimers) isStopped(i int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.timers[i].stopped
}

func (m *manualTimers) after(i int) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.timers[i].after
}

// waitStarted waits until n timers were started.
func (m *manualTimers) waitStarted(t *testing.T, n int) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, fmt.Sprintf("%d alert_after timers started", n), func() bool { return m.started() >= n })
}

// fire runs the i-th timer's func now, on the test's goroutine.
func (m *manualTimers) fire(i int) {
	m.mu.Lock()
	f := m.timers[i].f
	m.mu.Unlock()
	f()
}

// failingCalls records the calls of OnFailing.
type failingCalls struct {
	mu    sync.Mutex
	calls []failingCall
}

func (c *failingCalls) record(_ *Webhook, failing bool, since time.Time, err error) {
	c.mu.Lock()
	c.calls = append(c.calls, failingCall{failing, since, err})
	c.mu.Unlock()
}

func (c *failingCalls) heard() []failingCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]failingCall(nil), c.calls...)
}

// switchedReceiver is a real receiver that takes alerts while up, and
// answers 503 naming the outage (1, 2, …) while down.
type switchedReceiver struct {
	up     atomic.Bool
	outage atomic.Int32
	*receiver
}

func newSwitchedReceiver(t *testing.T) (*switchedReceiver, string) {
	s := &switchedReceiver{}
	s.receiver = newReceiver(func(int, http.Header) (int, string) {
		if s.up.Load() {
			return http.StatusOK, ""
		}
		return http.StatusServiceUnavailable, fmt.Sprintf("outage %d", s.outage.Load())
	})
	srv := httptest.NewServer(s.receiver)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// goDown starts the next outage.
func (s *switchedReceiver) goDown() {
	s.outage.Add(1)
	s.up.Store(false)
}

// Each AlertAfter timer speaks for its own episode of failures only. A
// receiver that recovers and fails again must not be reported failing
// by the timer of the episode before, whose func can run after the
// recovery stopped it (it expired at that moment): that would tell the
// second outage long before alert_after, and once more later.
func TestWebhookAlertAfterTimerSpeaksForItsOwnEpisode(t *testing.T) {
	rc, url := newSwitchedReceiver(t)
	log, _ := testLogger(t)
	calls := &failingCalls{}
	w, err := NewWebhook(WebhookOptions{URL: url, SpoolDir: t.TempDir(), Logger: log,
		MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		AlertAfter: time.Hour, OnFailing: calls.record})
	if err != nil {
		t.Fatal(err)
	}
	timers := useManualTimers(w)
	defer closeWebhook(t, w)
	delivered := func(n uint64) {
		t.Helper()
		testenv.Eventually(t, waitTimeout, fmt.Sprintf("%d alerts delivered", n), func() bool { return w.Stats().Delivered == n })
	}
	wantCalls := func(step string, want ...failingCall) {
		t.Helper()
		got := calls.heard()
		ok := len(got) == len(want)
		for i := 0; ok && i < len(want); i++ {
			ok = got[i].failing == want[i].failing && got[i].err != nil && strings.Contains(got[i].err.Error(), want[i].err.Error()) &&
				got[i].since.Equal(got[i-i%2].since) // a recovery carries its failure's since
		}
		if !ok {
			t.Fatalf("%s: OnFailing heard %+v, want %+v", step, got, want)
		}
	}
	outage := func(n int) error { return fmt.Errorf("outage %d", n) }

	// Outage 1 ends before alert_after; its timer expires just as the
	// receiver takes the alert, so its func runs after the recovery.
	rc.goDown()
	if err := w.Deliver(testAlert(1, finding.SeverityHigh)); err != nil {
		t.Fatal(err)
	}
	timers.waitStarted(t, 1)
	rc.up.Store(true)
	delivered(1)
	testenv.Eventually(t, waitTimeout, "the recovery to stop outage 1's timer", func() bool { return timers.isStopped(0) })

	// Outage 2 starts: the late func of outage 1's timer runs now.
	rc.goDown()
	if err := w.Deliver(testAlert(2, finding.SeverityHigh)); err != nil {
		t.Fatal(err)
	}
	timers.waitStarted(t, 2)
	timers.fire(0)
	wantCalls("outage 1's timer run during outage 2")
	timers.fire(1)
	wantCalls("outage 2's timer", failingCall{failing: true, err: outage(2)})
	timers.fire(1) // a timer runs once; a second run must not tell again
	wantCalls("outage 2's timer run twice", failingCall{failing: true, err: outage(2)})
	rc.up.Store(true)
	testenv.Eventually(t, waitTimeout, "the recovery from outage 2 told", func() bool { return len(calls.heard()) >= 2 })
	wantCalls("outage 2 ended", failingCall{failing: true, err: outage(2)}, failingCall{failing: false, err: outage(2)})

	// Outage 3: outage 2's timer, long told and stopped, runs again late.
	rc.goDown()
	if err := w.Deliver(testAlert(3, finding.SeverityHigh)); err != nil {
		t.Fatal(err)
	}
	timers.waitStarted(t, 3)
	timers.fire(1)
	wantCalls("outage 2's timer run during outage 3", failingCall{failing: true, err: outage(2)}, failingCall{failing: false, err: outage(2)})
	timers.fire(2)
	rc.up.Store(true)
	delivered(3)
	testenv.Eventually(t, waitTimeout, "the recovery from outage 3 told", func() bool { return len(calls.heard()) >= 4 })
	wantCalls("outage 3 ended",
		failingCall{failing: true, err: outage(2)}, failingCall{failing: false, err: outage(2)},
		failingCall{failing: true, err: outage(3)}, failingCall{failing: false, err: outage(3)})
	if n := timers.started(); n != 3 {
		t.Errorf("%d alert_after timers started for 3 outages, want one each", n)
	}
	for i := range timers.started() {
		if d := timers.after(i); d != time.Hour {
			t.Errorf("timer %d started for %s, want alert_after (1h)", i, d)
		}
	}
}
