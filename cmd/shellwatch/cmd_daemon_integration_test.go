package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/agent"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// startDaemon runs the agent in-process on a protected temp root (journald
// off: alerts go to a discarded stream) and returns the config path and the
// root.
func startDaemon(t *testing.T) (cfgPath, root string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the control socket serves root only (make test runs as root)")
	}
	dir := t.TempDir()
	root = filepath.Join(dir, "www")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "index.php"), "<?php echo 1;\n")
	cfgPath = filepath.Join(dir, "shellwatch.toml")
	cfg := fmt.Sprintf(`
[agent]
state_dir = %q
control_socket = %q
allow_no_sinks = true
[[watch]]
path = %q
mode = "protected"
[journald]
enabled = false
`, filepath.Join(dir, "state"), filepath.Join(dir, "run", "ctl.sock"), root)
	write(t, cfgPath, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Options{ConfigPath: cfgPath, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	testenv.Eventually(t, 30*time.Second, "the daemon to have reconciled its root", func() bool {
		r := runCmd(t, "status", "--config", cfgPath, "--json")
		return r.status == exitOK && strings.Contains(r.stdout, `"reconciled":true`)
	})
	return cfgPath, root
}

// TestDaemonCommands drives status, deploy and baseline against a running
// daemon, as an operator would.
func TestDaemonCommands(t *testing.T) {
	cfg, root := startDaemon(t)

	r := runCmd(t, "status", "--config", cfg)
	if r.status != exitOK || !strings.Contains(r.stdout, root) || !strings.Contains(r.stdout, "protected") ||
		!strings.Contains(r.stdout, "files in the baseline 1") {
		t.Errorf("status: %+v", r)
	}

	r = runCmd(t, "deploy", "begin", "--config", cfg, "--ttl", "5m")
	if r.status != exitOK || !strings.Contains(r.stdout, "deploy window open on "+root) {
		t.Fatalf("deploy begin: %+v", r)
	}
	if r = runCmd(t, "deploy", "begin", "--config", cfg, "--ttl", "100h"); r.status != exitError || !strings.Contains(r.stderr, "deploy.max_ttl") {
		t.Errorf("deploy begin with a TTL over the max: %+v", r)
	}
	if r = runCmd(t, "deploy", "begin", "--config", cfg, "--root", "/nowhere"); r.status != exitError || !strings.Contains(r.stderr, "not a watched root") {
		t.Errorf("deploy begin on another root: %+v", r)
	}
	// A release of 200 files, and deploy end at once, as a deploy script
	// does: the daemon finishes scanning what was copied before it closes
	// the window, so all of it is accepted and none of it alerted later.
	p := filepath.Join(root, "release.php")
	for i := range 199 {
		write(t, filepath.Join(root, "lib", fmt.Sprintf("m%03d.php", i)), fmt.Sprintf("<?php echo %d;\n", i))
	}
	write(t, p, "<?php echo 2;\n")
	old := filepath.Join(root, "index.php")
	if err := os.Remove(old); err != nil {
		t.Fatal(err)
	}
	if r = runCmd(t, "deploy", "end", "--config", cfg); r.status != exitOK {
		t.Fatalf("deploy end: %+v", r)
	}
	if !strings.Contains(r.stdout, "200 added") || !strings.Contains(r.stdout, "A "+p) ||
		!strings.Contains(r.stdout, "1 removed") || !strings.Contains(r.stdout, "D "+old) {
		t.Errorf("deploy end: %.300q … %.200q", r.stdout, r.stdout[max(0, len(r.stdout)-200):])
	}

	hotfix := filepath.Join(root, "hotfix.php")
	write(t, hotfix, "<?php echo 3;\n")
	r = waitDiff(t, cfg, "U "+hotfix)
	if r.status != exitFlagged || !strings.Contains(r.stdout, "U "+hotfix) {
		t.Errorf("baseline diff: %+v", r)
	}
	if r = runCmd(t, "baseline", "accept", "--config", cfg, hotfix); r.status != exitOK || !strings.Contains(r.stdout, "accepted 1") {
		t.Errorf("baseline accept: %+v", r)
	}
	if r = runCmd(t, "baseline", "diff", "--config", cfg); r.status != exitOK || r.stdout != "" {
		t.Errorf("baseline diff after accept: %+v", r)
	}
	if r = runCmd(t, "baseline", "accept", "--config", cfg, "/etc/passwd"); r.status != exitError || !strings.Contains(r.stderr, "not under a watched root") {
		t.Errorf("baseline accept outside the roots: %+v", r)
	}
}

func TestReadManifest(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.sha256")
	sum := strings.Repeat("ab", 32)
	write(t, good, "# release 4\n"+sum+"  /var/www/a b.php\n"+strings.ToUpper(sum)+" */var/www/bin.php\n\n")
	entries, err := readManifest(good)
	if err != nil || len(entries) != 2 || entries[0].Path != "/var/www/a b.php" || entries[1].Path != "/var/www/bin.php" || entries[1].SHA256 != sum {
		t.Errorf("readManifest: %+v, %v", entries, err)
	}
	for _, bad := range []string{sum + "  relative.php\n", "abc  /var/www/x.php\n", strings.Repeat("zz", 32) + "  /x\n"} {
		f := filepath.Join(dir, "bad")
		write(t, f, "# ok\n"+bad)
		if _, err := readManifest(f); err == nil || !strings.Contains(err.Error(), f+":2") {
			t.Errorf("manifest %q: %v, want an error naming %s:2", bad, err, f)
		}
	}
}

// waitDiff waits until `baseline diff` lists want: the daemon has scanned
// the change (this bounds a hang, it does not time anything).
func waitDiff(t *testing.T, cfg, want string) result {
	t.Helper()
	var r result
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("baseline diff to list %q", want), func() bool {
		r = runCmd(t, "baseline", "diff", "--config", cfg)
		return strings.Contains(r.stdout, want)
	})
	return r
}

// TestDaemonNotRunning: status, deploy and baseline say which socket they
// tried, where it came from and that --config reaches a daemon started with
// another config, and exit 3.
func TestDaemonNotRunning(t *testing.T) {
	dir := t.TempDir()
	socket := filepath.Join(dir, "run", "ctl.sock")
	cfg := filepath.Join(dir, "shellwatch.toml")
	write(t, cfg, fmt.Sprintf("[agent]\ncontrol_socket = %q\n", socket))
	for _, args := range [][]string{
		{"status", "--config", cfg},
		{"deploy", "begin", "--config", cfg},
		{"baseline", "diff", "--config", cfg},
	} {
		r := runCmd(t, args...)
		if r.status != exitNotRunning || !strings.Contains(r.stderr, "no control socket at "+socket) ||
			!strings.Contains(r.stderr, "agent.control_socket of "+cfg) || !strings.Contains(r.stderr, "--config demo/config.toml") {
			t.Errorf("shellwatch %q without a daemon: %+v; want exit 3 naming the socket, its config and --config", args, r)
		}
	}
}
