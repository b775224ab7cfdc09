package agent

import (
	"fmt"
	"net"
	"path/filepath"
	"testing"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/finding"
)

// A journald that stops reading must not stop detection: with the
// journald socket full and nobody reading it, every webshell dropped is
// still quarantined and reaches the webhook, and the webhook hears that
// journald loses alerts.
func TestHungJournaldDoesNotStopQuarantine(t *testing.T) {
	h := newHarness(t)
	socket := filepath.Join(h.dir, "journal.socket")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() // never read: journald hangs
	h.opts.journalSocket = socket
	h.start()

	const shells = 40 // far more than the socket's queue holds
	for i := range shells {
		path := h.write(fmt.Sprintf("up/%d.php", i), fmt.Sprintf("%s// %d\n", evalShell, i))
		a := h.recv.waitAlert(path, alert.KindDetection)
		h.checkQuarantined(a, path, fmt.Sprintf("%s// %d\n", evalShell, i))
	}
	notice := h.recv.waitAlert("", alert.KindAlertsDropped)
	// journald lost critical detections: the notice is as severe.
	if want := alert.LossSeverity(finding.SeverityCritical); notice.Severity != want {
		t.Errorf("alerts_dropped of severity %s, want %s", notice.Severity, want)
	}
	lost := map[string]uint64{}
	for _, s := range h.agent.metricsSnapshot().Sinks {
		lost[s.Sink] = s.Dropped + s.Failed
	}
	if lost["journald"] == 0 || lost["0"] != 0 {
		t.Errorf("sinks lost %v, want journald's losses counted and none for the webhook", lost)
	}
	h.stop()
}
