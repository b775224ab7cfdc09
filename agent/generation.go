package agent

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/shellwatch/shellwatch/access"
	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/config"
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
	webhooks []*alert.Webhook       // the dispatcher's, for their spool figures
	secrets  []alert.WebhookSecrets // what the dispatcher's webhooks were built with
	roots    roots.Set
	// access follows the access logs; kept by the next generation when
	// its logs are the same.
	access *access.Logs
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

// newDispatcher builds the sinks of cfg.
func (a *Agent) newDispatcher(cfg config.Config, secrets []alert.WebhookSecrets) (*alert.Dispatcher, []*alert.Webhook, error) {
	a.journal.on.Store(cfg.Journald.Enabled)
	return alert.NewSinks(cfg, secrets, alert.SinkOptions{
		Journal: a.journal.Journald, Host: a.host, Version: a.opts.Version,
		MinBackoff: a.opts.minBackoff, MaxBackoff: a.opts.maxBackoff,
		Logger: a.log, OnNotice: a.webhookDropped, OnFailing: a.webhookFailing,
		Seq: a.seq, Heartbeat: a.heartbeat,
	})
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
	if err := cfg.CheckAccessLogs(); err != nil {
		return nil, err
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
// the agent's lock when old is running, and so reads secrets
// (alert.ReadWebhookSecrets of g's config) before it takes it: a file slow
// to read must not stop the scanning.
func (a *Agent) attachSinks(g, old *generation, secrets []alert.WebhookSecrets) error {
	if old != nil && alert.SameSinks(old.cfg, g.cfg) && alert.SameSecrets(old.secrets, secrets) {
		g.dispatch, g.webhooks, g.secrets = old.dispatch, old.webhooks, old.secrets
		return nil
	}
	if old != nil {
		// Alerts a webhook holds in memory (its spool could not be
		// written) would be lost with it: the reload waits for them.
		held := 0
		for _, w := range old.webhooks {
			held += w.Stats().Held
		}
		if held > 0 {
			return fmt.Errorf("the webhooks hold %d alerts in memory, their spool not writable: the running sinks are kept until they are written (reload again then)", held)
		}
		// Two sinks must not share one spool: the old ones let go first.
		// Alerts raised meanwhile wait on the agent's lock.
		a.closeDispatcher(old.dispatch, 2*time.Second)
	}
	var err error
	g.dispatch, g.webhooks, err = a.newDispatcher(g.cfg, secrets)
	g.secrets = secrets
	if err != nil {
		if old != nil {
			// Bring the old sinks back; their config worked before, with
			// the secrets they held: built from those bytes, not from the
			// files, which may have changed since.
			if d, hooks, err2 := a.newDispatcher(old.cfg, old.secrets); err2 == nil {
				old.dispatch, old.webhooks = d, hooks
			} else {
				a.log.Error("old alert sinks could not be rebuilt either", "err", err2)
			}
		}
		return err
	}
	return nil
}

func (a *Agent) closeDispatcher(d *alert.Dispatcher, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		a.log.Warn("alert sinks did not flush in time; undelivered webhook alerts stay spooled for the next start", "err", err)
	}
}

// attachAccess gives g the access logs it follows: old's when they are the
// same logs, else new ones (which take over the URLs flagged so far). The
// caller stops old's once g is in use, when they are not g's.
func (a *Agent) attachAccess(g, old *generation) {
	if old != nil {
		g.access = old.access.Next(g.cfg, g.roots)
		return
	}
	g.access = access.Start(g.cfg, g.roots, access.Options{Send: a.raise, Log: a.log, Store: a.baseline.State()})
}

// sendFile raises a file alert, then has the access logs follow it up;
// written is when the file was written (zero when no log serves its root).
func (a *Agent) sendFile(g *generation, al alert.Alert, written time.Time) {
	al.Time = time.Now().UTC()
	al.ID = alert.NewID(al.Time)
	a.send(g, al)
	g.access.FollowUp(al, written)
}

// raise sends an alert from outside the workers (the access logs'
// follow-ups) through the current generation's sinks.
func (a *Agent) raise(al alert.Alert) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.send(a.gen, al)
}
