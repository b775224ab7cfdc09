package access

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/metrics"
	"github.com/shellwatch/shellwatch/roots"
	"github.com/shellwatch/shellwatch/weblog"
)

// Defaults of [Options].
const (
	// DefaultWait is the longest a report waits for the log lines of the
	// file's birth before it is sent with what the logs hold: under the
	// 1 s an access_report is due after its alert, with room for a poll
	// of the logs (weblog.DefaultPoll) and the report itself.
	DefaultWait = 700 * time.Millisecond
	// UploadWindow is the longest an upload is taken to last: the
	// requests that may have written a file ran within it of the file's
	// birth (see weblog.RanAround).
	UploadWindow = 30 * time.Second
	// queueSize bounds the reports waiting to be made; past it a report
	// is not made, and counted.
	queueSize = 256
	// defaultTallyCheck is how often the counts of attacker_returned
	// owed are looked for.
	defaultTallyCheck = time.Second
	// requestBuffer is the new requests waiting for the reporter; past
	// it the followers wait (the log is on disk: nothing is lost).
	requestBuffer = 4096
)

// Options configure the logs of a configuration.
type Options struct {
	// Send raises an alert (access_report, attacker_returned) through the
	// agent's sinks. It is called from the package's goroutine.
	Send func(alert.Alert)
	// Log receives what the followers survive (slog.Default when nil).
	Log *slog.Logger
	// Wait, Poll, Warm and MaxBytes: DefaultWait, weblog.DefaultPoll,
	// weblog.DefaultWindow, weblog.DefaultMaxBytes for all the indexes
	// together.
	Wait, Poll, Warm time.Duration
	MaxBytes         int64
	// Now is the clock (time.Now).
	Now func() time.Time
	// tallyCheck is how often the counts owed are looked for
	// (defaultTallyCheck): a tally comes at most that long after its
	// window ends.
	tallyCheck time.Duration
	// Store keeps the flagged URLs across restarts: [Start] reads them
	// back before any log is read, and they are written behind as they
	// change. Nil keeps them in memory only.
	Store Store
}

// Logs is what one configuration follows: a Follower and an Index per
// [[access_log]] table, and the routes from watch roots to the logs that
// serve them. Start it with [Start]; a reload calls [Logs.Next].
type Logs struct {
	opts    Options
	tables  []config.AccessLog // as configured: Next compares them
	logs    []*followed
	routes  atomic.Pointer[routes]
	flagged *Flagged // handed on from one configuration to the next

	jobs     chan *job
	requests chan logRequest
	cancel   context.CancelFunc
	running  sync.WaitGroup
	dropped  atomic.Uint64 // reports not made: the queue was full
}

// followed is one access log.
type followed struct {
	id    string // its index among the [[access_log]] tables
	path  string
	f     *weblog.Follower
	index *weblog.Index
	live  atomic.Bool // the warm-up is done: what comes now is new
	// readBackAfter: of the lines read back at start, only those
	// stamped after it may be returns (see Flagged.readUntil).
	readBackAfter time.Time
}

// logRequest is a request of a log: new, or read back at start.
type logRequest struct {
	log   *followed
	r     weblog.Request
	pos   weblog.Position // where its line lies (see flaggedURL.isReturn)
	polls int64           // the log's polls when it was read (see flaggedURL.isReturn)
	live  bool            // read after the warm-up: new
}

// routes says which logs serve each watch root, and at which URL.
type routes struct {
	byRoot map[string]*route // by the root's real path
}

type route struct {
	urlPath string
	hosts   []string
	logs    []*followed
}

// Start follows cfg's access logs (the roots' real paths from rs) and
// returns at once; the logs are read from the last Warm on in the
// background, after the flagged URLs of opts.Store are read back: a
// request read back that is stamped after its URL was flagged (and after
// what the last run matched) is a return. With no [[access_log]] it
// starts no follower.
func Start(cfg config.Config, rs roots.Set, opts Options) *Logs {
	opts = opts.withDefaults()
	flagged := NewFlagged()
	if opts.Store != nil {
		flagged.restore(opts.Store, opts.Log)
	}
	return start(cfg, rs, opts, flagged)
}

func (opts Options) withDefaults() Options {
	if opts.Wait <= 0 {
		opts.Wait = DefaultWait
	}
	if opts.Poll <= 0 {
		opts.Poll = weblog.DefaultPoll
	}
	if opts.Warm <= 0 {
		opts.Warm = weblog.DefaultWindow
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = weblog.DefaultMaxBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.tallyCheck <= 0 {
		opts.tallyCheck = defaultTallyCheck
	}
	return opts
}

func start(cfg config.Config, rs roots.Set, opts Options, flagged *Flagged) *Logs {
	l := &Logs{opts: opts, tables: slices.Clone(cfg.AccessLog), flagged: flagged,
		jobs: make(chan *job, queueSize), requests: make(chan logRequest, requestBuffer)}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	for i, t := range cfg.AccessLog {
		format, err := weblog.ParseFormat(t.Format)
		if err != nil { // config.Validate rejected it already
			opts.Log.Error("access log: bad format; not followed", "key", "access_log["+strconv.Itoa(i)+"].format", "err", err)
			continue
		}
		fl := &followed{id: strconv.Itoa(i), path: t.Path, readBackAfter: flagged.readBackFrom(t.Path)}
		fl.index = weblog.NewIndex(weblog.IndexOptions{Window: opts.Warm, MaxBytes: opts.MaxBytes / int64(len(cfg.AccessLog)), Now: opts.Now})
		fl.f = &weblog.Follower{Path: t.Path, Format: format, Warm: opts.Warm, Poll: opts.Poll, Now: opts.Now, Log: opts.Log,
			Handle: func(r weblog.Request, pos weblog.Position) {
				fl.index.Add(r)
				lr := logRequest{fl, r, pos, fl.f.Stats().Polls, fl.live.Load()}
				// A line read back goes on only when it may be a
				// return: the warm-up reads up to Warm of the log.
				if !lr.live && !l.mayReturn(lr) {
					return
				}
				select {
				case l.requests <- lr:
				case <-ctx.Done():
				}
			},
			OnLive: func() { fl.live.Store(true) },
		}
		l.logs = append(l.logs, fl)
	}
	l.route(cfg, rs)
	if len(l.logs) == 0 {
		return l
	}
	for _, fl := range l.logs {
		l.running.Go(func() { fl.f.Run(ctx) })
	}
	l.running.Go(func() { l.reporter(ctx) })
	return l
}

// route computes the routes of cfg.
func (l *Logs) route(cfg config.Config, rs roots.Set) {
	rt := &routes{byRoot: make(map[string]*route)}
	for _, r := range rs.List() {
		for _, w := range cfg.Watch {
			if filepath.Clean(w.Path) != filepath.Clean(r.Configured) {
				continue
			}
			ro := &route{urlPath: w.URLPath, hosts: w.ServerNames}
			for i, t := range cfg.AccessLog {
				if t.Serves(w.Path) {
					for _, fl := range l.logs {
						if fl.id == strconv.Itoa(i) {
							ro.logs = append(ro.logs, fl)
						}
					}
				}
			}
			rt.byRoot[r.Path] = ro
		}
	}
	l.routes.Store(rt)
}

// Next returns the logs of a new configuration: l itself, routed anew,
// when it follows the same logs in the same formats (their indexes and
// positions go on); else new ones, started, which take over the flagged
// URLs. The caller stops l once the new ones are in use, unless Next
// returned l.
func (l *Logs) Next(cfg config.Config, rs roots.Set) *Logs {
	same := slices.EqualFunc(l.tables, cfg.AccessLog, func(a, b config.AccessLog) bool {
		return a.Path == b.Path && a.Format == b.Format
	})
	if same {
		l.tables = slices.Clone(cfg.AccessLog)
		l.route(cfg, rs)
		return l
	}
	return start(cfg, rs, l.opts, l.flagged)
}

// Stop stops following the logs; the reports still waiting are made at
// once, with what the indexes hold, and sent. A nil Logs does nothing.
func (l *Logs) Stop() {
	if l == nil {
		return
	}
	l.cancel()
	l.running.Wait()
	l.flagged.store.flush()
}

// serves reports whether the log fl serves the root at the real path root.
func (rt *routes) serves(fl *followed, root string) bool {
	ro := rt.byRoot[root]
	return ro != nil && slices.Contains(ro.logs, fl)
}

// LogStats is one followed log's figures.
type LogStats struct {
	// Log is the index of its [[access_log]] table.
	Log string
	weblog.FollowStats
	weblog.IndexStats
}

// Stats returns the figures of every followed log, and the reports not
// made because too many waited.
func (l *Logs) Stats() ([]LogStats, uint64) {
	if l == nil {
		return nil, 0
	}
	out := make([]LogStats, len(l.logs))
	for i, fl := range l.logs {
		out[i] = LogStats{Log: fl.id, FollowStats: fl.f.Stats(), IndexStats: fl.index.Stats()}
	}
	return out, l.dropped.Load()
}

// Serves reports whether a followed log serves the root at the real path
// root: whether a file alert there gets an access report.
func (l *Logs) Serves(root string) bool {
	if l == nil {
		return false
	}
	ro := l.routes.Load().byRoot[root]
	return ro != nil && len(ro.logs) > 0
}

// Metrics returns Stats as the metrics package takes them.
func (l *Logs) Metrics() ([]metrics.AccessLog, uint64) {
	stats, dropped := l.Stats()
	out := make([]metrics.AccessLog, len(stats))
	for i, s := range stats {
		out[i] = metrics.AccessLog{Log: s.Log, Lines: uint64(s.Lines), Unparsed: uint64(s.Unparsed + s.TooLong),
			Entries: s.Entries, Bytes: s.Bytes}
	}
	return out, dropped
}

// Index returns the index of the i-th followed log, for tests and tools.
func (l *Logs) Index(i int) *weblog.Index { return l.logs[i].index }
