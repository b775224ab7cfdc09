package agent

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// replaceFile writes content to a new file beside path and renames it over
// path, as an editor or a package manager does.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// selfChanges is how many changes of target the agent's watch of its own
// files has seen.
func (h *harness) selfChanges(target string) uint64 {
	h.agent.self.mu.Lock()
	defer h.agent.self.mu.Unlock()
	if h.agent.self.w == nil {
		return 0
	}
	return h.agent.self.w.Changes(target)
}

// waitReloads waits until the receiver holds n reloaded alerts.
func (h *harness) waitReloads(n int) {
	h.t.Helper()
	testenv.Eventually(h.t, waitFor, fmt.Sprintf("%d reloaded alerts", n), func() bool {
		got := 0
		for _, a := range h.recv.all() {
			if a.Kind == alert.KindReloaded {
				got++
			}
		}
		return got >= n
	})
}

// The config file changed on disk outside a reload (an editor replaces
// it): self_changed, critical, raised once however often it changes, in
// status and the metric; the reload that reads it resolves it. Reloading
// again reads it once more and raises nothing: the next raise is the
// chmod done after that reload (inotify tells one watch's events in
// order, so a raise for the reload's reading would come first).
func TestBlindSelfChangedConfig(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)
	cfg, err := os.ReadFile(h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, h.cfgPath, string(cfg)+"\n# changed\n")
	raised, _ := h.waitBlind(blind.SelfChanged, h.cfgPath, 1, 0)
	if raised[0].Kind != alert.KindBlind || raised[0].Severity != finding.SeverityCritical || !strings.Contains(raised[0].Message, "config file") {
		t.Errorf("raise: %s %s %q", raised[0].Kind, raised[0].Severity, raised[0].Message)
	}
	before := h.selfChanges(h.cfgPath)
	replaceFile(t, h.cfgPath, string(cfg)) // once more: told already (one event, its rename)
	// The reload resolves only what did not change while it read: let the
	// watch hear this write first, as an operator's reload comes after
	// the edit.
	testenv.Eventually(t, waitFor, "the in-place write seen", func() bool { return h.selfChanges(h.cfgPath) > before })
	h.reload()
	h.waitReloads(1)
	h.waitBlind(blind.SelfChanged, h.cfgPath, 1, 1)

	h.reload()
	h.waitReloads(2)
	if err := os.Chmod(h.cfgPath, 0o644); err != nil {
		t.Fatal(err)
	}
	raised, _ = h.waitBlind(blind.SelfChanged, h.cfgPath, 2, 1)
	if !strings.HasPrefix(raised[1].Detail, "CHMOD ") {
		t.Errorf("second raise %q, want the chmod's: the reload's own reading raised it", raised[1].Detail)
	}
}

// A rule file added below a rules.paths folder: self_changed for the
// folder; the reload that compiles it resolves it.
func TestBlindSelfChangedRules(t *testing.T) {
	h := newHarness(t)
	rules := filepath.Join(h.dir, "rules")
	if err := os.MkdirAll(filepath.Join(rules, "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	rule := "rule local_marker { strings: $a = \"local-marker-1\" condition: $a }\n"
	if err := os.WriteFile(filepath.Join(rules, "local", "a.yar"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	h.extraConfig = fmt.Sprintf("[rules]\npaths = [%q]\n", rules)
	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)
	replaceFile(t, filepath.Join(rules, "local", "b.yar"), strings.ReplaceAll(rule, "local_marker", "other_marker"))
	raised, _ := h.waitBlind(blind.SelfChanged, rules, 1, 0)
	if !strings.Contains(raised[0].Detail, "b.yar") || raised[0].Severity != finding.SeverityCritical {
		t.Errorf("raise: %s %q", raised[0].Severity, raised[0].Detail)
	}
	h.reload()
	h.waitBlind(blind.SelfChanged, rules, 1, 1)
}

// The agent's binary replaced on disk (the test binary cannot be: a temp
// file stands for it): self_changed, and no reload resolves it — the
// running agent is still the old binary.
func TestBlindSelfChangedBinary(t *testing.T) {
	h := newHarness(t)
	exe := filepath.Join(h.dir, "bin", "shellwatch")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("\x7fELF old"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.opts.selfExe = exe
	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)
	replaceFile(t, exe, "\x7fELF new")
	raised, _ := h.waitBlind(blind.SelfChanged, exe, 1, 0)
	if !strings.Contains(raised[0].Message, "binary") || !strings.Contains(raised[0].Message, "restarted") {
		t.Errorf("raise message %q", raised[0].Message)
	}
	h.reload()
	h.waitReloads(1)
	h.waitBlind(blind.SelfChanged, exe, 1, 0)
}

// The webhook's secret_file signs every alert: made readable to others, or
// swapped, it lets an attacker forge alerts or break their verification.
// Changed on disk it is self_changed, named by its key, with its mode and
// owner now and never its content nor a hash of it; a reload signs with
// what is on disk now (new sinks: the receiver, rotated too, takes the
// resolution) and resolves it.
func TestBlindSelfChangedWebhookSecret(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)
	path := filepath.Join(h.dir, "webhook.secret")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	raised, _ := h.waitBlind(blind.SelfChanged, path, 1, 0)
	if !strings.Contains(raised[0].Message, "webhook[0].secret_file") || raised[0].Severity != finding.SeverityCritical {
		t.Errorf("raise: %s %q", raised[0].Severity, raised[0].Message)
	}
	if d := raised[0].Detail; !strings.HasPrefix(d, "CHMOD ") || !strings.Contains(d, "now -rw-r--r-- root:root (0:0)") {
		t.Errorf("raise detail %q, want the chmod and the mode and owner now", d)
	}

	rotated := []byte("rotated-hmac-key-" + t.Name())
	before := h.selfChanges(path)
	replaceFile(t, path, string(rotated)+"\n")
	testenv.Eventually(t, waitFor, "the rotation seen", func() bool { return h.selfChanges(path) > before })
	h.recv.rotate(rotated)
	h.reload()
	h.waitReloads(1)
	h.waitBlind(blind.SelfChanged, path, 1, 1)

	for _, secret := range [][]byte{h.secret, rotated} {
		for _, told := range []string{string(secret), fmt.Sprintf("%x", sha256.Sum256(secret)),
			fmt.Sprintf("%x", sha256.Sum256(append(secret, '\n')))} {
			for _, a := range h.recv.all() {
				if js, _ := json.Marshal(a); strings.Contains(string(js), told) {
					t.Errorf("alert %s %s tells the secret or its hash %q: %s", a.Kind, a.ID, told, js)
				}
			}
		}
	}
}
