package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	stdlog "log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// replaceFile writes content to a new file beside path and renames it over
// path, as an editor or a package manager does.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// selfChanges is how many changes of target the agent's watch of its own
// files has seen.
func (h *harness) selfChanges(target string) uint64 {
	h.agent.self.mu.Lock()
	defer h.agent.self.mu.Unlock()
	if h.agent.self.w == nil {
		return 0
	}
	return h.agent.self.w.Changes(target)
}

// waitReloads waits until the receiver holds n reloaded alerts.
func (h *harness) waitReloads(n int) {
	h.t.Helper()
	testenv.Eventually(h.t, waitFor, fmt.Sprintf("%d reloaded alerts", n), func() bool {
		got := 0
		for _, a := range h.recv.all() {
			if a.Kind == alert.KindReloaded {
				got++
			}
		}
		return got >= n
	})
}

// The config file changed on disk outside a reload (an editor replaces
// it): self_changed, critical, raised once however often it changes, in
// status and the metric; the reload that reads it resolves it. Reloading
// again reads it once more and raises nothing: the next raise is the
// chmod done after that reload (inotify tells one watch's events in
// order, so a raise for the reload's reading would come first).
func TestBlindSelfChangedConfig(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)
	cfg, err := os.ReadFile(h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, h.cfgPath, string(cfg)+"\n# changed\n")
	raised, _ := h.waitBlind(blind.SelfChanged, h.cfgPath, 1, 0)
	if raised[0].Kind != alert.KindBlind || raised[0].Severity != finding.SeverityCritical || !strings.Contains(raised[0].Message, "config file") {
		t.Errorf("raise: %s %s %q", raised[0].Kind, raised[0].Severity, raised[0].Message)
	}
	before := h.selfChanges(h.cfgPath)
	replaceFile(t, h.cfgPath, string(cfg)) // once more: told already (one event, its rename)
	// The reload resolves only what did not change while it read: let the
	// watch hear this write first, as an operator's reload comes after
	// the edit.
	testenv.Eventually(t, waitFor, "the in-place write seen", func() bool { return h.selfChanges(h.cfgPath) > before })
	h.reload()
	h.waitReloads(1)
	h.waitBlind(blind.SelfChanged, h.cfgPath, 1, 1)

	h.reload()
	h.waitReloads(2)
	if err := os.Chmod(h.cfgPath, 0o644); err != nil {
		t.Fatal(err)
	}
	raised, _ = h.waitBlind(blind.SelfChanged, h.cfgPath, 2, 1)
	if !strings.HasPrefix(raised[1].Detail, "CHMOD ") {
		t.Errorf("second raise %q, want the chmod's: the reload's own reading raised it", raised[1].Detail)
	}
}

// A rule file added below a rules.paths folder: self_changed for the
// folder; the reload that compiles it resolves it.
func TestBlindSelfChangedRules(t *testing.T) {
	h := newHarness(t)
	rules := filepath.Join(h.dir, "rules")
	if err := os.MkdirAll(filepath.Join(rules, "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	rule := "rule local_marker { strings: $a = \"local-marker-1\" condition: $a }\n"
	if err := os.WriteFile(filepath.Join(rules, "local", "a.yar"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	h.extraConfig = fmt.Sprintf("[rules]\npaths = [%q]\n", rules)
	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)
	replaceFile(t, filepath.Join(rules, "local", "b.yar"), strings.ReplaceAll(rule, "local_marker", "other_marker"))
	raised, _ := h.waitBlind(blind.SelfChanged, rules, 1, 0)
	if !strings.Contains(raised[0].Detail, "b.yar") || raised[0].Severity != finding.SeverityCritical {
		t.Errorf("raise: %s %q", raised[0].Severity, raised[0].Detail)
	}
	h.reload()
	h.waitBlind(blind.SelfChanged, rules, 1, 1)
}

// The agent's binary replaced on disk (the test binary cannot be: a temp
// file stands for it): self_changed, and no reload resolves it — the
// running agent is still the old binary.
func TestBlindSelfChangedBinary(t *testing.T) {
	h := newHarness(t)
	exe := filepath.Join(h.dir, "bin", "shellwatch")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("\x7fELF old"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.opts.selfExe = exe
	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)
	replaceFile(t, exe, "\x7fELF new")
	raised, _ := h.waitBlind(blind.SelfChanged, exe, 1, 0)
	if !strings.Contains(raised[0].Message, "binary") || !strings.Contains(raised[0].Message, "restarted") {
		t.Errorf("raise message %q", raised[0].Message)
	}
	h.reload()
	h.waitReloads(1)
	h.waitBlind(blind.SelfChanged, exe, 1, 0)
}

// The webhook's secret_file signs every alert: made readable to others, or
// swapped, it lets an attacker forge alerts or break their verification.
// Changed on disk it is self_changed, named by its key, with its mode and
// owner now and never its content nor a hash of it; a reload signs with
// what is on disk now (new sinks: the receiver, rotated too, takes the
// resolution) and resolves it.
func TestBlindSelfChangedWebhookSecret(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)
	path := filepath.Join(h.dir, "webhook.secret")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	raised, _ := h.waitBlind(blind.SelfChanged, path, 1, 0)
	if !strings.Contains(raised[0].Message, "webhook[0].secret_file") || raised[0].Severity != finding.SeverityCritical {
		t.Errorf("raise: %s %q", raised[0].Severity, raised[0].Message)
	}
	if d := raised[0].Detail; !strings.HasPrefix(d, "CHMOD ") || !strings.Contains(d, "now -rw-r--r-- root:root (0:0)") {
		t.Errorf("raise detail %q, want the chmod and the mode and owner now", d)
	}

	rotated := []byte("rotated-hmac-key-" + t.Name())
	before := h.selfChanges(path)
	replaceFile(t, path, string(rotated)+"\n")
	testenv.Eventually(t, waitFor, "the rotation seen", func() bool { return h.selfChanges(path) > before })
	h.recv.rotate(rotated)
	h.reload()
	h.waitReloads(1)
	h.waitBlind(blind.SelfChanged, path, 1, 1)

	for _, secret := range [][]byte{h.secret, rotated} {
		for _, told := range []string{string(secret), fmt.Sprintf("%x", sha256.Sum256(secret)),
			fmt.Sprintf("%x", sha256.Sum256(append(secret, '\n')))} {
			for _, a := range h.recv.all() {
				if js, _ := json.Marshal(a); strings.Contains(string(js), told) {
					t.Errorf("alert %s %s tells the secret or its hash %q: %s", a.Kind, a.ID, told, js)
				}
			}
		}
	}
}

// The webhook's TLS files decide whom the agent trusts and how it proves
// itself: a ca_file swapped makes it deliver to another receiver, a
// client_key made readable lets anyone pose as the agent. Changed on disk
// each is self_changed, named by its key, telling mode and owner and never
// content nor a hash of it; a reload that reads a changed file builds new
// sinks with it (the receiver, whose certificate is now of another CA, takes
// the resolutions only from sinks that trust the new ca_file), and resolves.
func TestBlindSelfChangedWebhookTLSFiles(t *testing.T) {
	h := newHarness(t)
	ca1, ca2 := newTestCA(t, "one"), newTestCA(t, "two")
	var serving atomic.Pointer[tls.Certificate]
	serving.Store(ca1.leaf(t, true))
	clients := x509.NewCertPool()
	clients.AddCert(ca1.cert)
	h.recv = newTLSReceiver(t, h.secret, &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return serving.Load(), nil },
		ClientAuth:     tls.RequireAndVerifyClientCert,
		ClientCAs:      clients,
	})
	h.hookURL = "https://" + h.recv.ln.Addr().String() + "/hook"
	caFile, certFile, keyFile := filepath.Join(h.dir, "ca.pem"), filepath.Join(h.dir, "client.pem"), filepath.Join(h.dir, "client.key")
	client := ca1.leaf(t, false)
	clientPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: client.Certificate[0]})
	keyDER, err := x509.MarshalPKCS8PrivateKey(client.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	for f, data := range map[string][]byte{caFile: ca1.pem(), certFile: clientPEM, keyFile: keyPEM} {
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h.extraConfig = fmt.Sprintf("ca_file = %q\nclient_cert = %q\nclient_key = %q\n", caFile, certFile, keyFile)
	h.start()
	h.recv.waitAlert("", alert.KindAgentStarted)

	raisedFor := func(subject string) (raised, resolved []alert.Alert) {
		r, s := blindAlerts(h.recv, blind.SelfChanged)
		for _, a := range r {
			if a.Blind.Subject == subject {
				raised = append(raised, a)
			}
		}
		for _, a := range s {
			if a.Blind.Subject == subject {
				resolved = append(resolved, a)
			}
		}
		return raised, resolved
	}
	waitRaised := func(subject, key, detail string) {
		t.Helper()
		var raised []alert.Alert
		testenv.Eventually(t, waitFor, "self_changed for "+key, func() bool {
			raised, _ = raisedFor(subject)
			return len(raised) > 0
		})
		if !strings.Contains(raised[0].Message, key) || raised[0].Severity != finding.SeverityCritical {
			t.Errorf("raise for %s: %s %q", key, raised[0].Severity, raised[0].Message)
		}
		if d := raised[0].Detail; !strings.HasPrefix(d, detail) {
			t.Errorf("raise detail %q, want it to start with %q", d, detail)
		}
	}
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	waitRaised(keyFile, "webhook[0].client_key", "CHMOD ")
	before := h.selfChanges(caFile)
	replaceFile(t, caFile, string(ca2.pem()))
	testenv.Eventually(t, waitFor, "the CA rotation seen", func() bool { return h.selfChanges(caFile) > before })
	waitRaised(caFile, "webhook[0].ca_file", "")

	// The receiver now shows a certificate of the second CA: only sinks
	// built again from the ca_file on disk reach it.
	serving.Store(ca2.leaf(t, true))
	h.reload()
	h.waitReloads(1)
	for _, subject := range []string{keyFile, caFile} {
		testenv.Eventually(t, waitFor, "self_changed resolved for "+subject, func() bool {
			_, resolved := raisedFor(subject)
			return len(resolved) == 1
		})
	}
	for _, told := range [][]byte{keyPEM, keyDER, ca2.pem(), clientPEM} {
		for _, s := range []string{string(told), fmt.Sprintf("%x", sha256.Sum256(told))} {
			for _, a := range h.recv.all() {
				if js, _ := json.Marshal(a); strings.Contains(string(js), s) {
					t.Errorf("alert %s %s tells a TLS file or its hash: %s", a.Kind, a.ID, js)
				}
			}
		}
	}
}

// newTLSReceiver is a receiver (see newReceiver) behind TLS with cfg.
func newTLSReceiver(t *testing.T, secret []byte, cfg *tls.Config) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, secret: secret, ln: ln}
	// The refused handshakes of sinks that trust another CA are expected.
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second, ErrorLog: stdlog.New(io.Discard, "", 0)}
	// A handshake at every request: a certificate changed is shown at once.
	r.srv.SetKeepAlivesEnabled(false)
	go r.srv.Serve(tls.NewListener(ln, cfg))
	t.Cleanup(r.close)
	return r
}

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "shellwatch test CA " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

func (ca *testCA) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

// leaf issues a certificate for 127.0.0.1 (a server's) or a client's.
func (ca *testCA) leaf(t *testing.T, server bool) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
