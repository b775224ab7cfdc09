package alert

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

func testLogger(t *testing.T) (*slog.Logger, *testenv.Buffer) {
	t.Helper()
	buf := &testenv.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("webhook log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// request is one request a test receiver got.
type request struct {
	header http.Header
	body   []byte
	path   string
}

// receiver is a real HTTP server that records what it gets and answers
// what respond says (200 when respond is nil).
type receiver struct {
	mu      sync.Mutex
	got     []request
	arrival chan struct{} // cap 1000: one token per request
	respond func(n int, h http.Header) (status int, body string)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.got)
	rc.got = append(rc.got, request{header: r.Header.Clone(), body: body, path: r.URL.Path})
	respond := rc.respond
	rc.mu.Unlock()
	select {
	case rc.arrival <- struct{}{}:
	default:
	}
	status, answer := http.StatusOK, ""
	if respond != nil {
		status, answer = respond(n, w.Header())
	}
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.got...)
}

// alertsReceived decodes every JSON body received, in arrival order.
func (rc *receiver) alertsReceived(t *testing.T) []Alert {
	t.Helper()
	var out []Alert
	for _, r := range rc.requests() {
		var a Alert
		if err := json.Unmarshal(r.body, &a); err != nil {
			t.Fatalf("receiver got a body that is not an alert: %v: %q", err, r.body)
		}
		out = append(out, a)
	}
	return out
}

func newReceiver(respond func(n int, h http.Header) (int, string)) *receiver {
	return &receiver{arrival: make(chan struct{}, 1000), respond: respond}
}

// waitTimeout bounds the wait for something a sink must do; it catches a
// hang, it does not measure speed.
const waitTimeout = 30 * time.Second

func closeWebhook(t *testing.T, w *Webhook) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

var testTime = time.Date(2024, 5, 17, 3, 4, 5, 0, time.UTC)

func testAlert(i int, sev finding.Severity) Alert {
	return Alert{
		ID:       NewID(testTime.Add(time.Duration(i) * time.Millisecond)),
		Time:     testTime.Add(time.Duration(i) * time.Second),
		Host:     "web1",
		Kind:     KindDetection,
		Severity: sev,
		Message:  fmt.Sprintf("webshell detected in /var/www/html/up/%d.php, quarantined", i),
		File: &File{
			Path: fmt.Sprintf("/var/www/html/up/%d.php", i), Root: "/var/www/html",
			Size: 1234, Mode: "0644", UID: 33, GID: 33, User: "www-data", Group: "www-data",
			MTime: testTime, Dev: 2049, Inode: uint64(1000 + i),
			SHA256: strings.Repeat("ab", 32), MD5: strings.Repeat("cd", 16),
		},
		Rules:        []Rule{{Name: "php_webshell_eval", Severity: sev, Family: "china_chopper"}},
		Action:       &Action{Taken: ActionQuarantined, VaultID: fmt.Sprintf("v%d", i)},
		AgentVersion: "1.2.3",
	}
}

// mutualTLSReceiver starts a receiver over TLS that requires a client
// certificate (testCerts), closed when the test ends; errorLog, when not
// nil, takes the server's errors.
func mutualTLSReceiver(t *testing.T, errorLog *stdlog.Logger) (rc *receiver, srv *httptest.Server, caFile, certFile, keyFile string) {
	t.Helper()
	serverTLS, caFile, certFile, keyFile := testCerts(t)
	rc = newReceiver(nil)
	srv = httptest.NewUnstartedServer(rc)
	srv.TLS = serverTLS
	srv.Config.ErrorLog = errorLog
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return rc, srv, caFile, certFile, keyFile
}

// testCerts writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, all signed by the CA, and returns the server's TLS config
// (requiring a client certificate) and the files a webhook reads.
func testCerts(t *testing.T) (server *tls.Config, caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "shellwatch test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage, ip net.IP) (tls.Certificate, []byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: fmt.Sprintf("leaf %d", serial)},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if ip != nil {
			tmpl.IPAddresses = []net.IP{ip}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(key)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return pair, certPEM, keyPEM
	}
	serverPair, _, _ := leaf(2, x509.ExtKeyUsageServerAuth, net.IPv4(127, 0, 0, 1))
	_, clientPEM, clientKeyPEM := leaf(3, x509.ExtKeyUsageClientAuth, nil)

	caFile = filepath.Join(dir, "ca.pem")
	certFile = filepath.Join(dir, "client.pem")
	keyFile = filepath.Join(dir, "client.key")
	for f, data := range map[string][]byte{
		caFile:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certFile: clientPEM,
		keyFile:  clientKeyPEM,
	} {
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	server = &tls.Config{
		Certificates: []tls.Certificate{serverPair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
	return server, caFile, certFile, keyFile
}

// TestWebhookJSONOverMutualTLS sends one alert with a hostile path to a TLS
// receiver that requires a client certificate, and checks every part of
// the request: schema, exact round trip, signature, headers.
func TestWebhookJSONOverMutualTLS(t *testing.T) {
	rc, srv, caFile, certFile, keyFile := mutualTLSReceiver(t, nil)

	log, logs := testLogger(t)
	secret := []byte("hmac-secret-do-not-log")
	w, err := NewWebhook(WebhookOptions{
		URL: srv.URL + "/hook", Secret: secret, BearerToken: "tok-do-not-log",
		Headers: map[string]string{"X-Fleet": "payments-eu"},
		CAFile:  caFile, ClientCert: certFile, ClientKey: keyFile,
		SpoolDir: t.TempDir(), MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	sent := testAlert(1, finding.SeverityCritical)
	sent.File.Path = "/var/www/html/up/a\nb\xff\xfe.php"
	if err := w.Deliver(sent); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, "the alert to be delivered", func() bool { return w.Stats().Delivered == 1 })
	closeWebhook(t, w)

	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.path != "/hook" {
		t.Errorf("path %q, want /hook", r.path)
	}
	var raw map[string]any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["schema_version"] != float64(SchemaVersion) || raw["path_base64"] == nil || raw["id"] != sent.ID {
		t.Errorf("body lacks schema_version, path_base64 or id: %s", r.body)
	}
	var got Alert
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(sent)
	again, _ := json.Marshal(got)
	if !bytes.Equal(want, again) || got.File.Path != sent.File.Path {
		t.Errorf("alert did not round-trip:\nsent %s\ngot  %s", want, again)
	}

	sig := r.header.Get(SignatureHeader)
	if !hmac.Equal([]byte(sig), []byte(Sign(secret, r.body))) || !strings.HasPrefix(sig, "sha256=") {
		t.Errorf("%s %q does not verify", SignatureHeader, sig)
	}
	for k, v := range map[string]string{
		"Authorization": "Bearer tok-do-not-log",
		"X-Fleet":       "payments-eu",
		"Content-Type":  "application/json",
		"User-Agent":    "shellwatch/1.2.3",
		AlertIDHeader:   sent.ID,
	} {
		if got := r.header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if s := logs.String(); strings.Contains(s, "do-not-log") {
		t.Errorf("log holds the secret or token:\n%s", s)
	}
}

// TestWebhookWithoutClientCertIsRefused: a receiver that requires a client
// certificate refuses a webhook without one; the alert stays spooled.
func TestWebhookWithoutClientCertIsRefused(t *testing.T) {
	rc, srv, caFile, _, _ := mutualTLSReceiver(t, stdlog.New(io.Discard, "", 0)) // the refused handshakes are the point
	log, _ := testLogger(t)
	spoolDir := t.TempDir()
	w, err := NewWebhook(WebhookOptions{URL: srv.URL, CAFile: caFile, SpoolDir: spoolDir,
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Deliver(testAlert(1, finding.SeverityHigh)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, "a failed attempt", func() bool { return w.Stats().Retries > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); err == nil || !strings.Contains(err.Error(), "1 alerts left") {
		t.Errorf("Close = %v, want an error saying 1 alert is left", err)
	}
	if n := len(rc.requests()); n != 0 {
		t.Errorf("receiver accepted %d requests without a client certificate", n)
	}
	if files := spoolFiles(t, spoolDir); len(files) != 1 {
		t.Errorf("spool holds %v, want the one alert", files)
	}
}

// TestWebhookRetriesUntilAccepted: a 500 is retried, the 200 that follows
// removes the alert from the spool, and the token never reaches the log.
func TestWebhookRetriesUntilAccepted(t *testing.T) {
	rc := newReceiver(func(n int, _ http.Header) (int, string) {
		if n == 0 {
			return http.StatusInternalServerError, "database is down"
		}
		return http.StatusOK, ""
	})
	srv := httptest.NewServer(rc)
	defer srv.Close()
	log, logs := testLogger(t)
	spoolDir := t.TempDir()
	w, err := NewWebhook(WebhookOptions{URL: srv.URL, BearerToken: "tok-do-not-log", Secret: []byte("sec-do-not-log"),
		SpoolDir: spoolDir, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert(1, finding.SeverityHigh)
	if err := w.Deliver(a); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, "delivery", func() bool { return w.Stats().Delivered == 1 })
	closeWebhook(t, w)

	got := rc.alertsReceived(t)
	if len(got) != 2 || got[0].ID != a.ID || got[1].ID != a.ID {
		t.Fatalf("receiver got %d requests, want the same alert twice (500, then 200)", len(got))
	}
	st := w.Stats()
	if st.Delivered != 1 || st.Retries != 1 || st.Spooled != 0 {
		t.Errorf("stats %+v, want 1 delivered after 1 retry, nothing spooled", st)
	}
	if files := spoolFiles(t, spoolDir); len(files) != 0 {
		t.Errorf("spool still holds %v", files)
	}
	s := logs.String()
	if !strings.Contains(s, "status=500") || !strings.Contains(s, srv.URL) || !strings.Contains(s, "database is down") {
		t.Errorf("failure log lacks the status, URL or the receiver's reason:\n%s", s)
	}
	if strings.Contains(s, "do-not-log") {
		t.Errorf("log holds the token or secret:\n%s", s)
	}
}

// TestWebhookHonoursRetryAfter: after a 503 with Retry-After: 1 the next
// attempt waits at least a second although the backoff alone would be a
// millisecond; a Retry-After beyond MaxBackoff is capped, so delivery still
// happens.
func TestWebhookHonoursRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	retryAfter := "1"
	status := http.StatusServiceUnavailable
	rc := newReceiver(func(n int, h http.Header) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		arrivals = append(arrivals, time.Now())
		if n == 0 {
			h.Set("Retry-After", retryAfter)
			return status, ""
		}
		return http.StatusOK, ""
	})
	srv := httptest.NewServer(rc)
	defer srv.Close()

	run := func(maxBackoff time.Duration) *Webhook {
		log, _ := testLogger(t)
		w, err := NewWebhook(WebhookOptions{URL: srv.URL, SpoolDir: t.TempDir(),
			MinBackoff: time.Millisecond, MaxBackoff: maxBackoff, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Deliver(testAlert(1, finding.SeverityHigh)); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, waitTimeout, "delivery", func() bool { return w.Stats().Delivered == 1 })
		closeWebhook(t, w)
		return w
	}

	run(10 * time.Second)
	mu.Lock()
	if len(arrivals) != 2 {
		t.Fatalf("%d attempts, want 2", len(arrivals))
	}
	if gap := arrivals[1].Sub(arrivals[0]); gap < time.Second {
		t.Errorf("second attempt %v after a 503 with Retry-After: 1", gap)
	}
	// An HTTP-date an hour ahead, on a 429, with MaxBackoff 20ms: capped.
	arrivals = nil
	rc.mu.Lock()
	rc.got = nil
	rc.mu.Unlock()
	retryAfter = time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	status = http.StatusTooManyRequests
	mu.Unlock()
	w := run(20 * time.Millisecond)
	if st := w.Stats(); st.Retries != 1 || st.Delivered != 1 {
		t.Errorf("stats %+v, want delivered after one retry", st)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 17, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"120", 2 * time.Minute},
		{" 7 ", 7 * time.Second},
		{"99999999999999", 24 * time.Hour},
		{"Fri, 17 May 2024 12:00:30 GMT", 30 * time.Second},
		{"Fri, 17 May 2024 11:00:00 GMT", 0},
		{"soon", 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestBackoffStaysWithinBounds(t *testing.T) {
	w := &Webhook{minBackoff: time.Second, maxBackoff: 5 * time.Minute}
	for failures := 1; failures < 100; failures++ {
		ceiling := min(time.Second<<min(failures-1, 30), 5*time.Minute)
		for range 20 {
			if d := w.backoff(failures, 0); d < time.Second || d > ceiling {
				t.Fatalf("backoff after %d failures = %v, want within [1s, %v]", failures, d, ceiling)
			}
		}
	}
	if d := w.backoff(3, time.Hour); d != 5*time.Minute {
		t.Errorf("Retry-After of an hour gives %v, want MaxBackoff", d)
	}
	if d := w.backoff(3, time.Millisecond); d != time.Second {
		t.Errorf("Retry-After of 1ms gives %v, want MinBackoff", d)
	}
}

// freeAddr returns a loopback address nothing listens on: a receiver that
// is down.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		if de.Type().IsRegular() {
			out = append(out, de.Name())
		}
	}
	return out
}

// TestWebhookSurvivesReceiverDownAndRestart: 200 alerts while the receiver
// is down, the agent restarts (a new Webhook over the same spool), the
// receiver comes back: every alert arrives, in order.
func TestWebhookSurvivesReceiverDownAndRestart(t *testing.T) {
	addr := freeAddr(t)
	spoolDir := t.TempDir()
	opts := WebhookOptions{URL: "http://" + addr + "/hook", SpoolDir: spoolDir,
		MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	opts.Logger, _ = testLogger(t)

	first, err := NewWebhook(opts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 200 {
		a := testAlert(i, finding.Severity(1+i%4))
		ids = append(ids, a.ID)
		if err := first.Deliver(a); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, waitTimeout, "a failed attempt", func() bool { return first.Stats().Retries > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := first.Close(ctx); err == nil || !strings.Contains(err.Error(), "200 alerts left") {
		t.Errorf("Close = %v, want an error saying 200 alerts are left", err)
	}
	if n := len(spoolFiles(t, spoolDir)); n != 200 {
		t.Fatalf("spool holds %d files after close, want 200", n)
	}

	// The agent restarts while the receiver is still down.
	second, err := NewWebhook(opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := second.Stats(); st.Spooled != 200 || st.OldestAge <= 0 {
		t.Errorf("stats after restart %+v, want 200 spooled with an age", st)
	}
	testenv.Eventually(t, waitTimeout, "a failed attempt after restart", func() bool { return second.Stats().Retries > 0 })

	// The receiver comes back on the same address.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("receiver cannot listen on %s again: %v", addr, err)
	}
	rc := newReceiver(nil)
	srv := httptest.NewUnstartedServer(rc)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	testenv.Eventually(t, waitTimeout, "the backlog to drain", func() bool { return second.Stats().Spooled == 0 })
	closeWebhook(t, second)

	seen := map[string]bool{}
	var order []string
	for _, a := range rc.alertsReceived(t) {
		if !seen[a.ID] {
			seen[a.ID] = true
			order = append(order, a.ID)
		}
	}
	for i, id := range ids {
		if !seen[id] {
			t.Errorf("alert %d (%s) never arrived", i, id)
		}
	}
	if strings.Join(order, ",") != strings.Join(ids, ",") {
		t.Errorf("alerts arrived out of order")
	}
	if n := len(spoolFiles(t, spoolDir)); n != 0 {
		t.Errorf("spool holds %d files after delivery", n)
	}
}

// TestWebhookSpoolFullDropsLowAndMediumOnly fills a spool of 4 while the
// receiver holds the first request: the oldest low and medium alerts go,
// high and critical ones stay even past the bound, and one
// KindAlertsDropped alert tells of the drops, to OnNotice and the receiver.
func TestWebhookSpoolFullDropsLowAndMediumOnly(t *testing.T) {
	unblock := make(chan struct{})
	var unblockOnce sync.Once
	release := func() { unblockOnce.Do(func() { close(unblock) }) }
	rc := newReceiver(func(n int, _ http.Header) (int, string) {
		if n == 0 {
			<-unblock
		}
		return http.StatusOK, ""
	})
	srv := httptest.NewServer(rc)
	defer srv.Close()
	defer release()

	var mu sync.Mutex
	var notices []Alert
	log, _ := testLogger(t)
	w, err := NewWebhook(WebhookOptions{URL: srv.URL, SpoolDir: t.TempDir(), MaxSpool: 4,
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Logger: log,
		OnNotice: func(_ *Webhook, a Alert) bool { mu.Lock(); notices = append(notices, a); mu.Unlock(); return false }})
	if err != nil {
		t.Fatal(err)
	}
	w.dropNoticeEvery = time.Hour // gather every drop; Close reports them

	sev := []finding.Severity{
		finding.SeverityCritical,                                          // 0: in flight, held by the receiver
		finding.SeverityLow, finding.SeverityMedium, finding.SeverityHigh, // 1-3: the spool is full
		finding.SeverityLow,      // 4: drops 1
		finding.SeverityCritical, // 5: drops 2
		finding.SeverityLow,      // 6: drops 4, the oldest low one left
		finding.SeverityHigh,     // 7: drops 6
		finding.SeverityCritical, // 8: nothing droppable: the spool grows to 5
	}
	alerts := deliverFirstInFlight(t, w, rc, sev)
	if st := w.Stats(); st.Spooled != 5 || st.Dropped != 4 {
		t.Errorf("stats %+v, want 5 spooled and 4 dropped", st)
	}
	release()
	closeWebhook(t, w)

	mu.Lock()
	defer mu.Unlock()
	if len(notices) != 1 {
		t.Fatalf("OnNotice called %d times, want once", len(notices))
	}
	n := notices[0]
	if n.Kind != KindAlertsDropped || n.Severity != finding.SeverityHigh || n.Count != 4 ||
		n.CountByKind[KindDetection] != 4 || !strings.Contains(n.Message, "4 ") || !strings.Contains(n.Message, "full") {
		t.Errorf("drop notice %+v", n)
	}
	var sampleIDs []string
	for _, s := range n.Samples {
		sampleIDs = append(sampleIDs, s.ID)
	}
	wantDropped := []string{alerts[1].ID, alerts[2].ID, alerts[4].ID, alerts[6].ID}
	if strings.Join(sampleIDs, ",") != strings.Join(wantDropped, ",") {
		t.Errorf("samples %v, want alerts 1, 2, 4 and 6", sampleIDs)
	}

	got := map[string]bool{}
	for _, a := range rc.alertsReceived(t) {
		got[a.ID] = true
	}
	for _, i := range []int{0, 3, 5, 7, 8} {
		if !got[alerts[i].ID] {
			t.Errorf("alert %d (%s) was not delivered", i, sev[i])
		}
	}
	for _, i := range []int{1, 2, 4, 6} {
		if got[alerts[i].ID] {
			t.Errorf("dropped alert %d was delivered", i)
		}
	}
	if !got[n.ID] {
		t.Errorf("the drop notice did not reach the receiver")
	}
}

// TestWebhookDropNoticesAreCoalesced: with a short gathering period, drops
// are reported by the background notice, and every drop is counted once.
func TestWebhookDropNoticesAreCoalesced(t *testing.T) {
	log, _ := testLogger(t)
	var mu sync.Mutex
	var notices []Alert
	w, err := NewWebhook(WebhookOptions{URL: "http://" + freeAddr(t), SpoolDir: t.TempDir(), MaxSpool: 1,
		MinBackoff: time.Hour, MaxBackoff: time.Hour, Logger: log,
		OnNotice: func(_ *Webhook, a Alert) bool { mu.Lock(); notices = append(notices, a); mu.Unlock(); return false }})
	if err != nil {
		t.Fatal(err)
	}
	w.dropNoticeEvery = 10 * time.Millisecond
	if err := w.Deliver(testAlert(0, finding.SeverityCritical)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if err := w.Deliver(testAlert(i, finding.SeverityLow)); err != nil {
			t.Fatal(err)
		}
	}
	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range notices {
			n += a.Count
		}
		return n
	}
	testenv.Eventually(t, waitTimeout, "drop notices for 5 alerts", func() bool { return total() == 5 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	w.Close(ctx) // the receiver is down: the alerts stay spooled
	if total() != 5 {
		t.Errorf("notices count %d drops, want 5", total())
	}
	if st := w.Stats(); st.Dropped != 5 {
		t.Errorf("stats %+v, want 5 dropped", st)
	}
}

func TestNewWebhookErrorsNameTheCulprit(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	missing := filepath.Join(dir, "missing.pem")
	_, _, certFile, keyFile := testCerts(t)
	base := func() WebhookOptions {
		return WebhookOptions{URL: "https://x.example/hook", SpoolDir: filepath.Join(t.TempDir(), "spool"),
			BearerToken: "tok-do-not-log", Secret: []byte("sec-do-not-log")}
	}
	for _, tc := range []struct {
		name   string
		modify func(*WebhookOptions)
		want   string
	}{
		{"ca without certs", func(o *WebhookOptions) { o.CAFile = notPEM }, "webhook https://x.example/hook: ca_file " + notPEM + ": no certificates found"},
		{"missing ca", func(o *WebhookOptions) { o.CAFile = missing }, "ca_file " + missing},
		{"cert without key", func(o *WebhookOptions) { o.ClientCert = certFile }, "client_cert " + certFile + " is set but client_key is not"},
		{"key without cert", func(o *WebhookOptions) { o.ClientKey = keyFile }, "client_key " + keyFile},
		{"key not matching", func(o *WebhookOptions) { o.ClientCert, o.ClientKey = certFile, certFile }, "client_key " + certFile},
		{"format", func(o *WebhookOptions) { o.Format = "xml" }, `format "xml"`},
		{"scheme", func(o *WebhookOptions) { o.URL = "ftp://x.example/" }, "scheme"},
		{"header name", func(o *WebhookOptions) { o.Headers = map[string]string{"Bad Header": "x"} }, `"Bad Header"`},
		{"header value", func(o *WebhookOptions) { o.Headers = map[string]string{"X-A": "a\r\nX-B: b"} }, "X-A"},
		{"no spool", func(o *WebhookOptions) { o.SpoolDir = "" }, "spool_dir"},
		{"password redacted", func(o *WebhookOptions) { o.URL = "https://u:pw-do-not-log@x.example/"; o.CAFile = notPEM }, "https://u:xxxxx@x.example/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			tc.modify(&o)
			_, err := NewWebhook(o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to hold %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "do-not-log") {
				t.Errorf("error reveals a secret: %v", err)
			}
		})
	}
}

// TestWebhookConcurrentWorkers: with several workers every alert still
// arrives, each accepted once.
func TestWebhookConcurrentWorkers(t *testing.T) {
	rc := newReceiver(nil)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	log, _ := testLogger(t)
	w, err := NewWebhook(WebhookOptions{URL: srv.URL, SpoolDir: t.TempDir(), Concurrency: 4, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 100 {
		a := testAlert(i, finding.SeverityMedium)
		ids = append(ids, a.ID)
		if err := w.Deliver(a); err != nil {
			t.Fatal(err)
		}
	}
	closeWebhook(t, w)
	count := map[string]int{}
	for _, a := range rc.alertsReceived(t) {
		count[a.ID]++
	}
	for i, id := range ids {
		if count[id] != 1 {
			t.Errorf("alert %d arrived %d times, want once", i, count[id])
		}
	}
	if st := w.Stats(); st.Delivered != 100 || st.Spooled != 0 {
		t.Errorf("stats %+v, want 100 delivered", st)
	}
}

// TestWebhookRefusedAlertDoesNotBlockOthers: a receiver that refuses one
// alert's body (400) while taking every other gets the others at once; the
// refused alert stays spooled and is delivered when the receiver takes it.
func TestWebhookRefusedAlertDoesNotBlockOthers(t *testing.T) {
	poison := testAlert(0, finding.SeverityCritical)
	var accept atomic.Bool
	rc := newReceiver(nil)
	rc.respond = func(int, http.Header) (int, string) { return http.StatusOK, "" }
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		if req.Header.Get(AlertIDHeader) == poison.ID && !accept.Load() {
			http.Error(rw, "field too long", http.StatusBadRequest)
			return
		}
		rc.ServeHTTP(rw, req)
	}))
	defer srv.Close()
	log, _ := testLogger(t)
	w, err := NewWebhook(WebhookOptions{URL: srv.URL, SpoolDir: t.TempDir(),
		MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Deliver(poison); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 20; i++ {
		if err := w.Deliver(testAlert(i, finding.SeverityHigh)); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, waitTimeout, "the 20 alerts behind the refused one", func() bool { return w.Stats().Delivered == 20 })
	if st := w.Stats(); st.Spooled != 1 {
		t.Errorf("spool holds %d alerts, want the refused one only", st.Spooled)
	}
	accept.Store(true)
	testenv.Eventually(t, waitTimeout, "the refused alert once accepted", func() bool { return w.Stats().Spooled == 0 })
	got := rc.alertsReceived(t)
	if got[len(got)-1].ID != poison.ID {
		t.Errorf("last delivered %s, want the once-refused %s", got[len(got)-1].ID, poison.ID)
	}
	closeWebhook(t, w)
}

// TestWebhookCloseDoesNotWaitForADownReceiver: Close with a generous
// deadline returns once the receiver has failed, leaving the alerts spooled
// and saying so, rather than waiting out the deadline.
func TestWebhookCloseDoesNotWaitForADownReceiver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nobody listens there now
	spoolDir := t.TempDir()
	log, _ := testLogger(t)
	w, err := NewWebhook(WebhookOptions{URL: url, SpoolDir: spoolDir, MinBackoff: time.Hour, MaxBackoff: time.Hour, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := w.Deliver(testAlert(i, finding.SeverityCritical)); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, waitTimeout, "a failed attempt", func() bool { return w.Stats().Retries > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	err = w.Close(ctx) // a hang here is the failure
	if err == nil || !strings.Contains(err.Error(), "3 alerts left in spool") {
		t.Errorf("Close: %v, want it to say 3 alerts stay spooled", err)
	}
	// The context is not done: the reason is the receiver's failure, not a
	// garbled nil cause.
	if err != nil && (strings.Contains(err.Error(), "%!") || !strings.Contains(err.Error(), "the receiver is failing: ") ||
		!strings.Contains(err.Error(), "connection refused")) {
		t.Errorf("Close: %q, want it to say the receiver is failing and why", err)
	}
	if files := spoolFiles(t, spoolDir); len(files) != 3 {
		t.Errorf("spool holds %v, want 3 files", files)
	}
}

// deliverFirstInFlight delivers testAlert(i, sev[i]) for each i, waiting
// after the first until it reaches rc (whose answer the test holds back,
// so it stays in flight), and returns the alerts.
func deliverFirstInFlight(t *testing.T, w *Webhook, rc *receiver, sev []finding.Severity) []Alert {
	t.Helper()
	var alerts []Alert
	for i, s := range sev {
		a := testAlert(i, s)
		alerts = append(alerts, a)
		if err := w.Deliver(a); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			<-rc.arrival
		}
	}
	return alerts
}
