package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// childConfigEnv makes the test binary run an agent (see TestMain): the
// tests that kill -9 an agent need it in another process.
const childConfigEnv = "SHELLWATCH_TEST_AGENT_CONFIG"

// childWatchLimitEnv makes the child agent lower the inotify watch limit
// of its user namespace before it starts; it refuses in the initial user
// namespace, whose limit is every root process's.
const childWatchLimitEnv = "SHELLWATCH_TEST_MAX_INOTIFY_WATCHES"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childConfigEnv); cfg != "" {
		if limit := os.Getenv(childWatchLimitEnv); limit != "" {
			if err := testenv.SetNamespaceWatchLimit(limit); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
		err := Run(context.Background(), Options{
			ConfigPath: cfg, Version: "test-child",
			Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childAgent is an agent in its own process, started from the test binary,
// which reports READY over a real sd_notify socket.
type childAgent struct {
	cmd    *exec.Cmd
	notify *net.UnixConn
	log    *os.File
}

func (h *harness) startChild() *childAgent {
	h.t.Helper()
	return h.startChildWith(nil)
}

// startChildWith starts the child with setup applied to its command first.
func (h *harness) startChildWith(setup func(*exec.Cmd)) *childAgent {
	h.t.Helper()
	h.writeConfig(h.webhookURL())
	sock := filepath.Join(h.dir, fmt.Sprintf("notify-%d.sock", time.Now().UnixNano()))
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		h.t.Fatal(err)
	}
	logf, err := os.CreateTemp(h.dir, "child-*.log")
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childConfigEnv+"="+h.cfgPath, "NOTIFY_SOCKET="+sock)
	cmd.Stdout, cmd.Stderr = logf, logf
	if setup != nil {
		setup(cmd)
	}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	c := &childAgent{cmd: cmd, notify: conn, log: logf}
	h.t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
		conn.Close()
	})
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(waitFor))
	for {
		n, err := conn.Read(buf)
		if err != nil {
			data, _ := os.ReadFile(logf.Name())
			h.t.Fatalf("no READY=1 from the child agent: %v\n%s", err, data)
		}
		if strings.Contains(string(buf[:n]), "READY=1") {
			return c
		}
	}
}

// kill9 kills the child the hard way.
func (c *childAgent) kill9(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

// stop sends SIGTERM and waits for a clean exit.
func (c *childAgent) stop(t *testing.T) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	if err := c.cmd.Wait(); err != nil {
		data, _ := os.ReadFile(c.log.Name())
		t.Errorf("child agent: %v\n%s", err, data)
	}
}

// waitReconciled waits until the agent answering on the control socket has
// compared every root with the baseline and its queue is idle.
func (h *harness) waitReconciled() wire.Status {
	h.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		var st wire.Status
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := control.Call(ctx, h.controlSocket(), wire.CmdStatus, nil, &st)
		cancel()
		if err == nil && st.Reconciled {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the agent did not finish reconciling: %v %+v", err, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) call(command string, args, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	return control.Call(ctx, h.controlSocket(), command, args, result)
}

// fileAlerts returns the alerts of the given kinds, sorted by path.
func fileAlerts(as []alert.Alert, kinds ...alert.Kind) []alert.Alert {
	var out []alert.Alert
	for _, a := range as {
		for _, k := range kinds {
			if a.Kind == k {
				out = append(out, a)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path() < out[j].Path() })
	return out
}

// TestChangesWhileDown: the agent is killed with SIGKILL; files are added,
// modified, deleted and chmodded; at the next start each change is alerted
// exactly once as changed_while_down, saying what changed, and nothing else
// is. A third start alerts nothing.
func TestChangesWhileDown(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	for _, name := range []string{"keep.php", "modify.php", "delete.php", "chmod.php", "img/logo.png"} {
		h.write(name, benignPHP+"// "+name+"\n")
	}
	child := h.startChild()
	st := h.waitReconciled()
	if st.FilesKnown != 5 {
		t.Fatalf("baseline holds %d files, want 5", st.FilesKnown)
	}
	child.kill9(t)
	firstRun := len(h.recv.all())

	added := h.write("added.php", benignPHP+"// new\n")
	modified := h.write("modify.php", benignPHP+"// modified while down\n")
	deleted := filepath.Join(h.www, "delete.php")
	if err := os.Remove(deleted); err != nil {
		t.Fatal(err)
	}
	chmodded := filepath.Join(h.www, "chmod.php")
	if err := os.Chmod(chmodded, 0o777); err != nil {
		t.Fatal(err)
	}
	touched := filepath.Join(h.www, "keep.php")
	if err := os.Chtimes(touched, time.Now(), time.Now()); err != nil { // a touch is no change
		t.Fatal(err)
	}

	child = h.startChild()
	h.waitReconciled()
	child.stop(t)
	got := h.recv.all()[firstRun:]
	cwd := fileAlerts(got, alert.KindChangedWhileDown)
	want := map[string]string{added: "added", chmodded: "mode 0644 → 0777", deleted: "deleted", modified: "content modified"}
	if len(cwd) != len(want) {
		for _, a := range cwd {
			t.Logf("got %s", a.Message)
		}
		t.Fatalf("%d changed_while_down alerts, want %d (one per change)", len(cwd), len(want))
	}
	for _, a := range cwd {
		w, ok := want[a.Path()]
		if !ok || !strings.Contains(a.Message, w) {
			t.Errorf("alert %q: want one for each of %v saying what changed", a.Message, want)
		}
		delete(want, a.Path())
	}
	if others := fileAlerts(got, alert.KindDetection, alert.KindUnexpectedChange, alert.KindScanFailed, alert.KindQuarantineFailed); len(others) != 0 {
		t.Errorf("unexpected alerts: %v", others)
	}

	// Nothing changed since: nothing is alerted again.
	mark := len(h.recv.all())
	child = h.startChild()
	h.waitReconciled()
	child.stop(t)
	if again := fileAlerts(h.recv.all()[mark:], alert.KindChangedWhileDown); len(again) != 0 {
		t.Errorf("a third start alerted again: %v", again)
	}
}

// TestCorruptStateStartsFresh: a state file cut short or overwritten is set
// aside, a fresh baseline is built and a state_reset alert says so; the
// agent runs as usual.
func TestCorruptStateStartsFresh(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	if err := os.MkdirAll(h.state, 0o700); err != nil {
		t.Fatal(err)
	}
	junk := []byte(strings.Repeat("not a bbolt file ", 1000))
	if err := os.WriteFile(filepath.Join(h.state, "state.db"), junk, 0o600); err != nil {
		t.Fatal(err)
	}
	h.write("old.php", benignPHP)
	h.start()
	reset := h.recv.waitAlert("", alert.KindStateReset)
	if !strings.Contains(reset.Detail, "state.db") {
		t.Errorf("state_reset detail %q does not name the file", reset.Detail)
	}
	aside, _ := filepath.Glob(filepath.Join(h.state, "state.db.corrupt-*"))
	if len(aside) != 1 {
		t.Errorf("corrupt file set aside as %v, want one", aside)
	}
	h.waitReconciled()
	p := h.write("shell.php", evalShell)
	h.checkQuarantined(h.recv.waitAlert(p, alert.KindDetection), p, evalShell)
}

// TestProtectedRootAndDeployWindow: in a protected root a new script is an
// unexpected_change even when harmless; inside a deploy window changes raise
// nothing but the summary, while a webshell is still caught; after the
// window the same kind of change alerts again.
func TestProtectedRootAndDeployWindow(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	h.extraConfig = ""
	h.write("index.php", benignPHP)
	h.write("wp-content/uploads/2026/photo.jpg", "JFIF")
	h.protected = `mode = "protected"
no_script_globs = ["*/uploads/*"]
web_user = "www-data"
`
	h.start()
	h.waitReconciled()

	before := h.write("before.php", benignPHP+"// hotfix without a deploy\n")
	a := h.recv.waitAlert(before, alert.KindUnexpectedChange)
	if a.Severity.String() != "high" || a.Action.Taken != alert.ActionAlerted {
		t.Errorf("unexpected_change: severity %s action %+v, want high, alerted", a.Severity, a.Action)
	}
	if _, err := os.Stat(before); err != nil {
		t.Errorf("a harmless unexpected script was moved: %v", err)
	}

	// No code in uploads, window or not: critical and quarantined.
	upload := h.write("wp-content/uploads/2026/cache.php", benignPHP)
	a = h.recv.waitAlert(upload, alert.KindUnexpectedChange)
	if a.Severity.String() != "critical" || a.Action.Taken != alert.ActionQuarantined {
		t.Errorf("script in uploads: severity %s action %+v, want critical, quarantined", a.Severity, a.Action)
	}

	// Written by the web server's user: critical, and new, so moved.
	byWeb := filepath.Join(h.www, "by-www-data.php")
	if err := os.WriteFile(filepath.Join(h.outside, "w.php"), []byte(benignPHP), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(h.outside, "w.php"), 33, 33); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(h.outside, "w.php"), byWeb); err != nil {
		t.Fatal(err)
	}
	a = h.recv.waitAlert(byWeb, alert.KindUnexpectedChange)
	if a.Severity.String() != "critical" || !strings.Contains(a.Message, "www-data") || a.Action.Taken != alert.ActionQuarantined {
		t.Errorf("script by www-data: %q action %+v, want critical naming www-data, quarantined", a.Message, a.Action)
	}

	var res wire.DeployResult
	if err := h.call(wire.CmdDeployBegin, wire.DeployArgs{TTL: "10m"}, &res); err != nil || len(res.Windows) != 1 {
		t.Fatalf("deploy begin: %v %+v", err, res)
	}
	mark := len(h.recv.all())
	deployed := h.write("deployed.php", benignPHP+"// release 2\n")
	changed := h.write("index.php", benignPHP+"// release 2\n")
	shell := h.write("release-shell.php", evalShell)
	caught := h.recv.waitAlert(shell, alert.KindDetection)
	h.checkQuarantined(caught, shell, evalShell)
	waitScanned(t, h, deployed, benignPHP+"// release 2\n")
	waitScanned(t, h, changed, benignPHP+"// release 2\n")
	if err := h.call(wire.CmdDeployEnd, wire.DeployArgs{}, &res); err != nil || len(res.Closed) != 1 {
		t.Fatalf("deploy end: %v %+v", err, res)
	}
	sum := res.Closed[0]
	if !contains(sum.Added, deployed) || !contains(sum.Changed, changed) {
		t.Errorf("deploy summary %+v, want %s added and %s changed", sum, deployed, changed)
	}
	fin := h.recv.waitAlert("", alert.KindDeployFinished)
	if !strings.Contains(fin.Message, "1 added, 1 changed") {
		t.Errorf("deploy_finished %q", fin.Message)
	}
	for _, a := range h.recv.all()[mark:] {
		if a.Kind == alert.KindUnexpectedChange {
			t.Errorf("unexpected_change inside the deploy window: %s", a.Message)
		}
	}

	// After the window, the same kind of change alerts again.
	after := h.write("after.php", benignPHP+"// after the window\n")
	h.recv.waitAlert(after, alert.KindUnexpectedChange)

	// What differs from the baseline now: the unaccepted changes.
	var diff wire.DiffResult
	if err := h.call(wire.CmdBaselineDiff, nil, &diff); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, e := range diff.Entries {
		kinds[string(e.Path)] = e.Kind
	}
	if kinds[after] != "unaccepted" || kinds[before] != "unaccepted" || kinds[deployed] != "" {
		t.Errorf("baseline diff %+v: want before.php and after.php unaccepted, deployed.php not listed", diff.Entries)
	}
	var acc wire.AcceptResult
	if err := h.call(wire.CmdBaselineAccept, wire.AcceptArgs{Paths: []string{after, before}}, &acc); err != nil || len(acc.Accepted) != 2 {
		t.Fatalf("baseline accept: %v %+v", err, acc)
	}
	if err := h.call(wire.CmdBaselineDiff, nil, &diff); err != nil || len(diff.Entries) != 0 {
		t.Errorf("baseline diff after accept: %v %+v, want nothing", err, diff.Entries)
	}
}

// TestDeployEndWaitsForALaggingWatcher: deploy end, called the moment a
// release is copied, closes the window only once every file copied before
// it has been judged, even when the watcher lags behind the file system.
// The lag is real: a pending set of 8 paths stops the watcher's reading
// until paths it reported have cooled (a settle interval), so the agent's
// queue runs empty again and again while events still wait in the kernel.
// A quiet queue then says nothing; the watcher's fence does.
func TestDeployEndWaitsForALaggingWatcher(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	h.protected = "mode = \"protected\"\n"
	h.opts.pendingLimit = 8
	h.start()
	h.waitReconciled()
	var res wire.DeployResult
	if err := h.call(wire.CmdDeployBegin, wire.DeployArgs{TTL: "10m"}, &res); err != nil || len(res.Windows) != 1 {
		t.Fatalf("deploy begin: %v %+v", err, res)
	}
	const files = 120
	var release []string
	for i := range files {
		release = append(release, h.write(fmt.Sprintf("lib/v2/m%03d.php", i), fmt.Sprintf("<?php echo %d;\n", i)))
	}
	if err := h.call(wire.CmdDeployEnd, wire.DeployArgs{}, &res); err != nil || len(res.Closed) != 1 {
		t.Fatalf("deploy end: %v %+v", err, res)
	}
	sum := res.Closed[0]
	var missed []string
	for _, p := range release {
		if !contains(sum.Added, p) {
			missed = append(missed, filepath.Base(p))
		}
	}
	if len(missed) > 0 {
		t.Errorf("deploy end accepted %d files of %d; missed %d: %v", len(sum.Added), files, len(missed), missed)
	}
	// Nothing of the release is alerted after the window either.
	last := release[len(release)-1]
	waitScanned(t, h, last, fmt.Sprintf("<?php echo %d;\n", files-1))
	h.stop()
	for _, a := range h.recv.all() {
		if a.Kind == alert.KindUnexpectedChange {
			t.Errorf("unexpected_change for a file of the release: %s", a.Message)
		}
	}
}

// TestDeployEndLeavesTheWindowOpenWhileJudging: a deploy end whose
// changes are still being scanned when the control request runs out of
// time fails and leaves the window open (closed, it would leave them to be
// alerted as unexpected after it); the next deploy end closes it with them.
func TestDeployEndLeavesTheWindowOpenWhileJudging(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	h.protected = "mode = \"protected\"\n"
	h.opts.controlTimeout = 5 * time.Second // the second deploy end has 4.5 s for what is left
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free)
	h.hooks = func(a *Agent) {
		a.hooks.beforeScan = func(path string) {
			if strings.HasSuffix(path, "slow.php") {
				<-release // a scan that outlasts the request
			}
		}
	}
	h.start()
	h.waitReconciled()
	var res wire.DeployResult
	if err := h.call(wire.CmdDeployBegin, wire.DeployArgs{TTL: "10m"}, &res); err != nil || len(res.Windows) != 1 {
		t.Fatalf("deploy begin: %v %+v", err, res)
	}
	slow := h.write("slow.php", benignPHP+"// release 4\n")
	err := h.call(wire.CmdDeployEnd, wire.DeployArgs{}, &res)
	if err == nil || !strings.Contains(err.Error(), "window stays open") {
		t.Fatalf("deploy end while a change is judged: %v %+v, want an error saying the window stays open", err, res)
	}
	var st wire.Status
	if err := h.call(wire.CmdStatus, nil, &st); err != nil || len(st.Deploys) != 1 {
		t.Fatalf("status after the failed deploy end: %v, %d windows open, want 1", err, len(st.Deploys))
	}
	free()
	if err := h.call(wire.CmdDeployEnd, wire.DeployArgs{}, &res); err != nil || len(res.Closed) != 1 || !contains(res.Closed[0].Added, slow) {
		t.Fatalf("deploy end again: %v %+v, want the window closed with %s added", err, res, slow)
	}
	h.stop()
	if a, ok := h.recv.find(slow, alert.KindUnexpectedChange); ok {
		t.Errorf("the release's file was alerted after all: %s", a.Message)
	}
}

// TestManifestAcceptsAnnouncedFiles: a deploy manifest accepts files that
// arrive with the announced hash, without a window — a name that is not
// valid UTF-8 included, and across a restart; another content at the same
// path still alerts.
func TestManifestAcceptsAnnouncedFiles(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	h.protected = "mode = \"protected\"\n"
	h.start()
	h.waitReconciled()
	good := filepath.Join(h.www, "release.php")
	odd := filepath.Join(h.www, "r\xff\xfelease.php")
	other := filepath.Join(h.www, "other.php")
	content := benignPHP + "// release 3\n"
	var acc wire.AcceptResult
	err := h.call(wire.CmdBaselineAccept, wire.AcceptArgs{Manifest: []wire.ManifestEntry{
		{SHA256: sha256hex(content), Path: safetext.JSONPath(good)},
		{SHA256: sha256hex(content), Path: safetext.JSONPath(odd)},
		{SHA256: sha256hex(content), Path: safetext.JSONPath(other)},
	}}, &acc)
	if err != nil || len(acc.Pending) != 3 || !contains(acc.Pending, odd) {
		t.Fatalf("manifest: %v %+v, want all three pending, exactly named", err, acc)
	}
	// The announcements are kept in the state database.
	h.stop()
	h.start()
	h.waitReconciled()
	h.write("release.php", content)
	h.write("r\xff\xfelease.php", content)
	h.write("other.php", content+"// not what CI built\n")
	h.recv.waitAlert(other, alert.KindUnexpectedChange)
	waitScanned(t, h, good, content)
	waitScanned(t, h, odd, content)
	for _, p := range []string{good, odd} {
		if _, ok := h.recv.find(p, alert.KindUnexpectedChange); ok {
			t.Errorf("%q, announced by the manifest, raised unexpected_change", p)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestLinksAtStartAreJudged: symbolic links already in a root when its
// first baseline is built are judged as files found then are — a link out
// of the root is a symlink alert, one to a webshell a detection, both
// left in place ("found by the root's first baseline"); a script name
// inside the root and a harmless link raise nothing. A link made while the
// agent was down is judged at the next start, and the links judged before
// are not judged again; a third start judges nothing.
func TestLinksAtStartAreJudged(t *testing.T) {
	testenv.Journald(t)
	h := newHarness(t)
	h.write("index.php", benignPHP)
	h.write("img/logo.png", "png")
	shell := filepath.Join(h.outside, "shell.php")
	if err := os.WriteFile(shell, []byte(evalShell), 0o644); err != nil {
		t.Fatal(err)
	}
	link := func(name, target string) string {
		t.Helper()
		p := filepath.Join(h.www, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out := link("uploads", h.outside)                // a folder out of the root
	shadow := link("img/x\n\xff.txt", "/etc/shadow") // a hostile name, out of the root
	served := link("img/avatar.gif", shell)          // serves a webshell
	link("home.php", "index.php")                    // a script name, inside
	link("logo.png", "img/logo.png")                 // harmless

	child := h.startChild()
	h.waitReconciled()
	child.stop(t)
	firstRun := h.recv.all()
	checkLinkAlerts(t, "first baseline", firstRun, map[string]alert.Kind{out: alert.KindSymlink, shadow: alert.KindSymlink, served: alert.KindDetection},
		"found by the root's first baseline: it was there before shellwatch")
	for _, p := range []string{out, shadow, served} {
		if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%q not left in place: %v %v", p, fi, err)
		}
	}

	// Made while the agent was down.
	later := link("later", "/etc/hostname")
	child = h.startChild()
	h.waitReconciled()
	child.stop(t)
	checkLinkAlerts(t, "restart", h.recv.all()[len(firstRun):], map[string]alert.Kind{later: alert.KindSymlink},
		"the link was there before the agent saw it appear")

	mark := len(h.recv.all())
	child = h.startChild()
	h.waitReconciled()
	child.stop(t)
	checkLinkAlerts(t, "third start", h.recv.all()[mark:], nil, "")
}

// checkLinkAlerts checks that the file alerts of got are exactly one of
// each kind want names, each left in place for reason.
func checkLinkAlerts(t *testing.T, when string, got []alert.Alert, want map[string]alert.Kind, reason string) {
	t.Helper()
	alerts := fileAlerts(got, alert.KindSymlink, alert.KindDetection, alert.KindUnexpectedChange, alert.KindChangedWhileDown, alert.KindQuarantineFailed)
	if len(alerts) != len(want) {
		for _, a := range alerts {
			t.Logf("%s: got %s %q: %s", when, a.Kind, a.Path(), a.Message)
		}
		t.Fatalf("%s: %d file alerts, want %d", when, len(alerts), len(want))
	}
	for _, a := range alerts {
		if k, ok := want[a.Path()]; !ok || a.Kind != k {
			t.Errorf("%s: %s for %q, want %v", when, a.Kind, a.Path(), want)
		}
		if a.Action == nil || a.Action.Taken != alert.ActionAlerted || a.Action.Reason != reason {
			t.Errorf("%s: %s for %q: action %+v, want left in place: %s", when, a.Kind, a.Path(), a.Action, reason)
		}
		if a.File == nil || a.File.LinkTarget == "" {
			t.Errorf("%s: %s for %q names no link target", when, a.Kind, a.Path())
		}
	}
}
