package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// dispatchRecorder is a Sink that keeps what it is given. It stands for a
// real sink as the dispatcher's collaborator; the dispatcher is under test.
type dispatchRecorder struct {
	name string
	// release, when not nil, holds every Deliver until it is closed: a sink
	// as slow as the test wants it.
	release chan struct{}
	fail    error

	mu      sync.Mutex
	alerts  []Alert
	closed  int
	entered int // Deliver calls begun, held ones included
}

func newDispatchRecorder(name string) *dispatchRecorder {
	return &dispatchRecorder{name: name}
}

func (r *dispatchRecorder) Name() string { return r.name }

func (r *dispatchRecorder) Deliver(a Alert) error {
	r.mu.Lock()
	r.entered++
	r.mu.Unlock()
	if r.release != nil {
		<-r.release
	}
	if r.fail != nil {
		return r.fail
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
	return nil
}

func (r *dispatchRecorder) Close(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed++
	return nil
}

func (r *dispatchRecorder) got() []Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Alert(nil), r.alerts...)
}

// waitFor waits until the sink holds n alerts.
func (r *dispatchRecorder) waitFor(t *testing.T, n int) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, fmt.Sprintf("sink %s to hold %d alerts", r.name, n), func() bool {
		return len(r.got()) >= n
	})
}

func closeDispatcher(t *testing.T, d *Dispatcher) {
	t.Helper()
	if err := d.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestDispatcherRoutesByMinSeverity(t *testing.T) {
	all, high := newDispatchRecorder("all"), newDispatchRecorder("high")
	d := NewDispatcher(DispatcherOptions{
		Routes: []Route{
			{Sink: all},
			{Sink: high, MinSeverity: finding.SeverityHigh},
		},
		Host:    "web1.example",
		Version: "1.2.3",
	})
	for _, sev := range []finding.Severity{finding.SeverityNone, finding.SeverityLow, finding.SeverityMedium, finding.SeverityHigh, finding.SeverityCritical} {
		d.Send(Alert{Kind: KindDetection, Severity: sev, Message: sev.String()})
	}
	closeDispatcher(t, d)

	if got := severitiesOf(all.got()); got != "none low medium high critical" {
		t.Errorf("route without minimum got %q", got)
	}
	if got := severitiesOf(high.got()); got != "high critical" {
		t.Errorf("route with min high got %q", got)
	}
	ids := make(map[string]bool)
	for _, a := range all.got() {
		if len(a.ID) != 32 || ids[a.ID] {
			t.Errorf("alert %q: ID %q not a fresh 32-digit ID", a.Message, a.ID)
		}
		ids[a.ID] = true
		if a.Host != "web1.example" || a.AgentVersion != "1.2.3" {
			t.Errorf("alert %q: host %q version %q, want the dispatcher's", a.Message, a.Host, a.AgentVersion)
		}
		if a.Time.IsZero() || a.Time.Location() != time.UTC {
			t.Errorf("alert %q: time %v, want now in UTC", a.Message, a.Time)
		}
	}
	if all.closed != 1 || high.closed != 1 {
		t.Errorf("sinks closed %d and %d times, want once each", all.closed, high.closed)
	}
}

func severitiesOf(alerts []Alert) string {
	var names []string
	for _, a := range alerts {
		names = append(names, a.Severity.String())
	}
	return strings.Join(names, " ")
}

func TestDispatcherKeepsFieldsTheCallerSet(t *testing.T) {
	sink := newDispatchRecorder("sink")
	d := NewDispatcher(DispatcherOptions{Routes: []Route{{Sink: sink}}, Host: "default-host", Version: "9"})
	when := time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("JST", 9*3600))
	d.Send(Alert{ID: "0123456789abcdef0123456789abcdef", Time: when, Host: "other", AgentVersion: "8", Kind: KindReloaded})
	closeDispatcher(t, d)

	got := sink.got()[0]
	if got.ID != "0123456789abcdef0123456789abcdef" || got.Host != "other" || got.AgentVersion != "8" {
		t.Errorf("caller's fields replaced: %+v", got)
	}
	if !got.Time.Equal(when) || got.Time.Location() != time.UTC {
		t.Errorf("time %v, want %v in UTC", got.Time, when)
	}
}

// A flood must reach a rate-limited sink as a bounded number of alerts that
// still account for every one of them, and must not hide the one critical
// alert inside it.
func TestDispatcherGroupsAFloodWithoutLosingCount(t *testing.T) {
	const (
		flood         = 10000
		ratePerSecond = 100
		burst         = 50
		groupInterval = 100 * time.Millisecond
		criticalAt    = 7001 // past the samples a group keeps
	)
	limited, unlimited := newDispatchRecorder("limited"), newDispatchRecorder("unlimited")
	d := NewDispatcher(DispatcherOptions{
		Routes: []Route{
			{Sink: limited, Rate: ratePerSecond, Burst: burst},
			{Sink: unlimited},
		},
		GroupInterval: groupInterval,
		// Room for the whole flood: what is tested is the grouping's
		// count, not the queue's bound (TestDispatcherHungSinkNeverBlocksSend),
		// which a loaded machine would reach first.
		QueueSize: flood + 1,
		Logger:    slog.New(slog.DiscardHandler),
	})
	start := time.Now()
	var criticalID string
	for i := range flood {
		a := Alert{ID: NewID(time.Now()), Kind: KindDetection, Severity: finding.SeverityLow,
			File: &File{Path: fmt.Sprintf("/var/www/upload/%d.php", i)}}
		switch {
		case i == criticalAt:
			a.Severity = finding.SeverityCritical
			a.Rules = []Rule{{Name: "php_eval_post", Severity: finding.SeverityCritical}}
			criticalID = a.ID
		case i%10 == 0:
			a.Kind = KindScanFailed
		}
		d.Send(a)
	}
	closeDispatcher(t, d)
	elapsed := time.Since(start)

	if n := len(unlimited.got()); n != flood {
		t.Errorf("unlimited route delivered %d alerts, want all %d one by one", n, flood)
	}

	deliveries := limited.got()
	bound := burst + int(ratePerSecond*elapsed.Seconds()) + int(elapsed/groupInterval) + 2
	if len(deliveries) > bound {
		t.Errorf("rate-limited sink got %d deliveries in %s, want at most %d", len(deliveries), elapsed, bound)
	}
	total, groups := 0, 0
	byKind := map[Kind]int{}
	seen := map[string]bool{}
	criticalNamed := false
	for _, a := range deliveries {
		if a.Kind != KindAlertsGrouped {
			total++
			byKind[a.Kind]++
			if seen[a.ID] {
				t.Errorf("alert %s delivered twice", a.ID)
			}
			seen[a.ID] = true
			criticalNamed = criticalNamed || a.ID == criticalID
			continue
		}
		if a.Severity >= finding.SeverityHigh {
			t.Errorf("a group of severity %s: a high or critical alert was folded", a.Severity)
		}
		groups++
		total += a.Count
		sum := 0
		for k, n := range a.CountByKind {
			byKind[k] += n
			sum += n
		}
		if sum != a.Count {
			t.Errorf("grouped alert: count %d, counts by kind sum to %d", a.Count, sum)
		}
		if len(a.Samples) == 0 || len(a.Samples) > DefaultMaxSamples {
			t.Errorf("grouped alert has %d samples, want 1..%d", len(a.Samples), DefaultMaxSamples)
		}
		if a.ID == "" || a.Host == "" || a.Time.IsZero() {
			t.Errorf("grouped alert lacks id, host or time: %+v", a)
		}
		if strings.ContainsAny(a.Message, "\n\r") || !strings.Contains(a.Message, fmt.Sprintf("%d alerts grouped", a.Count)) {
			t.Errorf("grouped alert message %q", a.Message)
		}
	}
	if total != flood {
		t.Errorf("deliveries account for %d alerts, want exactly %d", total, flood)
	}
	if byKind[KindScanFailed] != flood/10 || byKind[KindDetection] != flood-flood/10 {
		t.Errorf("counts by kind %v, want %d scan_failed and %d detection", byKind, flood/10, flood-flood/10)
	}
	if groups == 0 {
		t.Error("no grouped alert: the flood went through the rate limit")
	}
	if !criticalNamed {
		t.Error("the critical alert was not delivered one by one")
	}

	stats := d.Stats()[0]
	if stats.Sink != "limited" || stats.Sent != uint64(len(deliveries)) || stats.Sent+stats.Grouped != uint64(flood+groups) || stats.Errors != 0 {
		t.Errorf("stats %+v, want sent %d, grouped %d, no errors", stats, len(deliveries), flood-(len(deliveries)-groups))
	}
}

func TestDispatcherSlowSinkDoesNotDelayAnother(t *testing.T) {
	slow, fast := newDispatchRecorder("slow"), newDispatchRecorder("fast")
	slow.release = make(chan struct{})
	d := NewDispatcher(DispatcherOptions{Routes: []Route{{Sink: slow}, {Sink: fast}}})
	const n = 100 // well within a queue
	for i := range n {
		d.Send(Alert{Kind: KindDetection, Severity: finding.SeverityHigh, Message: fmt.Sprint(i)})
	}
	fast.waitFor(t, n)
	if got := len(slow.got()); got != 0 {
		t.Fatalf("held sink delivered %d alerts", got)
	}
	close(slow.release)
	closeDispatcher(t, d)
	if got := len(slow.got()); got != n {
		t.Errorf("slow sink has %d alerts after Close, want %d", got, n)
	}
	for i, a := range slow.got() {
		if a.Message != fmt.Sprint(i) {
			t.Fatalf("slow sink alert %d is %q: order lost", i, a.Message)
		}
	}
}

func TestDispatcherCloseDrainsQueuesAndGroups(t *testing.T) {
	sink := newDispatchRecorder("sink")
	var logs bytes.Buffer
	d := NewDispatcher(DispatcherOptions{
		// One token, and the next an hour later: the first alert goes, the
		// rest are folded however long the worker takes over them. (At 1 a
		// second, a worker held off the CPU for a second mid-flood took a
		// second token and delivered one more alert by itself.)
		Routes: []Route{{Sink: sink, Rate: 1.0 / 3600, Burst: 1}},
		// Longer than the test: only Close can deliver the group.
		GroupInterval: time.Hour,
		Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
	})
	const n = 500
	for range n {
		d.Send(Alert{Kind: KindWatchError, Severity: finding.SeverityMedium})
	}
	closeDispatcher(t, d)

	got := sink.got()
	if len(got) != 2 || got[0].Kind != KindWatchError || got[1].Kind != KindAlertsGrouped || got[1].Count != n-1 {
		t.Fatalf("after Close the sink holds %d alerts (%s), want 1 alert and a group of %d", len(got), severitiesOf(got), n-1)
	}
	if sink.closed != 1 {
		t.Errorf("sink closed %d times, want once", sink.closed)
	}

	d.Send(Alert{ID: "feedfacefeedfacefeedfacefeedface", Kind: KindDetection, Severity: finding.SeverityCritical})
	if len(sink.got()) != 2 {
		t.Error("an alert sent after Close reached the closed sink")
	}
	if s := d.Stats()[0]; s.DroppedAfterClose != 1 {
		t.Errorf("DroppedAfterClose %d, want 1", s.DroppedAfterClose)
	}
	if !strings.Contains(logs.String(), "alert_id=feedfacefeedfacefeedfacefeedface") {
		t.Errorf("the alert dropped after Close is not logged with its id: %s", logs.String())
	}
	if err := d.Close(context.Background()); err == nil {
		t.Error("second Close returned no error")
	}
	if sink.closed != 1 {
		t.Errorf("second Close closed the sink again")
	}
}

// When Close's deadline passes while a sink is stuck, the alerts still
// queued are counted in one grouped alert instead of vanishing.
func TestDispatcherCloseDeadlineCountsTheRest(t *testing.T) {
	sink := newDispatchRecorder("stuck")
	sink.release = make(chan struct{})
	d := NewDispatcher(DispatcherOptions{Routes: []Route{{Sink: sink}}})
	const n = 20
	for range n {
		d.Send(Alert{Kind: KindDetection, Severity: finding.SeverityHigh})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	closed := make(chan error)
	go func() { closed <- d.Close(ctx) }()
	// Let the stuck Deliver finish only once Close has given up waiting.
	testenv.Eventually(t, waitTimeout, "the sink's Deliver to be entered", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.entered > 0
	})
	close(sink.release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, a := range sink.got() {
		if a.Kind == KindAlertsGrouped {
			total += a.Count
		} else {
			total++
		}
	}
	if total != n {
		t.Errorf("sink accounts for %d alerts, want %d", total, n)
	}
	if sink.closed != 1 {
		t.Errorf("sink closed %d times, want once", sink.closed)
	}
}

func TestDispatcherCountsAndLogsDeliverErrors(t *testing.T) {
	broken := newDispatchRecorder("broken")
	broken.fail = errors.New("disk full")
	var logs bytes.Buffer
	d := NewDispatcher(DispatcherOptions{
		Routes: []Route{{Sink: broken}},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	d.Send(Alert{ID: "00000000000000000000000000000abc", Kind: KindDetection, Severity: finding.SeverityHigh})
	d.Send(Alert{Kind: KindDetection, Severity: finding.SeverityHigh})
	closeDispatcher(t, d)

	if s := d.Stats()[0]; s.Errors != 2 || s.Sent != 0 {
		t.Errorf("stats %+v, want 2 errors and nothing sent", s)
	}
	for _, want := range []string{"sink=broken", "alert_id=00000000000000000000000000000abc", "disk full"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestGroupedAlertNamesTheMostSevere(t *testing.T) {
	g := &pendingGroup{byKind: map[Kind]int{}}
	for i := range 5 {
		g.add(Alert{ID: fmt.Sprint(i), Kind: KindScanFailed, Severity: finding.SeverityLow, File: &File{Path: "/w/a\nb.php"}}, 3)
	}
	g.add(Alert{ID: "crit", Kind: KindDetection, Severity: finding.SeverityCritical, File: &File{Path: "/w/shell.php"}, Rules: []Rule{{Name: "b374k"}}}, 3)
	a := g.alert(time.Second)

	if a.Count != 6 || a.CountByKind[KindScanFailed] != 5 || a.CountByKind[KindDetection] != 1 || a.Severity != finding.SeverityCritical {
		t.Errorf("grouped alert %+v", a)
	}
	if len(a.Samples) != 3 || a.Samples[0].ID != "0" || a.Samples[2].ID != "crit" || a.Samples[2].Rule != "b374k" {
		t.Errorf("samples %+v, want the first two and the critical one", a.Samples)
	}
	want := `6 alerts grouped in 1s (5 scan_failed, 1 detection), highest critical; first: scan_failed "/w/a\nb.php"; most severe: detection /w/shell.php (b374k)`
	if a.Message != want {
		t.Errorf("message\n got %s\nwant %s", a.Message, want)
	}
}

// A sink's own notice (a webhook's alerts_dropped) reaches every route that
// takes its severity, the sink it came from included, so that it is
// numbered and linked into that sink's stream in order with the others;
// once the dispatcher is closed, Relay says so and sends nothing.
func TestDispatcherRelayReachesEverySink(t *testing.T) {
	from, other, high := newDispatchRecorder("from"), newDispatchRecorder("other"), newDispatchRecorder("high-only")
	d := NewDispatcher(DispatcherOptions{Routes: []Route{
		{Sink: from}, {Sink: other}, {Sink: high, MinSeverity: finding.SeverityCritical},
	}})
	if !d.Relay(Alert{Kind: KindAlertsDropped, Severity: finding.SeverityHigh, Message: "dropped"}) {
		t.Fatal("Relay on an open dispatcher said it was closed")
	}
	closeDispatcher(t, d)
	for _, r := range []*dispatchRecorder{from, other} {
		if got := r.got(); len(got) != 1 || got[0].Kind != KindAlertsDropped {
			t.Errorf("%s got %v, want the notice", r.Name(), got)
		}
	}
	if got := len(high.got()); got != 0 {
		t.Errorf("a route above the notice's severity got it %d times", got)
	}
	if d.Relay(Alert{Kind: KindAlertsDropped, Severity: finding.SeverityHigh}) {
		t.Error("Relay on a closed dispatcher reported it sent")
	}
}

// A sink that hangs must not hold up the sender: Send returns at once
// whatever the sink does, the other sink gets every alert, and what the
// hung sink loses is counted and told to the other sink once for the
// episode, then with the count once the sink takes alerts again. A high
// or critical alert takes the place of a queued low one rather than be
// lost.
func TestDispatcherHungSinkNeverBlocksSend(t *testing.T) {
	hung, other := newDispatchRecorder("hung"), newDispatchRecorder("other")
	hung.release = make(chan struct{})
	const queue = 8
	d := NewDispatcher(DispatcherOptions{
		Routes:    []Route{{Sink: hung}, {Sink: other}},
		QueueSize: queue,
		Logger:    slog.New(slog.DiscardHandler),
	})
	// Each alert is sent once the other sink has the ones before it: the
	// other route's queue is as small, and it must not drop.
	otherWants := 0
	send := func(i int, sev finding.Severity) Alert {
		a := Alert{ID: NewID(time.Now()), Kind: KindDetection, Severity: sev, File: &File{Path: fmt.Sprintf("/var/www/up/%d.php", i)}}
		d.Send(a)
		otherWants++
		if i == queue+1 {
			otherWants++ // the first drop's notice
		}
		other.waitFor(t, otherWants)
		return a
	}
	send(0, finding.SeverityLow)
	testenv.Eventually(t, waitTimeout, "the hung sink's Deliver to be entered", func() bool {
		hung.mu.Lock()
		defer hung.mu.Unlock()
		return hung.entered == 1
	})
	const lows = 100
	for i := 1; i < lows; i++ {
		send(i, finding.SeverityLow) // 8 queued, the rest dropped for "hung"
	}
	critical := send(lows, finding.SeverityCritical) // displaces the oldest queued low

	var notices []Alert
	for _, a := range other.got() {
		if a.Kind == KindAlertsDropped {
			notices = append(notices, a)
		}
	}
	if len(notices) != 1 || notices[0].Severity != finding.SeverityHigh || !strings.Contains(notices[0].Message, "sink hung loses alerts") {
		t.Fatalf("other sink got notices %+v, want one high alerts_dropped naming the hung sink", notices)
	}
	st := d.Stats()[0]
	wantDropped := uint64(lows - 1 - queue + 1) // refused lows, and the low the critical displaced
	if st.Dropped != wantDropped || st.LossEpisodes != 1 || st.Queued != queue {
		t.Errorf("hung route stats %+v, want %d dropped in 1 episode, %d queued", st, wantDropped, queue)
	}

	close(hung.release)
	hung.waitFor(t, 1+queue+1) // the held alert, the queue, the resolution
	got := hung.got()
	if !slices.ContainsFunc(got, func(a Alert) bool { return a.ID == critical.ID }) {
		t.Error("the critical alert sent while the queue was full never reached the hung sink")
	}
	closeDispatcher(t, d)
	var resolved []Alert
	for _, a := range other.got() {
		if a.Kind == KindAlertsDropped && a.Count > 1 {
			resolved = append(resolved, a)
		}
	}
	if len(resolved) != 1 || resolved[0].Count != int(wantDropped) || !strings.Contains(resolved[0].Message, "sink hung takes alerts again") {
		t.Errorf("other sink got resolutions %+v, want one counting %d lost alerts", resolved, wantDropped)
	}
	if last := hung.got()[len(hung.got())-1]; last.Kind != KindAlertsDropped || last.Count != int(wantDropped) {
		t.Errorf("the recovered sink's last alert is %+v, want the count of what it lost", last)
	}
}

// A flood of low and medium alerts (files changed while the agent was
// down) ahead of 40 webshells must not hide one of them in a grouped
// alert: a real webhook receiver names every critical detection.
func TestDispatcherNamesEveryCriticalAfterABurst(t *testing.T) {
	rc, hook, log := newTestWebhook(t, filepath.Join(t.TempDir(), "spool"))
	d := NewDispatcher(DispatcherOptions{
		// The webhook defaults of config: 10 a second after a burst of 100.
		Routes:        []Route{{Sink: hook, Rate: 10, Burst: 100}},
		GroupInterval: 100 * time.Millisecond,
		Logger:        log,
	})
	const burst, shells = 500, 40
	for i := range burst {
		d.Send(Alert{Kind: KindChangedWhileDown, Severity: finding.SeverityMedium,
			File: &File{Path: fmt.Sprintf("/var/www/shop/cache/%d.css", i)}})
	}
	want := map[string]bool{}
	for i := range shells {
		sev := finding.SeverityCritical
		if i%4 == 0 {
			sev = finding.SeverityHigh
		}
		a := testAlert(i, sev)
		a.ID = ""
		d.Send(a)
		want[a.File.Path] = true
	}
	closeDispatcher(t, d)

	accounted := 0
	for _, a := range rc.alertsReceived(t) {
		switch {
		case a.Kind == KindAlertsGrouped:
			accounted += a.Count
			if a.Severity >= finding.SeverityHigh || a.CountByKind[KindDetection] > 0 {
				t.Errorf("a group holds high or critical detections: %s", a.Message)
			}
		case a.Kind == KindDetection:
			accounted++
			delete(want, a.File.Path)
		default:
			accounted++
		}
	}
	if len(want) > 0 {
		t.Errorf("%d of %d webshells not named one by one at the receiver: %v", len(want), shells, want)
	}
	if accounted != burst+shells {
		t.Errorf("the receiver accounts for %d alerts, want %d", accounted, burst+shells)
	}
}

// newTestWebhook is a Webhook spooling in spoolDir and posting to a real
// receiver that takes every alert; the receiver stops with the test.
func newTestWebhook(t *testing.T, spoolDir string) (*receiver, *Webhook, *slog.Logger) {
	t.Helper()
	rc := newReceiver(nil)
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	log, _ := testLogger(t)
	hook, err := NewWebhook(WebhookOptions{URL: srv.URL, SpoolDir: spoolDir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return rc, hook, log
}

// A grouped alert lost for a sink is every alert it folded: the loss
// counts them, by kind, with their seqs, not one alert.
func TestLostGroupCountsWhatItFolded(t *testing.T) {
	d := NewDispatcher(DispatcherOptions{Routes: []Route{{Sink: newDispatchRecorder("hook")}}, Logger: slog.New(slog.DiscardHandler)})
	defer d.Close(context.Background())
	r := d.routes[0]
	n, starts := d.noteLoss(r, Alert{Kind: KindAlertsGrouped, Seq: 15, Count: 5, Seqs: "10-14",
		CountByKind: map[Kind]int{KindDetection: 3, KindScanFailed: 2}}, "queue full")
	if !starts || n.alert.Count != 5 || n.alert.CountByKind[KindDetection] != 3 || n.alert.CountByKind[KindScanFailed] != 2 {
		t.Fatalf("the notice of a lost group: %+v", n.alert)
	}
	d.noteLoss(r, Alert{Kind: KindDetection, Seq: 16}, "queue full")
	r.lossMu.Lock()
	defer r.lossMu.Unlock()
	if r.loss.count != 6 || r.loss.byKind[KindDetection] != 4 || r.loss.seqs.String() != "10-16" {
		t.Errorf("episode: %d lost, %v, seqs %s; want 6, 4 detections, 10-16", r.loss.count, r.loss.byKind, r.loss.seqs.String())
	}
}
