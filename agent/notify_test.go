package agent

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// fullNotifySocket is a notify socket, as systemd's, that nobody reads,
// filled until a write would block.
func fullNotifySocket(t *testing.T) (path string, ln *net.UnixConn) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	for n := 0; ; n++ {
		err := unix.Send(fd, []byte("FILLER=1"), unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			if n == 0 {
				t.Fatal("the notify socket was full before it was filled")
			}
			return path, ln
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A systemd that stops reading its notify socket must not freeze the main
// loop: the agent still raises agent_started (sent right after READY=1),
// reloads, and stops on SIGTERM; once the socket is read again, READY=1
// reaches it.
func TestNotifySocketFullNeverBlocks(t *testing.T) {
	path, ln := fullNotifySocket(t)
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

// send never waits, however full the socket: the queue keeps the latest
// states and counts what it dropped.
func TestNotifierDropsOldestWhenFull(t *testing.T) {
	path, ln := fullNotifySocket(t)
	n := newNotifier(path)
	for i := range 3 * notifyQueue {
		n.send("STATUS=" + string(rune('a'+i%26)))
	}
	n.mu.Lock()
	queued, dropped := len(n.queue), n.dropped
	n.mu.Unlock()
	if queued > notifyQueue || dropped < 3*notifyQueue-notifyQueue-1 {
		t.Errorf("after %d sends to a full socket: %d queued, %d dropped; want at most %d queued", 3*notifyQueue, queued, dropped, notifyQueue)
	}
	// A socket that goes away fails the writes at once: the flush ends.
	ln.Close()
	n.flushed.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.busy || len(n.queue) != 0 {
		t.Errorf("after the socket went away: busy %v, %d queued", n.busy, len(n.queue))
	}
}
