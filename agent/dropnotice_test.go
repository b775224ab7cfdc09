package agent

import (
	"fmt"
	"net"
	"testing"

	"github.com/shellwatch/shellwatch/alert"
)

// A webhook whose receiver is down and whose spool is full drops low
// alerts and says so: its alerts_dropped notice goes through the
// dispatcher like every alert, to the other webhook (and journald), not
// only to journald behind the dispatcher's back.
func TestDropNoticeReachesTheOtherWebhook(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/hook"
	ln.Close() // nothing listens there any more: every delivery fails
	h := newHarness(t)
	h.extraConfig = fmt.Sprintf(`
[[webhook]]
url = %q
min_severity = "low"
max_spool = 2
`, down)
	h.start()
	// agent_started and one reloaded alert per SIGHUP, all low: past the
	// down webhook's spool of 2, they are dropped from it.
	for range 4 {
		h.reload()
	}
	got := h.recv.waitAlert("", alert.KindAlertsDropped)
	if got.Count < 1 || got.Severity.String() != "high" {
		t.Errorf("alerts_dropped with count %d severity %s, want at least 1, high", got.Count, got.Severity)
	}
	h.stop()
}
