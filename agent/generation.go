package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/quarantine"
	"github.com/shellwatch/shellwatch/roots"
	"github.com/shellwatch/shellwatch/scanner"
)

// generation is everything one configuration builds: the engine, the vault
// and the alert sinks. Workers use it under the agent's read lock; a reload
// swaps in a complete new one.
type generation struct {
	cfg      config.Config
	engine   *scanner.Engine
	vault    *quarantine.Vault
	dispatch *alert.Dispatcher
	webhooks []*alert.Webhook // the dispatcher's, for their spool figures
	roots    roots.Set
}

// send raises one alert through g's sinks, and remembers it for
// `shellwatch status`.
func (a *Agent) send(g *generation, al alert.Alert) {
	if al.ID == "" {
		al.Time = time.Now().UTC()
		al.ID = alert.NewID(al.Time)
	}
	a.recent.Add(al)
	a.metrics.m.Alert(string(al.Kind))
	g.dispatch.Send(al)
}

// sinkConfig is the part of a config the sinks are built from: when a reload
// leaves it alone, the running sinks (and their spools) are kept.
type sinkConfig struct {
	StateDir string
	Journald config.Journald
	Webhook  []config.Webhook
}

func sinksOf(cfg config.Config) sinkConfig {
	return sinkConfig{cfg.Agent.StateDir, cfg.Journald, cfg.Webhook}
}

// webhookSecrets are the files a [[webhook]] table names, read.
type webhookSecrets struct {
	secret, token []byte
}

// readWebhookSecrets reads every secret and token file, so that a missing or
// unreadable one fails the build of a generation before anything is swapped.
func readWebhookSecrets(cfg config.Config, log *slog.Logger) ([]webhookSecrets, error) {
	out := make([]webhookSecrets, len(cfg.Webhook))
	for i, w := range cfg.Webhook {
		var err error
		if w.SecretFile != "" {
			if out[i].secret, err = alert.ReadSecretFile(w.SecretFile, log); err != nil {
				return nil, fmt.Errorf("webhook[%d].secret_file: %w", i, err)
			}
		}
		if w.BearerTokenFile != "" {
			if out[i].token, err = alert.ReadSecretFile(w.BearerTokenFile, log); err != nil {
				return nil, fmt.Errorf("webhook[%d].bearer_token_file: %w", i, err)
			}
		}
	}
	return out, nil
}

// newDispatcher builds the sinks of cfg.
func (a *Agent) newDispatcher(cfg config.Config, secrets []webhookSecrets) (*alert.Dispatcher, []*alert.Webhook, error) {
	var routes []alert.Route
	a.journal.on.Store(cfg.Journald.Enabled)
	if cfg.Journald.Enabled {
		routes = append(routes, alert.Route{
			Sink:        a.journal.Journald,
			MinSeverity: cfg.Journald.MinSeverity.Severity(),
			Rate:        cfg.Journald.Rate,
			Burst:       cfg.Journald.Burst,
		})
	}
	var webhooks []*alert.Webhook
	closeAll := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for _, w := range webhooks {
			w.Close(ctx)
		}
	}
	for i, w := range cfg.Webhook {
		hook, err := alert.NewWebhook(alert.WebhookOptions{
			URL:         w.URL,
			Format:      w.Format,
			Secret:      secrets[i].secret,
			BearerToken: string(secrets[i].token),
			Headers:     w.Headers,
			CAFile:      w.CAFile,
			ClientCert:  w.ClientCert,
			ClientKey:   w.ClientKey,
			Timeout:     w.Timeout.Std(),
			SpoolDir:    cfg.SpoolDir(i),
			MaxSpool:    w.MaxSpool,
			MinBackoff:  a.opts.minBackoff,
			MaxBackoff:  a.opts.maxBackoff,
			Logger:      a.log,
			OnNotice:    a.webhookDropped,
		})
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("webhook[%d]: %w", i, err)
		}
		webhooks = append(webhooks, hook)
		routes = append(routes, alert.Route{
			Sink:        hook,
			MinSeverity: w.MinSeverity.Severity(),
			Rate:        w.Rate,
			Burst:       w.Burst,
		})
	}
	// A sink turned "off" is a route nothing reaches.
	kept := routes[:0]
	for _, r := range routes {
		if r.MinSeverity != finding.SeverityNone {
			kept = append(kept, r)
		}
	}
	return alert.NewDispatcher(alert.DispatcherOptions{
		Routes:  kept,
		Host:    a.host,
		Version: a.opts.Version,
		Logger:  a.log,
	}), webhooks, nil
}

// prepareGeneration builds everything cfg asks for but the alert sinks:
// the engine (rules, hash lists, scanner pool), the root policies and the
// vault. Nothing of the running generation is touched; what a failure
// built is closed before it returns.
func (a *Agent) prepareGeneration(cfg config.Config) (g *generation, err error) {
	if len(cfg.Watch) == 0 {
		return nil, fmt.Errorf("no [[watch]] root is configured: add one (see config.example.toml)")
	}
	if err := os.MkdirAll(cfg.Agent.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("agent.state_dir: %w", err)
	}
	var undo shutdown
	defer func() {
		if err != nil {
			undo.unwind()
		}
	}()
	eng, err := scanner.NewEngine(cfg)
	if err != nil {
		return nil, err
	}
	undo.push(eng.Close)
	rs, err := roots.Compile(cfg)
	if err != nil {
		return nil, err
	}
	vault, err := quarantine.Open(cfg.VaultDir())
	if err != nil {
		return nil, fmt.Errorf("quarantine.dir: %w", err)
	}
	undo.push(func() { vault.Close() })
	return &generation{cfg: cfg, engine: eng, vault: vault, roots: rs}, nil
}

// discardGeneration closes what prepareGeneration built (a generation that
// was replaced, or never swapped in); its sinks, kept by the next one or
// closed by attachSinks, are not its to close.
func (a *Agent) discardGeneration(g *generation) {
	g.engine.Close()
	g.vault.Close()
}

// attachSinks gives g its alert sinks: old's when their config did not
// change (their spools and retries go on), new ones otherwise. On error,
// old keeps (or gets back) working sinks and g has none. The caller holds
// the agent's lock when old is running.
func (a *Agent) attachSinks(g, old *generation) error {
	secrets, err := readWebhookSecrets(g.cfg, a.log)
	if err != nil {
		return err
	}
	if old != nil && reflect.DeepEqual(sinksOf(old.cfg), sinksOf(g.cfg)) {
		g.dispatch, g.webhooks = old.dispatch, old.webhooks
		return nil
	}
	if old != nil {
		// Two sinks must not share one spool: the old ones let go first.
		// Alerts raised meanwhile wait on the agent's lock.
		a.closeDispatcher(old.dispatch, 2*time.Second)
	}
	g.dispatch, g.webhooks, err = a.newDispatcher(g.cfg, secrets)
	if err != nil {
		if old != nil {
			// Bring the old sinks back; their config worked before.
			if d, hooks, err2 := a.newDispatcher(old.cfg, a.mustSecrets(old.cfg)); err2 == nil {
				old.dispatch, old.webhooks = d, hooks
			} else {
				a.log.Error("old alert sinks could not be rebuilt either", "err", err2)
			}
		}
		return err
	}
	return nil
}

func (a *Agent) mustSecrets(cfg config.Config) []webhookSecrets {
	s, err := readWebhookSecrets(cfg, a.log)
	if err != nil {
		return make([]webhookSecrets, len(cfg.Webhook))
	}
	return s
}

func (a *Agent) closeDispatcher(d *alert.Dispatcher, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		a.log.Warn("alert sinks did not flush in time; undelivered webhook alerts stay spooled for the next start", "err", err)
	}
}
