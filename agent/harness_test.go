package agent

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/quarantine"
)

// Webshells the bundled rules flag as critical: request input reaching
// eval and system, the two things that make a shell a shell.
const (
	evalShell   = "<?php @eval($_POST[\"x\"]); ?>\n"
	systemShell = "<?php echo system($_GET['cmd']); ?>\n"
	benignPHP   = "<?php\necho htmlspecialchars($_GET['q'] ?? '');\n"
)

// waitFor bounds how long a test waits for something the agent must do; it
// catches a hang, it does not measure speed.
const waitFor = 30 * time.Second

// receiver is a real HTTP webhook receiver: it checks the HMAC signature of
// each body and keeps the alerts.
type receiver struct {
	t   *testing.T
	srv *http.Server
	ln  net.Listener

	mu     sync.Mutex
	secret []byte // see rotate
	alerts []alert.Alert
	badSig int
}

// rotate makes the receiver check signatures with secret from now on.
func (r *receiver) rotate(secret []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = secret
}

// newReceiver serves on addr ("127.0.0.1:0" for any port).
func newReceiver(t *testing.T, addr string, secret []byte) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, secret: secret, ln: ln}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	t.Cleanup(r.close)
	return r
}

func (r *receiver) close() { r.srv.Close() }

func (r *receiver) url() string { return "http://" + r.ln.Addr().String() + "/hook" }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var a alert.Alert
	decodeErr := json.Unmarshal(body, &a)
	r.mu.Lock()
	defer r.mu.Unlock()
	mac := hmac.New(sha256.New, r.secret)
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(req.Header.Get(alert.SignatureHeader)), []byte(want)) {
		r.badSig++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if decodeErr != nil {
		r.t.Errorf("webhook body does not decode: %v: %s", decodeErr, body)
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.alerts = append(r.alerts, a)
	w.WriteHeader(http.StatusNoContent)
}

// waitAlert waits for an alert about path (any path when empty) whose
// kind is one of kinds.
func (r *receiver) waitAlert(path string, kinds ...alert.Kind) alert.Alert {
	r.t.Helper()
	var a alert.Alert
	testenv.Eventually(r.t, waitFor, fmt.Sprintf("a webhook alert of kind %v for %q", kinds, path), func() bool {
		var ok bool
		a, ok = r.find(path, kinds...)
		return ok
	})
	return a
}

func (r *receiver) find(path string, kinds ...alert.Kind) (alert.Alert, bool) {
	for _, a := range r.all() {
		if path != "" && a.Path() != path {
			continue
		}
		for _, k := range kinds {
			if a.Kind == k {
				return a, true
			}
		}
	}
	return alert.Alert{}, false
}

func (r *receiver) all() []alert.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alert.Alert(nil), r.alerts...)
}

func (r *receiver) badSignatures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.badSig
}

// harness runs a real agent on a temp web root with journald and a webhook.
type harness struct {
	t       *testing.T
	dir     string // everything of the test lives here
	www     string // the watched root
	outside string // a folder on the same filesystem, not watched
	state   string
	cfgPath string
	secret  []byte
	recv    *receiver

	extraConfig string
	agentConfig string // extra keys of the [agent] table
	protected   string // extra keys of the [[watch]] table
	webhookRate string // rate keys of the [[webhook]] table
	hookURL     string // the webhook's URL when not recv's
	opts        Options
	hooks       func(a *Agent)
	// sdNotify leaves Options.Notify nil: the agent writes to the real
	// $NOTIFY_SOCKET, and start waits for READY by the agent's own flag.
	sdNotify bool

	mu      sync.Mutex
	notes   []string
	ready   chan struct{}
	signals chan os.Signal
	done    chan error
	agent   *Agent
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	// t.TempDir may sit below a symlink; the agent reports real paths.
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t: t, dir: dir,
		www:     filepath.Join(dir, "www"),
		outside: filepath.Join(dir, "outside"),
		state:   filepath.Join(dir, "state"),
		cfgPath: filepath.Join(dir, "shellwatch.toml"),
		secret:  []byte("test-hmac-key-" + t.Name()),
		// Every alert on its own unless a test floods on purpose.
		webhookRate: "rate = 0.0",
	}
	for _, d := range []string{h.www, h.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "webhook.secret"), append(h.secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	h.recv = newReceiver(t, "127.0.0.1:0", h.secret)
	return h
}

func (h *harness) writeConfig(webhookURL string) {
	h.t.Helper()
	cfg := fmt.Sprintf(`
[agent]
state_dir = %q
settle = "50ms"
log_level = "debug"
control_socket = %q
%s

[[watch]]
path = %q
%s
[quarantine]
min_severity = "high"

[journald]
enabled = true

[[webhook]]
url = %q
secret_file = "webhook.secret"
min_severity = "low"
%s
%s
`, h.state, h.controlSocket(), h.agentConfig, h.www, h.protected, webhookURL, h.webhookRate, h.extraConfig)
	if err := os.WriteFile(h.cfgPath, []byte(cfg), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// start starts the agent and waits for READY=1.
func (h *harness) start() {
	h.startWith(h.webhookURL())
}

// webhookURL is hookURL, or recv's.
func (h *harness) webhookURL() string {
	if h.hookURL != "" {
		return h.hookURL
	}
	return h.recv.url()
}

func (h *harness) startWith(webhookURL string) {
	h.t.Helper()
	h.writeConfig(webhookURL)
	h.ready = make(chan struct{})
	h.signals = make(chan os.Signal, 1)
	h.done = make(chan error, 1)
	opts := h.options()
	ready := h.ready
	var once sync.Once
	if !h.sdNotify {
		opts.Notify = func(state string) {
			h.mu.Lock()
			h.notes = append(h.notes, state)
			h.mu.Unlock()
			if strings.HasPrefix(state, "READY=1") {
				once.Do(func() { close(ready) })
			}
		}
	}
	a, err := newAgent(opts)
	if err != nil {
		h.t.Fatalf("start agent: %v", err)
	}
	if h.hooks != nil {
		h.hooks(a)
	}
	h.agent = a
	done := h.done
	go func() { done <- a.run(context.Background()) }()
	if h.sdNotify {
		testenv.Eventually(h.t, waitFor, "the agent watching its roots", a.ready.Load)
		once.Do(func() { close(ready) })
	}
	select {
	case <-ready:
	case err := <-done:
		h.t.Fatalf("agent stopped before READY: %v", err)
	case <-time.After(waitFor):
		h.t.Fatal("no READY=1 from the agent")
	}
	h.t.Cleanup(func() { h.stopIfRunning() })
}

// options are the agent's options: the harness's config, logs to the test,
// signals from h.signals, a short webhook backoff.
func (h *harness) options() Options {
	opts := h.opts
	opts.ConfigPath = h.cfgPath
	opts.Version = "test"
	opts.Logger = slog.New(slog.NewTextHandler(testWriter{h.t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Stderr = testWriter{h.t}
	opts.Signals = h.signals
	opts.minBackoff, opts.maxBackoff = 20*time.Millisecond, 200*time.Millisecond
	return opts
}

// stop sends SIGTERM and waits for Run to return nil.
func (h *harness) stop() {
	h.t.Helper()
	h.signals <- syscall.SIGTERM
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("agent returned %v after SIGTERM, want nil", err)
		}
	case <-time.After(waitFor):
		h.t.Fatal("agent did not stop after SIGTERM")
	}
	h.done = nil
}

func (h *harness) stopIfRunning() {
	if h.done != nil {
		h.stop()
	}
}

func (h *harness) controlSocket() string { return filepath.Join(h.dir, "ctl", "control.sock") }

func (h *harness) reload() {
	h.signals <- syscall.SIGHUP
}

func (h *harness) notifications() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.notes...)
}

func (h *harness) write(rel, content string) string {
	h.t.Helper()
	p := filepath.Join(h.www, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) vault() *quarantine.Vault {
	h.t.Helper()
	v, err := quarantine.Open(filepath.Join(h.state, "quarantine"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { v.Close() })
	return v
}

// checkQuarantined checks that a is a quarantine of path with content, that
// the vault holds it and that it left the web root.
func (h *harness) checkQuarantined(a alert.Alert, path, content string) {
	h.t.Helper()
	if a.Action == nil || a.Action.Taken != alert.ActionQuarantined || a.Action.VaultID == "" {
		h.t.Fatalf("alert for %q: action %+v, want quarantined with a vault id", path, a.Action)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		h.t.Errorf("%q still in the web root after quarantine (lstat: %v)", path, err)
	}
	e, err := h.vault().Get(a.Action.VaultID)
	if err != nil {
		h.t.Fatalf("vault entry %s: %v", a.Action.VaultID, err)
	}
	sum := sha256.Sum256([]byte(content))
	if e.Path != path || e.SHA256 != hex.EncodeToString(sum[:]) || !e.Verified {
		h.t.Errorf("vault entry %+v, want path %q sha256 %x verified", e, path, sum)
	}
	if a.File.SHA256 != e.SHA256 {
		h.t.Errorf("alert sha256 %s, vault %s", a.File.SHA256, e.SHA256)
	}
}

// checkJournal reads the alert back from the real journal and checks the
// documented fields.
func checkJournal(t *testing.T, j *testenv.JournalReader, a alert.Alert) map[string]any {
	t.Helper()
	entries := j.WaitEntries(t, waitFor, 1, "SHELLWATCH_ALERT_ID="+a.ID)
	e := entries[0]
	want := map[string]string{
		"MESSAGE_ID":          a.Kind.MessageID(),
		"SYSLOG_IDENTIFIER":   "shellwatch",
		"SHELLWATCH_KIND":     string(a.Kind),
		"SHELLWATCH_SEVERITY": a.Severity.String(),
	}
	if a.File != nil {
		want["SHELLWATCH_SHA256"] = a.File.SHA256
		want["SHELLWATCH_RULES"] = strings.Join(a.RuleNames(), ",")
	}
	if a.Action != nil {
		want["SHELLWATCH_ACTION"] = a.Action.Taken
		if a.Action.VaultID != "" {
			want["SHELLWATCH_VAULT_ID"] = a.Action.VaultID
		}
	}
	for k, v := range want {
		if got := string(testenv.FieldBytes(e, k)); got != v {
			t.Errorf("journal %s = %q, want %q", k, got, v)
		}
	}
	if a.File != nil {
		if got := testenv.FieldBytes(e, "SHELLWATCH_PATH"); string(got) != a.File.Path {
			t.Errorf("journal SHELLWATCH_PATH = %q, want %q", got, a.File.Path)
		}
	}
	if msg := string(testenv.FieldBytes(e, "MESSAGE")); msg == "" || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("journal MESSAGE %q: want one non-empty line", msg)
	}
	return e
}

// testWriter sends log lines to t.Log, so a failing test shows the agent's
// side of the story.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
