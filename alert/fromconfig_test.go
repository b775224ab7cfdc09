package alert

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// The sinks a config builds: a route per sink, none for one turned "off",
// and errors that name the table and key.
func TestNewSinksFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Agent.StateDir = dir
	cfg.Journald.Enabled = true
	cfg.Journald.MinSeverity = config.Threshold(finding.SeverityNone) // "off"
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("k\n"), 0o600)
	cfg.Webhook = []config.Webhook{config.DefaultWebhook(), config.DefaultWebhook()}
	cfg.Webhook[0].URL, cfg.Webhook[0].SecretFile = "http://127.0.0.1:9/a", secret
	cfg.Webhook[1].URL = "http://127.0.0.1:9/b"
	log := slog.New(slog.DiscardHandler)
	secrets, err := ReadWebhookSecrets(cfg, log)
	if err != nil || string(secrets[0].Secret) != "k" {
		t.Fatalf("secrets %v, %v", secrets, err)
	}
	d, hooks, err := NewSinks(cfg, secrets, SinkOptions{Journal: NewJournald(JournaldOptions{}), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	if n := len(d.Stats()); n != 2 || len(hooks) != 2 {
		t.Errorf("%d routes, %d webhooks: want the two webhooks and no route to journald turned off", n, len(hooks))
	}

	cfg.Webhook[1].BearerTokenFile = filepath.Join(dir, "missing")
	if _, err := ReadWebhookSecrets(cfg, log); err == nil || !strings.HasPrefix(err.Error(), "webhook[1].bearer_token_file") {
		t.Errorf("a missing token file: %v", err)
	}
}

func TestSameSinks(t *testing.T) {
	a := config.Default()
	a.Webhook = []config.Webhook{config.DefaultWebhook()}
	b := a
	b.Webhook = append([]config.Webhook{}, a.Webhook...)
	b.Scanner.Workers = 7
	if !SameSinks(a, b) {
		t.Error("a scanner change rebuilds the sinks")
	}
	b.Webhook[0].URL = "https://elsewhere/"
	if SameSinks(a, b) {
		t.Error("a webhook change keeps the old sinks")
	}
}

// No alert path, no start: journald off and no webhook (or each at "off")
// is refused with an error naming the keys, unless agent.allow_no_sinks.
// Secrets read again after a rotation on disk are not the same; read
// again unchanged, they are.
func TestSameSecrets(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Webhook = []config.Webhook{{URL: "https://a.example/hook", SecretFile: filepath.Join(dir, "a.secret")},
		{URL: "https://b.example/hook", BearerTokenFile: filepath.Join(dir, "b.token")}}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	read := func() []WebhookSecrets {
		t.Helper()
		s, err := ReadWebhookSecrets(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	write("a.secret", "key-one\n")
	write("b.token", "token-one\n")
	first := read()
	if !SameSecrets(first, read()) {
		t.Error("the same files read twice are not the same secrets")
	}
	write("a.secret", "key-two\n")
	if SameSecrets(first, read()) {
		t.Error("a rotated secret_file reads as the same secrets")
	}
	write("a.secret", "key-one\n")
	write("b.token", "token-one-longer\n")
	if SameSecrets(first, read()) {
		t.Error("a rotated bearer_token_file reads as the same secrets")
	}
	if SameSecrets(first, first[:1]) {
		t.Error("a webhook fewer reads as the same secrets")
	}

	// The TLS files too: a CA, a client certificate or key replaced on
	// disk is not what the sinks were built with.
	write("b.token", "token-one\n")
	cfg.Webhook[1].CAFile = filepath.Join(dir, "ca.pem")
	cfg.Webhook[1].ClientCert = filepath.Join(dir, "client.pem")
	cfg.Webhook[1].ClientKey = filepath.Join(dir, "client.key")
	_, ca1, cert1, key1 := testCerts(t)
	_, ca2, cert2, key2 := testCerts(t)
	put := func(name, from string) {
		t.Helper()
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		write(name, string(data))
	}
	put("ca.pem", ca1)
	put("client.pem", cert1)
	put("client.key", key1)
	first = read()
	if !SameSecrets(first, read()) {
		t.Error("the same TLS files read twice are not the same")
	}
	put("ca.pem", ca2)
	if SameSecrets(first, read()) {
		t.Error("a replaced ca_file reads as the same")
	}
	put("ca.pem", ca1)
	put("client.pem", cert2)
	put("client.key", key2)
	if SameSecrets(first, read()) {
		t.Error("a replaced client_cert and client_key read as the same")
	}

	// A renewal caught halfway, or a CA bundle cut short, fails the read
	// (and so a reload, before it lets the running sinks go), naming the
	// keys at fault.
	put("client.pem", cert1)
	if _, err := ReadWebhookSecrets(cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "webhook[1].client_cert") {
		t.Errorf("a client_cert beside another certificate's key: %v, want an error naming webhook[1].client_cert", err)
	}
	put("client.key", key1)
	write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB")
	if _, err := ReadWebhookSecrets(cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "webhook[1].ca_file") {
		t.Errorf("a ca_file cut short: %v, want an error naming webhook[1].ca_file", err)
	}
	put("ca.pem", ca1)
	if err := os.Remove(filepath.Join(dir, "client.key")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadWebhookSecrets(cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "webhook[1].client_key") {
		t.Errorf("a missing client_key: %v, want an error naming webhook[1].client_key", err)
	}
}

func TestNewSinksRefusesNoAlertPath(t *testing.T) {
	cfg := config.Default()
	cfg.Agent.StateDir = t.TempDir()
	cfg.Journald.Enabled = false
	log := slog.New(slog.DiscardHandler)
	_, _, err := NewSinks(cfg, nil, SinkOptions{Journal: NewJournald(JournaldOptions{}), Logger: log})
	if err == nil {
		t.Fatal("NewSinks built sinks that reach nobody")
	}
	for _, key := range []string{"journald.enabled", "[[webhook]]", "agent.allow_no_sinks = true"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name %s", err, key)
		}
	}
	cfg.Agent.AllowNoSinks = true
	d, _, err := NewSinks(cfg, nil, SinkOptions{Journal: NewJournald(JournaldOptions{}), Logger: log})
	if err != nil {
		t.Fatalf("allow_no_sinks = true: %v", err)
	}
	d.Close(context.Background())
}

// A FIFO at a secret_file or ca_file (an attacker's, or a hung mount's
// stand-in) fails the read at once with an error naming the key, instead
// of blocking the reload that reads it under the agent's lock.
func TestReadWebhookSecretsRefusesFIFO(t *testing.T) {
	for _, key := range []string{"secret_file", "bearer_token_file", "ca_file", "client_cert", "client_key"} {
		t.Run(key, func(t *testing.T) {
			dir := t.TempDir()
			fifo := filepath.Join(dir, "fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				// Unblock a read that opened the FIFO blocking.
				if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					w.Close()
				}
			})
			cfg := config.Default()
			w := config.Webhook{URL: "https://a.example/hook"}
			switch key {
			case "secret_file":
				w.SecretFile = fifo
			case "bearer_token_file":
				w.BearerTokenFile = fifo
			case "ca_file":
				w.CAFile = fifo
			case "client_cert":
				w.ClientCert, w.ClientKey = fifo, fifo
			case "client_key":
				_, _, cert, _ := testCerts(t)
				w.ClientCert, w.ClientKey = cert, fifo
			}
			cfg.Webhook = []config.Webhook{w}
			done := make(chan error, 1)
			go func() {
				_, err := ReadWebhookSecrets(cfg, slog.New(slog.DiscardHandler))
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "webhook[0]."+key) || !strings.Contains(err.Error(), "not a regular file") {
					t.Errorf("a FIFO at %s: %v, want an error naming webhook[0].%s and \"not a regular file\"", key, err, key)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("ReadWebhookSecrets still blocked on a FIFO at %s after 10 s", key)
			}
		})
	}
}

// Sinks built again from the secrets a reload read (its rollback, after
// the new sinks failed) are built from those bytes, not from the files on
// disk: with the TLS files replaced by garbage since, they are built and
// deliver over mutual TLS as before.
func TestNewSinksBuildFromTheSecretsRead(t *testing.T) {
	rc, srv, ca, cert, key := mutualTLSReceiver(t, nil)

	cfg := config.Default()
	cfg.Agent.StateDir = t.TempDir()
	cfg.Journald.Enabled = false
	w := config.DefaultWebhook()
	w.URL, w.CAFile, w.ClientCert, w.ClientKey = srv.URL+"/hook", ca, cert, key
	cfg.Webhook = []config.Webhook{w}
	log := slog.New(slog.DiscardHandler)
	secrets, err := ReadWebhookSecrets(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	o := SinkOptions{Logger: log, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}
	d, _, err := NewSinks(cfg, secrets, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ca, cert, key} {
		if err := os.WriteFile(p, []byte("renewal in progress\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d, hooks, err := NewSinks(cfg, secrets, o)
	if err != nil {
		t.Fatalf("sinks built again from the secrets read, the files since replaced: %v", err)
	}
	defer d.Close(context.Background())
	if err := hooks[0].Deliver(testAlert(1, finding.SeverityCritical)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, "the alert to be delivered over mutual TLS", func() bool { return hooks[0].Stats().Delivered == 1 })
	if n := len(rc.requests()); n != 1 {
		t.Errorf("the receiver got %d requests, want 1", n)
	}
}
