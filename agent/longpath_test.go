package agent

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/walk"
)

// A web user can nest folders without limit with relative mkdir: a file's
// path may be far past PATH_MAX (4 KiB, what one system call takes) and
// past bbolt's 32 KiB keys. Such a folder is no hiding place: a webshell
// dropped at its bottom is scanned, alerted and quarantined under its full
// path, a harmless file there is recorded (under a derived key), and a file
// written after them is still recorded: no record blocks the baseline's
// writes.
func TestDeepTreePastKeySize(t *testing.T) {
	h := newHarness(t)
	h.agentConfig = `rescan_interval = "1s"`
	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)

	name := strings.Repeat("d", 200)
	const depth = 170 // about 34,000 bytes of path
	t.Cleanup(func() { testenv.RemoveDeep(t, h.www, name, depth, "ok.txt", "x.php") })
	bottom := testenv.MkdirDeep(t, h.www, name, depth)
	dir := h.www + strings.Repeat("/"+name, depth)
	if len(dir) <= 32<<10 {
		t.Fatalf("the tree's path is %d bytes, not past bbolt's keys", len(dir))
	}
	testenv.WriteAt(t, bottom, "ok.txt", unix.O_CREAT|unix.O_EXCL, "harmless\n")
	testenv.WriteAt(t, bottom, "x.php", unix.O_CREAT|unix.O_EXCL, evalShell)
	unix.Close(bottom)

	shell, okFile := dir+"/x.php", dir+"/ok.txt"
	a := h.recv.waitAlert(shell, alert.KindDetection)
	if a.Action == nil || a.Action.Taken != alert.ActionQuarantined || a.Action.VaultID == "" {
		t.Fatalf("alert for the deep shell: action %+v, want quarantined", a.Action)
	}
	if _, err := walk.Lstat(shell); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the deep shell is still in the web root (lstat: %.200v)", err)
	}
	e, err := h.vault().Get(a.Action.VaultID)
	if err != nil {
		t.Fatalf("vault entry %s: %.300v", a.Action.VaultID, err)
	}
	if e.Path != shell || e.SHA256 != sha256hex(evalShell) || !e.Verified {
		t.Errorf("vault entry for %d bytes of path holds %d bytes of path, sha256 %s, verified %v", len(shell), len(e.Path), e.SHA256, e.Verified)
	}
	waitScanned(t, h, okFile, "harmless\n")

	after := h.write("after.php", "<?php echo 'after'; ?>\n")
	waitScanned(t, h, after, "<?php echo 'after'; ?>\n")
	h.stop()

	// What the agent committed, read back from the file.
	db, err := state.Open(filepath.Join(h.state, "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range []string{after, okFile} {
		if f, ok, err := db.Get(p); err != nil || !ok || f.Path != p {
			t.Errorf("state DB: record of %.80q… (%d bytes): %v, %.300v", p, len(p), ok, err)
		}
	}
}
