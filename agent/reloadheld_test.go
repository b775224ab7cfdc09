package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// gatedReceiver is a real HTTP endpoint in front of a harness receiver: it
// refuses every request with 503 while down, and notes the header named
// header of each request it passes on, by alert id.
type gatedReceiver struct {
	srv    *httptest.Server
	up     atomic.Bool
	header string

	mu      sync.Mutex
	headers map[string][]string // alert id → header value of each request passed on
}

func newGatedReceiver(t *testing.T, recv *receiver, header string) *gatedReceiver {
	g := &gatedReceiver{header: header, headers: map[string][]string{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.up.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		g.mu.Lock()
		id := r.Header.Get(alert.AlertIDHeader)
		g.headers[id] = append(g.headers[id], r.Header.Get(g.header))
		g.mu.Unlock()
		recv.ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// headersOf returns the header of each request that carried alert id.
func (g *gatedReceiver) headersOf(id string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.headers[id]...)
}

// A reload that would rebuild the alert sinks while a webhook holds alerts
// in memory (its spool is on a read-only mount, its receiver refuses)
// fails, and says why; the running sinks keep the alerts and deliver them,
// once, when the receiver takes them. With the spool writable again and
// nothing held, the same reload goes through. Without the refusal the
// reload closes the webhook and the held detection is lost: the test then
// fails on the reload (it went through) and on the detection (it never
// arrives).
func TestReloadKeepsSinksHoldingAlertsInMemory(t *testing.T) {
	j := testenv.Journald(t)
	h := newHarness(t)
	const header = "X-Shellwatch-Test"
	gate := newGatedReceiver(t, h.recv, header)
	gate.up.Store(true)
	h.hookURL = gate.srv.URL + "/hook"

	// The spool on a bind mount of its own, made read-only later. Mounted
	// before the start, so that it is unmounted after the agent stopped.
	spool := (&config.Config{Agent: config.Agent{StateDir: h.state}, Webhook: []config.Webhook{{URL: h.hookURL}}}).SpoolDir(0)
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	testenv.BindMount(t, spool, spool)

	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)
	testenv.Eventually(t, waitFor, "the spool empty after agent_started was delivered", func() bool {
		return len(spoolRecords(t, spool)) == 0
	})

	// The receiver down and the spool read-only: the detection is held in
	// memory only.
	gate.up.Store(false)
	testenv.SetBindReadOnly(t, spool, true)
	p := h.write("held.php", evalShell)
	detection := j.WaitEntries(t, waitFor, 1, "SHELLWATCH_PATH="+p, "SHELLWATCH_KIND="+string(alert.KindDetection))[0]
	detectionID := string(testenv.FieldBytes(detection, alert.JournalAlertID))
	running := h.agent.current.Load()
	testenv.Eventually(t, waitFor, "the detection held in memory by the webhook", func() bool {
		return running.webhooks[0].Stats().Held > 0
	})

	// A reload that changes the webhook (a new header) must not close it.
	h.webhookRate = "rate = 0.0\nheaders = { " + header + " = \"reloaded\" }"
	h.writeConfig(h.hookURL)
	h.reload()
	// The reload is over once it alerted, failed or not.
	var st wire.Status
	testenv.Eventually(t, waitFor, "the reload's alert", func() bool {
		st = status(t, h)
		return slices.ContainsFunc(st.LastAlerts, func(r wire.RecentAlert) bool {
			return r.Kind == alert.KindReloadFailed || r.Kind == alert.KindReloaded
		})
	})
	if ok := h.agent.metrics.reloadsOK.Load(); ok != 0 {
		t.Errorf("a reload that changes the sinks went through while the webhook held alerts in memory (%d reloads ok)", ok)
	}
	if g := h.agent.current.Load(); g != running {
		t.Error("the failed reload swapped in a new generation")
	} else if held := g.webhooks[0].Stats().Held; held == 0 {
		t.Error("the running webhook holds nothing after the failed reload: the held alerts are gone")
	}
	// Why, in the blind state and in the alert, which journald has (the
	// webhook holds it too).
	found := false
	for _, c := range st.Blind {
		if c.State == blind.ReloadFailed {
			found = true
			if !strings.Contains(c.Detail, spoolNotWritable) || !strings.Contains(c.Detail, "reload again") {
				t.Errorf("reload_failed blind detail %q does not say the webhook holds alerts in memory", c.Detail)
			}
		}
	}
	if !found {
		t.Errorf("status lists no reload_failed: %+v", st.Blind)
	}
	failedID := ""
	for _, r := range st.LastAlerts {
		if r.Kind == alert.KindReloadFailed {
			failedID = r.ID
			if !strings.Contains(r.Message, spoolNotWritable) {
				t.Errorf("reload_failed says %q, want why: %q", r.Message, spoolNotWritable)
			}
		}
	}
	if failedID == "" {
		t.Errorf("no reload_failed among the last alerts: %+v", st.LastAlerts)
	} else {
		e := j.WaitEntries(t, waitFor, 1, alert.JournalAlertID+"="+failedID)[0]
		if msg := string(testenv.FieldBytes(e, alert.JournalMessage)); !strings.Contains(msg, spoolNotWritable) {
			t.Errorf("journal MESSAGE of reload_failed %q, want why: %q", msg, spoolNotWritable)
		}
	}

	// The receiver takes alerts again: the held detection arrives from the
	// running sinks (no new header).
	gate.up.Store(true)
	a := h.recv.waitAlert(p, alert.KindDetection)
	if a.ID != detectionID {
		t.Errorf("the webhook delivered detection %s, journald told %s", a.ID, detectionID)
	}
	if got := gate.headersOf(detectionID); len(got) != 1 || got[0] != "" {
		t.Errorf("the detection came with %s %q, want once from the running sinks (without it)", header, got)
	}

	// The spool written again and nothing held: the same reload goes
	// through, and the new sinks send the new header.
	testenv.SetBindReadOnly(t, spool, false)
	testenv.Eventually(t, waitFor, "nothing held in memory", func() bool {
		return running.webhooks[0].Stats().Held == 0
	})
	h.reload()
	reloaded := h.recv.waitAlert("", alert.KindReloaded)
	if got := gate.headersOf(reloaded.ID); len(got) == 0 || got[0] != "reloaded" {
		t.Errorf("reloaded came with %s %q, want \"reloaded\" from the new sinks", header, got)
	}
	h.stop()

	// Exactly once: one delivery, and nothing left in the spool that a
	// next start would deliver again.
	n := 0
	for _, got := range h.recv.all() {
		if got.ID == detectionID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the held detection was delivered %d times, want once", n)
	}
	if left := spoolRecords(t, spool); len(left) != 0 {
		t.Errorf("the spool holds %q after the stop, want nothing", left)
	}
}

// spoolNotWritable is what the refused reload's message says.
const spoolNotWritable = "alerts in memory, their spool not writable"

// spoolRecords lists the alert files of a spool folder.
func spoolRecords(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// status asks the agent's control socket for its status.
func status(t *testing.T, h *harness) wire.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var st wire.Status
	if err := control.Call(ctx, h.controlSocket(), wire.CmdStatus, nil, &st); err != nil {
		t.Fatalf("status: %v", err)
	}
	return st
}
