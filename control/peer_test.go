package control

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// nobody is the unprivileged user the child runs as, standing in for a web
// server account.
const nobody = 65534

// TestNonRootPeer runs the test binary again as uid 65534 and has
// it call a real server. With the socket opened to everyone (0666) only the
// SO_PEERCRED check stands between that user and the handler; with the
// default 0600 the kernel already stops it at connect.
func TestNonRootPeer(t *testing.T) {
	requireRoot(t, "run a child process as uid 65534")
	bin := reachableCopyOfTestBinary(t)
	for _, tc := range []struct {
		name string
		mode os.FileMode
		want func(path string) string
	}{
		{"0666", 0o666, func(string) string {
			return "error: permission denied: shellwatch control requires root (peer uid 65534)"
		}},
		{"0600", 0, func(path string) string {
			return "error: permission denied on " + path + ": run as root"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := reachableTempDir(t)
			runDir := filepath.Join(dir, "run")
			// 0711: others may pass through to the socket but not list or
			// write; Listen accepts such a directory.
			if err := os.Mkdir(runDir, 0o711); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(runDir, 0o711); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(runDir, "control.sock")
			if len(path) > maxSocketPath {
				t.Skipf("socket path %s is longer than unix sockets allow; set TMPDIR to a shorter directory", path)
			}
			var ran atomic.Int32
			srv := startServer(t, path, Options{SocketMode: tc.mode}, func(context.Context, Peer, Request) (any, error) {
				ran.Add(1)
				return "you should not see this", nil
			})

			out := runAsNobody(t, bin, path)
			if !strings.Contains(out, "uid=65534\n") {
				t.Fatalf("child did not run as uid 65534; its output:\n%s", out)
			}
			if want := tc.want(path); !strings.Contains(out, want+"\n") {
				t.Errorf("child output:\n%s\nwant the line %q", out, want)
			}
			if n := ran.Load(); n != 0 {
				t.Errorf("handler ran %d times for a refused peer", n)
			}
			if tc.mode == 0o666 {
				logs := srv.logs.String()
				if !strings.Contains(logs, "control connection refused") || !strings.Contains(logs, `"uid":65534`) || !strings.Contains(logs, `"pid":`) {
					t.Errorf("refusal not logged with pid and uid; logs:\n%s", logs)
				}
			}
			// Root, still allowed, is served after the refusal.
			if err := Call(callCtx(t), path, "status", nil, nil); err != nil {
				t.Errorf("root refused after a refused peer: %v", err)
			}
		})
	}
}

func runAsNobody(t *testing.T, bin, path string) string {
	t.Helper()
	cmd := exec.CommandContext(callCtx(t), bin)
	cmd.Env = []string{helperEnv + "=call", helperSocketEnv + "=" + path}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child as uid %d: %v\n%s", nobody, err, out)
	}
	return string(out)
}

// reachableTempDir returns a fresh t.TempDir() that uid 65534 can pass
// through. The testing package makes the temp dir and its per-test parent
// 0700; those two are ours to open to 0711. Anything above them is not, so
// the test skips if it blocks the way.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	for d := filepath.Dir(filepath.Dir(dir)); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			t.Skipf("uid %d cannot pass through %s (mode %v), above the test's temp dir; set TMPDIR to a directory others may traverse", nobody, d, fi.Mode())
		}
		if d == "/" {
			return dir
		}
	}
}

// reachableCopyOfTestBinary copies the running test binary into a temp dir
// uid 65534 can reach: go test builds it under a private 0700 directory.
func reachableCopyOfTestBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(reachableTempDir(t), "control.test")
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}
