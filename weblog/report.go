package weblog

import (
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limits of a report: what a receiver of an alert and a terminal can read.
const (
	// MaxReportClients is the most clients a Report lists (the busiest).
	MaxReportClients = 10
	// MaxDroppedBy is the most requests a Report lists in dropped_by.
	MaxDroppedBy = 10
	// maxUserAgents is the most distinct user agents kept per client.
	maxUserAgents = 5
	// maxTextLen bounds each user agent kept in a tally.
	maxTextLen = 512
	// DefaultMaxClients is the most distinct clients a Tally tracks; the
	// requests of more are counted in Report.OtherClients only.
	DefaultMaxClients = 100_000
)

// Target names what a report or a search is about: a URL path, served
// under some host names.
type Target struct {
	// Path is the URL path ("/uploads/x.php"). A request for Path/anything
	// counts too: PHP runs /uploads/x.php/y as x.php (PATH_INFO).
	Path string
	// Hosts are the root's server_names. A request whose line names its
	// virtual host counts only if the host is one of them ("*.example.com"
	// matches any subdomain); empty matches every host, as does a line
	// without a host.
	Hosts []string
}

// Matches reports whether r is a request for the target.
func (t Target) Matches(r *Request) bool {
	return MatchesURL(r.Path, t.Path) && matchesHost(r.Vhost, t.Hosts)
}

// MatchesURL reports whether a request for the URL path reqPath runs the
// file served at urlPath: the same path, or urlPath followed by "/" and
// PATH_INFO. Both are cleaned paths (see [CleanPath]).
func MatchesURL(reqPath, urlPath string) bool {
	return reqPath == urlPath || (len(reqPath) > len(urlPath) && reqPath[len(urlPath)] == '/' &&
		strings.HasPrefix(reqPath, urlPath) && !strings.HasSuffix(urlPath, "/"))
}

func matchesHost(vhost string, hosts []string) bool {
	if len(hosts) == 0 || vhost == "" {
		return true
	}
	h := strings.ToLower(vhost)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") && strings.Count(h, ":") == 1 {
		h = h[:i]
	}
	for _, want := range hosts {
		want = strings.ToLower(want)
		if h == want || (strings.HasPrefix(want, "*.") && strings.HasSuffix(h, want[1:])) {
			return true
		}
	}
	return false
}

// URLFor returns the URL path at which the web server serves filePath,
// below a root served at urlPath ("/" when empty): URLFor("/srv/www",
// "/shop", "/srv/www/up/x.php") is "/shop/up/x.php". It returns "" for a
// file outside the root.
func URLFor(rootPath, urlPath, filePath string) string {
	rel, err := filepath.Rel(filepath.Clean(rootPath), filepath.Clean(filePath))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return ""
	}
	if urlPath == "" {
		urlPath = "/"
	}
	u := path.Join("/", urlPath, filepath.ToSlash(rel))
	return u
}

// Report is what the log says about one URL: the "access" object of an
// access_report alert. The JSON names are a documented interface (README,
// "access_report"): add fields, never rename them.
type Report struct {
	URL   string     `json:"url"`
	Count int        `json:"count"`
	First *time.Time `json:"first"`
	Last  *time.Time `json:"last"`
	// Clients are the busiest clients first, at most MaxReportClients.
	Clients []ClientReport `json:"clients"`
	// ClientsTotal counts every distinct client; OtherClients the requests
	// of clients past the tally's limit (a flood of addresses).
	ClientsTotal int            `json:"clients_total"`
	OtherClients int            `json:"other_clients_requests,omitempty"`
	Statuses     map[string]int `json:"statuses"`
	// DroppedBy are the requests that ran when the file was born, POSTs
	// first: the one that wrote it names the vulnerable endpoint.
	DroppedBy []Hit `json:"dropped_by"`
	// Since is the oldest request the answer could see (an index keeps a
	// window of recent requests); absent when whole logs were read.
	Since *time.Time `json:"since,omitempty"`
}

// ClientReport is one client's requests for the URL.
type ClientReport struct {
	IP         string    `json:"ip"`
	Count      int       `json:"count"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	UserAgents []string  `json:"user_agents"`
}

// Hit is one request, as a report lists it.
type Hit struct {
	Time      time.Time `json:"time"`
	Client    string    `json:"client"`
	Method    string    `json:"method"`
	URL       string    `json:"url"`
	Status    int       `json:"status"`
	UserAgent string    `json:"user_agent"`
}

// HitOf returns r as a report lists it; its url is the target as sent.
func HitOf(r *Request) Hit {
	return Hit{Time: r.Time, Client: r.Client, Method: r.Method, URL: r.Target, Status: r.Status, UserAgent: r.UserAgent}
}

// Tally sums up requests as they stream by, in memory bounded by the
// number of distinct clients (at most its limit) and days.
type Tally struct {
	count       int
	first, last time.Time
	clients     map[string]*ClientReport
	maxClients  int
	others      int
	statuses    map[int]int
	days        map[string]int
}

// NewTally returns an empty tally that tracks up to maxClients distinct
// clients (0 means DefaultMaxClients).
func NewTally(maxClients int) *Tally {
	if maxClients <= 0 {
		maxClients = DefaultMaxClients
	}
	return &Tally{clients: make(map[string]*ClientReport), maxClients: maxClients, statuses: make(map[int]int), days: make(map[string]int)}
}

// Add counts r.
func (t *Tally) Add(r *Request) {
	t.count++
	if t.first.IsZero() || r.Time.Before(t.first) {
		t.first = r.Time
	}
	if r.Time.After(t.last) {
		t.last = r.Time
	}
	t.statuses[r.Status]++
	t.days[r.Time.Format("2006-01-02")]++
	c := t.clients[r.Client]
	if c == nil {
		if len(t.clients) >= t.maxClients {
			t.others++
			return
		}
		c = &ClientReport{IP: r.Client, First: r.Time, Last: r.Time, UserAgents: []string{}}
		t.clients[r.Client] = c
	}
	c.Count++
	if r.Time.Before(c.First) {
		c.First = r.Time
	}
	if r.Time.After(c.Last) {
		c.Last = r.Time
	}
	ua := r.UserAgent
	if len(ua) > maxTextLen {
		ua = ua[:maxTextLen]
	}
	if len(c.UserAgents) < maxUserAgents && !contains(c.UserAgents, ua) {
		c.UserAgents = append(c.UserAgents, ua)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Count returns how many requests were added.
func (t *Tally) Count() int { return t.count }

// Clients returns every client tracked, busiest first (then by address).
func (t *Tally) Clients() []ClientReport {
	out := make([]ClientReport, 0, len(t.clients))
	for _, c := range t.clients {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].IP < out[j].IP
	})
	return out
}

// Day is the requests of one calendar day (in the log's time zone).
type Day struct {
	Date  string `json:"date"`
	Count int    `json:"count"`
}

// Days returns the requests per day, oldest first.
func (t *Tally) Days() []Day {
	out := make([]Day, 0, len(t.days))
	for d, n := range t.days {
		out = append(out, Day{d, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date < out[j].Date })
	return out
}

// Report returns the tally as the report of url, its clients capped at
// MaxReportClients; DroppedBy is left empty.
func (t *Tally) Report(url string) Report {
	r := Report{URL: url, Count: t.count, ClientsTotal: len(t.clients), OtherClients: t.others,
		Statuses: make(map[string]int, len(t.statuses)), DroppedBy: []Hit{}}
	if t.count > 0 {
		first, last := t.first, t.last
		r.First, r.Last = &first, &last
	}
	for s, n := range t.statuses {
		r.Statuses[strconv.Itoa(s)] = n
	}
	r.Clients = t.Clients()
	if len(r.Clients) > MaxReportClients {
		r.Clients = r.Clients[:MaxReportClients]
	}
	return r
}

// droppedBy orders the candidates of a file's birth: writing methods
// (POST, PUT) first, then the closest in time to born, and keeps the first
// MaxDroppedBy.
func droppedBy(cands []Request, born time.Time) []Hit {
	writes := (*Request).Writes
	dist := func(r *Request) time.Duration {
		d := r.Time.Sub(born)
		if d < 0 {
			return -d
		}
		return d
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := &cands[i], &cands[j]
		if writes(a) != writes(b) {
			return writes(a)
		}
		return dist(a) < dist(b)
	})
	if len(cands) > MaxDroppedBy {
		cands = cands[:MaxDroppedBy]
	}
	hits := make([]Hit, len(cands))
	for i := range cands {
		hits[i] = HitOf(&cands[i])
	}
	return hits
}

// Writes reports whether r's method is one that uploads (POST, PUT): the
// kind of request that writes a file.
func (r *Request) Writes() bool { return r.Method == "POST" || r.Method == "PUT" }

// RanAround reports whether r may have been running at born, as far as
// the log tells with whole seconds, for a request of unknown length lasting
// at most window: a line stamped with the start (Apache) in [born−window,
// born], one stamped with the end (nginx) in [born, born+window], either
// when the format does not say, a logged duration narrowing the span.
func RanAround(r *Request, born time.Time, window time.Duration) bool {
	length := window
	if r.Duration > 0 {
		length = r.Duration
	}
	var lo, hi time.Time
	switch r.Stamp {
	case StampEnd:
		lo, hi = r.Time.Add(-length), r.Time
	case StampStart:
		lo, hi = r.Time, r.Time.Add(length)
	default:
		lo, hi = r.Time.Add(-length), r.Time.Add(length)
	}
	// Whole seconds on both ends: born is inside [lo, hi+1s).
	return !born.Before(lo.Truncate(time.Second)) && born.Before(hi.Truncate(time.Second).Add(time.Second))
}
