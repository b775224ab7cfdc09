package agent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// statusListsBlind reports whether the agent behind h's control socket
// lists the blind state (state, subject).
func (h *harness) statusListsBlind(state blind.State, subject string) bool {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var st wire.Status
	if err := control.Call(ctx, h.controlSocket(), wire.CmdStatus, nil, &st); err != nil {
		h.t.Fatalf("status: %v", err)
	}
	for _, c := range st.Blind {
		if c.State == state && c.Subject == subject {
			return true
		}
	}
	return false
}

// fs.inotify.max_user_watches reached for real, without lowering it for
// the machine (every other test shares root's budget): the agent runs in
// its own user namespace, whose watch limit (Linux 5.11+: a child
// namespace's limit below its parent's is the one that holds) is lowered
// below the folders of its root. watch_limit raises root_unwatched, in
// status; the limit raised again, the rescan watches every folder and
// resolves it. The machine's limit is the same before and after.
func TestBlindWatchLimitInUserNamespace(t *testing.T) {
	testenv.NeedUserNamespaceLimits(t)
	machine := testenv.WatchLimit(t)
	h := newHarness(t)
	const folders, limit = 60, 30
	for i := range folders {
		if err := os.Mkdir(filepath.Join(h.www, fmt.Sprintf("d%02d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h.agentConfig = `rescan_interval = "1s"`
	child := h.startChildWith(func(cmd *exec.Cmd) {
		testenv.InUserNamespace(cmd)
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", childWatchLimitEnv, limit))
	})
	defer child.stop(t)

	a := h.recv.waitAlert("", alert.KindWatchLimit)
	if a.Blind == nil || a.Blind.State != string(blind.RootUnwatched) || a.Blind.Subject != h.www {
		t.Fatalf("watch_limit carries blind %+v, want root_unwatched of %s", a.Blind, h.www)
	}
	if !strings.Contains(a.Detail+a.Message, "max_user_watches") {
		t.Errorf("watch_limit does not name the sysctl: %q %q", a.Message, a.Detail)
	}
	if !h.statusListsBlind(blind.RootUnwatched, h.www) {
		t.Errorf("status does not list root_unwatched %s", h.www)
	}
	if got := testenv.WatchLimit(t); got != machine {
		t.Fatalf("the machine's watch limit moved: %d, was %d", got, machine)
	}

	testenv.SetWatchLimitOf(t, child.cmd.Process.Pid, 10*folders)
	var raised, resolved []alert.Alert
	testenv.Eventually(t, waitFor, "root_unwatched resolved", func() bool {
		raised, resolved = blindAlerts(h.recv, blind.RootUnwatched)
		return len(resolved) > 0
	})
	if len(raised) != 1 || len(resolved) != 1 || resolved[0].Blind.Subject != h.www {
		t.Errorf("root_unwatched: %d raises and %d resolutions (%+v), want one of each for %s", len(raised), len(resolved), resolved, h.www)
	}
	if h.statusListsBlind(blind.RootUnwatched, h.www) {
		t.Errorf("status still lists root_unwatched %s once every folder is watched", h.www)
	}
	p := h.write(fmt.Sprintf("d%02d/late.php", folders-1), evalShell)
	h.recv.waitAlert(p, alert.KindDetection)
}
