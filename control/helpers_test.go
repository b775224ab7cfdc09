package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/testenv"
)

// Environment of the helper mode: the test binary re-executed as another
// user (see TestMain and peer_test.go).
const (
	helperEnv       = "SHELLWATCH_CONTROL_TEST_HELPER"
	helperSocketEnv = "SHELLWATCH_CONTROL_TEST_SOCKET"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// runHelper is the child side of the peer tests: one Call, its outcome on
// stdout for the parent to check.
func runHelper(mode string) int {
	if mode != "call" {
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := Call(ctx, os.Getenv(helperSocketEnv), "status", nil, nil)
	fmt.Printf("uid=%d\n", os.Getuid())
	if err != nil {
		fmt.Printf("error: %v\n", err)
	} else {
		fmt.Println("ok")
	}
	return 0
}

// testServer is a running server on a socket in the test's temp dir.
type testServer struct {
	*Server
	path string
	logs *testenv.Buffer
	stop func() error // cancels Serve and returns its error
}

// testOptions allows the test's own uid, so that the tests that do not
// need root also run unprivileged.
func testOptions() Options {
	return Options{AllowUIDs: []uint32{0, uint32(os.Geteuid())}}
}

func socketPath(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "control.sock")
	if len(path) > maxSocketPath {
		t.Skipf("socket path %s is longer than unix sockets allow (%d bytes); set TMPDIR to a shorter directory", path, maxSocketPath)
	}
	return path
}

func startServer(t *testing.T, path string, opts Options, h Handler) *testServer {
	t.Helper()
	logs := &testenv.Buffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := Listen(path, opts)
	if err != nil {
		t.Fatalf("Listen(%s): %v", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, h) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-served:
			case <-time.After(time.Minute):
				serveErr = errors.New("Serve did not return within a minute of cancel")
			}
		})
		return serveErr
	}
	var checked atomic.Bool // the test looked at Serve's error itself
	t.Cleanup(func() {
		if err := stop(); err != nil && !checked.Load() {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{Server: srv, path: path, logs: logs, stop: func() error {
		checked.Store(true)
		return stop()
	}}
}

func callCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root (make test runs as root): %s", why)
	}
}
