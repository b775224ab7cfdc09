package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shellwatch/shellwatch/finding"
)

// Webhook formats: the body a Webhook POSTs.
const (
	FormatJSON         = "json"         // the alert's own JSON form, one per request
	FormatAlertmanager = "alertmanager" // Alertmanager's /api/v2/alerts array
)

// Defaults of WebhookOptions.
const (
	DefaultWebhookTimeout = 10 * time.Second
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
)

// maxConcurrency bounds WebhookOptions.Concurrency: more parallel requests
// do not help a receiver that is slow, and they scramble the order.
const maxConcurrency = 16

// dropNoticeEvery is how long drops from a full spool are gathered into one
// KindAlertsDropped alert, so a flood yields one alert every few seconds,
// not one per dropped alert.
const dropNoticeEvery = 5 * time.Second

// maxDropSamples is how many dropped alerts a KindAlertsDropped alert lists.
const maxDropSamples = 10

// The bounds of the wait between attempts to write a spool that failed.
const (
	spoolRetryMin = 250 * time.Millisecond
	spoolRetryMax = 30 * time.Second
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the exact
// request body, keyed with WebhookOptions.Secret.
const SignatureHeader = "X-Shellwatch-Signature"

// AlertIDHeader carries the alert's ID, so a receiver can de-duplicate
// without parsing the body.
const AlertIDHeader = "X-Shellwatch-Alert-Id"

// WebhookOptions configures a Webhook.
type WebhookOptions struct {
	// URL receives a POST per alert; http or https.
	URL string
	// Format is FormatJSON (the default) or FormatAlertmanager.
	Format string
	// Secret, when set, is the HMAC-SHA256 key of SignatureHeader. The
	// caller reads it from the configured secret_file; it is never logged.
	Secret []byte
	// BearerToken, when set, is sent as "Authorization: Bearer ...".
	BearerToken string
	// Headers are added to every request.
	Headers map[string]string
	// CAFile replaces the system's CA pool with the certificates in it.
	CAFile string
	// ClientCert and ClientKey are a PEM client certificate and its key,
	// for receivers that require one. Both or neither.
	ClientCert, ClientKey string
	// CAPEM, ClientCertPEM and ClientKeyPEM are the content of CAFile,
	// ClientCert and ClientKey as the caller read them (WebhookSecrets):
	// the TLS configuration is built from these bytes, so that what was
	// checked is what is built, and sinks built again (a reload's
	// rollback) use what they were built with, whatever is on disk now.
	// When one is nil and its path is set, the file is read by its path
	// (regular files only, without blocking). The paths name the files in
	// errors.
	CAPEM, ClientCertPEM, ClientKeyPEM []byte
	// Timeout bounds one request (default DefaultWebhookTimeout).
	Timeout time.Duration
	// SpoolDir holds the alerts not yet delivered (required).
	SpoolDir string
	// MaxSpool is how many alerts the spool holds before it drops low and
	// medium ones (default DefaultMaxSpool). High and critical alerts are
	// never dropped: a spool of only those grows past MaxSpool.
	MaxSpool int
	// MaxHeld is how many alerts are kept in memory while the spool cannot
	// be written (disk full, read-only, I/O errors); default
	// DefaultMaxHeld. Past it the oldest are dropped, low and medium
	// first, and an alerts_dropped alert says how many.
	MaxHeld int
	// MinBackoff and MaxBackoff bound the wait between failed attempts
	// (defaults DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// Logger receives delivery failures (default slog.Default()).
	Logger *slog.Logger
	// OnNotice, when set, is called with the webhook and each alert it
	// raises about itself, so the agent can send it through every sink,
	// this one included (Dispatcher.Relay): KindAlertsDropped and
	// KindAlertsAtRisk (its spool cannot be written, once more if a more
	// severe alert is held, and when it can again: Resolved). It reports
	// whether it took the alert; when it did not (the dispatcher is
	// closed), the webhook spools a KindAlertsDropped itself.
	// It is called from the webhook's own goroutines, from Deliver, or
	// from Close.
	OnNotice func(from *Webhook, a Alert) bool
	// Stream links the alerts the webhook raises and spools itself, and
	// is the stream its route links the others into (nil: no stream).
	Stream *Stream
	// AlertAfter is how long every attempt may fail before OnFailing hears
	// that the receiver is failing; 0 never.
	AlertAfter time.Duration
	// OnFailing, when set, hears once that the receiver has failed every
	// attempt for AlertAfter (failing true, since the first failure, and
	// the latest error), and once that it took an alert again after that
	// (failing false). It is called from the webhook's own goroutines.
	OnFailing func(from *Webhook, failing bool, since time.Time, err error)
	// Concurrency is how many requests are in flight at once (default 1).
	// With 1, alerts arrive in the order they were delivered to the sink.
	Concurrency int
}

// WebhookStats tells how a Webhook is doing.
type WebhookStats struct {
	Spooled   int           // alerts on disk, not yet accepted by the receiver
	OldestAge time.Duration // age of the oldest spooled alert (by its Time); 0 when none
	Delivered uint64        // alerts the receiver accepted with a 2xx
	Retries   uint64        // failed attempts, each followed by a backoff
	Dropped   uint64        // alerts dropped: low and medium ones from a full spool, any from a full memory hold
	Held      int           // alerts in memory only: the spool could not be written
	AtRisk    uint64        // episodes of a spool that could not be written
}

// Webhook is a Sink that POSTs alerts to an HTTP receiver. Every alert is
// spooled on disk before Deliver returns and leaves the spool only when the
// receiver answered 2xx; everything else is retried with exponential
// backoff, across restarts of the agent. Delivery is at least once: the
// receiver de-duplicates by the alert's ID.
type Webhook struct {
	name       string // "webhook <url>", the URL without its password
	endpoint   string
	format     string
	secret     []byte
	bearer     string
	headers    http.Header
	client     *http.Client
	minBackoff time.Duration
	maxBackoff time.Duration
	log        *slog.Logger
	onNotice   func(*Webhook, Alert) bool
	streamOf   *Stream
	spool      *spool
	host       string

	// dropNoticeEvery is dropNoticeEvery; a field so tests can gather
	// drops for longer.
	dropNoticeEvery time.Duration

	delivered atomic.Uint64
	retries   atomic.Uint64
	dropped   atomic.Uint64
	atRisk    atomic.Uint64

	// alertAfter and onFailing are WebhookOptions.AlertAfter and
	// OnFailing; NewWebhook sets them and nothing changes them after.
	alertAfter time.Duration
	onFailing  func(*Webhook, bool, time.Time, error)
	// afterFunc starts the AlertAfter timer of an episode of failures:
	// time.AfterFunc; tests replace it (under mu) to fire timers when
	// they choose.
	afterFunc func(time.Duration, func()) stopper

	// failingMu is held across each OnFailing call, so they are heard in
	// the order they happened: a recovery never before its failure. It is
	// taken before mu, never while holding it.
	failingMu sync.Mutex
	// riskMu is held from the decision to raise an alerts_at_risk to its
	// OnNotice call, so they are heard in the order they were decided: a
	// resolution never before the notice it resolves. It is taken before
	// mu, never while holding it.
	riskMu sync.Mutex

	mu           sync.Mutex
	closed       bool
	episodes     uint64    // episodes of failures so far: numbers down
	failures     int       // consecutive failed attempts
	notBefore    time.Time // no attempt before this, after a failure
	agentVersion string    // of the latest alert, for the alerts the webhook makes itself
	pendingDrops dropTally
	risk         *riskEpisode // the spool cannot be written; nil when it can
	down         downEpisode  // the receiver fails every attempt

	beating    bool           // a heartbeat is in flight
	beats      sync.WaitGroup // the heartbeat in flight
	dropSignal chan struct{}  // cap 1: drops are waiting to be reported
	riskSignal chan struct{}  // cap 1: a spool write failed, or one worked again
	backedOff  chan struct{}  // closed and replaced when notBefore moves

	stop       context.CancelFunc // ends the delivery workers' context when Close gives up
	stopNotice chan struct{}
	workers    sync.WaitGroup
	noticer    sync.WaitGroup
}

// dropTally gathers dropped alerts until they are reported.
type dropTally struct {
	count   int
	byKind  map[Kind]int
	samples []Sample
	seqs    seqRanges
	// fromMemory counts those dropped from the alerts held in memory while
	// the spool could not be written, and severe those of high or critical
	// severity among them.
	fromMemory, severe int
	highest            finding.Severity // of the alerts dropped
}

// downEpisode is a time during which every attempt failed: its number,
// since the first failure after a success, the latest error, whether
// OnFailing was told (AlertAfter passed), and the timer that tells it.
//
// An episode starts at a failed attempt when none is under way (n and
// since set, the timer started), is told once when its timer runs, and
// ends at the next 2xx (reset to the zero value, n 0). Stopping the timer
// does not keep its func from running: one that expired as the episode
// ended runs after, perhaps during the next episode. So the timer carries
// its episode's number and tellDown tells only while that episode is the
// one under way.
type downEpisode struct {
	n     uint64 // 0: no episode
	since time.Time
	err   error
	told  bool
	timer stopper
}

// stopper is a timer that can be stopped: *time.Timer.
type stopper interface{ Stop() bool }

func afterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }

// riskEpisode is a time during which the spool could not be written and
// alerts were held in memory.
//
// It starts at a failed write (an alerts_at_risk as severe as the alert
// held, by LossSeverity: high, or critical), raises one more when a
// more severe alert is held than told so far (high, then critical), and
// ends once every held alert is spooled or delivered, with a resolution
// as severe as the last notice: every sink that heard the episode hears
// its end.
type riskEpisode struct {
	since time.Time
	cause error            // the first write error
	held  int              // alerts that had to be held
	told  finding.Severity // of the latest alerts_at_risk raised
}

// NewWebhook checks opts, opens the spool (replaying what an earlier run
// left in it) and starts delivering.
func NewWebhook(opts WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook: url: %w", err)
	}
	name := "webhook " + u.Redacted()
	fail := func(format string, args ...any) (*Webhook, error) {
		return nil, fmt.Errorf("%s: "+format, append([]any{name}, args...)...)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fail("url: scheme must be http or https")
	}
	if u.Host == "" {
		return fail("url: no host")
	}
	format := opts.Format
	switch format {
	case "":
		format = FormatJSON
	case FormatJSON:
	case FormatAlertmanager:
		u = alertmanagerURL(u)
	default:
		return fail("format %q: want %q or %q", format, FormatJSON, FormatAlertmanager)
	}
	if opts.SpoolDir == "" {
		return fail("spool_dir is not set")
	}
	headers := http.Header{}
	for k, v := range opts.Headers {
		if !isHeaderName(k) {
			return fail("headers: %q is not a valid header name", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return fail("headers: the value of %s holds a line break or NUL", k)
		}
		headers.Set(k, v)
	}
	if strings.ContainsAny(opts.BearerToken, "\r\n\x00 ") {
		return fail("bearer token holds a space, line break or NUL")
	}
	tlsConfig, err := webhookTLS(opts)
	if err != nil {
		return fail("%w", err)
	}

	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("sink", name)
	if u.Scheme == "http" && (len(opts.Secret) > 0 || opts.BearerToken != "") {
		log.Warn("webhook over plain http: alerts and the bearer token travel unencrypted")
	}

	concurrency := min(max(opts.Concurrency, 1), maxConcurrency)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	transport.MaxIdleConnsPerHost = concurrency
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultWebhookTimeout
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// A redirect would turn the POST into a GET, or carry the token to
		// another host: treat it as a failure the operator sees in the log.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	minB, maxB := opts.MinBackoff, opts.MaxBackoff
	if minB <= 0 {
		minB = DefaultMinBackoff
	}
	if maxB <= 0 {
		maxB = DefaultMaxBackoff
	}
	maxB = max(maxB, minB)

	sp, droppedAtOpen, err := openSpool(opts.SpoolDir, opts.MaxSpool, opts.MaxHeld, log)
	if err != nil {
		return fail("%w", err)
	}
	host, _ := os.Hostname()
	run, stop := context.WithCancel(context.Background())
	w := &Webhook{
		name:            name,
		endpoint:        u.String(),
		format:          format,
		secret:          opts.Secret,
		bearer:          opts.BearerToken,
		headers:         headers,
		client:          client,
		minBackoff:      minB,
		maxBackoff:      maxB,
		log:             log,
		onNotice:        opts.OnNotice,
		streamOf:        opts.Stream,
		spool:           sp,
		host:            host,
		dropNoticeEvery: dropNoticeEvery,
		dropSignal:      make(chan struct{}, 1),
		riskSignal:      make(chan struct{}, 1),
		backedOff:       make(chan struct{}),
		stop:            stop,
		stopNotice:      make(chan struct{}),
		alertAfter:      opts.AlertAfter,
		onFailing:       opts.OnFailing,
		afterFunc:       afterFunc,
	}
	w.noteDrops(droppedAtOpen)
	w.noticer.Add(2)
	go w.reportDrops()
	go w.keepSpooling()
	for range concurrency {
		w.workers.Add(1)
		go w.deliverSpooled(run)
	}
	return w, nil
}

// webhookTLS builds the TLS configuration from the CA and client
// certificate, from their bytes in opts (read by path when nil); errors
// name the option and file at fault.
func webhookTLS(opts WebhookOptions) (*tls.Config, error) {
	pem := func(key, path string, data []byte) ([]byte, error) {
		if data != nil {
			return data, nil
		}
		data, err := readTLSFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", key, path, err)
		}
		return data, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CAFile != "" {
		ca, err := pem("ca_file", opts.CAFile, opts.CAPEM)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("ca_file %s: no certificates found", opts.CAFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case opts.ClientCert != "" && opts.ClientKey == "":
		return nil, fmt.Errorf("client_cert %s is set but client_key is not", opts.ClientCert)
	case opts.ClientCert == "" && opts.ClientKey != "":
		return nil, fmt.Errorf("client_key %s is set but client_cert is not", opts.ClientKey)
	case opts.ClientCert != "":
		certPEM, err := pem("client_cert", opts.ClientCert, opts.ClientCertPEM)
		if err != nil {
			return nil, err
		}
		keyPEM, err := pem("client_key", opts.ClientKey, opts.ClientKeyPEM)
		if err != nil {
			return nil, err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("client_cert %s, client_key %s: %w", opts.ClientCert, opts.ClientKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// isHeaderName reports whether k is an HTTP token (RFC 9110), so that a
// typo in the config fails at start, not on every delivery.
func isHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// Name returns "webhook " and the URL (without a password in it).
func (w *Webhook) Name() string { return w.name }

// Deliver spools a (on disk, fsynced) and returns; it is POSTed in the
// background. An alert without an ID is given one.
func (w *Webhook) Deliver(a Alert) error {
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return fmt.Errorf("%s: closed", w.name)
	}
	return w.enqueue(a)
}

func (w *Webhook) stream() *Stream { return w.streamOf }

// enqueue spools a; an alert that comes unlinked (one the webhook raised
// and spools itself) is linked into its stream first.
func (w *Webhook) enqueue(a Alert) error {
	if a.ID == "" {
		a.ID = NewID(time.Now())
	}
	if a.Chain == "" {
		w.streamOf.Link(&a)
	}
	dropped, writeErr, err := w.spool.add(&a)
	if err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	if a.AgentVersion != "" {
		w.mu.Lock()
		w.agentVersion = a.AgentVersion
		w.mu.Unlock()
	}
	w.noteDrops(dropped)
	w.noteWrite(a.Severity, writeErr)
	return nil
}

// noteDrops counts alerts a full spool (or a full memory hold) dropped,
// and has them reported.
func (w *Webhook) noteDrops(dropped []spoolEntry) {
	if len(dropped) == 0 {
		return
	}
	w.dropped.Add(uint64(len(dropped)))
	w.mu.Lock()
	t := &w.pendingDrops
	if t.byKind == nil {
		t.byKind = map[Kind]int{}
	}
	for _, e := range dropped {
		t.count++
		t.highest = max(t.highest, e.sample.Severity)
		t.byKind[e.sample.Kind]++
		t.seqs.add(e.sample.Seq)
		if e.held != nil {
			t.fromMemory++
			if e.sample.Severity >= finding.SeverityHigh {
				t.severe++
			}
		}
		if len(t.samples) < maxDropSamples {
			t.samples = append(t.samples, e.sample)
		}
		w.log.Debug("webhook spool full: alert dropped", "alert_id", e.sample.ID, "kind", e.sample.Kind, "severity", e.sample.Severity, "from_memory", e.held != nil)
	}
	w.mu.Unlock()
	select {
	case w.dropSignal <- struct{}{}:
	default:
	}
}

// noteWrite hears how the spool write of an alert of severity sev went:
// a failure starts an episode of alerts held in memory (told through
// OnNotice), or raises it once more if the alert is more severe than told
// so far; a success during one has the held alerts written at once.
func (w *Webhook) noteWrite(sev finding.Severity, writeErr error) {
	w.riskMu.Lock()
	defer w.riskMu.Unlock()
	w.mu.Lock()
	var notice *Alert
	switch {
	case writeErr != nil && w.risk == nil:
		w.risk = &riskEpisode{since: time.Now().UTC(), cause: writeErr, held: 1}
		w.atRisk.Add(1)
		notice = w.riskNoticeLocked(sev)
	case writeErr != nil:
		w.risk.held++
		if LossSeverity(sev) > w.risk.told {
			notice = w.riskNoticeLocked(sev)
		}
	case w.risk == nil:
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	select {
	case w.riskSignal <- struct{}{}:
	default:
	}
	if notice != nil {
		w.log.Error("webhook spool cannot be written: alerts are held in memory and the write is retried",
			"spool", w.spool.dir, "max_held", w.spool.maxHeld, "severity", notice.Severity, "error", writeErr, "alert_id", notice.ID)
		w.tell(*notice)
	}
}

// riskNoticeLocked is the KindAlertsAtRisk alert that starts w.risk, or
// that raises it when an alert of severity sev is held: as severe as sev
// (LossSeverity), so every sink that would have taken the alert hears
// that it is at risk.
func (w *Webhook) riskNoticeLocked(sev finding.Severity) *Alert {
	now := time.Now()
	e := w.risk
	msg := fmt.Sprintf("the %s spool %s cannot be written: its alerts are held in memory (at most %d) and delivered from there; they are lost if the agent stops before the spool takes them",
		w.name, w.spool.dir, w.spool.maxHeld)
	if e.told != finding.SeverityNone {
		msg = fmt.Sprintf("the %s spool %s still cannot be written (since %s): %s alerts are now among the %d held in memory (at most %d); they are lost if the agent stops before the spool takes them",
			w.name, w.spool.dir, e.since.Format(time.RFC3339), sev, e.held, w.spool.maxHeld)
	}
	e.told = LossSeverity(sev)
	return &Alert{
		ID:           NewID(now),
		Time:         now,
		Host:         w.host,
		Kind:         KindAlertsAtRisk,
		Severity:     e.told,
		Message:      msg,
		Detail:       e.cause.Error(),
		AgentVersion: w.agentVersion,
	}
}

// tell hands an alert the webhook raised about itself to OnNotice, and
// reports whether it was taken.
func (w *Webhook) tell(a Alert) bool {
	return w.onNotice != nil && w.onNotice(w, a)
}

// keepSpooling writes the alerts held in memory once the spool takes
// writes again, retrying with exponential backoff while it does not, and
// ends the episode with a resolution notice. It returns at Close.
func (w *Webhook) keepSpooling() {
	defer w.noticer.Done()
	wait := spoolRetryMin
	var retry <-chan time.Time
	for {
		select {
		case <-w.stopNotice:
			return
		case <-w.riskSignal:
		case <-retry:
		}
		retry = nil
		w.mu.Lock()
		atRisk := w.risk != nil
		w.mu.Unlock()
		if !atRisk {
			wait = spoolRetryMin
			continue
		}
		if err := w.spool.writeHeld(); err != nil {
			w.log.Debug("webhook spool still cannot be written", "spool", w.spool.dir, "held", w.spool.held(), "retry_in", wait, "error", err)
			retry = time.After(wait)
			wait = min(2*wait, spoolRetryMax)
			continue
		}
		wait = spoolRetryMin
		w.endRisk()
	}
}

// endRisk ends the episode once nothing is held in memory any more, and
// says so through OnNotice, as severe as the episode's last notice and
// marked Resolved.
func (w *Webhook) endRisk() {
	w.riskMu.Lock()
	defer w.riskMu.Unlock()
	w.mu.Lock()
	e := w.risk
	if e == nil || w.spool.held() > 0 {
		w.mu.Unlock()
		return
	}
	w.risk = nil
	version := w.agentVersion
	w.mu.Unlock()
	now := time.Now()
	a := Alert{
		ID:       NewID(now),
		Time:     now,
		Host:     w.host,
		Kind:     KindAlertsAtRisk,
		Severity: e.told,
		Message: fmt.Sprintf("resolved: the %s spool %s is written again: the %d alerts held in memory since %s are spooled or delivered (alerts_dropped says if any were dropped)",
			w.name, w.spool.dir, e.held, e.since.Format(time.RFC3339)),
		Detail:       "the write failed with: " + e.cause.Error(),
		Count:        e.held,
		Resolved:     true,
		AgentVersion: version,
	}
	w.log.Info("webhook spool is written again", "spool", w.spool.dir, "held", e.held, "since", e.since)
	w.tell(a)
}

// reportDrops turns drops into KindAlertsDropped alerts, at most one every
// dropNoticeEvery, until Close.
func (w *Webhook) reportDrops() {
	defer w.noticer.Done()
	for {
		select {
		case <-w.stopNotice:
			return
		case <-w.dropSignal:
		}
		t := time.NewTimer(w.dropNoticeEvery)
		select {
		case <-w.stopNotice:
			t.Stop()
			return
		case <-t.C:
		}
		w.flushDrops()
	}
}

// flushDrops enqueues one KindAlertsDropped alert for the drops gathered so
// far, if any, and hands it to OnNotice.
func (w *Webhook) flushDrops() {
	w.mu.Lock()
	t := w.pendingDrops
	w.pendingDrops = dropTally{}
	version := w.agentVersion
	w.mu.Unlock()
	if t.count == 0 {
		return
	}
	now := time.Now()
	msg := fmt.Sprintf("%d low or medium alerts dropped: the %s spool %s was full (%d alerts); no high or critical alert was dropped",
		t.count, w.name, w.spool.dir, w.spool.max)
	if t.fromMemory > 0 {
		msg = fmt.Sprintf("%d alerts dropped (%d of them high or critical): the %s spool %s could not be written and more than %d alerts waited in memory",
			t.count, t.severe, w.name, w.spool.dir, w.spool.maxHeld)
	}
	a := Alert{
		ID:           NewID(now),
		Time:         now,
		Host:         w.host,
		Kind:         KindAlertsDropped,
		Severity:     LossSeverity(t.highest),
		Message:      msg,
		Detail:       "the receiver has not accepted alerts for a while; see the agent's log for why",
		Count:        t.count,
		CountByKind:  t.byKind,
		Samples:      t.samples,
		Seqs:         t.seqs.String(),
		AgentVersion: version,
	}
	w.log.Warn("webhook spool full: alerts dropped", "count", t.count, "from_memory", t.fromMemory, "spool", w.spool.dir, "max_spool", w.spool.max, "alert_id", a.ID)
	if w.tell(a) {
		return // it comes back through Deliver, numbered and linked with the others
	}
	if err := w.enqueue(a); err != nil {
		w.log.Error("webhook: cannot spool the alert on dropped alerts", "alert_id", a.ID, "error", err)
	}
}

// Beat posts a heartbeat now, in the background, unless one is still in
// flight or the webhook is closed. A heartbeat is never spooled nor
// retried: the next one comes an interval later, and a late one would say
// nothing.
func (w *Webhook) Beat(a Alert) {
	w.mu.Lock()
	if w.closed || w.beating {
		w.mu.Unlock()
		return
	}
	w.beating = true
	w.beats.Add(1)
	w.mu.Unlock()
	go func() {
		defer w.beats.Done()
		defer func() {
			w.mu.Lock()
			w.beating = false
			w.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), w.client.Timeout)
		defer cancel()
		go func() { // Close does not wait for a receiver that hangs
			select {
			case <-w.stopNotice:
				cancel()
			case <-ctx.Done():
			}
		}()
		body, err := w.body(&a)
		if err == nil {
			_, _, err = w.post(ctx, &a, body)
		}
		if err != nil {
			w.log.Debug("webhook heartbeat not delivered", "url", w.endpointForLog(), "error", err)
		}
	}()
}

// deliverSpooled is one delivery worker: it POSTs the oldest unclaimed
// alert, waiting out the backoff after failures, until the webhook stops.
func (w *Webhook) deliverSpooled(ctx context.Context) {
	defer w.workers.Done()
	for {
		if !w.waitBackoff(ctx) {
			return
		}
		e, ok := w.spool.claim()
		if !ok {
			var due <-chan time.Time
			var timer *time.Timer
			if t := w.spool.nextDue(); !t.IsZero() {
				timer = time.NewTimer(max(time.Until(t), 0))
				due = timer.C
			}
			select {
			case <-ctx.Done():
			case <-w.spool.added:
			case <-due:
			}
			if timer != nil {
				timer.Stop()
			}
			if ctx.Err() != nil {
				return
			}
			continue
		}
		w.attempt(ctx, e)
	}
}

// waitBackoff waits until the backoff after the latest failure is over. It
// returns false when the webhook stops.
func (w *Webhook) waitBackoff(ctx context.Context) bool {
	for {
		w.mu.Lock()
		wait := time.Until(w.notBefore)
		moved := w.backedOff
		w.mu.Unlock()
		if wait <= 0 {
			return ctx.Err() == nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-moved: // another worker failed or succeeded: look again
			t.Stop()
		case <-t.C:
		}
	}
}

// attempt POSTs one claimed alert and removes it from the spool on a 2xx.
func (w *Webhook) attempt(ctx context.Context, e spoolEntry) {
	var a Alert
	var err error
	if e.held != nil {
		a = *e.held // not on disk: delivered from memory
	} else {
		a, err = w.spool.readFile(e.name)
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Someone removed the file by hand: nothing left to deliver.
		w.log.Error("webhook spool file vanished before delivery", "file", e.name, "alert_id", e.sample.ID)
		w.spool.remove(e.seq, false)
		return
	case errors.Is(err, errCorruptRecord):
		w.spool.setAside(e.name, err)
		w.spool.remove(e.seq, false)
		return
	case err != nil:
		// Perhaps out of file descriptors: back off as after a failed
		// attempt, and keep the alert.
		w.fail(e, "", 0, 0, fmt.Errorf("read spooled alert: %w", err))
		return
	}
	body, err := w.body(&a)
	if err != nil {
		w.spool.setAside(e.name, err)
		w.spool.remove(e.seq, false)
		return
	}
	status, retryAfter, err := w.post(ctx, &a, body)
	if err == nil {
		w.spool.remove(e.seq, true)
		w.delivered.Add(1)
		w.mu.Lock()
		if w.failures > 0 {
			w.log.Info("webhook receiver accepts alerts again", "url", w.endpointForLog(), "failed_attempts", w.failures)
		}
		w.failures = 0
		w.notBefore = time.Time{}
		w.moveBackoffLocked()
		up := w.endDownLocked()
		w.mu.Unlock()
		up()
		return
	}
	if ctx.Err() != nil {
		// Close gave up while the request ran: not a failure of the
		// receiver; the alert stays spooled for the next start.
		w.spool.release(e.seq)
		return
	}
	if rejectsThisAlert(status) {
		// The receiver is up and refuses this body: keep it and retry
		// it later, but let the alerts behind it through.
		wait := w.spool.holdBack(e.seq, w.minBackoff, w.maxBackoff)
		w.retries.Add(1)
		w.log.Error("webhook receiver refused an alert; it stays spooled and is retried while the others go on",
			"url", w.endpointForLog(), "alert_id", a.ID, "status", status, "error", err.Error(), "retry_in", wait.String())
		return
	}
	w.fail(e, a.ID, status, retryAfter, err)
}

// rejectsThisAlert reports statuses that refuse one request's body rather
// than every request: a malformed or too large body, or one the receiver
// cannot process. 401, 403 and 404 refuse everything (a wrong token or URL)
// and back the whole sink off like a receiver that is down.
func rejectsThisAlert(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// failing reports whether the latest attempt failed (the sink is backing
// off).
func (w *Webhook) failing() (bool, chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failures > 0, w.backedOff
}

// fail records a failed attempt: the entry goes back to the spool and every
// worker waits out the backoff.
func (w *Webhook) fail(e spoolEntry, alertID string, status int, retryAfter time.Duration, err error) {
	w.mu.Lock()
	w.failures++
	w.noteDownLocked(err)
	// Counted once the episode holds it: whoever sees Retries move sees
	// the failure's time (since) and the AlertAfter timer already set.
	w.retries.Add(1)
	delay := w.backoff(w.failures, retryAfter)
	w.notBefore = time.Now().Add(delay)
	w.moveBackoffLocked()
	failures := w.failures
	w.mu.Unlock()
	w.spool.release(e.seq)
	if alertID == "" {
		alertID = e.sample.ID
	}
	args := []any{"url", w.endpointForLog(), "alert_id", alertID, "error", err.Error(), "retry_in", delay.String(), "failed_attempts", failures}
	if status != 0 {
		args = append(args, "status", status)
	}
	w.log.Warn("webhook delivery failed", args...)
}

// noteDownLocked records a failed attempt in the episode of failures,
// starting it (numbered, with its AlertAfter timer) at the first one.
func (w *Webhook) noteDownLocked(err error) {
	d := &w.down
	d.err = err
	if !d.since.IsZero() {
		return
	}
	w.episodes++
	d.n = w.episodes
	d.since = time.Now().UTC()
	if w.alertAfter > 0 && w.onFailing != nil {
		n := d.n
		d.timer = w.afterFunc(w.alertAfter, func() { w.tellDown(n) })
	}
}

// tellDown tells OnFailing that the receiver has failed for AlertAfter
// in episode n, unless that episode ended (the receiver took an alert;
// another episode may be under way, whose own timer tells it), it was
// told already, or the webhook is closed.
func (w *Webhook) tellDown(n uint64) {
	w.failingMu.Lock()
	defer w.failingMu.Unlock()
	w.mu.Lock()
	d := &w.down
	if w.closed || d.n != n || d.told {
		w.mu.Unlock()
		return
	}
	d.told = true
	since, err := d.since, d.err
	w.mu.Unlock()
	w.log.Error("webhook receiver has taken no alert for longer than alert_after; the other sinks are told",
		"url", w.endpointForLog(), "since", since, "alert_after", w.alertAfter, "error", err)
	w.onFailing(w, true, since, err)
}

// endDownLocked ends the episode of failures after a success, and returns
// what tells OnFailing so, if it was told the receiver was failing (to be
// called without the lock; it waits for a tellDown still calling
// OnFailing, so the recovery is heard after the failure).
func (w *Webhook) endDownLocked() func() {
	d := &w.down
	if d.since.IsZero() {
		return func() {}
	}
	if d.timer != nil {
		d.timer.Stop() // its func may run yet: tellDown sees the episode ended
	}
	since, err, told := d.since, d.err, d.told
	*d = downEpisode{}
	if !told {
		return func() {}
	}
	return func() {
		w.failingMu.Lock()
		defer w.failingMu.Unlock()
		w.onFailing(w, false, since, err)
	}
}

func (w *Webhook) moveBackoffLocked() {
	close(w.backedOff)
	w.backedOff = make(chan struct{})
}

func (w *Webhook) endpointForLog() string {
	u, err := url.Parse(w.endpoint)
	if err != nil {
		return w.name
	}
	return u.Redacted()
}

// backoff returns the wait after the given number of consecutive failures:
// uniformly random ("full jitter") between MinBackoff and MinBackoff·2^(n-1)
// capped at MaxBackoff, so that a fleet of agents does not hit a receiver
// that comes back all at once. A Retry-After from the receiver is honoured
// (within MinBackoff and MaxBackoff) instead.
func (w *Webhook) backoff(failures int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(max(retryAfter, w.minBackoff), w.maxBackoff)
	}
	ceiling := w.maxBackoff
	if failures-1 < 40 {
		if c := w.minBackoff << (failures - 1); c > 0 && c < ceiling {
			ceiling = c
		}
	}
	if ceiling <= w.minBackoff {
		return w.minBackoff
	}
	return w.minBackoff + rand.N(ceiling-w.minBackoff+1)
}

// body builds the request body of the webhook's format.
func (w *Webhook) body(a *Alert) ([]byte, error) {
	if w.format == FormatAlertmanager {
		return alertmanagerBody(a)
	}
	return json.Marshal(a)
}

// post sends one request. It returns the HTTP status (0 when there was no
// response), the receiver's Retry-After on 429 and 503, and an error unless
// the receiver answered 2xx.
func (w *Webhook) post(ctx context.Context, a *Alert, body []byte) (status int, retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	for k, v := range w.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if fileSafeID(a.ID) == a.ID {
		req.Header.Set(AlertIDHeader, a.ID) // an ID unfit for a header must not block delivery
	}
	if req.Header.Get("User-Agent") == "" {
		version := a.AgentVersion
		if version == "" {
			version = "dev"
		}
		req.Header.Set("User-Agent", "shellwatch/"+version)
	}
	if len(w.secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(w.secret, body))
	}
	if w.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+w.bearer)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	// Read some of the answer: it says why a receiver refused, and a body
	// read to the end lets the connection be reused.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, 0, nil
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	msg := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "\uFFFD"))
	if msg != "" {
		return resp.StatusCode, retryAfter, fmt.Errorf("receiver answered %s: %q", resp.Status, msg)
	}
	return resp.StatusCode, retryAfter, fmt.Errorf("receiver answered %s", resp.Status)
}

// Sign returns the SignatureHeader value of body: "sha256=" and the hex
// HMAC-SHA256 of body keyed with secret. Receivers compare it, in constant
// time, with what they compute from the bytes they received.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an
// HTTP-date. It returns 0 when the header is absent, unreadable or in the
// past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(24*time.Hour/time.Second) {
			return 24 * time.Hour // capped by MaxBackoff anyway; avoid overflow
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Stats returns the webhook's counters and the state of its spool.
func (w *Webhook) Stats() WebhookStats {
	n, oldest := w.spool.stats()
	st := WebhookStats{
		Spooled:   n,
		Delivered: w.delivered.Load(),
		Retries:   w.retries.Load(),
		Dropped:   w.dropped.Load(),
		Held:      w.spool.held(),
		AtRisk:    w.atRisk.Load(),
	}
	if n > 0 && !oldest.IsZero() {
		st.OldestAge = max(time.Since(oldest), 0)
	}
	return st
}

// Close reports pending drops, then keeps delivering until the spool is
// empty, the receiver fails, or ctx is done; then it stops the workers (aborting requests in
// flight). What was not delivered stays in the spool for the next start,
// and the returned error says how much.
func (w *Webhook) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	if w.down.timer != nil {
		w.down.timer.Stop()
	}
	w.mu.Unlock()

	close(w.stopNotice)
	w.noticer.Wait()
	w.beats.Wait()
	w.flushDrops()

	// Deliver what is queued while the receiver takes it; a receiver that
	// is failing is not waited for (the alerts stay spooled), so a stop
	// does not hang for the whole deadline when it is down.
	for w.spool.len() > 0 && ctx.Err() == nil {
		failing, changed := w.failing()
		if failing {
			break
		}
		select {
		case <-ctx.Done():
		case <-w.spool.removed:
		case <-changed:
		}
	}
	w.stop()
	w.workers.Wait()
	w.client.CloseIdleConnections()
	var lost error
	if w.spool.held() > 0 {
		lost = w.spool.writeHeld() // a last chance for what is only in memory
	}
	left, held := w.spool.len(), w.spool.held()
	if err := w.spool.close(); err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	if held > 0 {
		if lost == nil {
			lost = errors.New("no error said")
		}
		return fmt.Errorf("%s: %d alerts LOST: they were held in memory because spool %s could not be written (%w); %d more left in the spool for the next start",
			w.name, held, w.spool.dir, lost, left-held)
	}
	if left > 0 {
		return fmt.Errorf("%s: %d alerts left in spool %s for the next start: %w", w.name, left, w.spool.dir, w.whyUndelivered(ctx))
	}
	return nil
}

// whyUndelivered says why Close stopped with alerts still spooled: the
// cause of ctx when it is done, else the receiver's failure that made Close
// stop waiting for it.
func (w *Webhook) whyUndelivered(ctx context.Context) error {
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	w.mu.Lock()
	last := w.down.err
	w.mu.Unlock()
	if last == nil {
		return errors.New("the receiver is failing")
	}
	return fmt.Errorf("the receiver is failing: %w", last)
}
