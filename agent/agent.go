package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/baseline"
	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/internal/owners"
	"github.com/shellwatch/shellwatch/internal/sdnotify"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/recheck"
	"github.com/shellwatch/shellwatch/rules"
	"github.com/shellwatch/shellwatch/scanner"
	"github.com/shellwatch/shellwatch/watcher"
)

// Options configure [Run].
type Options struct {
	// ConfigPath is the TOML file, read at start and at every SIGHUP.
	ConfigPath string
	// Version is reported in every alert.
	Version string
	// Logger receives the agent's own logs (stderr under systemd, which
	// puts them in the journal).
	Logger *slog.Logger
	// Stderr is where alerts go as JSON lines when there is no journald.
	Stderr io.Writer
	// Notify sends sd_notify states; nil means systemd's socket
	// ($NOTIFY_SOCKET), which is a no-op outside systemd.
	Notify func(state string)
	// Signals, when set, replaces the process's SIGHUP/SIGTERM/SIGINT (for
	// tests): a SIGHUP value reloads, anything else stops.
	Signals <-chan os.Signal

	// Test knobs: the watcher's pending limit (to force an overflow), the
	// webhook retry backoff (so a test need not wait minutes) and
	// journald's socket (so a test can make it hang).
	pendingLimit           int
	minBackoff, maxBackoff time.Duration
	journalSocket          string
	// blindProbe is how often blind states are probed (blindProbeInterval
	// when 0), so a test need not wait seconds for a resolution.
	blindProbe time.Duration
	// selfExe is the agent's binary as self_changed watches it (the target
	// of /proc/self/exe when empty): a test cannot replace its own binary.
	selfExe string
	// controlTimeout bounds a control request (control.DefaultTimeout
	// when 0), so a test need not wait 30 s for one to run out.
	controlTimeout time.Duration
}

// stopTimeout bounds how long a stopping agent waits for the sinks to
// flush; what is not delivered by then stays in the webhook spools.
const stopTimeout = 10 * time.Second

// statusInterval is how often STATUS= is sent to systemd.
const statusInterval = 5 * time.Second

// Agent is one running daemon.
type Agent struct {
	opts      Options
	log       *slog.Logger
	host      string
	startedAt time.Time

	mu  sync.RWMutex // scans hold it shared; a reload swaps gen holding it
	gen *generation
	// current is gen, for what must not take mu (a webhook's drop notice
	// arrives while a reload holds it).
	current atomic.Pointer[generation]

	names *owners.Names

	// journal is the journald sink, shared by every generation (it holds
	// no state), and whether the current config enables it.
	journal struct {
		*alert.Journald
		on atomic.Bool
	}

	baseline *baseline.Baseline // the records, deploy windows and approvals
	seq      *alert.Sequencer   // numbers every alert; outlives the generations

	q          queues // the watchers' changes and problems, and the workers
	reconciles reconciles

	recent   alert.Recent
	vanished vanished    // transient files alerted whose removal is still to come
	ready    atomic.Bool // every root is watched

	watches watcher.Set
	// fenceDir is where the watchers make their fences, under the state
	// folder ("" when it cannot be made); draining holds one token, so
	// that drains run one at a time (deploy.go).
	fenceDir string
	draining chan struct{}
	metrics  *agentMetrics
	prevent  prevention // the guard, when [prevent] enables it (prevent.go)
	blind    blind.Set  // what the agent cannot see or do now (blind.go)
	self     selfWatch  // the agent's own files (self.go)
	// journalSeen: journald served its socket since the start (blind.go).
	journalSeen atomic.Bool

	hooks testHooks
}

// testHooks let tests see and steer what the agent does; all nil outside
// tests.
type testHooks struct {
	beforeScan   func(path string)         // before every scan (may hold it, as a slow scan would)
	afterScan    func(scanner.Verdict)     // sees every verdict
	beforeMove   func(path string)         // between a flagged file's scan and its move into the vault
	rootsWalking func(ctx context.Context) // while a reload waits for its new roots' walk
}

// Run runs the daemon until ctx is done or a SIGTERM/SIGINT arrives, then
// drains and returns nil. It returns an error when the agent cannot start:
// an unreadable or invalid config, rules that do not compile, no root to
// watch, an unusable vault or state directory.
func Run(ctx context.Context, opts Options) error {
	a, err := newAgent(opts)
	if err != nil {
		return err
	}
	return a.run(ctx)
}

func newAgent(opts Options) (*Agent, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	host, _ := os.Hostname()
	a := &Agent{
		opts:      opts,
		log:       opts.Logger,
		host:      host,
		startedAt: time.Now(),
		names:     owners.New(),
		draining:  make(chan struct{}, 1),
	}
	a.q.changes = make(chan task, 256)
	a.q.problems = make(chan watcher.Problem, 256)
	a.q.recheck = recheck.New(recheckLimit)
	a.metrics = newAgentMetrics(a)
	a.journal.Journald = alert.NewJournald(alert.JournaldOptions{Fallback: opts.Stderr, Socket: opts.journalSocket})
	cfg, err := config.Load(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	g, err := a.prepareGeneration(cfg)
	if err == nil {
		var secrets []alert.WebhookSecrets
		if a.seq, err = alert.OpenSequencer(filepath.Join(cfg.Agent.StateDir, "alert-seq")); err != nil {
			err = fmt.Errorf("agent.state_dir: %w", err)
		} else if secrets, err = alert.ReadWebhookSecrets(cfg, a.log); err != nil {
			a.seq.Close()
		} else if err = a.attachSinks(g, nil, secrets); err != nil {
			a.seq.Close()
		}
		if err != nil {
			a.discardGeneration(g)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", opts.ConfigPath, err)
	}
	a.gen = g
	a.current.Store(g)
	for _, w := range g.engine.Warnings {
		a.log.Warn("rule warning", "warning", w)
	}
	a.baseline, _, err = baseline.Open(cfg.StatePath(), baseline.Options{Logger: a.log, OnCommit: a.noteCommit(cfg.StatePath())})
	if err != nil {
		a.closeGeneration(g)
		a.seq.Close()
		return nil, fmt.Errorf("state %s: %w", cfg.StatePath(), err)
	}
	if err := a.baseline.Reset(); err != nil {
		a.log.Error("state database unreadable; set aside, building a fresh baseline", "err", err)
	}
	a.attachAccess(g, nil) // after the state: it reads back the flagged URLs
	a.fenceDir = a.makeFenceDir(cfg)
	return a, nil
}

func (a *Agent) run(parent context.Context) error {
	// ctx ends the control socket and the scans; it is cancelled once the
	// pipeline has drained (or when parent is).
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	reconcileCtx, stopReconciling := context.WithCancel(ctx)
	defer stopReconciling()

	notify := a.opts.Notify
	if notify == nil {
		n := sdnotify.New(os.Getenv("NOTIFY_SOCKET"))
		notify = n.Send
		defer n.Wait(2 * sdnotify.Timeout) // STOPPING=1 reaches systemd if it reads
	}
	signals := a.opts.Signals
	if signals == nil {
		ch := make(chan os.Signal, 4)
		signal.Notify(ch, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
		defer signal.Stop(ch)
		signals = ch
	}

	// Everything below stops in the reverse order it started, whether the
	// start fails midway or the agent is asked to stop.
	var down shutdown
	down.push(a.closeState)
	g0 := a.current.Load()
	cfg := g0.cfg
	stopControl, err := a.startControl(ctx)
	if err != nil {
		down.unwind()
		return err
	}
	down.push(stopControl)
	a.startSelfWatch(&cfg)
	down.push(a.stopSelfWatch)
	a.startPipeline(ctx)
	down.push(func() { a.stopPipeline(); cancel() })
	if err := a.metrics.endpoint.Start(metricsAddress(cfg)); err != nil {
		down.unwind()
		return err
	}
	down.push(a.metrics.endpoint.Stop)
	ready, err := a.watches.Start(a.watchOptions(g0))
	if err != nil {
		down.unwind()
		return err
	}
	down.push(a.watches.Stop)
	if err := a.startPrevention(g0); err != nil {
		down.unwind()
		return err
	}
	down.push(a.stopPrevention)
	down.push(func() { stopReconciling(); a.reconciles.running.Wait() })

	watchdog := sdnotify.NewWatchdog()
	status := time.NewTicker(statusInterval)
	defer status.Stop()
	readySent := false
	// A reload runs beside this loop, which keeps answering the watchdog
	// while a large new root is walked; a SIGHUP meanwhile reloads once
	// more when it is done.
	var reloadDone chan struct{}
	reloadAgain := false
	startReload := func() {
		notify(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", sdnotify.MonotonicUsec()))
		reloadDone = make(chan struct{})
		done := reloadDone
		go func() {
			defer close(done)
			a.reload(reconcileCtx)
		}()
	}
	stop := func() error {
		if reloadDone != nil {
			stopReconciling() // a reload waiting for new roots gives up
			<-reloadDone
		}
		notify("STOPPING=1")
		a.sendAgentAlert(alert.KindAgentStopping,
			fmt.Sprintf("shellwatch %s stopping; files changed from now on are not watched", a.opts.Version), "")
		down.unwind()
		a.log.Info("stopped", "scanned", a.metrics.scanned.Load(), "flagged", a.metrics.flagged.Load(),
			"quarantined", a.metrics.quarantined.Load())
		return nil
	}
	for {
		select {
		case <-ready:
			ready = nil
			readySent = true
			a.ready.Store(true)
			if reset := a.baseline.Reset(); reset != nil {
				a.sendAgentAlert(alert.KindStateReset,
					"state database was unreadable: set aside and a fresh baseline built; changes made while the agent was down cannot be told this time (alert seqs go on: they are kept beside it, in alert-seq)",
					reset.Error())
			}
			a.checkRootsWritable(g0)
			a.reconciles.running.Go(func() { a.reconcile(reconcileCtx, g0.roots) })
			a.reconciles.running.Go(func() { a.sweeps(reconcileCtx) })
			a.reconciles.running.Go(func() { a.probeBlind(reconcileCtx) })
			notify("READY=1\nSTATUS=" + a.statusLine())
			a.log.Info("watching", "roots", len(cfg.Watch), "watches", a.watches.Stats().Watches)
			a.sendStarted(len(cfg.Watch))
		case <-status.C:
			if readySent {
				notify("STATUS=" + a.statusLine())
			}
			a.expireDeploys()
			a.baseline.Save()
		case <-watchdog.C():
			notify("WATCHDOG=1")
		case <-reloadDone:
			reloadDone = nil
			if reloadAgain {
				reloadAgain = false
				startReload()
				continue
			}
			notify("READY=1\nSTATUS=" + a.statusLine())
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				if reloadDone != nil {
					reloadAgain = true
					continue
				}
				startReload()
				continue
			}
			a.log.Info("stopping", "signal", sig.String())
			return stop()
		case <-parent.Done():
			a.log.Info("stopping", "reason", context.Cause(parent))
			return stop()
		}
	}
}

// closeState flushes the sinks and closes the engine, the vault, the
// baseline and the state database: the last step of every shutdown.
func (a *Agent) closeState() {
	a.closeGeneration(a.current.Load())
	if err := a.seq.Close(); err != nil {
		a.log.Error("alert seqs: the last seq could not be recorded; the next start skips the reserved ones", "err", err)
	}
	a.closeBaseline()
}

// closeBaseline stores what is pending of the baseline and closes the state
// database.
func (a *Agent) closeBaseline() {
	if err := a.baseline.Close(); err != nil {
		a.log.Error("state: close", "err", err)
	}
}

func (a *Agent) closeGeneration(g *generation) {
	g.access.Stop() // its last reports go out through the sinks
	a.closeDispatcher(g.dispatch, stopTimeout)
	g.engine.Close()
	g.vault.Close()
}

// reload reads the config file again and swaps in what it builds, or keeps
// everything as it is and alerts when anything fails. New roots are watched
// (their walk finished) before anything is swapped, so a failure leaves the
// old config, rules and roots running together, as the alert says.
func (a *Agent) reload(ctx context.Context) {
	fail := func(err error) {
		a.metrics.reloadsFailed.Add(1)
		a.log.Error("reload failed; the previous config and rules keep running", "config", a.opts.ConfigPath, "err", err)
		al := alert.Alert{Kind: alert.KindReloadFailed, Severity: policy.EventSeverity(alert.KindReloadFailed),
			Message: "reload failed, previous config and rules keep running: " + reloadProblem(err), Detail: err.Error()}
		if c, ok := a.blind.Raise(blind.ReloadFailed, a.opts.ConfigPath, err.Error()); ok {
			al.Blind = blindMember(c, false)
		}
		a.relay(al)
	}
	selfMark := a.selfMark() // before anything is read
	cfg, err := config.Load(a.opts.ConfigPath)
	if err != nil {
		fail(err)
		return
	}
	// The webhooks' files are read here, not under the lock attachSinks
	// runs in: scanning goes on while they are read.
	secrets, err := alert.ReadWebhookSecrets(cfg, a.log)
	if err != nil {
		fail(fmt.Errorf("config %s: %w", a.opts.ConfigPath, err))
		return
	}
	old := a.current.Load()
	rootsChanged := !reflect.DeepEqual(old.cfg.Watch, cfg.Watch) || !reflect.DeepEqual(old.cfg.Scanner.Exclude, cfg.Scanner.Exclude) ||
		old.cfg.Agent.Settle != cfg.Agent.Settle || old.cfg.Agent.RescanInterval != cfg.Agent.RescanInterval
	metricsMove, err := a.metrics.endpoint.Prepare(metricsAddress(cfg))
	if err != nil {
		fail(err)
		return
	}
	g, err := a.prepareGeneration(cfg)
	if err != nil {
		metricsMove.Abort()
		fail(fmt.Errorf("config %s: %w", a.opts.ConfigPath, err))
		return
	}
	var roots *watcher.Running
	if rootsChanged {
		if roots, err = a.watchNewRoots(ctx, g); err != nil {
			a.discardGeneration(g)
			metricsMove.Abort()
			if ctx.Err() != nil {
				return // stopping: nothing to alert
			}
			fail(fmt.Errorf("watch the new roots: %w", err))
			return
		}
	}
	hooks := old.webhooks
	a.mu.Lock()
	if err := a.attachSinks(g, old, secrets); err != nil {
		a.mu.Unlock()
		a.resolveWebhooksLetGo(hooks, old.webhooks)
		a.watches.Discard(roots)
		a.discardGeneration(g)
		metricsMove.Abort()
		fail(fmt.Errorf("config %s: %w", a.opts.ConfigPath, err))
		return
	}
	a.attachAccess(g, old)
	a.gen = g
	a.current.Store(g)
	a.mu.Unlock()
	a.resolveWebhooksLetGo(hooks, g.webhooks)
	a.watches.Swap(roots)
	metricsMove.Commit()
	if g.access != old.access {
		old.access.Stop()
	}
	if err := a.startPrevention(g); err != nil {
		a.log.Error("reload: prevention could not start; the web server is served unguarded", "err", err)
		a.sendAgentAlert(alert.KindPreventionDegraded, "prevention stopped at reload: "+firstLine(err.Error()), err.Error())
	}
	a.discardGeneration(old)
	for _, w := range g.engine.Warnings {
		a.log.Warn("rule warning", "warning", w)
	}
	if rootsChanged {
		// New roots get their baseline, or their reconciliation.
		a.reconciles.running.Go(func() { a.reconcile(ctx, g.roots) })
	}
	a.metrics.reloadsOK.Add(1)
	a.selfReloaded(&cfg, selfMark)
	a.resolveBlind(blind.ReloadFailed, a.opts.ConfigPath, "reload worked: the config and rules on disk run")
	a.log.Info("reloaded", "config", a.opts.ConfigPath, "rules", len(g.engine.Rules.Rules()), "roots_changed", rootsChanged)
	a.sendAgentAlert(alert.KindReloaded,
		fmt.Sprintf("config and rules reloaded: %d rules, %d roots", len(g.engine.Rules.Rules()), len(cfg.Watch)), a.rootList())
}

// sendStarted raises agent_started, with where this run's seqs start and
// what the previous run left.
func (a *Agent) sendStarted(roots int) {
	st := a.seq.Start()
	msg := fmt.Sprintf("shellwatch %s watching %d roots", a.opts.Version, roots)
	switch {
	case st.Reset != "":
		msg += "; " + st.Reset
	case st.Crashed:
		msg += fmt.Sprintf("; the previous run did not stop cleanly (it had reserved alert seqs up to %d)", st.PrevReserved)
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.send(a.gen, alert.Alert{Kind: alert.KindAgentStarted, Severity: policy.EventSeverity(alert.KindAgentStarted),
		Message: msg, Detail: a.rootList(), Start: &st})
}

// heartbeat is what the heartbeats say besides the stream's head.
func (a *Agent) heartbeat() alert.Heartbeat {
	var roots []string
	if g := a.current.Load(); g != nil {
		for _, w := range g.cfg.Watch {
			roots = append(roots, w.Path)
		}
	}
	m := a.metrics
	return alert.Heartbeat{
		Since: a.startedAt.UTC(),
		Roots: roots,
		Counters: map[string]uint64{
			"scanned": uint64(m.scanned.Load()), "flagged": uint64(m.flagged.Load()),
			"quarantined": uint64(m.quarantined.Load()), "quarantine_failed": uint64(m.quarantineFailed.Load()),
			"scan_errors": uint64(m.scanErrors.Load()), "watches": uint64(a.watches.Stats().Watches),
		},
	}
}

// sendAgentAlert raises one of the agent's own alerts.
func (a *Agent) sendAgentAlert(kind alert.Kind, msg, detail string) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.send(a.gen, alert.Alert{Kind: kind, Severity: policy.EventSeverity(kind), Message: msg, Detail: detail})
}

// webhookDropped hears a webhook's notice about itself (its spool
// overflowed: alerts_dropped; or its spool cannot be written:
// alerts_at_risk) and relays it.
func (a *Agent) webhookDropped(_ *alert.Webhook, al alert.Alert) bool { return a.relay(al) }

// relay sends an alert to every sink through the dispatcher like any
// alert (rate, min_severity, status), and reports whether it did. It may
// run on a webhook's goroutine while a reload holds the agent's lock, so
// it reads the generation without it. When the dispatcher is closed (a
// webhook tells its last drops as it closes, at a reload or the stop)
// journald, the local record, still hears it.
func (a *Agent) relay(al alert.Alert) bool {
	if al.ID == "" {
		al.Time = time.Now().UTC()
		al.ID = alert.NewID(al.Time)
	}
	if g := a.current.Load(); g != nil && g.dispatch.Relay(al) {
		a.recent.Add(al)
		a.metrics.m.Alert(string(al.Kind))
		return true
	}
	a.metrics.m.Alert(string(al.Kind))
	if !a.journal.on.Load() {
		return false
	}
	if err := a.journal.Deliver(al); err != nil {
		a.log.Error("journald refused the alert", "alert_id", al.ID, "kind", al.Kind, "err", err)
	}
	return false
}

func (a *Agent) statusLine() string {
	ws := a.watches.Stats()
	return fmt.Sprintf("%d roots, %d watches; scanned %d, flagged %d, quarantined %d, quarantine failures %d, scan errors %d",
		len(a.current.Load().cfg.Watch), ws.Watches, a.metrics.scanned.Load(), a.metrics.flagged.Load(),
		a.metrics.quarantined.Load(), a.metrics.quarantineFailed.Load(), a.metrics.scanErrors.Load())
}

func (a *Agent) rootList() string {
	var s string
	for i, w := range a.current.Load().cfg.Watch {
		if i > 0 {
			s += ", "
		}
		s += w.Path
	}
	return s
}

// reloadProblem says in one line what stopped a reload: the first rule or
// config problem with its file and line, and how many more the alert's
// detail lists.
func reloadProblem(err error) string {
	var ce *rules.CompileError
	var cfgErr *config.Error
	switch {
	case errors.As(err, &ce) && len(ce.Problems) > 0:
		return "rules do not compile: " + ce.Problems[0].String() + andMore(len(ce.Problems)-1)
	case errors.As(err, &cfgErr) && len(cfgErr.Problems) > 0:
		first := &config.Error{Path: cfgErr.Path, Problems: cfgErr.Problems[:1]}
		return first.Error() + andMore(len(cfgErr.Problems)-1)
	}
	return firstLine(err.Error())
}

func andMore(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (and %d more in the detail)", n)
}

func firstLine(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}
