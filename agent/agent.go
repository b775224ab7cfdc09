package agent

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
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
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
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

	// Test knobs: the watcher's pending limit (to force an overflow) and
	// the webhook retry backoff (so a test need not wait minutes).
	pendingLimit           int
	minBackoff, maxBackoff time.Duration
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
	ctx       context.Context

	mu  sync.RWMutex // scans hold it shared; a reload swaps gen holding it
	gen *generation

	born  *bornFiles // files seen appearing lately
	names *ownerNames

	// journal is the journald sink, shared by every generation (it holds
	// no state); journaldOn says whether the current config enables it.
	journal    *alert.Journald
	journaldOn atomic.Bool

	baseline *baseline.Baseline // the records, deploy windows and approvals
	dbReset  error              // why the state DB was set aside at start, if it was

	shards       []chan task // per-path workers; see run
	reconciledMu sync.Mutex
	reconciled   map[string]bool // roots whose reconciliation this agent started
	// reconcileFinished holds the roots whose reconciliation completed.
	reconcileFinished map[string]bool
	reconcileWG       sync.WaitGroup
	// reconcileCtx ends reconciliation before the workers stop.
	reconcileCtx    context.Context
	reconcileCancel context.CancelFunc

	inflight    atomic.Int64 // tasks queued or running
	recent      recentAlerts
	controlDone sync.WaitGroup // the control socket's server
	ready       atomic.Bool    // every root is watched

	changes  chan watcher.Change
	problems chan watcher.Problem
	watches  *watchSet
	metrics  *agentMetrics

	stats struct {
		scanned, flagged, quarantined, quarantineFailed, scanErrors atomic.Int64
	}

	// Test hooks: afterScan sees every verdict; beforeMove runs between the
	// scan of a flagged file and its move into the vault.
	afterScan  func(scanner.Verdict)
	beforeMove func(path string)
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
		names:     newOwnerNames(),
		changes:   make(chan watcher.Change, 256),
		problems:  make(chan watcher.Problem, 64),
	}
	a.born = newBornFiles()
	a.metrics = newAgentMetrics(a)
	a.journal = alert.NewJournald(alert.JournaldOptions{Fallback: opts.Stderr})
	cfg, err := config.Load(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	g, _, err := a.buildGeneration(cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", opts.ConfigPath, err)
	}
	a.gen = g
	for _, w := range g.engine.Warnings {
		a.log.Warn("rule warning", "warning", w)
	}
	a.baseline, a.dbReset, err = baseline.Open(cfg.StatePath(), baseline.Options{Logger: a.log})
	if err != nil {
		a.closeGeneration(g)
		return nil, fmt.Errorf("state %s: %w", cfg.StatePath(), err)
	}
	if a.dbReset != nil {
		a.log.Error("state database unreadable; set aside, building a fresh baseline", "err", a.dbReset)
	}
	a.reconciled, a.reconcileFinished = map[string]bool{}, map[string]bool{}
	return a, nil
}

func (a *Agent) notify(state string) {
	if a.opts.Notify != nil {
		a.opts.Notify(state)
		return
	}
	sdNotify(state)
}

func (a *Agent) run(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	a.ctx = ctx
	a.reconcileCtx, a.reconcileCancel = context.WithCancel(ctx)
	defer a.reconcileCancel()

	signals := a.opts.Signals
	if signals == nil {
		ch := make(chan os.Signal, 4)
		signal.Notify(ch, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
		defer signal.Stop(ch)
		signals = ch
	}

	// Changes of one path are handled by one worker, in the order the
	// watcher reported them: a file's creation and its first write arrive
	// back to back, and the write must be judged knowing the creation
	// (a new file is quarantined, an old one only alerted).
	a.shards = make([]chan task, max(2*a.gen.engine.Scanner.Workers(), 2))
	var workers sync.WaitGroup
	for i := range a.shards {
		a.shards[i] = make(chan task, 64)
		workers.Go(func() {
			for t := range a.shards[i] {
				a.handleTask(t)
			}
		})
	}
	workers.Go(func() {
		for c := range a.changes {
			a.enqueue(task{c: c})
		}
		for _, sh := range a.shards {
			close(sh)
		}
	})
	var problemsDone sync.WaitGroup
	problemsDone.Go(func() {
		for p := range a.problems {
			a.handleProblem(p)
		}
	})

	a.watches = newWatchSet(a) // before the control socket, whose status reads it
	if err := a.startControl(ctx, &a.controlDone); err != nil {
		a.stopPipeline(&workers, &problemsDone)
		a.closeGeneration(a.gen)
		a.closeBaseline()
		return err
	}
	err := a.startMetrics(a.gen.cfg)
	var ready <-chan struct{}
	if err == nil {
		if ready, err = a.watches.start(a.gen.cfg); err != nil {
			a.stopMetrics()
		}
	}
	if err != nil {
		cancel()
		a.controlDone.Wait()
		a.stopPipeline(&workers, &problemsDone)
		a.closeGeneration(a.gen)
		a.closeBaseline()
		return err
	}

	watchdog := newWatchdog()
	status := time.NewTicker(statusInterval)
	defer status.Stop()
	readySent := false
	for {
		select {
		case <-ready:
			ready = nil
			readySent = true
			a.ready.Store(true)
			if a.dbReset != nil {
				a.sendAgentAlert(alert.KindStateReset, finding.SeverityHigh,
					"state database was unreadable: set aside and a fresh baseline built; changes made while the agent was down cannot be told this time",
					a.dbReset.Error())
			}
			cfg := a.gen.cfg
			a.checkRootsWritable(cfg)
			a.reconcileWG.Go(func() { a.reconcile(a.reconcileCtx, cfg) })
			a.notify("READY=1\nSTATUS=" + a.statusLine())
			a.log.Info("watching", "roots", len(a.gen.cfg.Watch), "watches", a.watches.stats().Watches)
			a.sendAgentAlert(alert.KindAgentStarted, finding.SeverityLow,
				fmt.Sprintf("shellwatch %s watching %d roots", a.opts.Version, len(a.gen.cfg.Watch)), a.rootList())
		case <-status.C:
			if readySent {
				a.notify("STATUS=" + a.statusLine())
			}
			a.expireDeploys()
			a.baseline.Save()
		case <-watchdog.C():
			a.notify("WATCHDOG=1")
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				a.notify(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", monotonicUsec()))
				a.reload()
				a.notify("READY=1\nSTATUS=" + a.statusLine())
				continue
			}
			a.log.Info("stopping", "signal", sig.String())
			return a.stop(&workers, &problemsDone, cancel)
		case <-parent.Done():
			a.log.Info("stopping", "reason", context.Cause(parent))
			return a.stop(&workers, &problemsDone, cancel)
		}
	}
}

// stop drains the pipeline: no new changes are taken, the changes already
// delivered are scanned and acted on, the sinks are flushed.
func (a *Agent) stop(workers, problemsDone *sync.WaitGroup, cancel context.CancelFunc) error {
	a.notify("STOPPING=1")
	a.sendAgentAlert(alert.KindAgentStopping, finding.SeverityLow,
		fmt.Sprintf("shellwatch %s stopping; files changed from now on are not watched", a.opts.Version), "")
	a.stopMetrics()
	a.watches.stopAll()
	a.stopReconcile()
	a.stopPipeline(workers, problemsDone)
	cancel()
	a.controlDone.Wait()
	a.closeGeneration(a.gen)
	a.closeBaseline()
	a.log.Info("stopped", "scanned", a.stats.scanned.Load(), "flagged", a.stats.flagged.Load(),
		"quarantined", a.stats.quarantined.Load())
	return nil
}

func (a *Agent) stopPipeline(workers, problemsDone *sync.WaitGroup) {
	close(a.changes)
	workers.Wait()
	close(a.problems)
	problemsDone.Wait()
}

// closeBaseline stores what is pending of the baseline and closes the state
// database.
func (a *Agent) closeBaseline() {
	if err := a.baseline.Close(); err != nil {
		a.log.Error("state: close", "err", err)
	}
}

func (a *Agent) closeGeneration(g *generation) {
	a.closeDispatcher(g.dispatch, stopTimeout)
	g.engine.Close()
	g.vault.Close()
}

// reload reads the config file again and swaps in what it builds, or keeps
// everything as it is and alerts when anything fails.
func (a *Agent) reload() {
	fail := func(err error) {
		a.metrics.reloadsFailed.Add(1)
		a.log.Error("reload failed; the previous config and rules keep running", "config", a.opts.ConfigPath, "err", err)
		a.sendAgentAlert(alert.KindReloadFailed, finding.SeverityHigh,
			"reload failed, previous config and rules keep running: "+firstLine(err.Error()), err.Error())
	}
	cfg, err := config.Load(a.opts.ConfigPath)
	if err != nil {
		fail(err)
		return
	}
	metricsReload, err := a.prepareMetricsReload(cfg)
	if err != nil {
		fail(err)
		return
	}
	a.mu.Lock()
	old := a.gen
	g, _, err := a.buildGeneration(cfg, old)
	if err != nil {
		a.mu.Unlock()
		metricsReload.abort()
		fail(fmt.Errorf("config %s: %w", a.opts.ConfigPath, err))
		return
	}
	a.gen = g
	a.mu.Unlock()
	metricsReload.commit()
	old.engine.Close()
	old.vault.Close()
	for _, w := range g.engine.Warnings {
		a.log.Warn("rule warning", "warning", w)
	}
	rootsChanged := !reflect.DeepEqual(old.cfg.Watch, cfg.Watch) || !reflect.DeepEqual(old.cfg.Scanner.Exclude, cfg.Scanner.Exclude) ||
		old.cfg.Agent.Settle != cfg.Agent.Settle || old.cfg.Agent.RescanInterval != cfg.Agent.RescanInterval
	if rootsChanged {
		if err := a.watches.replace(cfg); err != nil {
			fail(fmt.Errorf("watch the new roots: %w", err))
			return
		}
		// New roots get their baseline, or their reconciliation.
		a.reconcileWG.Go(func() { a.reconcile(a.reconcileCtx, cfg) })
	}
	a.metrics.reloadsOK.Add(1)
	a.log.Info("reloaded", "config", a.opts.ConfigPath, "rules", len(g.engine.Rules.Rules()), "roots_changed", rootsChanged)
	a.sendAgentAlert(alert.KindReloaded, finding.SeverityLow,
		fmt.Sprintf("config and rules reloaded: %d rules, %d roots", len(g.engine.Rules.Rules()), len(cfg.Watch)), a.rootList())
}

// sendAgentAlert raises one of the agent's own alerts.
func (a *Agent) sendAgentAlert(kind alert.Kind, sev finding.Severity, msg, detail string) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.send(a.gen, alert.Alert{Kind: kind, Severity: sev, Message: msg, Detail: detail})
}

// spoolDropped hears from a webhook whose spool overflowed. The webhook
// queued the news for its own receiver; journald, the local record, hears
// it from here. It runs on the webhook's goroutine, possibly while a reload
// holds the agent's lock, so it takes no lock and goes straight to the
// journald sink.
func (a *Agent) spoolDropped(al alert.Alert) {
	a.metrics.m.Alert(string(al.Kind))
	if !a.journaldOn.Load() {
		return
	}
	if err := a.journal.Deliver(al); err != nil {
		a.log.Error("journald refused the alert on dropped webhook alerts", "alert_id", al.ID, "err", err)
	}
}

func (a *Agent) statusLine() string {
	ws := a.watches.stats()
	return fmt.Sprintf("%d roots, %d watches; scanned %d, flagged %d, quarantined %d, quarantine failures %d, scan errors %d",
		len(a.gen.cfg.Watch), ws.Watches, a.stats.scanned.Load(), a.stats.flagged.Load(),
		a.stats.quarantined.Load(), a.stats.quarantineFailed.Load(), a.stats.scanErrors.Load())
}

func (a *Agent) rootList() string {
	var s string
	for i, w := range a.gen.cfg.Watch {
		if i > 0 {
			s += ", "
		}
		s += w.Path
	}
	return s
}

// enqueue hands t to the worker of its path.
func (a *Agent) enqueue(t task) {
	a.inflight.Add(1)
	a.shards[shardOf(t.c.Path, len(a.shards))] <- t
}

// stopReconcile stops a reconciliation still running and waits for it; its
// unfinished part is done at the next start.
func (a *Agent) stopReconcile() {
	a.reconcileCancel()
	a.reconcileWG.Wait()
}

// shardSeed makes shardOf's hashes; one per process is enough, since only
// the same path must land on the same worker.
var shardSeed = maphash.MakeSeed()

// shardOf picks the worker of a path.
func shardOf(path string, n int) int {
	return int(maphash.String(shardSeed, path) % uint64(n))
}

func firstLine(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}

// watcherRoots turns the [[watch]] tables into watcher roots: real paths
// (the watcher never follows a symlink, so a root given through one is
// resolved once, here) with the global and per-root excludes.
func watcherRoots(cfg config.Config) ([]watcher.Root, error) {
	var roots []watcher.Root
	for i, w := range cfg.Watch {
		path := filepath.Clean(w.Path)
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("watch[%d].path %s: %w", i, w.Path, err)
		}
		ex, err := rootExcluder(cfg, i)
		if err != nil {
			return nil, err
		}
		roots = append(roots, watcher.Root{Path: path, Exclude: ex})
	}
	return roots, nil
}
