package testenv

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// alertmanagerBinary is where Debian's prometheus-alertmanager package puts
// Alertmanager.
const alertmanagerBinary = "/usr/bin/prometheus-alertmanager"

// alertmanagerConfig routes every alert to a receiver that notifies nobody:
// the tests read alerts back through the API, not from notifications.
const alertmanagerConfig = `route:
  receiver: nobody
receivers:
  - name: nobody
`

// Alertmanager starts a real Alertmanager on a free loopback port, with its
// configuration and storage in t.TempDir() and clustering off, waits until
// it is ready and returns its base URL ("http://127.0.0.1:PORT"). It is
// stopped, by its PID, when the test ends. When the binary is absent the
// test is skipped, or fails under CI or SHELLWATCH_REQUIRE_CORPUS.
func Alertmanager(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(alertmanagerBinary); err != nil {
		msg := fmt.Sprintf("no Alertmanager at %s (install the Debian package prometheus-alertmanager): %v", alertmanagerBinary, err)
		if os.Getenv("CI") != "" || os.Getenv("SHELLWATCH_REQUIRE_CORPUS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	configFile := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(configFile, []byte(alertmanagerConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	// The free port is found by binding and releasing it, so another
	// process may take it before Alertmanager does: try a few ports.
	var lastErr error
	for range 5 {
		baseURL, err := startAlertmanager(t, configFile, dir)
		if err == nil {
			return baseURL
		}
		lastErr = err
	}
	t.Fatalf("alertmanager: %v", lastErr)
	return ""
}

func startAlertmanager(t testing.TB, configFile, dir string) (string, error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	storage, err := os.MkdirTemp(dir, "storage-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(alertmanagerBinary,
		"--config.file="+configFile,
		"--storage.path="+storage,
		"--web.listen-address="+addr,
		"--cluster.listen-address=", // no gossip port, no peers
		"--log.level=warn",
	)
	baseURL := "http://" + addr
	client := &http.Client{Timeout: 2 * time.Second}
	var lastErr error
	err = tryStart(t, "alertmanager", syscall.SIGTERM, cmd, func() bool {
		resp, err := client.Get(baseURL + "/-/ready")
		if lastErr = err; err == nil {
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}
		return false
	})
	if err != nil {
		return "", errors.Join(fmt.Errorf("%s on %s: %w", alertmanagerBinary, addr, err), lastErr)
	}
	return baseURL, nil
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
