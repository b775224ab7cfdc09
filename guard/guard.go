package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/finding"
)

// Verdict is what judging a file's content found.
type Verdict struct {
	// Severity is the highest severity matched; SeverityNone when clean.
	Severity finding.Severity
	// Err says why the file could not be judged (it is allowed then).
	Err error
	// Detail is the scanner's own verdict, handed back in a Report for
	// the alert; the guard does not look into it.
	Detail any
}

// Options configure a Guard.
type Options struct {
	// Roots are the folders guarded, with every folder below them.
	Roots []string
	// Vaults are folders (the quarantine vault) whose files no held user
	// may open: a web server's open that raced the move of a shell out of
	// a root finishes on the file in its new folder, and the kernel asks
	// the marks of that folder, not the root's. Only the folder itself is
	// marked.
	Vaults []string
	// UIDs are the web server's users: an open by a process any of whose
	// user ids (real, effective, saved, file system) is one of them is
	// held; any other open is allowed at once.
	UIDs []uint32
	// Deadline is the longest an open is held; past it the open is
	// allowed and counted as a deadline miss.
	Deadline time.Duration
	// MinSeverity is the least severity denied.
	MinSeverity finding.Severity
	// Known returns the baseline's last verdict on path, when its record
	// has the identity id; false when it has none, or another identity.
	// Its Detail is handed back in a Report when the verdict (from the
	// cache or not) refuses an open. It may block briefly (a database
	// read); it is never called by the read loop.
	Known func(path string, id Identity) (Verdict, bool)
	// Scan judges the content of the file open as fd (not to be closed),
	// named path, with scanners of the guard's own.
	Scan func(ctx context.Context, fd int, path string) Verdict
	// IsScript reports whether path is code to the web server: such a file
	// still open for writing when the web server opens it is refused. Nil:
	// every file is.
	IsScript func(path string) bool
	// Report hears what the guard did that someone must hear of, after the
	// answer, on a goroutine of its own; it may block (it is given a
	// bounded queue: what does not fit is counted, not waited for). A
	// refused file is reported once a minute (by identity), however often
	// it is refused; Degraded reports come at most once a minute, each
	// with the counts since the last.
	Report func(Report)
	// NoTrust keeps every file from being trusted to the kernel
	// (ignore.go): every open in the roots is then an event.
	NoTrust bool
	// Workers is the number of scans at once; default 1.
	Workers int
	Logger  *slog.Logger

	// proc is /proc, for tests.
	proc string
	// degradedEvery is the least time between two Degraded reports;
	// default a minute, shorter in tests.
	degradedEvery time.Duration
	// racyWindow is how recent a change makes a clean verdict unfit to be
	// remembered (flight.go); default racyWindow, longer in tests.
	racyWindow time.Duration
	// trustCap bounds the files trusted at once; default half of what
	// fs.fanotify.max_user_marks leaves the folders (ignore.go), smaller
	// in tests.
	trustCap int64
	// dirHold, when set, is received from before each read of the folder
	// group: a test holds the folder events in the kernel's queue until it
	// closes it (a rename that surely comes before a chmod's event is
	// read, a queue that overflows).
	dirHold <-chan struct{}
	// byNameOnly opens the folder group without the files' own handles,
	// so that untrustEntry ends trust by the name the event gave, as it
	// does when a handle cannot be opened (initFolderGroup).
	byNameOnly bool
}

// ReportKind says what a Report is about.
type ReportKind int

const (
	// Blocked: an open of a flagged file was denied.
	Blocked ReportKind = iota + 1
	// Degraded: opens were allowed unjudged (deadline, full queue, a file
	// that could not be judged lately) or a folder could not be marked,
	// since the last such report.
	Degraded
)

// Report is what the guard tells after answering.
type Report struct {
	Kind ReportKind
	// Blocked: the file (its path when denied, as the descriptor named
	// it), its identity, what judged it ("cache", "baseline", "scan") and
	// the verdict (the scanner's, when it was scanned just now).
	Path     string
	Identity Identity
	From     string
	Verdict  Verdict
	// Blocked: the opener. UIDs are its real, effective, saved and file
	// system user ids when UIDsKnown; when its /proc/PID/status could not
	// be read (hidden by the unit's ProtectProc, or the process gone)
	// they are zero, which is not root.
	PID          int32
	UIDs         [4]uint32
	UIDsKnown    bool
	Exe, Cmdline string
	// Degraded: counts since the last Degraded report (see Stats).
	DeadlineMisses, QueueFull, Unjudgeable, MarkErrors uint64
}

// racyWindow: a file changed this recently when it is scanned may change
// again without its identity moving (see scanFlight); five times the
// longest clock tick.
const racyWindow = 50 * time.Millisecond

// racy reports whether a file of identity id changed within the racy
// window: a verdict on it, the baseline's included, is not remembered nor
// trusted.
func (g *Guard) racy(id Identity) bool {
	return time.Since(id.ChangeTime()) < g.opts.racyWindow || time.Since(id.ModTime()) < g.opts.racyWindow
}

// degradedEvery bounds how often a Degraded report is made, and
// refusedEvery how often a Blocked report is made of one identity.
const (
	degradedEvery = time.Minute
	refusedEvery  = time.Minute
)

// reportQueue is the number of reports that wait for the reporter, and
// refusedHalf half the number of identities whose Blocked report is
// remembered.
const (
	reportQueue = 256
	refusedHalf = 2 << 10
)

// cacheHalf is half the number of identities remembered.
const cacheHalf = 32 << 10

// Guard holds the web server's opens in the roots until judged.
type Guard struct {
	opts   Options
	log    *slog.Logger
	self   int32
	perm   *os.File // the permission group
	learns chan learn
	dirs   *os.File // the folder notification group
	users  map[uint32]bool

	cache   *cache[Verdict]
	stats   counters
	status  *statusReader
	lookups chan *pending
	scans   chan *flight
	reports chan Report

	// flights are the scans queued or under way, unjudged the identities
	// whose scan failed lately, with when (see flight.go).
	flights  *flights
	unjudged *cache[time.Time]
	// refused are the identities whose refusal was reported lately, with
	// when: the next report of one is a minute later.
	refused *cache[time.Time]

	pending   sync.WaitGroup // every held event until its descriptor is closed
	loops     sync.WaitGroup
	stages    sync.WaitGroup
	learning  sync.WaitGroup
	reporting sync.WaitGroup
	closed    atomic.Bool
	stopping  chan struct{} // closed by Stop
	stopOnce  sync.Once

	roots *rootFDs

	// trustPausedUntil (unix nanoseconds) pauses trusting after the
	// kernel's mark limit refused one; trusted holds the inodes marked and
	// not removed (ignore.go); capSaid, that the bound was logged.
	trustPausedUntil atomic.Int64
	trusted          trustSet
	capSaid          atomic.Bool
	pretrusted       atomic.Bool // the start's pass over the roots is done

	// deg is what the next Degraded report tells, and when.
	deg degradedReports
}

// Start marks the roots and starts holding opens. It fails when fanotify
// is refused (no CAP_SYS_ADMIN) or a root cannot be marked at all.
func Start(opts Options) (*Guard, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.proc == "" {
		opts.proc = "/proc"
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.degradedEvery <= 0 {
		opts.degradedEvery = degradedEvery
	}
	if opts.racyWindow <= 0 {
		opts.racyWindow = racyWindow
	}

	if opts.Deadline <= 0 {
		return nil, errors.New("guard: no deadline")
	}
	g := &Guard{
		opts: opts, log: opts.Logger, self: int32(os.Getpid()),
		users:   map[uint32]bool{},
		cache:   newCache[Verdict](cacheHalf),
		status:  newStatusReader(opts.proc),
		lookups: make(chan *pending, 1024),
		scans:   make(chan *flight, 256),
		reports: make(chan Report, reportQueue),
		learns:  make(chan learn, 256),

		stopping: make(chan struct{}),
		flights:  newFlights(),
		unjudged: newCache[time.Time](unjudgedHalf),
		refused:  newCache[time.Time](refusedHalf),
	}
	for _, u := range opts.UIDs {
		g.users[u] = true
	}
	var err error
	if g.perm, err = initGroup(unix.FAN_CLASS_CONTENT, "permission"); err != nil {
		return nil, err
	}
	if g.dirs, err = g.initFolderGroup(); err != nil {
		g.perm.Close()
		return nil, err
	}
	if g.roots, err = openRoots(opts.Roots); err != nil {
		g.perm.Close()
		g.dirs.Close()
		return nil, err
	}
	for _, r := range opts.Roots {
		g.markTree(r)
	}
	for _, v := range opts.Vaults {
		g.markVault(v)
	}
	if g.opts.trustCap <= 0 {
		g.opts.trustCap = defaultTrustCap(g.opts.proc, int64(g.stats.marks.Load()))
	}
	if g.stats.marks.Load() == 0 && len(opts.Roots) > 0 {
		g.perm.Close()
		g.dirs.Close()
		g.roots.close()
		return nil, fmt.Errorf("guard: no folder of the roots %q could be marked (see the log)", opts.Roots)
	}
	g.reporting.Go(g.reportLoop)
	g.stages.Go(g.lookupLoop)
	g.learning.Go(g.learnLoop)
	for range opts.Workers {
		g.stages.Go(g.scanLoop)
	}
	g.loops.Go(g.permLoop)
	g.loops.Go(g.dirLoop)
	g.learning.Go(g.pretrust)
	return g, nil
}

// Stop closes the fanotify groups: the kernel allows every open still
// pending, and holds no more. It returns once every goroutine is done.
func (g *Guard) Stop() {
	g.stopOnce.Do(func() {
		g.closed.Store(true)
		close(g.stopping)
		g.perm.Close()
		g.dirs.Close()
		g.loops.Wait()
		close(g.learns)
		g.learning.Wait()
		close(g.lookups)
		g.stages.Wait()
		g.pending.Wait()
		g.stopDegraded()
		close(g.reports)
		g.reporting.Wait()
		g.roots.close()
	})
}

// Stats returns the counters.
func (g *Guard) Stats() Stats {
	s := g.stats.snapshot()
	s.Cached = g.cache.len()
	s.Pretrusted = g.pretrusted.Load()
	s.TrustedNow = g.trusted.len()
	return s
}

// pending is one held event on its way through the stages. Its descriptor
// has two owners, the stage that has it and the deadline timer, and is
// closed when both let go; the answer is written once, by whichever comes
// first, always before the descriptor is closed.
type pending struct {
	g        *Guard
	fd       int32
	pid      int32
	uids     [4]uint32
	idsKnown bool // uids were read
	id       Identity
	path     string
	start    time.Time
	answered atomic.Bool
	refs     atomic.Int32
	timer    *time.Timer
}

// answer writes the answer, once. It reports whether this call did.
func (p *pending) answer(allow bool) bool {
	if !p.answered.CompareAndSwap(false, true) {
		return false
	}
	p.g.respond(p.fd, allow)
	p.g.stats.observeHeld(time.Since(p.start))
	return true
}

// release lets go of one owner's share of the descriptor.
func (p *pending) release() {
	if p.refs.Add(-1) == 0 {
		unix.Close(int(p.fd))
		p.g.pending.Done()
	}
}

// done is the stage's last word: it answers (if the timer has not), stops
// the timer and lets go.
func (p *pending) done(allow bool) bool {
	did := p.answer(allow)
	p.finish()
	return did
}

// doneClean is done for a file judged clean: it answers, and trusts the
// file to the kernel (ignore.go) before letting go of its descriptor.
func (p *pending) doneClean() bool {
	did := p.answer(true)
	p.g.trust(p.fd, p.id)
	p.finish()
	return did
}

// finish stops the timer and lets go of the stage's share.
func (p *pending) finish() {
	if p.timer.Stop() {
		p.release() // the timer's share
	}
	p.release()
}

// respond writes an answer. A write after Stop fails harmlessly: the
// kernel allowed the event when the group closed.
func (g *Guard) respond(fd int32, allow bool) {
	if allow {
		g.stats.allowed.Add(1)
	} else {
		g.stats.denied.Add(1)
	}
	if _, err := g.perm.Write(response(fd, allow)); err != nil && !g.closed.Load() {
		g.log.Error("fanotify: answer", "err", err)
	}
}

// answerNow answers an event that is not held and closes its descriptor.
func (g *Guard) answerNow(fd int32, allow bool) {
	g.respond(fd, allow)
	unix.Close(int(fd))
}

// permLoop reads permission events until the group closes.
func (g *Guard) permLoop() {
	buf := make([]byte, 64<<10)
	for {
		n, err := g.perm.Read(buf)
		if err != nil {
			if g.closed.Load() || errors.Is(err, os.ErrClosed) {
				return
			}
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			g.log.Error("fanotify: read; prevention stops, the web server is served unguarded", "err", err)
			return
		}
		now := time.Now()
		if err := parseEvents(buf[:n], func(e event) { g.handle(e, now) }); err != nil {
			g.log.Error("fanotify: events", "err", err)
		}
	}
}

// handle takes one permission event to its answer, or hands it on.
func (g *Guard) handle(e event, now time.Time) {
	if e.fd < 0 {
		// FAN_NOFD: a queue overflow, which permission events never
		// cause; nothing to answer.
		return
	}
	g.stats.events.Add(1)
	if e.mask&permMask == 0 || e.pid == g.self {
		g.answerNow(e.fd, true)
		return
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(e.fd), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		g.answerNow(e.fd, true)
		return
	}
	id := identityOf(&st)
	cached, inCache := g.cache.get(id)
	if inCache && st.Size > 0 && !g.denies(cached.Severity) && !isOpenForWriting(e.fd) {
		// Judged clean, and no one writes it: allowed whoever opens it,
		// without reading who does, and trusted to the kernel when it may
		// be (ignore.go), so that its next opens are no events at all.
		g.respond(e.fd, true)
		g.stats.fromCache.Add(1)
		if g.trustable(&st) {
			g.trust(e.fd, id)
		}
		unix.Close(int(e.fd))
		return
	}
	uids, err := g.status.uids(e.pid)
	if err == nil && !g.isHeld(uids) {
		g.respond(e.fd, true)
		if inCache {
			unix.Close(int(e.fd))
			return
		}
		g.toLearn(e.fd, &st)
		return
	}
	// An opener whose ids cannot be read (hidden by the unit's
	// ProtectProc without CAP_SYS_PTRACE, or gone) is held: unknown is
	// judged, never trusted.
	if len(g.opts.Vaults) > 0 && g.inVault(fdPath(e.fd)) {
		// A quarantined file: the web server's open raced its move out
		// of the root (TestPreventionRace served a marker that way about
		// once in 20 races, the open seen by no mark of the root).
		g.answerNow(e.fd, false)
		return
	}
	if st.Size == 0 && (g.opts.IsScript == nil || g.opts.IsScript(fdPath(e.fd))) {
		// An empty script runs nothing. One just created may be filled
		// between this open and the web server's read: the creator's
		// open makes the file before it takes its write access, so no
		// lease probe sees a writer yet (TestPreventionRace served a
		// marker that way about once in 800 races). Refused.
		g.answerNow(e.fd, false)
		g.stats.writing.Add(1)
		return
	}
	if inCache {
		v := cached
		allow := !g.denies(v.Severity) && !g.beingWritten(e.fd, "")
		g.respond(e.fd, allow)
		g.stats.observeHeld(time.Since(now))
		if g.denies(v.Severity) {
			g.report(Report{Kind: Blocked, Path: fdPath(e.fd), Identity: id, From: "cache",
				Verdict: v, PID: e.pid, UIDs: uids, UIDsKnown: err == nil})
		}
		unix.Close(int(e.fd))
		return
	}
	// The path now, before the normal pipeline may move the file.
	p := &pending{g: g, fd: e.fd, pid: e.pid, uids: uids, idsKnown: err == nil, id: id, start: now, path: fdPath(e.fd)}
	p.refs.Store(2)
	g.pending.Add(1)
	p.timer = time.AfterFunc(g.opts.Deadline-time.Since(now), func() {
		if p.answer(true) {
			g.stats.deadlineMisses.Add(1)
			g.degraded()
		}
		p.release()
	})
	select {
	case g.lookups <- p:
	default:
		if p.done(true) {
			g.stats.queueFull.Add(1)
			g.degraded()
		}
	}
}

// isHeld reports whether any of the opener's ids is a web user's.
func (g *Guard) isHeld(uids [4]uint32) bool {
	for _, u := range uids {
		if g.users[u] {
			return true
		}
	}
	return false
}

// denies reports whether a verdict of severity s is denied.
func (g *Guard) denies(s finding.Severity) bool {
	return s != finding.SeverityNone && s >= g.opts.MinSeverity
}

// lookupLoop answers the held events the baseline knows, and takes the
// others to their scan.
func (g *Guard) lookupLoop() {
	defer close(g.scans)
	for p := range g.lookups {
		if p.answered.Load() || g.closed.Load() {
			p.done(true)
			continue
		}
		// A file changed this recently is scanned: the baseline's record
		// may be racily clean too (see scanFlight).
		racy := g.racy(p.id)
		if g.opts.Known != nil && !racy {
			if v, ok := g.opts.Known(p.path, p.id); ok {
				g.cache.put(p.id, g.kept(v))
				g.judged(p, v, "baseline")
				continue
			}
		}
		g.toScan(p)
	}
}

// scanLoop scans the identities nobody knows, each once for all the
// events that wait for it (see flight.go).
func (g *Guard) scanLoop() {
	for f := range g.scans {
		g.scanFlight(f)
	}
}

// decided answers p by the severity judged, and reports a denial.
func (g *Guard) decided(p *pending, sev finding.Severity, from string, v Verdict) {
	deny := g.denies(sev)
	if !deny {
		p.doneClean()
		return
	}
	if p.done(false) {
		g.report(Report{Kind: Blocked, Path: p.path, Identity: p.id, From: from, Verdict: v, PID: p.pid, UIDs: p.uids,
			UIDsKnown: p.idsKnown})
	}
}

// beingWritten reports whether the file of fd, which a verdict would let
// the web server open, is a script someone still has open for writing:
// what the web server would read next is not what was judged (an empty
// file just created, say, which the baseline knows clean). path is the
// file's, "" to read it from fd when needed. It counts a refusal.
func (g *Guard) beingWritten(fd int32, path string) bool {
	if !isOpenForWriting(fd) {
		return false
	}
	if path == "" {
		path = fdPath(fd)
	}
	if g.opts.IsScript != nil && !g.opts.IsScript(path) {
		return false
	}
	g.stats.writing.Add(1)
	return true
}

// isOpenForWriting reports whether anyone has the file of fd open for
// writing (or mapped shared and writable): a read lease is refused then.
// The lease, when granted, is dropped at once.
func isOpenForWriting(fd int32) bool {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_RDLCK); err != nil {
		return errors.Is(err, unix.EAGAIN)
	}
	unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_UNLCK)
	return false
}

// fdPath names the file of fd as the kernel does; "" when it cannot.
func fdPath(fd int32) string {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(fd)))
	if err != nil {
		return ""
	}
	return p
}

// report queues r for the reporter; a full queue drops it (counted in
// the log), never waits. A Blocked report is queued once a refusedEvery
// per identity: the web server may ask for a refused file a thousand
// times a second, and one file's flood must not fill the queue where
// another file's refusal is to be told.
func (g *Guard) report(r Report) {
	if r.Kind == Blocked {
		now := time.Now()
		if !g.refused.putUnless(r.Identity, now, func(last time.Time) bool { return now.Sub(last) < refusedEvery }) {
			return
		}
	}
	select {
	case g.reports <- r:
	default:
		if r.Kind == Blocked {
			g.refused.forget(r.Identity) // its next refusal is told
		}
		g.log.Warn("prevention: report queue full; a report is dropped", "path", r.Path)
	}
}

// reportLoop completes and hands on the reports: the opener's executable
// and command line are read here, after the answer.
func (g *Guard) reportLoop() {
	for r := range g.reports {
		if r.Kind == Blocked {
			r.Exe, r.Cmdline = describe(g.opts.proc, r.PID)
		}
		if g.opts.Report != nil {
			g.opts.Report(r)
		}
	}
}

// UIDs returns the ids of the users whose opens are held, sorted.
func (g *Guard) UIDs() []uint32 {
	out := slices.Clone(g.opts.UIDs)
	slices.Sort(out)
	return out
}
