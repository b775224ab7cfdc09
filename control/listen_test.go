package control

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/testenv"
)

func okHandler(context.Context, Peer, Request) (any, error) { return "ok", nil }

func TestListenPrivateDir(t *testing.T) {
	path := socketPath(t)
	srv := startServer(t, path, testOptions(), okHandler)
	dir, err := os.Lstat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if !dir.IsDir() || dir.Mode().Perm() != 0o700 {
		t.Errorf("directory %s has mode %v, want a 0700 directory", filepath.Dir(path), dir.Mode())
	}
	if uid := dir.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Geteuid() {
		t.Errorf("directory owned by uid %d, want %d", uid, os.Geteuid())
	}
	sock, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if sock.Mode()&fs.ModeSocket == 0 || sock.Mode().Perm() != 0o600 {
		t.Errorf("socket %s has mode %v, want a 0600 socket", path, sock.Mode())
	}
	if srv.Path() != path {
		t.Errorf("Path() = %s, want %s", srv.Path(), path)
	}
}

func TestServeStopRemoves(t *testing.T) {
	path := socketPath(t)
	srv := startServer(t, path, testOptions(), okHandler)
	if err := Call(callCtx(t), path, "status", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.stop(); err != nil {
		t.Fatalf("Serve returned %v after cancel, want nil", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket still there after Serve returned: %v", err)
	}
	err := Call(callCtx(t), path, "status", nil, nil)
	want := "shellwatch is not running (no control socket at " + path + ")"
	if err == nil || err.Error() != want || !errors.Is(err, ErrNotRunning) {
		t.Errorf("Call after stop: got %v, want %q wrapping ErrNotRunning", err, want)
	}
}

func TestServeDrains(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	srv := startServer(t, socketPath(t), testOptions(), func(ctx context.Context, _ Peer, _ Request) (any, error) {
		close(entered)
		<-release
		// Shutdown alone does not cancel a running request.
		return "finished", ctx.Err()
	})
	answer := make(chan error, 1)
	var out string
	go func() { answer <- Call(callCtx(t), srv.path, "baseline.accept", nil, &out) }()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- srv.stop() }()
	// The socket goes at once, so new clients hear "not running"; wait
	// for that rather than for a clock.
	testenv.Eventually(t, time.Minute, "the socket to be removed while draining", func() bool {
		_, err := os.Lstat(srv.path)
		return errors.Is(err, fs.ErrNotExist)
	})
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) while a request was running", err)
	default:
	}
	close(release)
	if err := <-answer; err != nil || out != "finished" {
		t.Errorf("running request: %q, %v", out, err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestDrainIsBounded(t *testing.T) {
	opts := testOptions()
	opts.DrainTimeout = 50 * time.Millisecond
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	cancelled := make(chan struct{})
	srv := startServer(t, socketPath(t), opts, func(ctx context.Context, _ Peer, _ Request) (any, error) {
		close(entered)
		<-ctx.Done()
		close(cancelled)
		<-release // a handler that outlives its context
		return nil, nil
	})
	go func() { _ = Call(callCtx(t), srv.path, "status", nil, nil) }()
	<-entered
	err := srv.stop()
	if err == nil || !strings.Contains(err.Error(), "1 requests still running after 50ms") {
		t.Errorf("Serve: got %v, want the drain timeout", err)
	}
	<-cancelled
}

func TestStaleSocket(t *testing.T) {
	path := socketPath(t)
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	// What a crashed daemon leaves: a socket file nobody listens on.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	err = Call(callCtx(t), path, "status", nil, nil)
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("Call on a stale socket: got %v, want ErrNotRunning", err)
	}
	startServer(t, path, testOptions(), okHandler)
	if err := Call(callCtx(t), path, "status", nil, nil); err != nil {
		t.Errorf("Call after replacing the stale socket: %v", err)
	}
}

func TestSecondDaemon(t *testing.T) {
	path := socketPath(t)
	startServer(t, path, testOptions(), okHandler)
	before, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Listen(path, testOptions())
	if err == nil {
		srv.Close()
		t.Fatal("second Listen succeeded")
	}
	if want := "another shellwatch is running on " + path; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	after, err := os.Lstat(path)
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("the first daemon's socket was touched: %v", err)
	}
	if err := Call(callCtx(t), path, "status", nil, nil); err != nil {
		t.Errorf("first daemon no longer answers: %v", err)
	}
}

func TestInTheWayIsLeftAlone(t *testing.T) {
	for _, tc := range []struct {
		name  string
		place func(t *testing.T, path string)
		want  string
	}{
		{"link", func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "shadow")
			if err := os.WriteFile(target, []byte("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, "is a symbolic link"},
		{"dangling link", func(t *testing.T, path string) {
			if err := os.Symlink(filepath.Join(t.TempDir(), "nothing"), path); err != nil {
				t.Fatal(err)
			}
		}, "is a symbolic link"},
		{"link to socket", func(t *testing.T, path string) {
			other := socketPath(t)
			startServer(t, other, testOptions(), okHandler)
			if err := os.Symlink(other, path); err != nil {
				t.Fatal(err)
			}
		}, "is a symbolic link"},
		{"file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a socket"},
		{"dir", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := socketPath(t)
			if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			tc.place(t, path)
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := Listen(path, testOptions())
			if err == nil {
				srv.Close()
				t.Fatal("Listen succeeded")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to name %s and say %q", err, path, tc.want)
			}
			after, err := os.Lstat(path)
			if err != nil || !os.SameFile(before, after) || before.Mode() != after.Mode() {
				t.Errorf("what was in the way was changed: %v", err)
			}
		})
	}
}

func TestUnsafeDir(t *testing.T) {
	for _, tc := range []struct {
		name     string
		root     bool
		make     func(t *testing.T, dir string)
		wantText []string
	}{
		{"symlink", false, func(t *testing.T, dir string) {
			if err := os.Symlink(t.TempDir(), dir); err != nil {
				t.Fatal(err)
			}
		}, []string{"is a symbolic link"}},
		{"mode 0777", false, func(t *testing.T, dir string) { mkdirMode(t, dir, 0o777) },
			[]string{"writable by group or others (mode 0777)", "chmod go-w"}},
		{"mode 0770", false, func(t *testing.T, dir string) { mkdirMode(t, dir, 0o770) },
			[]string{"writable by group or others (mode 0770)", "chmod go-w"}},
		{"sticky", false, func(t *testing.T, dir string) { mkdirMode(t, dir, 0o1777) },
			[]string{"writable by group or others (mode 0777)"}},
		{"file", false, func(t *testing.T, dir string) {
			if err := os.WriteFile(dir, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"is not a directory"}},
		{"owner", true, func(t *testing.T, dir string) {
			mkdirMode(t, dir, 0o700)
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, []string{"owned by uid 65534, not root", "chown root:root"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root {
				requireRoot(t, "chown a directory to another user")
			}
			path := socketPath(t)
			dir := filepath.Dir(path)
			tc.make(t, dir)
			srv, err := Listen(path, testOptions())
			if err == nil {
				srv.Close()
				t.Fatal("Listen succeeded")
			}
			for _, want := range append(tc.wantText, dir) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				t.Errorf("something was created at %s: %v", path, err)
			}
		})
	}
}

func TestListenBadArgs(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		opts       Options
		want       string
	}{
		{"relative", "run/control.sock", Options{}, "must be absolute"},
		{"too long", "/" + strings.Repeat("d", 120) + "/control.sock", Options{}, "is too long"},
		{"mode with type bits", "/nonexistent/control.sock", Options{SocketMode: fs.ModeSetuid | 0o600}, "only permission bits"},
		{"negative timeout", "/nonexistent/control.sock", Options{Timeout: -1}, "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Listen(tc.path, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func mkdirMode(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if mode&0o1000 != 0 {
		mode = mode.Perm() | os.ModeSticky
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}
