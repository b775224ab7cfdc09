package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/scanner"
	"github.com/shellwatch/shellwatch/watcher"
)

// TestDrops drops webshells into a watched root every way an attacker
// would, and checks each one end to end: a journald entry with the
// documented fields, a signed webhook POST, the file in the vault and gone
// from the root — or left in place where policy says so.
func TestDrops(t *testing.T) {
	j := testenv.Journald(t)
	h := newHarness(t)
	htaccess := h.write(".htaccess", "Options -Indexes\n")
	var swapOnce sync.Once
	swapTarget := filepath.Join(h.www, "swap", "shell.php")
	swappedOut := filepath.Join(h.outside, "swapped-out.php")
	h.hooks = func(a *Agent) {
		// (g): between the scan of swapTarget and its move, the attacker
		// swaps a harmless file in.
		a.hooks.beforeMove = func(path string) {
			if path != swapTarget {
				return
			}
			swapOnce.Do(func() {
				if err := os.Rename(path, swappedOut); err != nil {
					t.Error(err)
				}
				if err := os.WriteFile(path, []byte(benignPHP), 0o644); err != nil {
					t.Error(err)
				}
			})
		}
	}
	h.start()

	t.Run("a write in place", func(t *testing.T) {
		p := h.write("a.php", evalShell)
		a := h.recv.waitAlert(p, alert.KindDetection)
		h.checkQuarantined(a, p, evalShell)
		checkJournal(t, j, a)
	})
	t.Run("b write in chunks with pauses", func(t *testing.T) {
		p := filepath.Join(h.www, "chunks.php")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		parts := []string{"<?php\n// harmless so far\n", "$f = $_GET['c'];\n", "echo system($f);\n"}
		var written string
		for i, part := range parts {
			if _, err := f.WriteString(part); err != nil {
				t.Fatal(err)
			}
			written += part
			if i < len(parts)-1 {
				// The harmless beginning is judged before the rest
				// comes, as with a slow upload: the webshell is then
				// a file the agent has already seen.
				waitScanned(t, h, p, written)
			}
		}
		f.Close()
		a := h.recv.waitAlert(p, alert.KindDetection)
		h.checkQuarantined(a, p, strings.Join(parts, ""))
		checkJournal(t, j, a)
	})
	t.Run("c rename from outside the root", func(t *testing.T) {
		src := filepath.Join(h.outside, "prepared.php")
		if err := os.WriteFile(src, []byte(systemShell), 0o644); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(h.www, "renamed.php")
		if err := os.Rename(src, p); err != nil {
			t.Fatal(err)
		}
		a := h.recv.waitAlert(p, alert.KindDetection)
		h.checkQuarantined(a, p, systemShell)
		checkJournal(t, j, a)
	})
	t.Run("d mkdir -p and a file inside at once", func(t *testing.T) {
		p := filepath.Join(h.www, "a", "b", "c", "deep.php")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(evalShell), 0o644); err != nil {
			t.Fatal(err)
		}
		a := h.recv.waitAlert(p, alert.KindDetection)
		h.checkQuarantined(a, p, evalShell)
		checkJournal(t, j, a)
	})
	t.Run("e hard link", func(t *testing.T) {
		// The shell keeps its name outside the root: the name in the root
		// goes, the other is left exactly as it was (not made root's, not
		// 0000), and the alert says it remains.
		src := filepath.Join(h.outside, "linked-src.php")
		if err := os.WriteFile(src, []byte(systemShell), 0o640); err != nil {
			t.Fatal(err)
		}
		wantUID := uint32(os.Geteuid())
		if wantUID == 0 {
			if err := os.Chown(src, 33, 33); err != nil {
				t.Fatal(err)
			}
			wantUID = 33
		}
		p := filepath.Join(h.www, "linked.php")
		if err := os.Link(src, p); err != nil {
			t.Fatal(err)
		}
		a := h.recv.waitAlert(p, alert.KindDetection)
		h.checkQuarantined(a, p, systemShell)
		if !strings.Contains(a.Action.Reason, "1 other link(s)") || !strings.Contains(a.Message, "1 other link(s)") {
			t.Errorf("action reason %q, message %q: want both to say one other link remains", a.Action.Reason, a.Message)
		}
		fi, err := os.Lstat(src)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(src)
		if uid := fi.Sys().(*syscall.Stat_t).Uid; fi.Mode() != 0o640 || uid != wantUID || string(data) != systemShell {
			t.Errorf("the link outside the root changed: mode %v uid %d content %q; want -rw-r----- uid %d, unchanged", fi.Mode(), uid, data, wantUID)
		}
		checkJournal(t, j, a)
	})
	t.Run("f .htaccess change", func(t *testing.T) {
		evil := "Options -Indexes\nAddType application/x-httpd-php .jpg\n"
		if err := os.WriteFile(htaccess, []byte(evil), 0o644); err != nil {
			t.Fatal(err)
		}
		a := h.recv.waitAlert(htaccess, alert.KindDetection)
		// It was there before: alerted, left in place
		// (quarantine_modified is false).
		if a.Action == nil || a.Action.Taken != alert.ActionAlerted {
			t.Errorf("action %+v, want alerted", a.Action)
		}
		if data, err := os.ReadFile(htaccess); err != nil || string(data) != evil {
			t.Errorf(".htaccess after the alert: %q, %v", data, err)
		}
		checkJournal(t, j, a)
	})
	t.Run("g swap between scan and move", func(t *testing.T) {
		p := h.write("swap/shell.php", evalShell)
		a := h.recv.waitAlert(p, alert.KindQuarantineFailed)
		if a.Action == nil || a.Action.Taken != alert.ActionQuarantineFailed || !strings.Contains(a.Action.Reason, "replaced") {
			t.Errorf("action %+v, want quarantine_failed saying the file was replaced", a.Action)
		}
		sum := sha256.Sum256([]byte(evalShell))
		if a.File.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("alert sha256 %s is not the scanned webshell's", a.File.SHA256)
		}
		checkJournal(t, j, a)
		// The harmless file swapped in was rescanned, not trusted, and is
		// not moved; nothing of that path is in the vault.
		waitScanned(t, h, p, benignPHP)
		if data, err := os.ReadFile(p); err != nil || string(data) != benignPHP {
			t.Errorf("swapped-in file: %q, %v", data, err)
		}
		entries, err := h.vault().List()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Path == p {
				t.Errorf("vault holds %s for the swapped path: %+v", e.ID, e)
			}
		}
	})
	if n := h.recv.badSignatures(); n != 0 {
		t.Errorf("%d webhook posts had a bad HMAC signature", n)
	}
}

// waitScanned waits until the agent has scanned path holding content and
// recorded it in the baseline.
func waitScanned(t *testing.T, h *harness, path, content string) {
	t.Helper()
	want := digest(sha256hex(content))
	testenv.Eventually(t, waitFor, fmt.Sprintf("%q holding %q to be scanned", path, content), func() bool {
		rec := h.agent.baseline.Record(path)
		return rec != nil && rec.SHA256 == want
	})
}

// TestNoAlertLost: the receiver is down while 200 webshells are dropped and
// the agent is restarted halfway; once the receiver is back, every alert id
// the agent raised (as the journal records them) arrives.
func TestNoAlertLost(t *testing.T) {
	j := testenv.Journald(t)
	h := newHarness(t)
	// A port nobody listens on: reserve one, then free it.
	ln := h.recv.ln
	addr := ln.Addr().String()
	h.recv.close()
	url := "http://" + addr + "/hook"

	drop := func(from, to int) {
		for i := from; i < to; i++ {
			h.write(fmt.Sprintf("drop/%03d.php", i), fmt.Sprintf("%s// %d\n", evalShell, i))
		}
	}
	waitQuarantined := func(n int) {
		t.Helper()
		testenv.Eventually(t, waitFor, fmt.Sprintf("%d files quarantined", n), func() bool {
			return h.agent.metrics.quarantined.Load() >= int64(n)
		})
	}
	h.startWith(url)
	drop(0, 100)
	waitQuarantined(100)
	h.stop()
	h.startWith(url)
	drop(100, 200)
	waitQuarantined(100) // counters restart with the agent
	recv := newReceiver(t, addr, h.secret)
	h.recv = recv

	// Every detection the agent raised is in the journal (journald is
	// local and always up): the webhook must deliver each of those ids.
	root := "SHELLWATCH_ROOT=" + h.www
	entries := j.WaitEntries(t, waitFor, 200, "SHELLWATCH_KIND=detection", root)
	want := map[string]bool{}
	for _, e := range entries {
		want[string(testenv.FieldBytes(e, "SHELLWATCH_ALERT_ID"))] = true
	}
	if len(want) != 200 {
		t.Fatalf("journal holds %d detection ids, want 200", len(want))
	}
	testenv.Eventually(t, 2*waitFor, "every alert id in the journal to reach the receiver", func() bool {
		got := map[string]bool{}
		for _, a := range recv.all() {
			got[a.ID] = true
		}
		for id := range want {
			if !got[id] {
				return false
			}
		}
		return true
	})
	if n := recv.badSignatures(); n != 0 {
		t.Errorf("%d posts with a bad signature", n)
	}
}

// TestOverflowResync floods a root while the agent's pipeline is stalled,
// until the kernel's inotify queue overflows and events are lost; a webshell
// planted after that point is caught by the resync, and the overflow is
// alerted.
func TestOverflowResync(t *testing.T) {
	testenv.Flood(t)
	testenv.Journald(t)
	h := newHarness(t)
	h.opts.pendingLimit = 256
	gate := make(chan struct{})
	var gateOnce sync.Once
	release := func() { gateOnce.Do(func() { close(gate) }) }
	t.Cleanup(release)
	h.hooks = func(a *Agent) {
		a.hooks.afterScan = func(v scanner.Verdict) {
			if strings.Contains(v.Path, "/flood/") {
				<-gate // a stalled consumer: the watcher's queues fill up
			}
		}
	}
	h.start()
	dir := filepath.Join(h.www, "flood")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	queued := 16384
	if data, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events"); err == nil {
		fmt.Sscan(string(data), &queued)
	}
	// Two events a file; enough files to fill the kernel queue, fsnotify's
	// buffers and the pending set, and then some.
	n := max(5000, (queued+2048+1024+2*256)/2+2000)
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%06d.txt", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	planted := filepath.Join(dir, "zz-planted.php")
	if err := os.WriteFile(planted, []byte(evalShell), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("g%06d.txt", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	release()
	h.recv.waitAlert("", alert.KindOverflowResync)
	a := h.recv.waitAlert(planted, alert.KindDetection)
	h.checkQuarantined(a, planted, evalShell)
}

// TestHostileNames: names with newlines and invalid UTF-8 are quarantined
// and alerted byte-exact; symlinks to /etc and into the vault are not
// followed: each is alerted and the link itself, never its target, moved
// to the vault; a FIFO does not block the agent.
func TestHostileNames(t *testing.T) {
	j := testenv.Journald(t)
	h := newHarness(t)
	h.start()
	for _, name := range []string{"new\nline.php", "bad\xff\xfeutf8.php", "-rf --.php", "tab\there.php"} {
		p := h.write(name, evalShell)
		a := h.recv.waitAlert(p, alert.KindDetection)
		h.checkQuarantined(a, p, evalShell)
		checkJournal(t, j, a)
	}
	vaultDir := filepath.Join(h.state, "quarantine")
	before, _ := os.ReadDir(vaultDir)
	for name, target := range map[string]string{"shadow.php": "/etc/shadow", "vault": vaultDir, "passwd.php": "/etc/passwd"} {
		if err := os.Symlink(target, filepath.Join(h.www, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(h.www, "pipe.php"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Whatever comes after is still caught: nothing blocked.
	p := h.write("after.php", systemShell)
	a := h.recv.waitAlert(p, alert.KindDetection)
	h.checkQuarantined(a, p, systemShell)
	for _, l := range []string{"shadow.php", "vault", "passwd.php"} {
		a := h.recv.waitAlert(filepath.Join(h.www, l), alert.KindSymlink)
		if a.Action == nil || a.Action.Taken != alert.ActionQuarantined {
			t.Errorf("symlink %s: action %+v, want the link quarantined", l, a.Action)
		}
		if _, ok := h.recv.find(filepath.Join(h.www, l), alert.KindDetection, alert.KindQuarantineFailed); ok {
			t.Errorf("symlink %s was scanned through", l)
		}
	}
	after, _ := os.ReadDir(vaultDir)
	if len(after) != len(before)+8 { // after.php, the three links, and their metadata
		t.Errorf("vault went from %d to %d entries, want +8", len(before), len(after))
	}
	if fi, err := os.Lstat(vaultDir); err != nil || !fi.IsDir() {
		t.Errorf("the vault a link led to: %v %v", fi, err)
	}
	if _, err := os.Stat("/etc/shadow"); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("/etc/shadow: %v", err)
	}
}

// TestBenignFlood: 10,000 harmless writes in about a second; the agent
// stays up, its memory stays bounded, and a webshell dropped at the end is
// caught.
func TestBenignFlood(t *testing.T) {
	testenv.Flood(t)
	testenv.Journald(t)
	h := newHarness(t)
	h.start()
	for i := range 10000 {
		h.write(fmt.Sprintf("cache/%02d/%05d.html", i%50, i), "<html>harmless</html>\n")
	}
	p := h.write("cache/late.php", evalShell)
	a := h.recv.waitAlert(p, alert.KindDetection)
	h.checkQuarantined(a, p, evalShell)
	var flagged int
	for _, a := range h.recv.all() {
		if a.Kind == alert.KindDetection && a.Path() != p {
			flagged++
		}
	}
	if flagged != 0 {
		t.Errorf("%d harmless files flagged", flagged)
	}
	if n := h.agent.baseline.BornLen(); n > 10001+10 {
		t.Errorf("agent remembers %d files as new, want at most the root's", n)
	}
	// Memory stays bounded: what the agent holds is per file known, not
	// per event, and the flood's events are gone.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > 256<<20 {
		t.Errorf("heap in use after a 10,000-file flood: %d MiB", ms.HeapInuse>>20)
	}
}

// TestReload: SIGHUP with a broken rule file keeps the old rules running and
// alerts; SIGHUP with a good one puts it to work.
func TestReload(t *testing.T) {
	j := testenv.Journald(t)
	h := newHarness(t)
	rulesDir := filepath.Join(h.dir, "rules")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.start()
	// A broken rule file: the reload fails and says where.
	if err := os.WriteFile(filepath.Join(rulesDir, "broken.yar"), []byte("rule broken { condition: nosuchthing }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.extraConfig = ""
	h.writeConfigRules(rulesDir)
	h.reload()
	failed := h.recv.waitAlert("", alert.KindReloadFailed)
	brokenAt := filepath.Join(rulesDir, "broken.yar") + ":1: "
	if !strings.Contains(failed.Detail, brokenAt) {
		t.Errorf("reload failure detail %q does not name %s", failed.Detail, brokenAt)
	}
	// The one-line message, what journalctl and pagers show, names the
	// file and line too.
	if !strings.Contains(failed.Message, brokenAt) {
		t.Errorf("reload failure message %q does not name %s", failed.Message, brokenAt)
	}
	e := checkJournal(t, j, failed)
	if msg := string(testenv.FieldBytes(e, "MESSAGE")); !strings.Contains(msg, brokenAt) {
		t.Errorf("journal MESSAGE %q does not name %s", msg, brokenAt)
	}
	p := h.write("still.php", evalShell)
	h.checkQuarantined(h.recv.waitAlert(p, alert.KindDetection), p, evalShell)

	// A good rule file with a marker only it knows.
	os.Remove(filepath.Join(rulesDir, "broken.yar"))
	rule := "rule local_marker { meta: severity = \"critical\" strings: $m = \"SHELLWATCH-LOCAL-MARKER\" condition: $m }\n"
	if err := os.WriteFile(filepath.Join(rulesDir, "local.yar"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	h.reload()
	h.recv.waitAlert("", alert.KindReloaded)
	p = h.write("marker.txt", "SHELLWATCH-LOCAL-MARKER\n")
	a := h.recv.waitAlert(p, alert.KindDetection)
	if names := a.RuleNames(); len(names) != 1 || names[0] != "local_marker" {
		t.Errorf("rules %v, want local_marker", names)
	}
	h.checkQuarantined(a, p, "SHELLWATCH-LOCAL-MARKER\n")
}

// TestReloadBadConfig: SIGHUP with bad values in the config keeps the old one
// running, and the alert's one-line message names the file, the line and
// the key of the first, and says how many more the detail lists.
func TestReloadBadConfig(t *testing.T) {
	j := testenv.Journald(t)
	h := newHarness(t)
	h.start()
	good, err := os.ReadFile(h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	bad := string(good) + "\n[scanner]\nworkers = \"two\"\nmax_file_size = \"lots\"\n"
	if err := os.WriteFile(h.cfgPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	workersLine := strings.Count(bad[:strings.Index(bad, "workers =")], "\n") + 1
	h.reload()
	failed := h.recv.waitAlert("", alert.KindReloadFailed)
	want := fmt.Sprintf("config %s:%d: scanner.workers: ", h.cfgPath, workersLine)
	if !strings.Contains(failed.Message, want) || !strings.Contains(failed.Message, "(and 1 more in the detail)") {
		t.Errorf("reload failure message %q, want it to name %q and one more problem", failed.Message, want)
	}
	if !strings.Contains(failed.Detail, fmt.Sprintf("config %s:%d: scanner.max_file_size: ", h.cfgPath, workersLine+1)) {
		t.Errorf("reload failure detail %q does not list scanner.max_file_size", failed.Detail)
	}
	e := checkJournal(t, j, failed)
	if msg := string(testenv.FieldBytes(e, "MESSAGE")); !strings.Contains(msg, want) {
		t.Errorf("journal MESSAGE %q does not name %q", msg, want)
	}
	p := h.write("still.php", evalShell)
	h.checkQuarantined(h.recv.waitAlert(p, alert.KindDetection), p, evalShell)
}

func (h *harness) writeConfigRules(dir string) {
	h.extraConfig = ""
	h.writeConfig(h.recv.url())
	f, err := os.OpenFile(h.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	// [rules] after [[webhook]] is still the top-level [rules] table.
	fmt.Fprintf(f, "\n[rules]\npaths = [%q]\n", dir)
}

// TestLifecycle: READY, STATUS and WATCHDOG reach systemd; SIGTERM stops
// with agent_started and agent_stopping alerts in the journal.
func TestLifecycle(t *testing.T) {
	j := testenv.Journald(t)
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", fmt.Sprint(os.Getpid()))
	h := newHarness(t)
	h.start()
	started := h.recv.waitAlert("", alert.KindAgentStarted)
	checkJournal(t, j, started)
	var st wire.Status
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := control.Call(ctx, h.controlSocket(), wire.CmdStatus, nil, &st); err != nil {
		t.Fatalf("status over the control socket: %v", err)
	}
	if !st.Ready || len(st.Roots) != 1 || st.Roots[0].Path != h.www || st.Watches < 1 || len(st.Webhooks) != 1 {
		t.Errorf("status %+v: want ready, one root %s, watches, one webhook", st, h.www)
	}
	if len(st.LastAlerts) == 0 || st.LastAlerts[0].Kind != alert.KindAgentStarted {
		t.Errorf("status last alerts %+v, want agent_started first", st.LastAlerts)
	}
	testenv.Eventually(t, waitFor, "WATCHDOG=1 among the sd_notify states", func() bool {
		return hasNote(h.notifications(), "WATCHDOG=1")
	})
	h.stop()
	stopping, ok := findKind(h.recv.all(), alert.KindAgentStopping)
	if !ok {
		t.Fatal("no agent_stopping alert reached the webhook before the agent exited")
	}
	checkJournal(t, j, stopping)
	notes := h.notifications()
	for _, want := range []string{"READY=1", "STATUS=", "STOPPING=1"} {
		if !hasNote(notes, want) {
			t.Errorf("no %s in sd_notify states %q", want, notes)
		}
	}
}

func hasNote(notes []string, want string) bool {
	for _, n := range notes {
		if strings.Contains(n, want) {
			return true
		}
	}
	return false
}

func findKind(as []alert.Alert, k alert.Kind) (alert.Alert, bool) {
	for _, a := range as {
		if a.Kind == k {
			return a, true
		}
	}
	return alert.Alert{}, false
}

// TestResyncSkipsUnchanged: a resync (after an overflow, say) does not scan
// again a file the agent scanned as it is; one whose content or inode
// changed is scanned.
func TestResyncSkipsUnchanged(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	p := h.write("kept.php", benignPHP)
	h.start()
	waitScanned(t, h, p, benignPHP)
	before := h.agent.metrics.scanned.Load()
	h.agent.handleChange(context.Background(), watcher.Change{Path: p, Op: watcher.OpResync, Root: h.www}, task{})
	if n := h.agent.metrics.scanned.Load(); n != before {
		t.Errorf("an unchanged file was scanned again on resync (%d scans, was %d)", n, before)
	}
	// Same size, same mtime, other bytes: ctime still gives it away. (A
	// file outside the root, so no event races the check.)
	q := filepath.Join(h.outside, "q.php")
	if err := os.WriteFile(q, []byte(benignPHP), 0o644); err != nil {
		t.Fatal(err)
	}
	h.agent.remember(h.agent.gen.engine.Scanner.Scan(q), nil, true, false)
	if !h.agent.unchangedSinceScan(q) {
		t.Fatal("a file just scanned counts as changed")
	}
	fi, err := os.Stat(q)
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitCtimePast(t, q)
	evil := strings.Repeat(" ", len(benignPHP)-len(evalShell)) + evalShell
	if err := os.WriteFile(q, []byte(evil), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(q, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if h.agent.unchangedSinceScan(q) {
		t.Error("a file rewritten with its size and mtime kept counts as unchanged")
	}
}

// TestReloadNewRoot: a root added by SIGHUP is watched; the old one too.
func TestReloadNewRoot(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	h.start()
	second := filepath.Join(h.dir, "www2")
	if err := os.Mkdir(second, 0o755); err != nil {
		t.Fatal(err)
	}
	h.extraConfig = fmt.Sprintf("\n[[watch]]\npath = %q\n", second)
	h.writeConfig(h.recv.url())
	h.reload()
	h.recv.waitAlert("", alert.KindReloaded)
	p := filepath.Join(second, "new-root.php")
	if err := os.WriteFile(p, []byte(evalShell), 0o644); err != nil {
		t.Fatal(err)
	}
	a := h.recv.waitAlert(p, alert.KindDetection)
	h.checkQuarantined(a, p, evalShell)
	if a.File.Root != second {
		t.Errorf("alert root %q, want %q", a.File.Root, second)
	}
	p = h.write("old-root.php", systemShell)
	h.checkQuarantined(h.recv.waitAlert(p, alert.KindDetection), p, systemShell)
}

// TestNewFilesAlwaysCountAsNew: files dropped quickly one after another are
// each reported at their creation and at once again at their first write;
// whichever worker gets which report, every one is judged new and
// quarantined, never "existed before it changed".
func TestNewFilesAlwaysCountAsNew(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	h.start()
	const n = 300
	paths := make([]string, n)
	for i := range n {
		paths[i] = h.write(fmt.Sprintf("quick/%03d.php", i), fmt.Sprintf("%s// %d\n", evalShell, i))
	}
	for _, p := range paths {
		a := h.recv.waitAlert(p, alert.KindDetection)
		if a.Action == nil || a.Action.Taken != alert.ActionQuarantined {
			t.Errorf("%s: action %+v, want quarantined", p, a.Action)
		}
	}
}

// TestNewFolderFileWrittenLater: a file created in a new folder before the
// folder's watch lands is found by the folder's walk and then written to;
// its report says "modified", yet it is new and is quarantined.
func TestNewFolderFileWrittenLater(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	h.start()
	h.waitReconciled()
	for i := range 50 {
		dir := filepath.Join(h.www, fmt.Sprintf("d%02d", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "x.php")
		f, err := os.Create(p) // likely before the folder is watched
		if err != nil {
			t.Fatal(err)
		}
		waitScanned(t, h, p, "") // found, by the walk or its event, and judged empty
		f.WriteString(evalShell)
		f.Close()
		a := h.recv.waitAlert(p, alert.KindDetection, alert.KindQuarantineFailed)
		if a.Action == nil || a.Action.Taken != alert.ActionQuarantined {
			t.Fatalf("%s: action %+v, want quarantined", p, a.Action)
		}
	}
}

// TestFloodOfShellsIsNamedOneByOne: 300 webshells dropped at once reach a
// webhook limited to 10 alerts a second (burst 20) each one by one, never
// folded into alerts_grouped (grouping is for low and medium noise), while
// every file is quarantined and journald (unlimited) records each one.
func TestFloodOfShellsIsNamedOneByOne(t *testing.T) {
	j := testenv.Journald(t)
	h := newHarness(t)
	h.webhookRate = "rate = 10.0\nburst = 20"
	h.start()
	h.waitReconciled()
	const n = 300
	want := map[string]bool{}
	for i := range n {
		want[h.write(fmt.Sprintf("flood/%03d.php", i), fmt.Sprintf("%s// %d\n", evalShell, i))] = true
	}
	testenv.Eventually(t, waitFor, fmt.Sprintf("%d files quarantined", n), func() bool {
		return h.agent.metrics.quarantined.Load() >= n
	})
	// Every detection is in the journal, one entry each.
	entries := j.WaitEntries(t, waitFor, n, "SHELLWATCH_KIND=detection", "SHELLWATCH_ROOT="+h.www)
	if len(entries) != n {
		t.Errorf("journal holds %d detections, want %d", len(entries), n)
	}
	// The webhook names each one.
	testenv.Eventually(t, waitFor, fmt.Sprintf("the webhook to name %d detections", n), func() bool {
		named := 0
		for _, a := range h.recv.all() {
			if a.Kind == alert.KindDetection && want[a.Path()] {
				named++
			}
		}
		return named >= n
	})
	if g, ok := findKind(h.recv.all(), alert.KindAlertsGrouped); ok {
		t.Errorf("critical detections were grouped: %s", g.Message)
	}
}

// TestSecretFileChecks: a missing secret file stops the start with an error
// naming the key and the file; a group-readable one is warned about.
func TestSecretFileChecks(t *testing.T) {
	h := newHarness(t)
	secret := filepath.Join(h.dir, "webhook.secret")
	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	h.writeConfig(h.recv.url())
	a, err := newAgent(Options{ConfigPath: h.cfgPath, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	a.closeGeneration(a.gen)
	a.closeBaseline()
	if !strings.Contains(logs.String(), "readable by group or others") || !strings.Contains(logs.String(), secret) {
		t.Errorf("no warning naming the group-readable secret file:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), string(h.secret)) {
		t.Error("the secret itself was logged")
	}
	os.Remove(secret)
	_, err = newAgent(Options{ConfigPath: h.cfgPath, Logger: slog.New(slog.DiscardHandler), Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "webhook[0].secret_file") || !strings.Contains(err.Error(), secret) {
		t.Errorf("start without the secret file: %v, want an error naming webhook[0].secret_file and %s", err, secret)
	}
}

// TestReadOnlyRootIsAlerted: a root mounted read-only for the agent (as a
// unit without ReadWritePaths makes it) is alerted at start: webshells there
// could not be moved out.
func TestReadOnlyRootIsAlerted(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	if out, err := exec.Command("mount", "--bind", h.www, h.www).CombinedOutput(); err != nil {
		t.Skipf("cannot bind-mount here (needs CAP_SYS_ADMIN): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", h.www).Run() })
	if out, err := exec.Command("mount", "-o", "remount,ro,bind", h.www).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v %s", err, out)
	}
	h.start()
	a := h.recv.waitAlert(h.www, alert.KindRootReadOnly)
	if a.Severity.String() != "high" || !strings.Contains(a.Message, "ReadWritePaths") {
		t.Errorf("root_read_only alert %q (%s)", a.Message, a.Severity)
	}
}

// TestGrowingHugeFileAlertedOnce: a file past the scan and hash limits that
// keeps growing (a backup written into the root) is alerted once per inode,
// not at every write.
func TestGrowingHugeFileAlertedOnce(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	h.extraConfig = "\n[scanner]\nmax_file_size = \"1KiB\"\nmax_hash_size = \"4KiB\"\n"
	h.start()
	h.waitReconciled()
	p := filepath.Join(h.www, "backup.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := []byte(strings.Repeat("x", 512))
	for i := 1; i <= 24; i++ { // past 1 KiB, then past 4 KiB
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
		// Each size is judged before the next write (the record holds
		// it), so the agent sees the file at every size, below and past
		// each limit, however loaded the machine is.
		size := int64(i * len(chunk))
		testenv.Eventually(t, waitFor, fmt.Sprintf("%s to be judged at %d bytes", p, size), func() bool {
			rec := h.agent.baseline.Record(p)
			return rec != nil && rec.Size == size
		})
	}
	// The record says the file was judged, not that the alert the
	// judgement raised has reached the webhook: it is sent before the
	// record is kept and delivered by another goroutine. A stop delivers
	// every alert raised before it, so the receiver then holds them all.
	h.stop()
	var tooLarge, tooLargeToHash int
	for _, a := range h.recv.all() {
		if a.Kind != alert.KindScanFailed || a.Path() != p {
			continue
		}
		if strings.Contains(a.Detail, "too large to hash") {
			tooLargeToHash++
		} else {
			tooLarge++
		}
	}
	if tooLarge != 1 || tooLargeToHash != 1 {
		t.Errorf("%d too-large and %d too-large-to-hash alerts for one growing file, want one each", tooLarge, tooLargeToHash)
	}
}

// TestPaddedScripts: a shell padded past scanner.max_file_size is found at
// the end of its padding and quarantined; a new script too large to be read
// in full, with nothing found in its head and tail, is a high scan_failed
// that says why (issue 10), where a large file that is no script stays low.
func TestPaddedScripts(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	h.extraConfig = "\n[scanner]\nmax_file_size = \"64KiB\"\n"
	h.start()
	h.waitReconciled()
	pad := strings.Repeat("// nothing to see here, only padding\n", 4096)

	p := h.write("padded-shell.php", "<?php\n"+pad+evalShell)
	h.checkQuarantined(h.recv.waitAlert(p, alert.KindDetection), p, "<?php\n"+pad+evalShell)

	p = h.write("padded.php", "<?php\n"+pad)
	a := h.recv.waitAlert(p, alert.KindScanFailed)
	if a.Severity.String() != "high" || !strings.Contains(a.Message, "a new script: not scanned in full") ||
		!strings.Contains(a.Detail, "head and tail scanned clean") || !strings.Contains(a.Detail, "first and last 32KiB") {
		t.Errorf("padded new script: %s alert %q (detail %q), want high, saying what was scanned", a.Severity, a.Message, a.Detail)
	}

	p = h.write("padded.log", pad)
	if a := h.recv.waitAlert(p, alert.KindScanFailed); a.Severity.String() != "low" {
		t.Errorf("large log: %s alert %q, want low", a.Severity, a.Message)
	}
}
