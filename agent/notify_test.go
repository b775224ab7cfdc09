package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// A systemd that stops reading its notify socket must not freeze the main
// loop: the agent still raises agent_started (sent right after READY=1),
// reloads, and stops on SIGTERM; once the socket is read again, READY=1
// reaches it.
func TestNotifySocketFullNeverBlocks(t *testing.T) {
	path, ln := testenv.FullNotifySocket(t)
	t.Setenv("NOTIFY_SOCKET", path)
	h := newHarness(t)
	h.sdNotify = true
	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)
	h.reload()
	h.recv.waitAlert("", alert.KindReloaded)
	shell := h.write("x.php", `<?php system($_GET["c"]); ?>`)
	h.recv.waitAlert(shell, alert.KindDetection)

	got := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			ln.SetReadDeadline(time.Now().Add(waitFor))
			n, err := ln.Read(buf)
			if err != nil {
				close(got)
				return
			}
			if s := string(buf[:n]); s != "FILLER=1" {
				got <- s
			}
		}
	}()
	testenv.Eventually(t, waitFor, "READY=1 at the notify socket once it is read", func() bool {
		for {
			select {
			case s := <-got:
				if strings.HasPrefix(s, "READY=1") {
					return true
				}
			default:
				return false
			}
		}
	})
	h.stop()
	ln.Close()
	for range got {
	}
}
