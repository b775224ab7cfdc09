package alert

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// An operator whose only sink is a webhook at min_severity "critical"
// must hear that its critical alerts were lost. Here its spool's disk is
// full and its receiver down, so the alerts wait in memory, past MaxHeld
// some are dropped, and the webhook's alerts_dropped notice goes through
// the dispatcher like any alert: it must pass the webhook's own
// min_severity and reach its real receiver once the receiver is up.
func TestCriticalOnlyWebhookHearsItsOwnDrops(t *testing.T) {
	disk := testenv.Tmpfs(t, 256<<10)
	spoolDir := filepath.Join(disk, "spool")
	rc, url := newSwitchedReceiver(t)
	rc.goDown()
	log, _ := testLogger(t)

	var d *Dispatcher
	var dReady sync.WaitGroup
	dReady.Add(1)
	hook, err := NewWebhook(WebhookOptions{URL: url, SpoolDir: spoolDir, Logger: log, MaxHeld: 2,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		OnNotice: func(_ *Webhook, a Alert) bool { dReady.Wait(); return d.Relay(a) }})
	if err != nil {
		t.Fatal(err)
	}
	hook.dropNoticeEvery = time.Hour // the test flushes the drops when the disk is back
	d = NewDispatcher(DispatcherOptions{Routes: []Route{{Sink: hook, MinSeverity: finding.SeverityCritical}}, Logger: log})
	dReady.Done()
	t.Cleanup(func() { d.Close(context.Background()) }) // before the unmount

	filler := testenv.FillDisk(t, disk)
	const shells = 5
	for i := range shells {
		a := testAlert(i, finding.SeverityCritical)
		a.ID = ""
		d.Send(a)
	}
	// The webhook takes the webshells and its own alerts_at_risk, critical
	// as they are.
	testenv.Eventually(t, waitTimeout, "every webshell and the notice handed to the webhook, some dropped from its memory", func() bool {
		return d.Stats()[0].Sent == shells+1 && hook.Stats().Dropped > 0
	})
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, "the held alerts written to the spool", func() bool { return hook.Stats().Held == 0 })
	dropped := hook.Stats().Dropped
	hook.flushDrops() // what reportDrops does dropNoticeEvery after a drop

	rc.up.Store(true)
	testenv.Eventually(t, waitTimeout, "alerts_dropped at the critical-only webhook's receiver", func() bool {
		return len(alertsOfKind(t, rc.receiver, KindAlertsDropped)) > 0
	})
	got := alertsOfKind(t, rc.receiver, KindAlertsDropped)
	// What was dropped from memory is webshells, and may be the webhook's
	// own alerts_at_risk too, which waits there like any alert.
	if len(got) != 1 || got[0].Severity != finding.SeverityCritical || uint64(got[0].Count) != dropped ||
		got[0].CountByKind[KindDetection] == 0 ||
		got[0].CountByKind[KindDetection]+got[0].CountByKind[KindAlertsAtRisk] != int(dropped) {
		t.Errorf("receiver got %+v, want one critical alerts_dropped counting the %d alerts dropped, webshells among them", got, dropped)
	}
}

// The dispatcher's notices of a sink that loses alerts are as severe as
// what it lost: a sink that takes critical alerts only and loses some
// (its queue full while it hangs) hears the count when it takes alerts
// again, and a sink at min_severity "critical" hears when another one
// starts losing critical alerts. Losing low alerts only says high
// (TestDispatcherHungSinkNeverBlocksSend).
func TestDispatcherLossNoticeAsSevereAsWhatWasLost(t *testing.T) {
	hung, other := newDispatchRecorder("hung"), newDispatchRecorder("other")
	hung.release = make(chan struct{})
	const queue = 2
	d := NewDispatcher(DispatcherOptions{
		Routes: []Route{
			{Sink: hung, MinSeverity: finding.SeverityCritical},
			{Sink: other, MinSeverity: finding.SeverityCritical},
		},
		QueueSize: queue,
		Logger:    slog.New(slog.DiscardHandler),
	})
	// Each alert is sent once the other sink has the ones before it: its
	// queue is as small, and it must not lose any.
	otherWants := 0
	send := func(i int) {
		a := testAlert(i, finding.SeverityCritical)
		a.ID = ""
		d.Send(a)
		otherWants++
		if i == queue+1 {
			otherWants++ // the notice that the hung sink loses alerts
		}
		other.waitFor(t, otherWants)
	}
	send(0)
	testenv.Eventually(t, waitTimeout, "the hung sink's Deliver to be entered", func() bool {
		hung.mu.Lock()
		defer hung.mu.Unlock()
		return hung.entered == 1
	})
	for i := 1; i <= queue+1; i++ {
		send(i) // the last one finds the queue full of critical alerts
	}
	var notices []Alert
	for _, a := range other.got() {
		if a.Kind == KindAlertsDropped {
			notices = append(notices, a)
		}
	}
	if len(notices) != 1 || notices[0].Severity != finding.SeverityCritical {
		t.Errorf("the other critical-only sink got notices %+v, want one critical alerts_dropped", notices)
	}

	close(hung.release)
	hung.waitFor(t, 1+queue+1) // the webshells it kept, and the count
	closeDispatcher(t, d)
	got := hung.got()
	if last := got[len(got)-1]; last.Kind != KindAlertsDropped || last.Severity != finding.SeverityCritical || last.Count != 1 {
		t.Errorf("the recovered critical-only sink's last alert is %+v, want a critical alerts_dropped counting 1", last)
	}
}

// A sink that starts losing low alerts and then loses critical ones must
// say so at once to a sink that takes critical alerts only: the first
// notice of the episode is high (what it lost first), and a critical-only
// sink would otherwise hear nothing until the count when the losing sink
// recovers. Here a real journald socket that nobody reads loses alerts, and
// two webhooks with real receivers, one at high, one at critical, hear of
// it: one more notice, critical, when the first critical alert is lost,
// and none for the second.
func TestDispatcherLossNoticeRisesWithWhatIsLost(t *testing.T) {
	hung := newHungJournald(t)
	highRC, highHook, log := newTestWebhook(t, filepath.Join(t.TempDir(), "high-spool"))
	critRC, critHook, _ := newTestWebhook(t, filepath.Join(t.TempDir(), "critical-spool"))
	journald := NewJournald(JournaldOptions{Socket: hung.path, Timeout: 50 * time.Millisecond})
	d := NewDispatcher(DispatcherOptions{
		Routes: []Route{
			{Sink: journald},
			{Sink: highHook, MinSeverity: finding.SeverityHigh},
			{Sink: critHook, MinSeverity: finding.SeverityCritical},
		},
		QueueSize: 4,
		Logger:    log,
	})
	t.Cleanup(func() { d.Close(context.Background()) })
	losses := func() map[Kind]int {
		r := d.routes[0]
		r.lossMu.Lock()
		defer r.lossMu.Unlock()
		if r.loss == nil {
			return nil
		}
		return maps.Clone(r.loss.byKind)
	}

	// Low alerts, one at a time, until journald loses one: its socket
	// takes a few, then the write times out. It stays hung: the episode
	// goes on until the test drains the socket.
	for i := 1; d.Stats()[0].Errors == 0; i++ {
		if i == 1000 {
			t.Fatal("journald took 1000 alerts that nobody reads")
		}
		a := testAlert(i, finding.SeverityLow)
		a.ID, a.Kind = "", KindScanFailed
		d.Send(a)
		testenv.Eventually(t, waitTimeout, "journald to take or lose the alert", func() bool {
			st := d.Stats()[0]
			return st.Sent+st.Errors == uint64(i)
		})
	}
	testenv.Eventually(t, waitTimeout, "the high notice at the high sink", func() bool {
		return len(alertsOfKind(t, highRC, KindAlertsDropped)) == 1
	})
	critical := func(i int) {
		a := testAlert(i, finding.SeverityCritical)
		a.ID = ""
		d.Send(a)
		testenv.Eventually(t, waitTimeout, fmt.Sprintf("critical alert %d lost for journald", i), func() bool {
			return losses()[KindDetection] == i
		})
	}
	critical(1)
	testenv.Eventually(t, waitTimeout, "a critical notice at the critical-only sink", func() bool {
		return len(alertsOfKind(t, critRC, KindAlertsDropped)) == 1
	})
	critical(2) // no third notice: critical was told already

	hung.drain(t)
	back := testAlert(3, finding.SeverityLow) // journald takes it: the episode ends
	back.ID, back.Kind = "", KindScanFailed
	d.Send(back)
	// Each notice with the detections it counts: the rise names the one
	// lost, the count both.
	counted := func(a Alert) string { return a.Severity.String() + " " + strconv.Itoa(a.CountByKind[KindDetection]) }
	if got, want := heardOnce(t, critRC, KindAlertsDropped, 2, "the count at the critical-only sink", counted), []string{"critical 1", "critical 2"}; !slices.Equal(got, want) {
		t.Errorf("the critical-only sink heard %q, want %q", got, want)
	}
	if got, want := heardOnce(t, highRC, KindAlertsDropped, 3, "the count at the high sink", counted), []string{"high 0", "critical 1", "critical 2"}; !slices.Equal(got, want) {
		t.Errorf("the high sink heard %q, want %q", got, want)
	}
	if rise := alertsOfKind(t, critRC, KindAlertsDropped)[0]; !strings.Contains(rise.Message, "now loses critical alerts too") {
		t.Errorf("the rise says %q", rise.Message)
	}
	if st := d.Stats()[0]; st.LossEpisodes != 1 {
		t.Errorf("journald route stats %+v, want one episode", st)
	}
}
