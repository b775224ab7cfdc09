package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// blindAlerts returns the blind alerts of state a receiver got: those
// that raise it, and those that resolve it.
func blindAlerts(r *receiver, state blind.State) (raised, resolved []alert.Alert) {
	for _, a := range r.all() {
		if a.Blind == nil || a.Blind.State != string(state) {
			continue
		}
		if a.Blind.Resolved {
			resolved = append(resolved, a)
		} else {
			raised = append(raised, a)
		}
	}
	return raised, resolved
}

// waitBlind waits until the receiver holds n raises and m resolutions of
// state, then checks the status and the metric say the state is on (when
// raises outnumber resolutions) or off.
func (h *harness) waitBlind(state blind.State, subject string, n, m int) (raised, resolved []alert.Alert) {
	h.t.Helper()
	testenv.Eventually(h.t, waitFor, fmt.Sprintf("%d raises and %d resolutions of %s", n, m, state), func() bool {
		raised, resolved = blindAlerts(h.recv, state)
		return len(raised) >= n && len(resolved) >= m
	})
	if len(raised) != n || len(resolved) != m {
		h.t.Fatalf("%s: %d raises and %d resolutions, want %d and %d: %+v %+v", state, len(raised), len(resolved), n, m, raised, resolved)
	}
	for _, a := range raised {
		if a.Blind.Subject != subject {
			h.t.Errorf("%s raised for %q, want %q", state, a.Blind.Subject, subject)
		}
	}
	on := n > m
	var st wire.Status
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := control.Call(ctx, h.controlSocket(), wire.CmdStatus, nil, &st); err != nil {
		h.t.Fatalf("status: %v", err)
	}
	listed := false
	for _, c := range st.Blind {
		if c.State == state && c.Subject == subject {
			listed = true
		}
	}
	if listed != on {
		h.t.Errorf("status lists %s %s: %v, want %v (%+v)", state, subject, listed, on, st.Blind)
	}
	if got, want := h.agent.metricsSnapshot().Blind[string(state)], map[bool]int{true: 1, false: 0}[on]; got != want {
		h.t.Errorf("shellwatch_blind{state=%q} = %d, want %d", state, got, want)
	}
	return raised, resolved
}

// The vault on its own filesystem, made full, then read-only (a bind
// mount remounted read-only, as systemd's ReadOnlyPaths makes): each time
// a webshell cannot be moved, vault_unwritable is raised once, and the
// probe resolves it once the filesystem takes files again.
func TestBlindVaultFullThenReadOnly(t *testing.T) {
	h := newHarness(t)
	disk := testenv.Tmpfs(t, 1<<20)
	vault := filepath.Join(h.state, "quarantine")
	if err := os.MkdirAll(vault, 0o700); err != nil {
		t.Fatal(err)
	}
	testenv.BindMount(t, disk, vault)
	h.opts.blindProbe = 50 * time.Millisecond
	h.start()
	h.waitReconciled()

	filler := testenv.FillDisk(t, disk)
	p := h.write("full.php", evalShell)
	if a := h.recv.waitAlert(p, alert.KindQuarantineFailed); a.Severity != finding.SeverityCritical {
		t.Errorf("quarantine_failed %s", a.Severity)
	}
	h.write("full2.php", systemShell)
	h.recv.waitAlert(filepath.Join(h.www, "full2.php"), alert.KindQuarantineFailed)
	raised, _ := h.waitBlind(blind.VaultUnwritable, vault, 1, 0)
	if raised[0].Kind != alert.KindBlind || raised[0].Severity != finding.SeverityHigh || !strings.Contains(raised[0].Detail, "no space left") {
		t.Errorf("raise: %s %s %q", raised[0].Kind, raised[0].Severity, raised[0].Detail)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	_, resolved := h.waitBlind(blind.VaultUnwritable, vault, 1, 1)
	if resolved[0].Kind != alert.KindBlindResolved || resolved[0].Severity != finding.SeverityLow || !resolved[0].Blind.Since.Equal(raised[0].Blind.Since) {
		t.Errorf("resolution: %s %s since %s, want blind_resolved low since %s", resolved[0].Kind, resolved[0].Severity, resolved[0].Blind.Since, raised[0].Blind.Since)
	}

	testenv.SetBindReadOnly(t, vault, true)
	p = h.write("ro.php", evalShell)
	h.recv.waitAlert(p, alert.KindQuarantineFailed)
	raised, _ = h.waitBlind(blind.VaultUnwritable, vault, 2, 1)
	if !strings.Contains(raised[1].Detail, "read-only file system") {
		t.Errorf("second raise detail %q", raised[1].Detail)
	}
	testenv.SetBindReadOnly(t, vault, false)
	h.waitBlind(blind.VaultUnwritable, vault, 2, 2)
	p = h.write("after.php", systemShell)
	h.checkQuarantined(h.recv.waitAlert(p, alert.KindDetection), p, systemShell)
}

// The state directory on a full disk: the baseline's commit fails,
// state_unwritable is raised once, and once there is room again the kept
// records are committed and it is resolved once.
func TestBlindStateDiskFull(t *testing.T) {
	h := newHarness(t)
	h.state = testenv.Tmpfs(t, 4<<20)
	h.start()
	h.waitReconciled()
	db := filepath.Join(h.state, "state.db")
	filler := testenv.FillDisk(t, h.state)
	n := 0
	testenv.Eventually(t, waitFor, "state_unwritable raised", func() bool {
		for range 50 {
			h.write(fmt.Sprintf("%s/page-%d.html", strings.Repeat("d", 80), n), "<p>hello</p>\n")
			n++
		}
		raised, _ := blindAlerts(h.recv, blind.StateUnwritable)
		return len(raised) > 0
	})
	raised, _ := h.waitBlind(blind.StateUnwritable, db, 1, 0)
	if !strings.Contains(raised[0].Detail, "no space left") {
		t.Errorf("raise detail %q", raised[0].Detail)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	h.waitBlind(blind.StateUnwritable, db, 1, 1)
	last := filepath.Join(h.www, strings.Repeat("d", 80), fmt.Sprintf("page-%d.html", n-1))
	testenv.Eventually(t, waitFor, "the records kept through the failure stored", func() bool {
		return h.agent.baseline.Record(last) != nil
	})
}

// A stopped journald: its socket stays and nobody serves it. The probe
// raises journald_unreachable (told through the webhook), and resolves it
// once a real journald serves the socket again, the resolution reaching
// that journald.
func TestBlindJournaldStopped(t *testing.T) {
	j := testenv.Journald(t)
	h := newHarness(t)
	sock := filepath.Join(h.dir, "journal.sock")
	if err := os.Symlink(alert.DefaultJournalSocket, sock); err != nil {
		t.Fatal(err)
	}
	h.opts.journalSocket = sock
	h.opts.blindProbe = 50 * time.Millisecond
	h.start()
	checkJournal(t, j, h.recv.waitAlert("", alert.KindAgentStarted))

	// journald stops: the socket file it bound is left, served by no one.
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	raised, _ := h.waitBlind(blind.JournaldUnreachable, sock, 1, 0)
	if !strings.Contains(raised[0].Detail, "connection refused") {
		t.Errorf("raise detail %q", raised[0].Detail)
	}

	// journald is back.
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(alert.DefaultJournalSocket, sock); err != nil {
		t.Fatal(err)
	}
	_, resolved := h.waitBlind(blind.JournaldUnreachable, sock, 1, 1)
	e := checkJournal(t, j, resolved[0])
	if got := string(testenv.FieldBytes(e, alert.JournalBlindState)); got != string(blind.JournaldUnreachable) {
		t.Errorf("journal %s = %q", alert.JournalBlindState, got)
	}
}

// startWithFlakyWebhook starts the agent with a webhook whose receiver
// (closed when the test ends) answers 503 to the requests up rejects, its
// alert_after 1s, and the harness's receiver as a second webhook that hears
// of it; it returns the flaky webhook's name.
func (h *harness) startWithFlakyWebhook(up func(*http.Request) bool) string {
	h.t.Helper()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if up(r) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
	}))
	h.t.Cleanup(hook.Close)
	h.hookURL = hook.URL + "/hook"
	h.webhookRate = "rate = 0.0\nalert_after = \"1s\""
	h.extraConfig = fmt.Sprintf("[[webhook]]\nurl = %q\nsecret_file = \"webhook.secret\"\nmin_severity = \"low\"\nrate = 0.0\n", h.recv.url())
	h.start()
	return "webhook " + h.hookURL
}

// A webhook whose receiver fails every attempt for longer than its
// alert_after: webhook_failing goes once to the other webhook, and
// blind_resolved once when the receiver takes alerts again.
func TestBlindWebhookFailing(t *testing.T) {
	h := newHarness(t)
	var up atomic.Bool
	name := h.startWithFlakyWebhook(func(*http.Request) bool { return up.Load() })
	raised, _ := h.waitBlind(blind.WebhookFailing, name, 1, 0)
	if !strings.Contains(raised[0].Detail, "503") {
		t.Errorf("raise detail %q", raised[0].Detail)
	}
	up.Store(true)
	h.waitBlind(blind.WebhookFailing, name, 1, 1)
}

// A reload that rebuilds a failing webhook (its headers changed: the same
// name, a new sink) resolves webhook_failing: the old sink's episode ended
// with it and the new one starts clean. The receiver takes only requests
// with the new header, so the old sink never recovers by itself.
func TestBlindWebhookFailingResolvedByRebuild(t *testing.T) {
	h := newHarness(t)
	name := h.startWithFlakyWebhook(func(r *http.Request) bool { return r.Header.Get("X-Fixed") == "yes" })
	h.waitBlind(blind.WebhookFailing, name, 1, 0)

	h.webhookRate += "\nheaders = { X-Fixed = \"yes\" }"
	h.writeConfig(h.hookURL)
	h.reload()
	h.waitReloads(1)
	_, resolved := h.waitBlind(blind.WebhookFailing, name, 1, 1)
	if !strings.Contains(resolved[0].Message, "reload") {
		t.Errorf("blind_resolved message %q does not say a reload rebuilt the sink", resolved[0].Message)
	}
}

// A reload that fails (a rule file that does not compile) raises
// reload_failed once, in the rules_reload_failed alert itself; a second
// failing reload says nothing more of it; the reload that works resolves
// it.
func TestBlindReloadFailed(t *testing.T) {
	h := newHarness(t)
	rules := filepath.Join(h.dir, "rules")
	if err := os.Mkdir(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	rule := filepath.Join(rules, "local.yar")
	good := "rule local_marker { strings: $a = \"local-marker-1\" condition: $a }\n"
	if err := os.WriteFile(rule, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	h.extraConfig = fmt.Sprintf("[rules]\npaths = [%q]\n", rules)
	h.start()
	if err := os.WriteFile(rule, []byte("rule broken { condition: \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.reload()
	raised, _ := h.waitBlind(blind.ReloadFailed, h.cfgPath, 1, 0)
	if raised[0].Kind != alert.KindReloadFailed {
		t.Errorf("raised by %s, want rules_reload_failed", raised[0].Kind)
	}
	h.reload()
	testenv.Eventually(t, waitFor, "a second rules_reload_failed", func() bool {
		n := 0
		for _, a := range h.recv.all() {
			if a.Kind == alert.KindReloadFailed {
				n++
			}
		}
		return n == 2
	})
	h.waitBlind(blind.ReloadFailed, h.cfgPath, 1, 0)
	if err := os.WriteFile(rule, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	h.reload()
	h.waitBlind(blind.ReloadFailed, h.cfgPath, 1, 1)
}
