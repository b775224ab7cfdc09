package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// TestDemoRunsTwiceQuietly runs `make run`'s script (scripts/demo.sh, with
// demo/config.toml) twice in a copy of their layout in a temp folder, as a
// new user does: the second run must not raise changed_while_down for the
// demo root it rebuilt.
func TestDemoRunsTwiceQuietly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the control socket serves root only (make test runs as root)")
	}
	dir := t.TempDir()
	for _, f := range []string{"scripts/demo.sh", "demo/config.toml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "bin", "shellwatch")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "demo", "config.toml")

	for run := 1; run <= 2; run++ {
		out := &testenv.Buffer{}
		cmd := exec.Command("scripts/demo.sh", "bin/shellwatch")
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		st := waitReconciled(t, cfg, exited, out)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("demo run %d: %v\n%s", run, err, out)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("demo run %d did not stop after SIGTERM:\n%s", run, out)
		}
		for _, a := range st.LastAlerts {
			if a.Kind != "agent_started" {
				t.Errorf("demo run %d raised %s: %s", run, a.Kind, a.Message)
			}
		}
		if st.FilesKnown != 3 {
			t.Errorf("demo run %d: %d files in the baseline, want the demo's 3", run, st.FilesKnown)
		}
	}
}

// waitReconciled waits until the demo's daemon has compared its root with
// the baseline, and returns its status; exited hears if it stops first.
// The deadline bounds a hang; nothing is timed.
func waitReconciled(t *testing.T, cfg string, exited <-chan error, out *testenv.Buffer) wire.Status {
	t.Helper()
	var st wire.Status
	testenv.Eventually(t, 30*time.Second, "the demo's daemon reconciled", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("the demo stopped before it was ready (%v):\n%s", err, out)
		default:
		}
		r := runCmd(t, "status", "--config", cfg, "--json")
		if r.status != exitOK {
			return false
		}
		st = wire.Status{}
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("status --json: %v: %s", err, r.stdout)
		}
		return st.Reconciled
	})
	return st
}
