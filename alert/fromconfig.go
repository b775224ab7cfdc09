package alert

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"time"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/regular"
)

// WebhookSecrets are the files a [[webhook]] table names, read: the HMAC
// key and the bearer token, and the TLS files (ca_file, client_cert,
// client_key) as they were on disk. The sinks are built from these bytes,
// never from the files again: a reload tells from them when the files
// changed, and sinks built again from the same secrets (a reload's
// rollback) are the sinks they were, whatever the files hold now.
type WebhookSecrets struct {
	Secret, Token             []byte
	CA, ClientCert, ClientKey []byte
}

// ReadWebhookSecrets reads every secret and token file of cfg, so that a
// missing or unreadable one fails before any sink is built. Errors name the
// table and key.
func ReadWebhookSecrets(cfg config.Config, log *slog.Logger) ([]WebhookSecrets, error) {
	out := make([]WebhookSecrets, len(cfg.Webhook))
	for i, w := range cfg.Webhook {
		var err error
		if w.SecretFile != "" {
			if out[i].Secret, err = ReadSecretFile(w.SecretFile, log); err != nil {
				return nil, fmt.Errorf("webhook[%d].secret_file: %w", i, err)
			}
		}
		if w.BearerTokenFile != "" {
			if out[i].Token, err = ReadSecretFile(w.BearerTokenFile, log); err != nil {
				return nil, fmt.Errorf("webhook[%d].bearer_token_file: %w", i, err)
			}
		}
		for _, f := range []struct {
			key, path string
			into      *[]byte
		}{{"ca_file", w.CAFile, &out[i].CA}, {"client_cert", w.ClientCert, &out[i].ClientCert}, {"client_key", w.ClientKey, &out[i].ClientKey}} {
			if f.path == "" {
				continue
			}
			if *f.into, err = readTLSFile(f.path); err != nil {
				return nil, fmt.Errorf("webhook[%d].%s: %w", i, f.key, err)
			}
		}
		if err := checkTLSFiles(w, out[i]); err != nil {
			return nil, fmt.Errorf("webhook[%d].%w", i, err)
		}
	}
	return out, nil
}

// checkTLSFiles checks that the TLS files read make a TLS configuration,
// built as the sink builds it: a reload reads them before it lets the
// running sinks go, so that a certificate renewed halfway (a new
// client_cert beside the old key, a CA bundle cut short) fails the reload
// and leaves the running sinks sending, instead of closing them for sinks
// that cannot be built.
func checkTLSFiles(w config.Webhook, s WebhookSecrets) error {
	_, err := webhookTLS(WebhookOptions{
		CAFile: w.CAFile, ClientCert: w.ClientCert, ClientKey: w.ClientKey,
		CAPEM: s.CA, ClientCertPEM: s.ClientCert, ClientKeyPEM: s.ClientKey,
	})
	return err
}

// maxTLSFile bounds a ca_file, client_cert or client_key read: a system CA
// bundle is a few hundred KiB.
const maxTLSFile = 16 << 20

// readTLSFile reads a TLS file of a webhook whole, up to maxTLSFile, as
// regular.ReadFile does: a FIFO in its place fails at once.
func readTLSFile(path string) ([]byte, error) {
	data, _, err := regular.ReadFile(path, maxTLSFile)
	return data, err
}

// SameSecrets reports whether a and b hold the same secrets and tokens,
// table by table: sinks built with a sign and authenticate as sinks built
// with b would. A reload keeps its sinks only when their config and their
// secrets are the same; a secret file rotated on disk gets new sinks.
func SameSecrets(a, b []WebhookSecrets) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameBytes(a[i].Secret, b[i].Secret) || !sameBytes(a[i].Token, b[i].Token) ||
			!sameBytes(a[i].CA, b[i].CA) || !sameBytes(a[i].ClientCert, b[i].ClientCert) || !sameBytes(a[i].ClientKey, b[i].ClientKey) {
			return false
		}
	}
	return true
}

// sameBytes compares two secrets in a time that does not tell where they
// differ.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare(a, b) == 1
}

// SinkOptions are what the sinks take beyond the config.
type SinkOptions struct {
	// Journal is the journald sink, shared by every build (it holds no
	// state); routed to when [journald] enables it.
	Journal       *Journald
	Host, Version string
	// MinBackoff and MaxBackoff bound the webhooks' retries (tests
	// shorten them); zero means the defaults.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	// OnNotice hears a webhook's own notices (alerts dropped from its
	// spool, alerts at risk), for every sink (Dispatcher.Relay); it
	// reports whether it took the notice.
	OnNotice func(from *Webhook, a Alert) bool
	// OnFailing hears a webhook that failed every attempt for its
	// alert_after, and its recovery (see WebhookOptions.OnFailing).
	OnFailing func(from *Webhook, failing bool, since time.Time, err error)
	// Seq numbers the alerts; nil sends them without seq nor chain.
	Seq *Sequencer
	// Heartbeat fills the heartbeats' counters, roots and start time; nil,
	// or [heartbeat] interval "0", sends none.
	Heartbeat func() Heartbeat
}

// StreamPath returns the head file of a sink's stream: "journald", or a
// webhook's spool folder name.
func StreamPath(cfg config.Config, sink string) string {
	return filepath.Join(cfg.Agent.StateDir, "streams", sink)
}

// NewSinks builds the sinks cfg asks for: the journald route, one webhook
// per [[webhook]] table with its spool, and the dispatcher over them. A
// sink whose min_severity is "off" gets no route. On error nothing is left
// running.
//
// A config in which no alert reaches anyone (journald off and no webhook,
// or each at min_severity "off") is an error naming the keys, unless
// agent.allow_no_sinks says it is meant.
func NewSinks(cfg config.Config, secrets []WebhookSecrets, o SinkOptions) (d *Dispatcher, hooks []*Webhook, err error) {
	if !cfg.HasAlertPath() && !cfg.Agent.AllowNoSinks {
		return nil, nil, fmt.Errorf("no alert can reach anyone: journald.enabled is false (or journald.min_severity \"off\") and no [[webhook]] takes alerts; " +
			"enable journald, add a [[webhook]], or set agent.allow_no_sinks = true if that is meant")
	}
	var streams []*Stream
	defer func() {
		if err != nil {
			for _, s := range streams {
				s.Close()
			}
		}
	}()
	openStream := func(file, name string) (*Stream, error) {
		if o.Seq == nil {
			return nil, nil
		}
		s, err := OpenStream(StreamPath(cfg, file), name, o.Seq)
		if err == nil {
			streams = append(streams, s)
		}
		return s, err
	}
	var routes []Route
	if cfg.Journald.Enabled && o.Journal != nil {
		s, err := openStream("journald", o.Journal.Name())
		if err != nil {
			return nil, nil, fmt.Errorf("journald: %w", err)
		}
		o.Journal.SetStream(s)
		routes = append(routes, Route{
			Sink:        o.Journal,
			MinSeverity: cfg.Journald.MinSeverity.Severity(),
			Rate:        cfg.Journald.Rate,
			Burst:       cfg.Journald.Burst,
		})
	}
	var webhooks []*Webhook
	for i, w := range cfg.Webhook {
		stream, err := openStream("webhook-"+filepath.Base(cfg.SpoolDir(i)), "webhook "+w.URL)
		if err != nil {
			return nil, nil, fmt.Errorf("webhook[%d]: %w", i, err)
		}
		hook, err := NewWebhook(WebhookOptions{
			URL:           w.URL,
			Format:        w.Format,
			Secret:        secrets[i].Secret,
			BearerToken:   string(secrets[i].Token),
			Headers:       w.Headers,
			CAFile:        w.CAFile,
			ClientCert:    w.ClientCert,
			ClientKey:     w.ClientKey,
			CAPEM:         secrets[i].CA,
			ClientCertPEM: secrets[i].ClientCert,
			ClientKeyPEM:  secrets[i].ClientKey,
			Timeout:       w.Timeout.Std(),
			SpoolDir:      cfg.SpoolDir(i),
			MaxSpool:      w.MaxSpool,
			MinBackoff:    o.MinBackoff,
			MaxBackoff:    o.MaxBackoff,
			Logger:        o.Logger,
			OnNotice:      o.OnNotice,
			AlertAfter:    w.AlertAfter.Std(),
			OnFailing:     o.OnFailing,
			Stream:        stream,
		})
		if err != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			for _, w := range webhooks {
				w.Close(ctx)
			}
			cancel()
			return nil, nil, fmt.Errorf("webhook[%d]: %w", i, err)
		}
		webhooks = append(webhooks, hook)
		routes = append(routes, Route{
			Sink:        hook,
			MinSeverity: w.MinSeverity.Severity(),
			Rate:        w.Rate,
			Burst:       w.Burst,
		})
	}
	kept := routes[:0]
	for _, r := range routes {
		if r.MinSeverity != finding.SeverityNone {
			kept = append(kept, r)
		}
	}
	var beat HeartbeatOptions
	if cfg.Heartbeat.Interval > 0 && o.Heartbeat != nil {
		beat = HeartbeatOptions{Interval: cfg.Heartbeat.Interval.Std(), Info: o.Heartbeat}
	}
	d = NewDispatcher(DispatcherOptions{
		Routes:    kept,
		Host:      o.Host,
		Version:   o.Version,
		Logger:    o.Logger,
		Seq:       o.Seq,
		Heartbeat: beat,
	})
	d.streams = streams
	return d, webhooks, nil
}

// SameSinks reports whether a and b build the same sinks: a reload that
// leaves them alone keeps the running ones, spools and retries included.
func SameSinks(a, b config.Config) bool {
	type sinks struct {
		StateDir     string
		AllowNoSinks bool
		Journald     config.Journald
		Webhook      []config.Webhook
		Heartbeat    config.Heartbeat
	}
	return reflect.DeepEqual(sinks{a.Agent.StateDir, a.Agent.AllowNoSinks, a.Journald, a.Webhook, a.Heartbeat},
		sinks{b.Agent.StateDir, b.Agent.AllowNoSinks, b.Journald, b.Webhook, b.Heartbeat})
}
