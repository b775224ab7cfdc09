package access

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/weblog"
)

// Limits of attacker_returned.
const (
	// ReturnEvery: at most one attacker_returned per client and URL in
	// this time; the requests in between are counted in the next one.
	ReturnEvery = 10 * time.Minute
	// ReturnClients: at most this many clients of one URL are alerted one
	// by one in a ReturnEvery (counted from the first of them). The
	// clients past them are alerted together: the first at once, in an
	// attacker_returned that names it, then at most one such alert per
	// URL every ReturnEvery, counting the clients and requests in between
	// and naming the first crowdNames of them. A botnet probing a flagged
	// URL from thousands of addresses raises a few alerts, not thousands.
	ReturnClients = 3
	// crowdNames bounds the clients a grouped alert names.
	crowdNames = 5
	// MaxFlagged is the most URLs remembered; the oldest are forgotten
	// first.
	MaxFlagged = 10_000
	// maxLimits bounds the (client, URL) pairs whose last alert is
	// remembered; past it, the pairs whose time is up are forgotten, then
	// any (the oldest first). The requests a forgotten pair counted and
	// did not alert yet go to its URL's crowd (see Flagged.forgetLocked).
	maxLimits = 50_000
)

// flaggedURL is the URL of a file shellwatch flagged or quarantined.
type flaggedURL struct {
	root    string // the watch root's real path
	target  weblog.Target
	alertID string // the file's alert
	file    *alert.File
	kind    alert.Kind
	action  string
	// at is when it was flagged, and polls how often each log serving
	// the root had been read then: a request of a log read before it was
	// flagged, or in the poll then under way, is no return (the
	// attacker's probes before the drop) unless its line is stamped after
	// at.
	at    time.Time
	polls map[*followed]int64
	// marks: where each log serving the root ended then; a line of the
	// same file past it was written after (see isReturn).
	marks map[*followed]weblog.Position
	// restored: kept by the last run (restore); no poll of this run is
	// known to follow its flagging, only the stamps tell.
	restored bool
}

// isReturn reports whether lr came after u was flagged, as far as the log
// tells: past the log's end when it was flagged (the same file, no
// copytruncate between), else read in a poll that began after; or stamped
// after. A line read back at start (the log's last Warm, not live), or a
// URL the last run flagged, has only its stamp to tell: the line counts
// when stamped after the flag moment, and, read back, after the newest
// request of its log matched before (see Flagged.readUntil): the last
// run, or the logs this one followed before a reload, judged those.
//
// The log's end tells exactly; the polls alone counted a line logged just
// before the flagging, and read in the next poll, as a return.
func (u *flaggedURL) isReturn(lr logRequest) bool {
	if !lr.live {
		return lr.r.Time.After(u.at) && lr.r.Time.After(lr.log.readBackAfter)
	}
	if u.restored {
		return lr.r.Time.After(u.at)
	}
	if m, ok := u.marks[lr.log]; ok {
		if after, known := lr.pos.After(m); known {
			return after || lr.r.Time.After(u.at)
		}
	}
	p, ok := u.polls[lr.log]
	return !ok || lr.polls > p || lr.r.Time.After(u.at)
}

// limitKey is one client's requests for one flagged URL.
type limitKey struct{ client, root, url string }

// limit is when the last attacker_returned of a key was sent, and the
// requests since that were not alerted (the last of them in hit, its text
// cut at keptText). grouped: the client's last alert was a grouped one
// (it was past the first ReturnClients of its URL), and gen the crowd
// generation it was counted in: its requests not alerted go into its
// URL's crowd, as one client more unless that generation is the crowd's
// own.
type limit struct {
	last    time.Time
	since   int
	hit     weblog.Hit
	grouped bool
	gen     int
}

// keptText bounds the URL and user agent kept of a request not alerted
// yet: thousands of clients' last requests are held until their tally.
const keptText = 1024

// keep returns h with its attacker's text cut at keptText.
func keep(h weblog.Hit) weblog.Hit {
	for _, s := range []*string{&h.Method, &h.URL, &h.UserAgent} {
		if len(*s) > keptText {
			*s = strings.Clone((*s)[:keptText]) // not a window on the whole line
		}
	}
	return h
}

// urlKey is one flagged URL.
type urlKey struct{ root, url string }

// crowd is the clients of one flagged URL: how many were alerted one by
// one in the window that began at start, and those past them, gathered
// since the last grouped alert (last; zero when none was sent), with the
// requests not alerted yet of the pairs forgotten to bound the memory.
type crowd struct {
	start time.Time
	alone int
	last  time.Time
	// The clients past the first ReturnClients of their window, and
	// their requests, since the last grouped alert; names holds the
	// first crowdNames of them, hit the last of their requests.
	clients, requests int
	names             []string
	hit               weblog.Hit
	// gen counts the grouped alerts and tallies sent: a client gathered
	// in this generation is not counted twice (see limit.gen).
	gen int
}

// gather counts client, n requests of it, the last hit, in c's next
// grouped alert.
func (c *crowd) gather(client string, n int, hit weblog.Hit, newClient bool) {
	c.requests += n
	if !hit.Time.Before(c.hit.Time) {
		c.hit = keep(hit) // the latest, whatever order the clients come in
	}
	if !newClient {
		return
	}
	c.clients++
	if len(c.names) < crowdNames {
		c.names = append(c.names, client)
	}
}

// sent resets c's gathered counts once an alert told them.
func (c *crowd) sent() returnAlert {
	a := returnAlert{Requests: c.requests, Clients: c.clients, Names: c.names, Hit: c.hit}
	c.clients, c.requests, c.names, c.hit = 0, 0, nil, weblog.Hit{}
	c.gen++
	return a
}

// returnAlert is what allow decides for one request: send an alert, one
// client's (Clients zero) or a grouped one; or what due finds owed.
type returnAlert struct {
	// Requests: the requests the alert stands for.
	Requests int
	// Clients, on a grouped alert: how many clients it stands for, the
	// first of them named in Names.
	Clients int
	Names   []string
	// Hit, on a tally (see Flagged.due): the last request it counts.
	Hit weblog.Hit
}

// Flagged remembers the URLs of the files shellwatch flagged or
// quarantined (a reload hands it on; with a [Store], a restart reads them
// back), and when each client was last alerted about each. Safe for
// concurrent use.
type Flagged struct {
	mu     sync.Mutex
	byURL  map[string][]*flaggedURL // by target path
	order  []*flaggedURL            // oldest first
	maxLen int                      // the longest URL held
	limits map[limitKey]*limit
	// maxLimits bounds limits (the constant; tests make it smaller).
	maxLimits int
	owed      map[limitKey]*limit // the limits with requests not alerted
	crowds    map[urlKey]*crowd   // of the URLs held
	// readUntil is, by log path, the stamp of the newest request matched
	// against the URLs held: a log read back later (a restart, a reload
	// that follows it anew) counts only the lines stamped after it.
	readUntil map[string]time.Time
	store     *storeWriter // nil: kept in memory only
	skipped   int          // records of the store that did not decode
}

// NewFlagged returns an empty registry.
func NewFlagged() *Flagged {
	return &Flagged{byURL: make(map[string][]*flaggedURL), limits: make(map[limitKey]*limit), maxLimits: maxLimits, owed: make(map[limitKey]*limit),
		crowds: make(map[urlKey]*crowd), readUntil: make(map[string]time.Time)}
}

// add remembers u, replacing what was remembered of the same root and URL
// (a file dropped again: its latest alert is the one to name), and has it
// stored.
func (fl *Flagged) add(u *flaggedURL) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.addLocked(u, true)
}

// addLocked is add; store says whether u is to be stored (it was read
// from the store otherwise). The oldest URLs past MaxFlagged are
// forgotten, in the store too.
func (fl *Flagged) addLocked(u *flaggedURL, store bool) {
	fl.removeLocked(u.root, u.target.Path)
	fl.byURL[u.target.Path] = append(fl.byURL[u.target.Path], u)
	fl.order = append(fl.order, u)
	fl.maxLen = max(fl.maxLen, len(u.target.Path))
	if store {
		fl.store.put(u)
	}
	for len(fl.order) > MaxFlagged {
		old := fl.order[0]
		fl.removeLocked(old.root, old.target.Path)
		fl.store.drop(old.root, old.target.Path)
	}
}

// matched notes that a request of log stamped at was matched against the
// URLs held (see readUntil).
func (fl *Flagged) matched(log string, at time.Time) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	// A line stamped far in the future (a clock stepped back, a wrong
	// zone) must not hold the read-back of every later start.
	if now := time.Now(); at.After(now.Add(time.Minute)) {
		at = now
	}
	if at.After(fl.readUntil[log]) {
		fl.readUntil[log] = at
		fl.store.until(log, at)
	}
}

// readBackFrom returns readUntil of log.
func (fl *Flagged) readBackFrom(log string) time.Time {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.readUntil[log]
}

// Skipped returns how many records of the store did not decode and were
// skipped when they were read back.
func (fl *Flagged) Skipped() int {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.skipped
}

func (fl *Flagged) removeLocked(root, url string) {
	delete(fl.crowds, urlKey{root, url})
	list := fl.byURL[url]
	for i, u := range list {
		if u.root != root {
			continue
		}
		list = append(list[:i:i], list[i+1:]...)
		if len(list) == 0 {
			delete(fl.byURL, url)
		} else {
			fl.byURL[url] = list
		}
		for j, o := range fl.order {
			if o == u {
				fl.order = append(fl.order[:j:j], fl.order[j+1:]...)
				break
			}
		}
		return
	}
}

// match returns the flagged URLs that r requests (the URL itself, or it
// followed by "/" and PATH_INFO) among the roots that serves says the log
// of r serves.
func (fl *Flagged) match(lr logRequest, serves func(root string) bool) []*flaggedURL {
	r := &lr.r
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if len(fl.byURL) == 0 {
		return nil
	}
	var out []*flaggedURL
	p := r.Path
	// The path and each of its prefixes that ends before a "/", no longer
	// than the longest URL held: a crafted path of a thousand segments
	// costs no more than the URLs we know.
	for end := len(p); end > 0; {
		if end <= fl.maxLen {
			for _, u := range fl.byURL[p[:end]] {
				if serves(u.root) && u.target.Matches(r) && u.isReturn(lr) {
					out = append(out, u)
				}
			}
		}
		end = lastSlash(p[:end])
	}
	return out
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return 0
}

// allow decides whether a request of client for u at now is alerted, and
// how: one client's first request, and then one every ReturnEvery,
// counting those in between; past the first ReturnClients clients of u in
// a ReturnEvery, one grouped alert for the others (see ReturnClients).
// hit is the request.
func (fl *Flagged) allow(client string, u *flaggedURL, now time.Time, hit weblog.Hit) (returnAlert, bool) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	l, n, ok := fl.allowClientLocked(client, u, now, hit)
	if !ok {
		return returnAlert{}, false
	}
	c := fl.crowdLocked(u)
	if c.start.IsZero() || now.Sub(c.start) >= ReturnEvery {
		c.start, c.alone = now, 0
	}
	if c.alone < ReturnClients {
		c.alone++
		l.grouped = false
		return returnAlert{Requests: n}, true
	}
	newClient := !l.grouped || l.gen != c.gen
	l.grouped, l.gen = true, c.gen
	c.gather(client, n, hit, newClient)
	if !c.last.IsZero() && now.Sub(c.last) < ReturnEvery {
		return returnAlert{}, false
	}
	c.last = now
	return c.sent(), true
}

// crowdLocked returns the crowd of u, kept while u is held.
func (fl *Flagged) crowdLocked(u *flaggedURL) *crowd {
	uk := urlKey{u.root, u.target.Path}
	c := fl.crowds[uk]
	if c == nil {
		c = &crowd{}
		if slices.Contains(fl.byURL[u.target.Path], u) { // else forgotten since match: not kept
			fl.crowds[uk] = c
		}
	}
	return c
}

// allowClientLocked is allow for one client alone: whether its request
// for u at now is its first, or its first in ReturnEvery, and how many of
// its requests that stands for; l is its limit.
func (fl *Flagged) allowClientLocked(client string, u *flaggedURL, now time.Time, hit weblog.Hit) (l *limit, n int, ok bool) {
	k := limitKey{client, u.root, u.target.Path}
	l = fl.limits[k]
	switch {
	case l == nil:
		if len(fl.limits) >= fl.maxLimits {
			fl.pruneLocked(now)
		}
		l = &limit{last: now}
		fl.limits[k] = l
		return l, 1, true
	case now.Sub(l.last) >= ReturnEvery:
		n := l.since + 1
		l.last, l.since, l.hit = now, 0, weblog.Hit{}
		delete(fl.owed, k)
		return l, n, true
	}
	l.since++
	l.hit = keep(hit)
	fl.owed[k] = l
	return l, 0, false
}

// tally is a count owed: the requests (and, grouped, the clients) of a
// flagged URL gathered since its last alert, which no request came to
// send when its ReturnEvery ended.
type tally struct {
	u      *flaggedURL
	client string // "" on a grouped one
	returnAlert
}

// due returns the tallies owed at now: each client alerted one by one
// whose ReturnEvery since its last alert ended with requests not alerted
// (the attacker stopped), and each URL whose grouped clients did the
// same. A grouped client's requests not alerted join its URL's grouped
// tally: a botnet that stops raises one tally per URL, not one per
// client. With all, every count owed is due now (the logs stop).
func (fl *Flagged) due(now time.Time, all bool) []tally {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	var out []tally
	// A crowd no grouped alert told yet holds the counts of forgotten
	// pairs (see forgetLocked): due at once. Its tally leaves last
	// alone: the URL's first client past ReturnClients is still alerted
	// at once (a tally of forgotten pairs comes at most once a prune).
	crowdDue := func(c *crowd) bool { return all || c.last.IsZero() || now.Sub(c.last) >= ReturnEvery }
	for k, l := range fl.owed {
		u := fl.heldLocked(k.root, k.url)
		if u == nil { // forgotten: no URL to alert about
			delete(fl.owed, k)
			continue
		}
		ended := all || now.Sub(l.last) >= ReturnEvery
		c := fl.crowds[urlKey{k.root, k.url}]
		grouped := l.grouped && c != nil // else its URL was flagged anew since
		switch {
		case grouped && (ended || crowdDue(c)):
			c.gather(k.client, l.since, l.hit, l.gen != c.gen)
			l.gen = c.gen
		case !grouped && ended:
			out = append(out, tally{u: u, client: k.client, returnAlert: returnAlert{Requests: l.since, Hit: l.hit}})
		default:
			continue
		}
		l.since, l.hit = 0, weblog.Hit{}
		delete(fl.owed, k)
	}
	for k, c := range fl.crowds {
		if c.requests > 0 && crowdDue(c) {
			if u := fl.heldLocked(k.root, k.url); u != nil {
				out = append(out, tally{u: u, returnAlert: c.sent()})
			}
		}
	}
	return out
}

// owes reports whether a tally may come due.
func (fl *Flagged) owes() bool {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if len(fl.owed) > 0 {
		return true
	}
	for _, c := range fl.crowds {
		if c.requests > 0 {
			return true
		}
	}
	return false
}

// heldLocked returns the URL held of root and url, or nil.
func (fl *Flagged) heldLocked(root, url string) *flaggedURL {
	for _, u := range fl.byURL[url] {
		if u.root == root {
			return u
		}
	}
	return nil
}

// pruneLocked forgets the pairs whose time is up and that hold no count,
// then, if still full, those whose time is up, then the oldest half; the
// counts of those it forgets are kept (see forgetLocked).
func (fl *Flagged) pruneLocked(now time.Time) {
	for _, keepCounted := range []bool{true, false} {
		for k, l := range fl.limits {
			if now.Sub(l.last) >= ReturnEvery && (!keepCounted || l.since == 0) {
				fl.forgetLocked(k, l)
			}
		}
		if len(fl.limits) < fl.maxLimits {
			return
		}
	}
	var oldest time.Time
	for _, l := range fl.limits {
		if oldest.IsZero() || l.last.Before(oldest) {
			oldest = l.last
		}
	}
	cut := oldest.Add(now.Sub(oldest) / 2)
	for k, l := range fl.limits {
		if !l.last.After(cut) {
			fl.forgetLocked(k, l)
		}
	}
}

// forgetLocked forgets the pair k, l its limit. The requests it counted
// and did not alert yet are not lost with it: they join its URL's crowd,
// as one client more unless the crowd's generation counted it already,
// and are told in the URL's next grouped alert or tally (at once when no
// grouped alert was sent yet, else within ReturnEvery of the last). So
// a botnet of more clients than maxLimits leaves the request counts of
// attacker_returned true; a client forgotten and back again may be
// counted twice among the clients.
func (fl *Flagged) forgetLocked(k limitKey, l *limit) {
	delete(fl.limits, k)
	delete(fl.owed, k)
	if l.since == 0 {
		return
	}
	u := fl.heldLocked(k.root, k.url)
	if u == nil { // forgotten: no URL to alert about
		return
	}
	c := fl.crowds[urlKey{k.root, k.url}]
	counted := l.grouped && c != nil && l.gen == c.gen // else its URL was flagged anew since
	if c == nil {
		c = fl.crowdLocked(u)
	}
	c.gather(k.client, l.since, l.hit, !counted)
}

// Len returns how many URLs are remembered.
func (fl *Flagged) Len() int {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return len(fl.order)
}
