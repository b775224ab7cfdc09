package alert

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
)

// WebhookSecrets are the files a [[webhook]] table names, read.
type WebhookSecrets struct {
	Secret, Token []byte
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
	}
	return out, nil
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
	// spool, alerts at risk), for the other sinks.
	OnNotice func(from *Webhook, a Alert)
}

// NewSinks builds the sinks cfg asks for: the journald route, one webhook
// per [[webhook]] table with its spool, and the dispatcher over them. A
// sink whose min_severity is "off" gets no route. On error nothing is left
// running.
func NewSinks(cfg config.Config, secrets []WebhookSecrets, o SinkOptions) (*Dispatcher, []*Webhook, error) {
	var routes []Route
	if cfg.Journald.Enabled {
		routes = append(routes, Route{
			Sink:        o.Journal,
			MinSeverity: cfg.Journald.MinSeverity.Severity(),
			Rate:        cfg.Journald.Rate,
			Burst:       cfg.Journald.Burst,
		})
	}
	var webhooks []*Webhook
	for i, w := range cfg.Webhook {
		hook, err := NewWebhook(WebhookOptions{
			URL:         w.URL,
			Format:      w.Format,
			Secret:      secrets[i].Secret,
			BearerToken: string(secrets[i].Token),
			Headers:     w.Headers,
			CAFile:      w.CAFile,
			ClientCert:  w.ClientCert,
			ClientKey:   w.ClientKey,
			Timeout:     w.Timeout.Std(),
			SpoolDir:    cfg.SpoolDir(i),
			MaxSpool:    w.MaxSpool,
			MinBackoff:  o.MinBackoff,
			MaxBackoff:  o.MaxBackoff,
			Logger:      o.Logger,
			OnNotice:    o.OnNotice,
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
	return NewDispatcher(DispatcherOptions{
		Routes:  kept,
		Host:    o.Host,
		Version: o.Version,
		Logger:  o.Logger,
	}), webhooks, nil
}

// SameSinks reports whether a and b build the same sinks: a reload that
// leaves them alone keeps the running ones, spools and retries included.
func SameSinks(a, b config.Config) bool {
	type sinks struct {
		StateDir string
		Journald config.Journald
		Webhook  []config.Webhook
	}
	return reflect.DeepEqual(sinks{a.Agent.StateDir, a.Journald, a.Webhook}, sinks{b.Agent.StateDir, b.Journald, b.Webhook})
}
