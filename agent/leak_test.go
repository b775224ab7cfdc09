package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// TestRunLeavesNoGoroutine: an agent that ran — caught and quarantined a
// webshell, alerted through journald and a webhook (and followed it up
// from an access log), served its metrics and control socket, failed three reloads (rules that do not compile, alert
// sinks that cannot be built, a root that cannot be watched), reloaded with
// a new root and another access log — and was stopped leaves no goroutine behind.
func TestRunLeavesNoGoroutine(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	metricsAddr := freeAddr(t)
	// The access log is followed from the start; the last reload follows
	// another one instead, so the first follower is stopped.
	metricsConfig := fmt.Sprintf("[metrics]\nlisten = %q\n[[access_log]]\npath = %q\n", metricsAddr, filepath.Join(h.dir, "access.log"))
	h.extraConfig = metricsConfig
	rulesDir := filepath.Join(h.dir, "rules")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rulesDir, "broken.yar"), []byte("rule broken { condition: nosuchthing }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := testenv.RunningGoroutines()

	h.start()
	p := h.write("leak.php", evalShell)
	h.checkQuarantined(h.recv.waitAlert(p, alert.KindDetection), p, evalShell)
	scrape(t, metricsAddr)
	var st wire.Status
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := control.Call(ctx, h.controlSocket(), wire.CmdStatus, nil, &st); err != nil {
		t.Fatalf("status over the control socket: %v", err)
	}

	reloadFails := func(n int, extraConfig string) {
		t.Helper()
		h.extraConfig = extraConfig
		h.writeConfig(h.recv.url())
		h.reload()
		testenv.Eventually(t, waitFor, fmt.Sprintf("reload failure %d", n), func() bool {
			failed := 0
			for _, a := range h.recv.all() {
				if a.Kind == alert.KindReloadFailed {
					failed++
				}
			}
			return failed >= n
		})
	}
	reloadFails(1, metricsConfig+fmt.Sprintf("[rules]\npaths = [%q]\n", rulesDir))
	reloadFails(2, metricsConfig+fmt.Sprintf("[[webhook]]\nurl = %q\nca_file = %q\n", h.recv.url(), filepath.Join(h.dir, "no-such-ca.pem")))
	aFile := filepath.Join(h.dir, "a-file")
	if err := os.WriteFile(aFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	reloadFails(3, metricsConfig+fmt.Sprintf("\n[[watch]]\npath = %q\n", filepath.Join(aFile, "www")))

	second := filepath.Join(h.dir, "www2")
	if err := os.Mkdir(second, 0o755); err != nil {
		t.Fatal(err)
	}
	h.extraConfig = strings.Replace(metricsConfig, "access.log", "other-access.log", 1) + fmt.Sprintf("\n[[watch]]\npath = %q\n", second)
	h.writeConfig(h.recv.url())
	h.reload()
	h.recv.waitAlert("", alert.KindReloaded)
	h.stop()

	testenv.NoGoroutinesLeft(t, before, waitFor)
}

// TestFailedStartLeavesNoGoroutine: a start that fails, early or midway
// (with the sinks, the control socket or the metrics server already up),
// returns an error naming the cause and leaves no goroutine behind.
func TestFailedStartLeavesNoGoroutine(t *testing.T) {
	testenv.Journald(t)
	for _, tc := range []struct {
		name string
		// setup breaks the harness's config before the agent starts and
		// returns what the error must name.
		setup func(t *testing.T, h *harness) string
	}{
		{"second webhook unusable", func(t *testing.T, h *harness) string {
			// The first webhook is built, and runs, when the second fails.
			h.extraConfig = fmt.Sprintf("[[webhook]]\nurl = %q\nca_file = %q\n", h.recv.url(), filepath.Join(h.dir, "no-such-ca.pem"))
			return "webhook[1]"
		}},
		{"root below a regular file", func(t *testing.T, h *harness) string {
			file := filepath.Join(h.dir, "a-file")
			if err := os.WriteFile(file, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			h.www = filepath.Join(file, "www")
			return h.www
		}},
		{"control socket in use", func(t *testing.T, h *harness) string {
			busy, err := control.Listen(h.controlSocket(), control.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { busy.Close() })
			return "agent.control_socket"
		}},
		{"metrics address in use", func(t *testing.T, h *harness) string {
			busy, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { busy.Close() })
			h.extraConfig = fmt.Sprintf("[metrics]\nlisten = %q\n", busy.Addr())
			return "metrics.listen"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			want := tc.setup(t, h)
			h.writeConfig(h.recv.url())
			opts := h.options()
			opts.Signals = make(chan os.Signal) // never the process's own
			before := testenv.RunningGoroutines()

			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			err := Run(ctx, opts)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Run = %v, want an error naming %s", err, want)
			}
			testenv.NoGoroutinesLeft(t, before, waitFor)
		})
	}
}
