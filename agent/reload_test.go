package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// reloadWithNewRoot adds a second root to the config, reloads, and waits
// until the reload walks it (walking closed by the rootsWalking hook).
func reloadWithNewRoot(t *testing.T, h *harness, walking <-chan struct{}) string {
	t.Helper()
	second := filepath.Join(h.dir, "www2")
	if err := os.MkdirAll(second, 0o755); err != nil {
		t.Fatal(err)
	}
	h.extraConfig = fmt.Sprintf("[[watch]]\npath = %q\n", second)
	h.writeConfig(h.recv.url())
	h.reload()
	select {
	case <-walking:
	case <-time.After(waitFor):
		t.Fatal("the reload never started watching the new root")
	}
	return second
}

// countNotes counts the notifications that start with want.
func countNotes(h *harness, want string) int {
	n := 0
	for _, s := range h.notifications() {
		if strings.HasPrefix(s, want) {
			n++
		}
	}
	return n
}

// A reload that adds a root waits for the new root's walk before it swaps
// anything in; meanwhile the main loop keeps serving systemd's watchdog and
// the control socket (a walk of a large root must not get the agent killed
// by WatchdogSec), and the old root stays watched. Then the new root is
// watched too.
func TestReloadWalksNewRootsBesideTheMainLoop(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", fmt.Sprint(os.Getpid()))
	h := newHarness(t)
	walking, release := make(chan struct{}), make(chan struct{})
	h.hooks = func(a *Agent) {
		a.hooks.rootsWalking = func(ctx context.Context) {
			close(walking)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	}
	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)

	second := reloadWithNewRoot(t, h, walking)
	// The new root's walk is held: the loop must go on.
	before := countNotes(h, "WATCHDOG=1")
	testenv.Eventually(t, waitFor, "watchdog pings while the new root is walked", func() bool {
		return countNotes(h, "WATCHDOG=1") >= before+3
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var st wire.Status
	if err := control.Call(ctx, h.controlSocket(), wire.CmdStatus, nil, &st); err != nil {
		t.Fatalf("status while a reload walks a new root: %v", err)
	}
	if len(st.Roots) != 1 {
		t.Errorf("status lists %d roots before the new one is walked, want the old one only", len(st.Roots))
	}
	old := h.write("old-root.php", evalShell)
	h.recv.waitAlert(old, alert.KindDetection)
	if _, ok := findKind(h.recv.all(), alert.KindReloaded); ok {
		t.Error("reloaded alerted before the new root was watched")
	}

	close(release)
	h.recv.waitAlert("", alert.KindReloaded)
	p := filepath.Join(second, "new-root.php")
	if err := os.WriteFile(p, []byte(evalShell), 0o644); err != nil {
		t.Fatal(err)
	}
	h.recv.waitAlert(p, alert.KindDetection)
	h.stop()
}

// A stop while a reload waits for a new root's walk ends the reload
// without swapping anything in and without a reload failure alert.
func TestStopDuringReloadWalk(t *testing.T) {
	h := newHarness(t)
	walking := make(chan struct{})
	h.hooks = func(a *Agent) {
		a.hooks.rootsWalking = func(ctx context.Context) {
			close(walking)
			<-ctx.Done()
		}
	}
	h.start()
	reloadWithNewRoot(t, h, walking)
	h.stop()
	if a, ok := findKind(h.recv.all(), alert.KindReloadFailed); ok {
		t.Errorf("a stop during a reload alerted %q", a.Message)
	}
	if _, ok := findKind(h.recv.all(), alert.KindAgentStopping); !ok {
		t.Error("no agent_stopping alert")
	}
}
