package agent

import (
	"os"
	"testing"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// The attacker's own file stays new (issue 10, item 12): a clean file
// dropped while the agent runs, and a shell appended to it after the
// agent's short memory of new files is gone (here: a restart; in the
// attack, ten minutes), is moved to the vault like a new file, not only
// alerted.
func TestAppearedFileStaysNew(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.waitReconciled()
	p := h.write("notes.php", benignPHP)
	testenv.Eventually(t, waitFor, "notes.php recorded as appeared", func() bool {
		r := h.agent.baseline.Record(p)
		return r != nil && r.Appeared
	})
	h.stop()

	h.start()
	h.waitReconciled()
	if h.agent.baseline.IsBorn(p, 0, 0, h.agent.startedAt) {
		t.Fatal("the restarted agent still remembers notes.php as seen appearing: the test proves nothing")
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(systemShell); err != nil {
		t.Fatal(err)
	}
	f.Close()
	a := h.recv.waitAlert(p, alert.KindDetection)
	h.checkQuarantined(a, p, benignPHP+systemShell)
}
