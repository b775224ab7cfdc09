package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/safetext"
)

// Defaults of [DispatcherOptions].
const (
	DefaultGroupInterval = time.Second
	DefaultMaxSamples    = 20
	DefaultQueueSize     = 4096
)

// Route sends the alerts of at least MinSeverity to one sink, at most Rate
// low and medium alerts a second.
type Route struct {
	Sink        Sink
	MinSeverity finding.Severity
	// Rate is how many alerts a second go through to Sink one by one; the
	// low and medium ones beyond it are folded into one KindAlertsGrouped
	// alert per GroupInterval. High and critical alerts are never folded:
	// they always go one by one (taking a token when there is one). 0
	// means no limit.
	Rate float64
	// Burst is how many alerts may go through at once before Rate applies.
	// 0 means Rate rounded up (at least 1).
	Burst int
}

// DispatcherOptions configure a [Dispatcher]. Zero values take the defaults
// named on each field.
type DispatcherOptions struct {
	Routes []Route
	// Host fills Alert.Host when empty; default os.Hostname().
	Host string
	// Version fills Alert.AgentVersion when empty.
	Version string
	// GroupInterval is how often a rate-limited route delivers the alerts
	// it folded; default DefaultGroupInterval.
	GroupInterval time.Duration
	// MaxSamples is how many folded alerts a grouped alert lists; default
	// DefaultMaxSamples.
	MaxSamples int
	// QueueSize is how many alerts each route holds for its sink; past
	// it, alerts are dropped for that sink (high and critical ones first
	// displace low and medium ones); default DefaultQueueSize.
	QueueSize int
	// Logger receives delivery errors; default slog.Default().
	Logger *slog.Logger
	// Seq numbers every alert (nil: alerts go without seq, and no stream
	// links them).
	Seq *Sequencer
	// Heartbeat, when its Interval is set, sends a KindHeartbeat to every
	// route whose sink takes heartbeats (a [Beater]: the webhooks).
	Heartbeat HeartbeatOptions
}

// HeartbeatOptions configure the heartbeats of a [Dispatcher].
type HeartbeatOptions struct {
	Interval time.Duration
	// Info fills the heartbeat's counters, roots and start time; the
	// dispatcher sets Interval and each sink's stream head.
	Info func() Heartbeat
}

// Beater is a sink that takes heartbeats: best effort, never spooled (a
// late heartbeat says nothing), never blocking.
type Beater interface {
	Beat(a Alert)
}

// streamed is a sink that links the alerts it is given into its [Stream].
type streamed interface {
	stream() *Stream
}

// RouteStats counts what one route did with the alerts it was given.
type RouteStats struct {
	Sink string // the sink's Name()
	// Sent counts successful Deliver calls, grouped alerts included.
	Sent uint64
	// Grouped counts alerts over the rate that were folded into a grouped
	// alert instead of being delivered one by one.
	Grouped uint64
	// Errors counts Deliver calls that failed: the sink did not take the
	// alert (or the grouped alert) and it is lost for this sink.
	Errors uint64
	// Dropped counts alerts lost for this sink because its queue was full
	// (the sink did not keep up, or hung): refused, or displaced by a high
	// or critical alert.
	Dropped uint64
	// LossEpisodes counts the times this sink started losing alerts
	// (dropped or failed); each was told to the other sinks by one
	// KindAlertsDropped alert (and one more if it then lost more severe
	// alerts than the first), and its end by another.
	LossEpisodes uint64
	// DroppedAfterClose counts alerts for this route that were sent after
	// Close and so never queued.
	DroppedAfterClose uint64
	// Queued is how many alerts wait in the route's queue right now.
	Queued int
}

// Dispatcher hands each alert to the sinks whose route wants it. Every
// route has its own bounded queue and goroutine, so a slow or hung sink
// (the webhook sink fsyncs its spool per alert; a journald that stopped
// reading) never delays another one, nor the sender: Send never blocks.
// When a route's queue is full its sink loses the alert (high and critical
// alerts displace queued low and medium ones first); the loss is counted
// (RouteStats.Dropped) and told to the other sinks once per episode, in a
// KindAlertsDropped alert when the sink starts losing alerts (once more
// when it then loses a critical alert after high ones: each notice is as
// severe as what it tells of) and another with the count when it takes
// them again.
//
// A sink may Relay its own notices from its Deliver: Relay never waits,
// and skips the sink it came from.
type Dispatcher struct {
	host          string
	version       string
	groupInterval time.Duration
	maxSamples    int
	log           *slog.Logger
	routes        []*route
	seq           *Sequencer

	// linkMu makes numbering an alert, linking it into each route's stream
	// and queueing it one step, so that every stream holds its alerts in
	// the order of their seqs and queues them in the order they are
	// linked.
	linkMu sync.Mutex

	streams      []*Stream // closed with the dispatcher
	heartbeat    HeartbeatOptions
	stopBeats    chan struct{}
	beatsStopped chan struct{}

	// mu guards closed: Send holds it shared while it queues, Close takes it
	// exclusively, so no Send writes to a queue Close has closed.
	mu     sync.RWMutex
	closed bool

	// abort is closed when Close's context ends before the queues drained:
	// route workers then fold what is left into one grouped alert.
	abort   chan struct{}
	workers sync.WaitGroup
}

// route is one Route and the state of its worker.
type route struct {
	Route
	name    string
	stream  *Stream // nil: the sink's alerts are not linked
	queue   *routeQueue
	limiter *rate.Limiter // nil: no limit
	pending *pendingGroup // alerts folded since the last group was delivered

	sent, grouped, errors, dropped, episodes, droppedAfterClose atomic.Uint64

	// loss is the episode of lost alerts under way, nil when the sink
	// takes every alert.
	lossMu sync.Mutex
	loss   *lossEpisode
}

// lossEpisode gathers the alerts a route lost (dropped from its full
// queue, or refused by its sink) since it started losing them.
type lossEpisode struct {
	since   time.Time
	count   int
	byKind  map[Kind]int
	samples []Sample
	seqs    seqRanges
	highest finding.Severity // of the alerts lost
	// told is the severity of the latest notice that r loses alerts: the
	// episode's first, or the one that said it loses more severe alerts
	// than that (see noteLoss).
	told finding.Severity
}

// LossSeverity is the severity of an alerts_dropped alert that tells of
// lost alerts the most severe of which is lost, and of an alerts_at_risk
// that tells of alerts held in memory the most severe of which is held:
// high, or critical when a critical alert is among them. A sink hears the
// notice when its min_severity would have let such an alert through, so
// a sink that takes critical alerts only still hears that critical ones
// were lost or are at risk, its own included.
func LossSeverity(lost finding.Severity) finding.Severity {
	return max(finding.SeverityHigh, lost)
}

// NewDispatcher starts one worker per route; stop them with Close.
func NewDispatcher(opts DispatcherOptions) *Dispatcher {
	d := &Dispatcher{
		host:          opts.Host,
		version:       opts.Version,
		groupInterval: opts.GroupInterval,
		maxSamples:    opts.MaxSamples,
		log:           opts.Logger,
		seq:           opts.Seq,
		heartbeat:     opts.Heartbeat,
		abort:         make(chan struct{}),
		stopBeats:     make(chan struct{}),
		beatsStopped:  make(chan struct{}),
	}
	if d.host == "" {
		// An alert with no host is still worth sending; the receiver sees
		// the empty field.
		d.host, _ = os.Hostname()
	}
	if d.groupInterval <= 0 {
		d.groupInterval = DefaultGroupInterval
	}
	if d.maxSamples <= 0 {
		d.maxSamples = DefaultMaxSamples
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	queueSize := opts.QueueSize
	if queueSize <= 0 {
		queueSize = DefaultQueueSize
	}
	for _, rt := range opts.Routes {
		r := &route{Route: rt, name: rt.Sink.Name(), queue: newRouteQueue(queueSize)}
		if st, ok := rt.Sink.(streamed); ok {
			r.stream = st.stream()
		}
		if rt.Rate > 0 {
			burst := rt.Burst
			if burst <= 0 {
				burst = max(1, int(math.Ceil(rt.Rate)))
			}
			r.limiter = rate.NewLimiter(rate.Limit(rt.Rate), burst)
		}
		d.routes = append(d.routes, r)
	}
	for _, r := range d.routes {
		d.workers.Add(1)
		go d.runRoute(r)
	}
	go d.beat()
	return d
}

// beat sends a heartbeat to every Beater route each interval (the first
// one interval after the start, which agent_started announces), until
// Close.
func (d *Dispatcher) beat() {
	defer close(d.beatsStopped)
	if d.heartbeat.Interval <= 0 || d.heartbeat.Info == nil {
		return
	}
	t := time.NewTicker(d.heartbeat.Interval)
	defer t.Stop()
	for {
		select {
		case <-d.stopBeats:
			return
		case <-t.C:
		}
		d.sendBeat()
	}
}

// sendBeat sends one heartbeat to every Beater route, with the head of
// that route's stream.
func (d *Dispatcher) sendBeat() {
	info := d.heartbeat.Info()
	info.Interval = d.heartbeat.Interval.String()
	now := time.Now().UTC()
	for _, r := range d.routes {
		b, ok := r.Sink.(Beater)
		if !ok {
			continue
		}
		hb := info
		hb.LastSeq, hb.LastChain = r.stream.Head()
		b.Beat(Alert{
			ID: NewID(now), Time: now, Host: d.host, AgentVersion: d.version,
			Kind: KindHeartbeat, Severity: finding.SeverityLow,
			Message: fmt.Sprintf("shellwatch alive since %s, watching %d roots; next heartbeat in %s; last seq of this stream %d",
				hb.Since.UTC().Format(time.RFC3339), len(hb.Roots), hb.Interval, hb.LastSeq),
			Heartbeat: &hb,
		})
	}
}

// Send fills the alert's ID, Time, Host and AgentVersion when they are
// empty and queues it on every route whose MinSeverity it reaches. It never
// blocks: a route whose queue is full loses an alert, counted and told to
// the other routes (see [Dispatcher]).
//
// After Close, Send logs the alert's id and kind at error level and drops
// it (counted in RouteStats.DroppedAfterClose): the sinks are closed and a
// caller that sends during shutdown has no one left to tell.
func (d *Dispatcher) Send(a Alert) { d.send(a, nil) }

// Relay sends an alert a sink raised itself (a webhook's notice of the
// alerts dropped from its full spool, or of a spool that cannot be
// written) to every route, that sink's included, as Send does: it is
// numbered and linked into each stream in order with the others. It
// reports false, and sends nothing, once the dispatcher is closed (the
// sink then keeps it itself).
func (d *Dispatcher) Relay(a Alert) bool { return d.send(a, nil) }

func (d *Dispatcher) send(a Alert, skip Sink) bool {
	a = d.stamp(a)
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		for _, r := range d.routes {
			if r.wants(a) {
				r.droppedAfterClose.Add(1)
			}
		}
		d.log.Error("alert sent after the dispatcher closed; dropped",
			"alert_id", a.ID, "kind", a.Kind, "severity", a.Severity, "message", a.Message)
		return false
	}
	d.queueLocked(a, func(r *route) bool { return skip == nil || r.Sink != skip })
	return true
}

// stamp fills the alert's ID, Time, Host and AgentVersion when they are
// empty.
func (d *Dispatcher) stamp(a Alert) Alert {
	now := time.Now().UTC()
	if a.Time.IsZero() {
		a.Time = now
	}
	a.Time = a.Time.UTC()
	if a.ID == "" {
		a.ID = NewID(a.Time)
	}
	if a.Host == "" {
		a.Host = d.host
	}
	if a.AgentVersion == "" {
		a.AgentVersion = d.version
	}
	return a
}

// queueLocked puts a on every route that wants it and to which include
// says yes, then the notices of the losses that caused, each in turn. A
// route whose queue is full loses an alert: it is counted and, at the
// start of an episode, told to the other routes. The caller holds d.mu
// shared and the dispatcher is open.
func (d *Dispatcher) queueLocked(a Alert, include func(*route) bool) {
	pending := []lossNotice{{alert: a, include: include}}
	for len(pending) > 0 {
		n := pending[0]
		pending = append(pending[1:], d.queueOne(n.alert, n.include)...)
	}
}

// queueOne numbers a, links it into the stream of every route that wants
// it and queues it there, and returns the notices of the losses that
// caused.
func (d *Dispatcher) queueOne(a Alert, include func(*route) bool) []lossNotice {
	d.linkMu.Lock()
	defer d.linkMu.Unlock()
	if a.Seq == 0 && d.seq != nil {
		a.Seq = d.seq.Next()
	}
	var notices []lossNotice
	for _, r := range d.routes {
		if !r.wants(a) || !include(r) {
			continue
		}
		b := a
		r.stream.Link(&b)
		if lost, isLost := r.queue.put(b); isLost {
			r.dropped.Add(1)
			if n, ok := d.noteLoss(r, lost, fmt.Sprintf("its queue of %d alerts is full: the sink does not keep up or hangs", r.queue.max)); ok {
				notices = append(notices, n)
			}
		}
	}
	return notices
}

// wants says whether the route takes a: its severity reaches MinSeverity.
func (r *route) wants(a Alert) bool { return a.Severity >= r.MinSeverity }

// lossNotice is a KindAlertsDropped alert and the routes it goes to.
type lossNotice struct {
	alert   Alert
	include func(*route) bool
}

// noteLoss counts an alert lost for r. When it starts an episode, it
// returns the notice to send to the other routes, as severe as the lost
// alert (LossSeverity). When a later alert lost in the episode is more
// severe than the notices told so far (the episode began with low or
// high alerts, and now a critical one is lost), it returns one more
// notice at that severity: a sink that takes only critical alerts hears
// at once that critical ones are lost, not at the count when r
// recovers. At most one notice per severity per episode.
func (d *Dispatcher) noteLoss(r *route, lost Alert, why string) (lossNotice, bool) {
	r.lossMu.Lock()
	defer r.lossMu.Unlock()
	e := r.loss
	starts := e == nil
	if starts {
		e = &lossEpisode{since: time.Now().UTC(), byKind: map[Kind]int{}}
		r.loss = e
		r.episodes.Add(1)
	}
	// A grouped alert lost stands for every alert it folded.
	folded, byKind := 1, map[Kind]int{lost.Kind: 1}
	if lost.Kind == KindAlertsGrouped && lost.Count > 0 {
		folded, byKind = lost.Count, lost.CountByKind
		for _, s := range parseSeqRanges(lost.Seqs) {
			e.seqs.add(s)
		}
	}
	e.count += folded
	e.highest = max(e.highest, lost.Severity)
	for k, c := range byKind {
		e.byKind[k] += c
	}
	e.seqs.add(lost.Seq)
	if len(e.samples) < d.maxSamples {
		e.samples = append(e.samples, lost.Sample())
	}
	d.log.Debug("alert lost for a sink", "sink", r.name, "alert_id", lost.ID, "kind", lost.Kind, "severity", lost.Severity, "reason", why)
	severity := LossSeverity(lost.Severity)
	if !starts && severity <= e.told {
		return lossNotice{}, false
	}
	e.told = severity
	msg := fmt.Sprintf("sink %s loses alerts: %s; they are counted until it takes alerts again (first lost: %s)",
		r.name, why, describeSample(lost.Sample()))
	if starts {
		d.log.Error("alert sink loses alerts; the other sinks are told", "sink", r.name, "reason", why, "alert_id", lost.ID)
	} else {
		d.log.Error("alert sink loses more severe alerts; the other sinks are told", "sink", r.name, "severity", lost.Severity, "reason", why, "alert_id", lost.ID)
		msg = fmt.Sprintf("sink %s now loses %s alerts too (since %s, %d lost so far): %s; they are counted until it takes alerts again (first %s lost: %s)",
			r.name, lost.Severity, e.since.Format(time.RFC3339), e.count, why, lost.Severity, describeSample(lost.Sample()))
	}
	n := d.stamp(Alert{
		Kind:        KindAlertsDropped,
		Severity:    severity,
		Message:     msg,
		Detail:      "the other sinks still get every alert; the count comes when the sink recovers",
		Count:       folded,
		CountByKind: maps.Clone(byKind),
		Samples:     []Sample{lost.Sample()},
	})
	return lossNotice{alert: n, include: func(o *route) bool { return o != r }}, true
}

// endLoss ends r's episode of losses, if one is under way and r's queue is
// empty (so a sink that merely keeps up again for one alert does not end
// it), and tells every route, r included, how many alerts r lost.
func (d *Dispatcher) endLoss(r *route) {
	r.lossMu.Lock()
	e := r.loss
	if e == nil || r.queue.len() > 0 {
		r.lossMu.Unlock()
		return
	}
	r.loss = nil
	r.lossMu.Unlock()

	now := time.Now().UTC()
	n := d.stamp(Alert{
		Kind:     KindAlertsDropped,
		Severity: LossSeverity(e.highest),
		Message: fmt.Sprintf("sink %s takes alerts again: %d alerts were lost for it from %s to %s (%s)",
			r.name, e.count, e.since.Format(time.RFC3339), now.Format(time.RFC3339), countsByKind(e.byKind)),
		Detail:      "the other sinks got these alerts; the samples name the first ones lost",
		Count:       e.count,
		CountByKind: e.byKind,
		Samples:     e.samples,
		Seqs:        e.seqs.String(),
	})
	d.log.Warn("alert sink takes alerts again", "sink", r.name, "lost", e.count, "since", e.since)
	d.mu.RLock()
	defer d.mu.RUnlock()
	if !d.closed {
		d.queueLocked(n, func(*route) bool { return true })
	}
}

// Close stops accepting alerts, delivers every queued alert and pending
// group to its sink, then closes every sink with ctx. If ctx ends before
// the queues are drained, what is still queued is folded into one grouped
// alert per route (so it is counted, not silently lost) and delivered
// before the sinks are closed. Close returns the sinks' Close errors; a
// second call returns an error and does nothing.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("alert dispatcher already closed")
	}
	d.closed = true
	for _, r := range d.routes {
		r.queue.close()
	}
	d.mu.Unlock()
	close(d.stopBeats)
	<-d.beatsStopped

	drained := make(chan struct{})
	go func() {
		d.workers.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-ctx.Done():
		close(d.abort)
		<-drained
	}

	var errs []error
	for _, r := range d.routes {
		if err := r.Sink.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close alert sink %s: %w", r.name, err))
		}
	}
	for _, s := range d.streams {
		s.Close()
	}
	return errors.Join(errs...)
}

// Stats returns the counters of every route, in the order of
// DispatcherOptions.Routes.
func (d *Dispatcher) Stats() []RouteStats {
	out := make([]RouteStats, len(d.routes))
	for i, r := range d.routes {
		out[i] = RouteStats{
			Sink:              r.name,
			Sent:              r.sent.Load(),
			Grouped:           r.grouped.Load(),
			Errors:            r.errors.Load(),
			Dropped:           r.dropped.Load(),
			LossEpisodes:      r.episodes.Load(),
			DroppedAfterClose: r.droppedAfterClose.Load(),
			Queued:            r.queue.len(),
		}
	}
	return out
}

// runRoute is a route's worker: it delivers queued alerts within the rate
// (high and critical ones always), folds the others, and delivers the fold
// every group interval. It returns when the queue is closed and empty.
func (d *Dispatcher) runRoute(r *route) {
	defer d.workers.Done()
	var tick <-chan time.Time
	if r.limiter != nil {
		ticker := time.NewTicker(d.groupInterval)
		defer ticker.Stop()
		tick = ticker.C
	}
	for {
		select {
		case <-d.abort:
			d.abortRoute(r, closeTimedOut)
			return
		case <-tick:
			d.deliverGroup(r)
			continue
		default:
		}
		a, ok, closed := r.queue.take()
		switch {
		case ok && closed && r.isLosing():
			// Closing, and the sink loses alerts (it hangs): one Deliver
			// for what is left, rather than one timeout per alert.
			d.fold(r, a)
			d.abortRoute(r, "the dispatcher closed while sink %s was losing alerts; the ones still queued are only counted here")
			return
		case ok:
			if a.Kind == KindAlertsGrouped || r.limiter == nil || r.limiter.Allow() || a.Severity >= finding.SeverityHigh {
				d.deliver(r, a)
			} else {
				d.fold(r, a)
			}
			continue
		case closed:
			d.deliverGroup(r)
			return
		}
		select {
		case <-r.queue.ready:
		case <-tick:
			d.deliverGroup(r)
		case <-d.abort:
			d.abortRoute(r, closeTimedOut)
			return
		}
	}
}

// closeTimedOut is why abortRoute folds when Close ran out of time.
const closeTimedOut = "the agent's shutdown deadline passed before sink %s took every queued alert; they are only counted here"

// abortRoute folds what is left on r when Close must not wait for it: one
// more Deliver for everything left keeps the count, where delivering each
// would keep Close waiting on a slow sink. why, with the sink's name for
// its %s, is the group's detail.
func (d *Dispatcher) abortRoute(r *route, why string) {
	for {
		a, ok, _ := r.queue.take()
		if !ok {
			break
		}
		d.fold(r, a)
	}
	if r.pending != nil {
		r.pending.aborted = fmt.Sprintf(why, r.name)
	}
	d.deliverGroup(r)
}

// isLosing says whether r is in an episode of lost alerts.
func (r *route) isLosing() bool {
	r.lossMu.Lock()
	defer r.lossMu.Unlock()
	return r.loss != nil
}

func (d *Dispatcher) deliver(r *route, a Alert) {
	if err := r.Sink.Deliver(a); err != nil {
		r.errors.Add(1)
		d.log.Error("alert sink did not take the alert",
			"sink", r.name, "alert_id", a.ID, "kind", a.Kind, "severity", a.Severity, "err", err)
		if n, ok := d.noteLoss(r, a, "it did not take an alert: "+err.Error()); ok {
			d.mu.RLock()
			if !d.closed {
				d.queueLocked(n.alert, n.include)
			}
			d.mu.RUnlock()
		}
		return
	}
	r.sent.Add(1)
	d.endLoss(r)
}

func (d *Dispatcher) fold(r *route, a Alert) {
	if r.pending == nil {
		r.pending = &pendingGroup{byKind: make(map[Kind]int)}
	}
	r.pending.add(a, d.maxSamples)
	r.grouped.Add(1)
}

// deliverGroup delivers the alerts folded since the last group as one
// KindAlertsGrouped alert. The grouped alert does not take a token: the
// bucket limits single alerts, and one group per interval is the bound.
// It is numbered and linked like any alert and, while the route runs,
// queued behind the alerts linked before it, so the sink gets its stream
// in order; once the queue is closed (and drained) it is delivered at once.
func (d *Dispatcher) deliverGroup(r *route) {
	g := r.pending
	if g == nil {
		return
	}
	r.pending = nil
	now := time.Now().UTC()
	a := g.alert(d.groupInterval)
	if g.aborted != "" {
		a.Detail = g.aborted
	} else {
		a.Detail = fmt.Sprintf("sink %s takes %g alerts a second (burst %d); the rest are grouped every %s", r.name, r.Rate, r.limiter.Burst(), d.groupInterval)
	}
	a.ID = NewID(now)
	a.Time = now
	a.Host = d.host
	a.AgentVersion = d.version
	d.linkMu.Lock()
	if d.seq != nil {
		a.Seq = d.seq.Next()
	}
	r.stream.Link(&a)
	if r.queue.isClosed() {
		d.linkMu.Unlock()
		d.deliver(r, a)
		return
	}
	lost, isLost := r.queue.put(a)
	var notice lossNotice
	var tell bool
	if isLost {
		r.dropped.Add(1)
		notice, tell = d.noteLoss(r, lost, fmt.Sprintf("its queue of %d alerts is full: the sink does not keep up or hangs", r.queue.max))
	}
	d.linkMu.Unlock()
	if tell {
		d.mu.RLock()
		if !d.closed {
			d.queueLocked(notice.alert, notice.include)
		}
		d.mu.RUnlock()
	}
}

// pendingGroup sums up the alerts folded on one route.
type pendingGroup struct {
	count   int
	byKind  map[Kind]int
	highest finding.Severity
	samples []Sample
	// mostSevere is the first folded alert of the highest severity, and
	// mostSevereIdx its index in samples, or -1 when it came too late to be.
	mostSevere    *Sample
	mostSevereIdx int
	// aborted says why the alerts were folded when it was not the rate
	// (Close's deadline passed, or the sink hung while closing).
	aborted string
	// seqs are the seqs of the folded alerts.
	seqs seqRanges
}

func (g *pendingGroup) add(a Alert, maxSamples int) {
	g.count++
	g.byKind[a.Kind]++
	g.seqs.add(a.Seq)
	s := a.Sample()
	inSamples := len(g.samples) < maxSamples
	if inSamples {
		g.samples = append(g.samples, s)
	}
	if g.mostSevere == nil || a.Severity > g.highest {
		g.highest = a.Severity
		g.mostSevere = &s
		g.mostSevereIdx = -1
		if inSamples {
			g.mostSevereIdx = len(g.samples) - 1
		}
	}
}

// alert builds the grouped alert. Samples are the first folded alerts; when
// the most severe one came later, it takes the last sample's place, so one
// critical detection in a flood of low ones is named, not only counted.
func (g *pendingGroup) alert(interval time.Duration) Alert {
	samples := g.samples
	if g.mostSevereIdx < 0 && len(samples) > 0 {
		samples[len(samples)-1] = *g.mostSevere
	}

	var msg strings.Builder
	fmt.Fprintf(&msg, "%d alerts grouped in %s (%s), highest %s", g.count, interval, countsByKind(g.byKind), g.highest)
	if len(samples) > 0 {
		fmt.Fprintf(&msg, "; first: %s", describeSample(samples[0]))
	}
	if len(samples) > 0 && g.highest > samples[0].Severity {
		fmt.Fprintf(&msg, "; most severe: %s", describeSample(*g.mostSevere))
	}
	return Alert{
		Kind:        KindAlertsGrouped,
		Severity:    g.highest,
		Message:     msg.String(),
		Count:       g.count,
		CountByKind: g.byKind,
		Samples:     samples,
		Seqs:        g.seqs.String(),
	}
}

// countsByKind says "12 detection, 3 scan_failed": most frequent first.
func countsByKind(byKind map[Kind]int) string {
	kinds := make([]Kind, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if byKind[kinds[i]] != byKind[kinds[j]] {
			return byKind[kinds[i]] > byKind[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	perKind := make([]string, len(kinds))
	for i, k := range kinds {
		perKind[i] = fmt.Sprintf("%d %s", byKind[k], k)
	}
	return strings.Join(perKind, ", ")
}

// describeSample names a sample in a message line: kind, quoted path when
// it needs it, rule.
func describeSample(s Sample) string {
	out := string(s.Kind)
	if s.Path != "" {
		out += " " + safetext.Path(s.Path)
	}
	if s.Rule != "" {
		out += " (" + s.Rule + ")"
	}
	return out
}

// maxSeqRanges bounds the ranges a grouped or dropped alert lists; past it
// the list ends with "…" and the gaps it does not name are reported by
// verify as unexplained.
const maxSeqRanges = 10000

// seqRanges gathers seqs, in the increasing order a stream has them, as
// ranges.
type seqRanges struct {
	r    [][2]uint64
	more bool
}

func (s *seqRanges) add(n uint64) {
	if n == 0 {
		return
	}
	if k := len(s.r); k > 0 && s.r[k-1][1]+1 == n {
		s.r[k-1][1] = n
		return
	}
	if len(s.r) >= maxSeqRanges {
		s.more = true
		return
	}
	s.r = append(s.r, [2]uint64{n, n})
}

// String writes "12-40,45", and "…" at the end when some were left out.
func (s seqRanges) String() string {
	var b strings.Builder
	for i, r := range s.r {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(r[0], 10))
		if r[1] != r[0] {
			b.WriteByte('-')
			b.WriteString(strconv.FormatUint(r[1], 10))
		}
	}
	if s.more {
		b.WriteString(",…")
	}
	return b.String()
}
