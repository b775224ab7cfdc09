package access

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/internal/weblogtest"
	"github.com/shellwatch/shellwatch/roots"
	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/weblog"
	bolt "go.etcd.io/bbolt"
)

const waitFor = 30 * time.Second

// sent collects what the logs raise.
type sent struct {
	mu     sync.Mutex
	alerts []alert.Alert
}

func (s *sent) send(a alert.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts = append(s.alerts, a)
}

func (s *sent) of(kind alert.Kind) []alert.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []alert.Alert
	for _, a := range s.alerts {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return out
}

func (s *sent) wait(t *testing.T, kind alert.Kind, n int) []alert.Alert {
	t.Helper()
	testenv.Eventually(t, waitFor, fmt.Sprintf("%d %s alerts", n, kind), func() bool { return len(s.of(kind)) >= n })
	return s.of(kind)
}

// site is a watch root served at /shop, and its access log.
type site struct {
	root, log string
	cfg       config.Config
	rs        roots.Set
}

func newSite(t *testing.T) *site {
	t.Helper()
	dir := t.TempDir()
	s := &site{root: filepath.Join(dir, "www"), log: filepath.Join(dir, "access.log")}
	if err := os.Mkdir(s.root, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(fmt.Sprintf(`
[[watch]]
path = %q
url_path = "/shop"
[[access_log]]
path = %q
format = "nginx:combined"
`, s.root, s.log))
	if err != nil {
		t.Fatal(err)
	}
	s.cfg = cfg
	if s.rs, err = roots.Compile(cfg); err != nil {
		t.Fatal(err)
	}
	s.rs.List()[0].Path = s.root
	return s
}

// request appends one request's line, as nginx does when it ends.
func (s *site) request(t *testing.T, client string, at time.Time, method, target string, status int, ua string) {
	t.Helper()
	f, err := os.OpenFile(s.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(weblogtest.Line(client, at, method, target, status, 10, ua)); err != nil {
		t.Fatal(err)
	}
}

func (s *site) start(t *testing.T, out *sent, now func() time.Time) *Logs {
	t.Helper()
	return s.startWith(t, Options{Send: out.send, Poll: 50 * time.Millisecond, Now: now})
}

// startWith starts the logs with opts, and stops them at the end of the
// test.
func (s *site) startWith(t *testing.T, opts Options) *Logs {
	t.Helper()
	before := testenv.RunningGoroutines()
	l := Start(s.cfg, s.rs, opts)
	t.Cleanup(func() {
		l.Stop()
		testenv.NoGoroutinesLeft(t, before, waitFor)
	})
	testenv.Eventually(t, waitFor, "the log followed", func() bool { return l.logs[0].live.Load() })
	return l
}

// startShifted starts the logs on a clock the test moves forward by
// storing into offset. Tallies are looked for every tallyCheck: an hour
// leaves the counts owed to the next request (or to Stop).
func (s *site) startShifted(t *testing.T, tallyCheck time.Duration) (l *Logs, out *sent, offset *atomic.Int64) {
	t.Helper()
	offset = new(atomic.Int64)
	out = &sent{}
	l = s.startWith(t, Options{Send: out.send, Poll: 20 * time.Millisecond, tallyCheck: tallyCheck,
		Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	return l, out, offset
}

func detection(root, rel string, action string) alert.Alert {
	at := time.Now().UTC()
	return alert.Alert{ID: alert.NewID(at), Time: at, Kind: alert.KindDetection, Severity: finding.SeverityCritical,
		File:   &alert.File{Path: filepath.Join(root, rel), Root: root},
		Rules:  []alert.Rule{{Name: "php_eval_request_input", Severity: finding.SeverityCritical}},
		Action: &alert.Action{Taken: action}}
}

// The report follows the alert: the requests read back at start (a
// probe of the URL, another client's page), and the upload POST whose line
// comes after the alert, as nginx writes it when the request ends, named
// first in dropped_by.
func TestFollowUpReport(t *testing.T) {
	s := newSite(t)
	born := time.Now().Truncate(time.Second)
	s.request(t, "203.0.113.7", born.Add(-time.Minute), "GET", "/shop/up/x.php", 404, "python")
	s.request(t, "198.51.100.1", born.Add(-time.Minute), "GET", "/shop/index.php", 200, "browser")
	out := &sent{}
	// The report's Wait passes on a clock the test moves once the lines
	// written after the alert are in the index: on the wall clock, a test
	// or a follower held off the CPU for the 700 ms of DefaultWait sent
	// the report without the upload POST, and the stats below could be
	// read before the last line.
	var offset atomic.Int64
	start := time.Now()
	l := s.start(t, out, func() time.Time { return start.Add(time.Duration(offset.Load())) })
	if !l.Serves(s.root) || l.Serves("/elsewhere") {
		t.Fatalf("Serves: the root's log is not routed")
	}
	first := detection(s.root, "up/x.php", alert.ActionQuarantined)
	l.FollowUp(first, born)
	s.request(t, "203.0.113.7", born, "POST", "/shop/upload.php?to=up", 200, "python")
	s.request(t, "198.51.100.1", born, "GET", "/shop/cart.php", 200, "browser")
	testenv.Eventually(t, waitFor, "every line read", func() bool { st, _ := l.Stats(); return st[0].Lines == 4 })
	// A line is counted as read before it is indexed; a poll ends once
	// the lines it read are.
	polls := l.logs[0].f.Stats().Polls
	testenv.Eventually(t, waitFor, "a poll after the last line", func() bool { return l.logs[0].f.Stats().Polls > polls })
	offset.Store(int64(DefaultWait))

	rep := out.wait(t, alert.KindAccessReport, 1)[0]
	a := rep.Access
	if rep.RefID != first.ID || rep.Severity != first.Severity || rep.File != first.File || a == nil {
		t.Fatalf("report %+v, want the follow-up of %s", rep, first.ID)
	}
	if a.URL != "/shop/up/x.php" || a.Count != 1 || len(a.Clients) != 1 || a.Clients[0].IP != "203.0.113.7" || a.Statuses["404"] != 1 {
		t.Errorf("access %+v, want the one probe of /shop/up/x.php", a)
	}
	if len(a.DroppedBy) == 0 || a.DroppedBy[0].Method != "POST" || a.DroppedBy[0].URL != "/shop/upload.php?to=up" || a.DroppedBy[0].Client != "203.0.113.7" {
		t.Errorf("dropped_by %+v, want the upload POST first", a.DroppedBy)
	}
	if n, _ := l.Stats(); n[0].Entries != 4 || n[0].Lines != 4 {
		t.Errorf("stats %+v, want 4 requests read and held", n[0])
	}
	// Other kinds, other roots: no report.
	l.FollowUp(alert.Alert{ID: "x", Kind: alert.KindHardLink, File: first.File}, born)
	other := detection("/elsewhere", "up/x.php", alert.ActionQuarantined)
	l.FollowUp(other, born)
	l.Stop()
	if n := len(out.of(alert.KindAccessReport)); n != 1 {
		t.Errorf("%d reports, want only the detection's", n)
	}
}

// Stopping makes the reports still waiting at once.
func TestStopSendsWaitingReports(t *testing.T) {
	s := newSite(t)
	out := &sent{}
	l := Start(s.cfg, s.rs, Options{Send: out.send, Wait: time.Hour})
	testenv.Eventually(t, waitFor, "the log followed", func() bool { return l.logs[0].live.Load() })
	l.FollowUp(detection(s.root, "x.php", alert.ActionAlerted), time.Now())
	l.Stop()
	if got := out.of(alert.KindAccessReport); len(got) != 1 || got[0].Access.URL != "/shop/x.php" {
		t.Errorf("after Stop: %+v, want the waiting report", got)
	}
}

// attacker_returned: each client's first request for a flagged URL (or
// below it, PATH_INFO), then at most one per client and URL every 10
// minutes, counting the requests in between; other URLs, and requests
// read back at start, raise nothing.
func TestAttackerReturned(t *testing.T) {
	s := newSite(t)
	l, out, offset := s.startShifted(t, time.Hour)
	first := detection(s.root, "up/x.php", alert.ActionQuarantined)
	// A probe whose line is written before the file is flagged, and
	// read after: no return.
	s.request(t, "198.51.100.66", time.Now().Add(-time.Second), "GET", "/shop/up/x.php", 404, "probe")
	l.FollowUp(first, time.Time{})
	polls := l.logs[0].f.Stats().Polls
	testenv.Eventually(t, waitFor, "a poll after the flagging", func() bool { return l.logs[0].f.Stats().Polls > polls })
	at := time.Now()
	s.request(t, "203.0.113.7", at, "GET", "/shop/up/x.php?c=id", 404, "python")
	s.request(t, "203.0.113.7", at, "GET", "/shop/up/x.php/info", 404, "python")
	s.request(t, "203.0.113.7", at, "POST", "/shop/up/./x%2Ephp", 404, "python")
	s.request(t, "192.0.2.50", at, "GET", "/shop/up/x.php", 404, "curl")
	s.request(t, "192.0.2.50", at, "GET", "/shop/up/x.phpX", 404, "curl")
	s.request(t, "192.0.2.50", at, "GET", "/up/x.php", 404, "curl")
	out.wait(t, alert.KindAttackerReturned, 2)
	testenv.Eventually(t, waitFor, "every line read", func() bool { st, _ := l.Stats(); return st[0].Lines == 7 })
	got := out.of(alert.KindAttackerReturned)
	if len(got) != 2 {
		t.Fatalf("%d attacker_returned, want one per client: %+v", len(got), got)
	}
	for _, a := range got {
		if a.RefID != first.ID || a.Severity != finding.SeverityCritical || a.Request == nil || a.Request.Requests != 1 || a.File.Path != first.File.Path {
			t.Errorf("attacker_returned %+v (request %+v), want one request, ref %s", a, a.Request, first.ID)
		}
	}
	if r := got[0].Request; r.Client != "203.0.113.7" || r.URL != "/shop/up/x.php?c=id" || r.Status != 404 || r.UserAgent != "python" || r.Method != "GET" {
		t.Errorf("request %+v", r)
	}
	offset.Store(int64(ReturnEvery + time.Second))
	s.request(t, "203.0.113.7", at.Add(ReturnEvery), "GET", "/shop/up/x.php", 404, "python")
	got = out.wait(t, alert.KindAttackerReturned, 3)
	if r := got[2].Request; r.Client != "203.0.113.7" || r.Requests != 3 {
		t.Errorf("after 10 minutes: %+v, want the client's third alerted request counting the two in between", r)
	}
}

// A return logged the moment after the flagging is a return, though the
// log stamps it with the second it began (the same second as the flag,
// or before it on a server whose requests take a while) and the follower
// reads it in its first poll after: the line lies past the log's end at
// the flagging. A probe logged just before, read in that same poll, is
// none.
func TestAttackerReturnedAtOnce(t *testing.T) {
	s := newSite(t)
	l, out, _ := s.startShifted(t, time.Hour)
	first := detection(s.root, "up/x.php", alert.ActionQuarantined)
	before := time.Now().Add(-time.Second)
	s.request(t, "198.51.100.66", before, "GET", "/shop/up/x.php", 404, "probe")
	l.FollowUp(first, time.Time{})
	s.request(t, "203.0.113.7", before, "GET", "/shop/up/x.php?c=id", 200, "python")
	got := out.wait(t, alert.KindAttackerReturned, 1)
	if r := got[0].Request; r == nil || r.Client != "203.0.113.7" {
		t.Fatalf("attacker_returned %+v, want the request after the flagging", got[0])
	}
	testenv.Eventually(t, waitFor, "both lines read", func() bool { st, _ := l.Stats(); return st[0].Lines == 2 })
	l.Stop()
	if got := out.of(alert.KindAttackerReturned); len(got) != 1 {
		t.Errorf("%d attacker_returned, want only the request after the flagging: %+v", len(got), got)
	}
}

// attacker_returned from a botnet: many addresses probing one flagged URL
// raise one alert each for the first ReturnClients (the first at once),
// then one grouped alert at once for the next client, which names it;
// the clients after it within ReturnEvery raise nothing. Once ReturnEvery
// is past, the URL's next clients are alerted one by one again, and past
// them one grouped alert counts every client gathered since the last one,
// naming the first few.
func TestAttackerReturnedManyClients(t *testing.T) {
	s := newSite(t)
	l, out, offset := s.startShifted(t, time.Hour)
	first := detection(s.root, "up/x.php", alert.ActionQuarantined)
	l.FollowUp(first, time.Time{})
	// Another flagged URL: a request for it after the probes is the
	// sentinel, alerted once the reporter went through every probe.
	other := detection(s.root, "up/y.php", alert.ActionQuarantined)
	l.FollowUp(other, time.Time{})
	polls := l.logs[0].f.Stats().Polls
	testenv.Eventually(t, waitFor, "a poll after the flagging", func() bool { return l.logs[0].f.Stats().Polls > polls })
	bot := func(i int) string { return fmt.Sprintf("198.51.100.%d", i) }
	sentinels := 0
	returns := func() (got []alert.Alert) {
		for _, a := range out.of(alert.KindAttackerReturned) {
			if a.File.Path == first.File.Path {
				got = append(got, a)
			}
		}
		return got
	}
	probe := func(at time.Time, clients ...int) {
		t.Helper()
		for _, i := range clients {
			s.request(t, bot(i), at, "GET", "/shop/up/x.php?c=id", 404, "bot")
		}
		sentinels++
		s.request(t, fmt.Sprintf("192.0.2.%d", sentinels), at, "GET", "/shop/up/y.php", 404, "sentinel")
		testenv.Eventually(t, waitFor, "the sentinel alerted", func() bool {
			return len(out.of(alert.KindAttackerReturned))-len(returns()) == sentinels
		})
	}
	span := func(from, to int) []int {
		var out []int
		for i := from; i <= to; i++ {
			out = append(out, i)
		}
		return out
	}
	at := time.Now()
	probe(at, append(span(1, 40), 1)...) // and once more the first, alerted already
	got := returns()
	if len(got) != ReturnClients+1 {
		t.Fatalf("40 clients raised %d attacker_returned, want %d one by one and one grouped: %+v", len(got), ReturnClients+1, got)
	}
	for i, a := range got[:ReturnClients] {
		if r := a.Request; r.Client != bot(i+1) || r.Requests != 1 || r.Clients != 0 || r.FirstClients != nil {
			t.Errorf("alert %d: %+v, want %s's own", i, r, bot(i+1))
		}
	}
	g := got[ReturnClients]
	if r := g.Request; r.Client != bot(ReturnClients+1) || r.Clients != 1 || r.Requests != 1 || len(r.FirstClients) != 1 || r.FirstClients[0] != bot(ReturnClients+1) {
		t.Errorf("the grouped alert: %+v, want the client past the first %d alone", r, ReturnClients)
	}
	if g.RefID != first.ID || g.Severity != finding.SeverityCritical || !strings.Contains(g.Message, "1 more client ("+bot(ReturnClients+1)+")") {
		t.Errorf("the grouped alert: ref %s, %s, %q", g.RefID, g.Severity, g.Message)
	}

	// Ten minutes on: the first clients of the new window one by one, and
	// the next one carries the tally of the clients gathered since.
	offset.Store(int64(ReturnEvery + time.Second))
	probe(at.Add(ReturnEvery), span(101, 101+ReturnClients)...)
	got = returns()
	if len(got) != 2*(ReturnClients+1) {
		t.Fatalf("%d attacker_returned after ten minutes, want %d: %+v", len(got), 2*(ReturnClients+1), got[ReturnClients+1:])
	}
	for i, a := range got[ReturnClients+1 : 2*ReturnClients+1] {
		if r := a.Request; r.Client != bot(101+i) || r.Clients != 0 {
			t.Errorf("after ten minutes, alert %d: %+v, want %s's own", i, r, bot(101+i))
		}
	}
	gathered := 40 - ReturnClients - 1 + 1 // bots after the grouped alert, and the last new one
	r := got[2*ReturnClients+1].Request
	wantNames := []string{bot(ReturnClients + 2), bot(ReturnClients + 3), bot(ReturnClients + 4), bot(ReturnClients + 5), bot(ReturnClients + 6)}
	if r.Client != bot(101+ReturnClients) || r.Clients != gathered || r.Requests != gathered || !slices.Equal(r.FirstClients, wantNames) {
		t.Errorf("the second grouped alert: %+v, want %d clients and requests, named first %q", r, gathered, wantNames)
	}
	if m := got[2*ReturnClients+1].Message; !strings.Contains(m, fmt.Sprintf("%d more clients (%s and %d others) sent %d requests", gathered,
		strings.Join(wantNames, ", "), gathered-len(wantNames), gathered)) {
		t.Errorf("the second grouped alert says %q", m)
	}
}

// The flagged URLs outlive a reload that changes the logs; one that keeps
// them keeps its followers. The new logs read back their last lines: a
// return the old ones alerted is not alerted again.
func TestNextKeepsFlagged(t *testing.T) {
	s := newSite(t)
	out := &sent{}
	before := testenv.RunningGoroutines()
	var offset atomic.Int64
	l := Start(s.cfg, s.rs, Options{Send: out.send, Poll: 10 * time.Millisecond,
		Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	testenv.Eventually(t, waitFor, "the log followed", func() bool { return l.logs[0].live.Load() })
	l.FollowUp(detection(s.root, "up/x.php", alert.ActionQuarantined), time.Time{})
	s.request(t, "192.0.2.1", time.Now().Add(time.Second), "GET", "/shop/up/x.php", 404, "before the reload")
	out.wait(t, alert.KindAttackerReturned, 1)
	// Past the client's limit: only the stamp rule keeps the line read
	// back by the new logs from counting again.
	offset.Store(int64(ReturnEvery + time.Second))
	if same := l.Next(s.cfg, s.rs); same != l {
		t.Errorf("Next with the same logs started new ones")
	}
	cfg := s.cfg
	cfg.AccessLog = append([]config.AccessLog(nil), cfg.AccessLog...)
	cfg.AccessLog[0].Format = "combined"
	next := l.Next(cfg, s.rs)
	if next == l || next.flagged != l.flagged || next.flagged.Len() != 1 {
		t.Fatalf("Next with another format: %p, flagged %d", next, next.flagged.Len())
	}
	l.Stop()
	testenv.Eventually(t, waitFor, "the new log followed", func() bool { return next.logs[0].live.Load() })
	s.request(t, "203.0.113.7", time.Now(), "GET", "/shop/up/x.php", 404, "python")
	out.wait(t, alert.KindAttackerReturned, 2)
	next.Stop()
	if got := out.of(alert.KindAttackerReturned); len(got) != 2 || got[1].Request.Client != "203.0.113.7" {
		t.Errorf("after the reload: %d attacker_returned, want the one before and the new one: %+v", len(got), got)
	}
	testenv.NoGoroutinesLeft(t, before, waitFor)
}

// A crafted path of thousands of segments matches nothing and costs no
// more lookups than the longest flagged URL has characters.
func TestFlaggedMatch(t *testing.T) {
	fl := NewFlagged()
	u := &flaggedURL{root: "/srv/a", target: weblog.Target{Path: "/up/x.php", Hosts: []string{"shop.example.com"}}}
	fl.add(u)
	fl.add(&flaggedURL{root: "/srv/b", target: weblog.Target{Path: "/up/x.php"}})
	all := func(string) bool { return true }
	onlyA := func(root string) bool { return root == "/srv/a" }
	for _, tc := range []struct {
		path, host string
		serves     func(string) bool
		want       int
	}{
		{"/up/x.php", "", all, 2},
		{"/up/x.php/a/b", "shop.example.com", onlyA, 1},
		{"/up/x.php", "blog.example.com", all, 1},
		{"/up/x.phpx", "", all, 0},
		{"/up", "", all, 0},
		{"/up/x.php" + fmt.Sprintf("%0*d", 100000, 0), "", all, 0},
	} {
		r := logRequest{r: weblog.Request{Path: tc.path, Vhost: tc.host}, live: true}
		if got := fl.match(r, tc.serves); len(got) != tc.want {
			t.Errorf("%.40q on %q: %d matches, want %d", tc.path, tc.host, len(got), tc.want)
		}
	}
	for i := range MaxFlagged + 5 {
		fl.add(&flaggedURL{root: "/srv/a", target: weblog.Target{Path: fmt.Sprintf("/f/%d.php", i)}})
	}
	if fl.Len() != MaxFlagged {
		t.Errorf("%d URLs held, want at most %d", fl.Len(), MaxFlagged)
	}
	if r := (logRequest{r: weblog.Request{Path: "/up/x.php"}, live: true}); len(fl.match(r, all)) != 0 {
		t.Errorf("the oldest URL was not forgotten first")
	}
}

// openState opens a state database in dir, closed at the end of the test
// unless the test closes it first.
func openState(t *testing.T, dir string) *state.DB {
	t.Helper()
	db, err := state.Open(filepath.Join(dir, "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// returnsTo returns the attacker_returned of out for the alert ref.
func returnsTo(out *sent, ref string) []alert.Alert {
	var got []alert.Alert
	for _, a := range out.of(alert.KindAttackerReturned) {
		if a.RefID == ref {
			got = append(got, a)
		}
	}
	return got
}

// The flagged URLs outlive a restart: a shell flagged, the logs stopped
// and the state closed, then opened and the logs started again. While
// they were down the attacker came back (read back at start: a return),
// and a probe of before the flagging was logged late (no return), and the
// return the first run alerted already is not alerted again. Live after
// the start: a line stamped before the flag moment is no return, a new
// request is, with the shell's alert in ref_id.
func TestAttackerReturnedAfterRestart(t *testing.T) {
	s := newSite(t)
	stateDir := t.TempDir()
	db := openState(t, stateDir)
	out := &sent{}
	l := Start(s.cfg, s.rs, Options{Send: out.send, Poll: 20 * time.Millisecond, Store: db})
	testenv.Eventually(t, waitFor, "the log followed", func() bool { return l.logs[0].live.Load() })
	first := detection(s.root, "up/x.php", alert.ActionQuarantined)
	first.File.SHA256 = "2743f4"
	flaggedAt := time.Now()
	l.FollowUp(first, time.Time{})
	// Past the stamps' second: the lines below are stamped after it.
	after := flaggedAt.Truncate(time.Second).Add(time.Second)
	testenv.Eventually(t, waitFor, "the clock past the flag moment's second", func() bool { return time.Now().After(after) })
	s.request(t, "203.0.113.7", after, "GET", "/shop/up/x.php?c=id", 404, "python")
	out.wait(t, alert.KindAttackerReturned, 1)
	l.Stop()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Down: the attacker's return, and a probe of before the drop whose
	// line came late.
	s.request(t, "203.0.113.7", flaggedAt.Add(-time.Minute), "GET", "/shop/up/x.php?c=probe", 404, "python")
	s.request(t, "198.51.100.9", after.Add(time.Second), "GET", "/shop/up/x.php?c=down", 404, "curl")

	db = openState(t, stateDir)
	out2 := &sent{}
	l2 := s.startWith(t, Options{Send: out2.send, Poll: 20 * time.Millisecond, Store: db})
	if l2.flagged.Len() != 1 {
		t.Fatalf("%d URLs restored, want the shell's", l2.flagged.Len())
	}
	got := out2.wait(t, alert.KindAttackerReturned, 1)
	if r := got[0].Request; got[0].RefID != first.ID || r.Client != "198.51.100.9" || r.URL != "/shop/up/x.php?c=down" {
		t.Fatalf("read back at start: %+v (request %+v), want the return made while down, ref %s", got[0], r, first.ID)
	}
	if f := got[0].File; f == nil || f.Path != first.File.Path || f.Root != s.root || f.SHA256 != "2743f4" || !strings.Contains(got[0].Message, "quarantined") {
		t.Errorf("restored file %+v, message %q", f, got[0].Message)
	}

	// Live: a line stamped before the flagging (no return), then a new
	// request (a return).
	s.request(t, "192.0.2.77", flaggedAt.Add(-time.Second), "GET", "/shop/up/x.php?c=old", 404, "late")
	s.request(t, "192.0.2.78", time.Now(), "GET", "/shop/up/x.php?c=new", 404, "python")
	out2.wait(t, alert.KindAttackerReturned, 2)
	testenv.Eventually(t, waitFor, "every line read", func() bool { st, _ := l2.Stats(); return st[0].Lines == 5 })
	got = returnsTo(out2, first.ID)
	if len(got) != 2 || got[1].Request.Client != "192.0.2.78" || got[1].RefID != first.ID {
		t.Errorf("after the restart: %d attacker_returned %+v, want the return made while down and the new one", len(got), got)
	}
}

// A restart whose store holds more than MaxFlagged URLs keeps the newest
// (and forgets the others in the store too); a record that does not
// decode (written into the bucket as a damaged page would leave it) is
// skipped and counted, and the others are read.
func TestRestoreBoundsAndSkips(t *testing.T) {
	dir := t.TempDir()
	db := openState(t, dir)
	base := time.Now().Add(-time.Hour)
	var batch state.FlaggedBatch
	for i := range MaxFlagged + 3 {
		batch.Put = append(batch.Put, state.FlaggedURL{Root: "/srv/a", URL: fmt.Sprintf("/f/%d.php", i), AlertID: strconv.Itoa(i),
			At: base.Add(time.Duration(i) * time.Millisecond), Path: fmt.Sprintf("/srv/a/f/%d.php", i)})
	}
	if err := db.WriteFlagged(batch); err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := bolt.Open(filepath.Join(dir, "state.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("flagged.v1")).Put(append([]byte{'u'}, make([]byte, 32)...), []byte("\x01torn"))
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	db = openState(t, dir)
	fl := NewFlagged()
	fl.restore(db, slog.New(slog.DiscardHandler))
	fl.store.flush()
	if fl.Len() != MaxFlagged || fl.Skipped() != 1 {
		t.Fatalf("restored %d URLs, %d skipped; want %d and 1", fl.Len(), fl.Skipped(), MaxFlagged)
	}
	all := func(string) bool { return true }
	for i, want := range map[int]int{0: 0, 2: 0, 3: 1, MaxFlagged + 2: 1} {
		r := logRequest{r: weblog.Request{Path: fmt.Sprintf("/f/%d.php", i), Time: time.Now()}, live: true}
		if got := len(fl.match(r, all)); got != want {
			t.Errorf("/f/%d.php: %d matches, want %d", i, got, want)
		}
	}
	kept, err := db.ReadFlagged()
	if err != nil || len(kept.URLs) != MaxFlagged || kept.URLs[0].URL != "/f/3.php" || kept.Skipped != 0 {
		t.Errorf("the store holds %d URLs (%v, %d skipped), want the newest %d", len(kept.URLs), err, kept.Skipped, MaxFlagged)
	}
}

// The counts owed are told when their window ends with no request to
// carry them (the attacker stopped): a client's repeats after its alert in
// one tally of its own; a botnet's clients past the first ReturnClients,
// and their repeats, in one tally for the URL, not one per client. When
// the logs stop, what is owed is told at once.
func TestAttackerReturnedTally(t *testing.T) {
	s := newSite(t)
	l, out, offset := s.startShifted(t, 10*time.Millisecond)
	first := detection(s.root, "up/x.php", alert.ActionQuarantined)
	l.FollowUp(first, time.Time{})
	// Another flagged URL: a request for it after the others is the
	// sentinel, alerted once the reporter judged every line before it. The
	// follower having read a line (Stats' Lines) is not the reporter
	// having judged it: a clock moved, or the logs stopped, before that
	// judges it in the wrong window, or not at all.
	other := detection(s.root, "up/y.php", alert.ActionQuarantined)
	l.FollowUp(other, time.Time{})
	sentinels := 0
	sentinel := func(at time.Time) {
		t.Helper()
		sentinels++
		s.request(t, fmt.Sprintf("192.0.2.%d", sentinels), at, "GET", "/shop/up/y.php", 404, "sentinel")
		testenv.Eventually(t, waitFor, "the sentinel alerted", func() bool { return len(returnsTo(out, other.ID)) == sentinels })
	}
	// returns waits for n attacker_returned about the shell, and returns
	// them all.
	returns := func(n int) []alert.Alert {
		t.Helper()
		testenv.Eventually(t, waitFor, fmt.Sprintf("%d attacker_returned about the shell", n), func() bool { return len(returnsTo(out, first.ID)) >= n })
		return returnsTo(out, first.ID)
	}
	polls := l.logs[0].f.Stats().Polls
	testenv.Eventually(t, waitFor, "a poll after the flagging", func() bool { return l.logs[0].f.Stats().Polls > polls })
	at := time.Now().Add(time.Second)
	bot := func(i int) string { return fmt.Sprintf("198.51.100.%d", i) }
	const attacker = "203.0.113.7"
	s.request(t, attacker, at, "GET", "/shop/up/x.php?c=id", 200, "python")
	s.request(t, attacker, at, "GET", "/shop/up/x.php?c=whoami", 200, "python")
	s.request(t, attacker, at, "POST", "/shop/up/x.php?c=last", 200, "python")
	lines := 3
	for i := 2; i <= 40; i++ { // bots 2 and 3 alone, 4 grouped at once, 5 to 40 gathered
		s.request(t, bot(i), at, "GET", "/shop/up/x.php", 404, "bot")
		lines++
		if i >= 4 { // and each past the first few once more
			s.request(t, bot(i), at, "GET", "/shop/up/x.php?again", 404, "bot")
			lines++
		}
	}
	sentinel(at)
	lines++
	testenv.Eventually(t, waitFor, "every line read", func() bool { st, _ := l.Stats(); return st[0].Lines == int64(lines) })
	got := returns(ReturnClients + 1)
	if len(got) != ReturnClients+1 {
		t.Fatalf("%d attacker_returned before the window ended, want %d: %+v", len(got), ReturnClients+1, got)
	}

	offset.Store(int64(ReturnEvery + time.Second))
	got = returns(ReturnClients + 3)
	var own, grouped *alert.Alert
	for i := range got[ReturnClients+1:] {
		a := &got[ReturnClients+1+i]
		if a.Request.Clients == 0 {
			own = a
		} else {
			grouped = a
		}
	}
	if own == nil || grouped == nil {
		t.Fatalf("tallies %+v, want the attacker's and the bots'", got[ReturnClients+1:])
	}
	if r := own.Request; r.Client != attacker || r.Requests != 2 || r.URL != "/shop/up/x.php?c=last" || r.Method != "POST" || own.RefID != first.ID ||
		!strings.Contains(own.Message, "the tally: 203.0.113.7 sent 2 more requests") || !strings.HasSuffix(own.Message, "; none since") {
		t.Errorf("the attacker's tally: %+v, %q; want its 2 requests after its alert, the last named", r, own.Message)
	}
	wantNames := []string{bot(5), bot(6), bot(7), bot(8), bot(9)}
	// Bots 5 to 40 with their two requests each, and bot 4's second.
	if r := grouped.Request; r.Clients != 37 || r.Requests != 36*2+1 || !slices.Equal(r.FirstClients, wantNames) || grouped.RefID != first.ID {
		t.Errorf("the bots' tally: %+v, want 37 clients, 73 requests, first %q", r, wantNames)
	}

	// A new window: the attacker alerted at once, its repeat owed, and
	// told when the logs stop.
	s.request(t, attacker, at.Add(ReturnEvery), "GET", "/shop/up/x.php?c=back", 200, "python")
	s.request(t, attacker, at.Add(ReturnEvery), "GET", "/shop/up/x.php?c=stop", 200, "python")
	sentinel(at.Add(ReturnEvery))
	lines += 3
	testenv.Eventually(t, waitFor, "every line read", func() bool { st, _ := l.Stats(); return st[0].Lines == int64(lines) })
	got = returns(ReturnClients + 4)
	if r := got[ReturnClients+3].Request; r.Client != attacker || r.Requests != 1 || r.URL != "/shop/up/x.php?c=back" {
		t.Errorf("the attacker back: %+v, want its request alerted at once", r)
	}
	l.Stop()
	got = returnsTo(out, first.ID)
	if len(got) != ReturnClients+5 {
		t.Fatalf("%d attacker_returned after Stop, want %d", len(got), ReturnClients+5)
	}
	if r := got[ReturnClients+4].Request; r.Client != attacker || r.Requests != 1 || r.URL != "/shop/up/x.php?c=stop" {
		t.Errorf("told at Stop: %+v, want the attacker's repeat", r)
	}
	// Its window had not ended: whether more came is not known.
	if msg := got[ReturnClients+4].Message; !strings.HasSuffix(msg, "; told as the agent stops following the logs") || strings.Contains(msg, "none since") {
		t.Errorf("the tally told at Stop says %q, want it told as the logs stop, not \"none since\"", msg)
	}
}

// A botnet of more clients than the table of (client, URL) pairs holds:
// each client requests a flagged URL twice, the second request counted,
// not alerted. The pairs forgotten to make room for the next clients held
// such counts; every one of them is told all the same, in the tallies
// once the window of the alerts ends, so the requests the
// attacker_returned alerts about the URL count are the requests written,
// and the alerts stay few. The real bound when not -short.
func TestAttackerReturnedBotnetPastThePairTable(t *testing.T) {
	bounds := []int{16}
	if !testing.Short() {
		bounds = append(bounds, maxLimits)
	}
	for _, bound := range bounds {
		t.Run(strconv.Itoa(bound), func(t *testing.T) {
			s := newSite(t)
			// A request for the other flagged URL after the botnet's is
			// the sentinel, alerted once the reporter read every line
			// before it.
			l, out, offset, first, sentinel := s.startBounded(t, bound)

			clients := bound + bound/2
			at := time.Now()
			var lines strings.Builder
			for i := range clients {
				ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
				lines.WriteString(weblogtest.Line(ip, at, "GET", "/shop/up/x.php?c=id", 200, 10, "bot"))
				lines.WriteString(weblogtest.Line(ip, at, "GET", "/shop/up/x.php?c=whoami", 200, 10, "bot"))
			}
			written := 2 * clients
			lines.WriteString(weblogtest.Line("192.0.2.1", at, "GET", "/shop/up/y.php", 404, 10, "sentinel"))
			f, err := os.OpenFile(s.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(lines.String()); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, waitFor, "the sentinel alerted", func() bool { return len(returnsTo(out, sentinel.ID)) == 1 })
			if n := l.flagged.limitsHeld(); n > bound {
				t.Errorf("%d pairs held, past the bound of %d", n, bound)
			}
			told := func() (n int) {
				for _, a := range returnsTo(out, first.ID) {
					n += a.Request.Requests
				}
				return n
			}

			// The window over: the tallies tell every count owed, while
			// the logs run (Stop, which tells what is owed, waits for the
			// tallies under way).
			offset.Store(int64(ReturnEvery + time.Second))
			testenv.Eventually(t, waitFor, "no count owed", func() bool { return !l.flagged.owes() })
			l.Stop()
			if n := told(); n != written {
				t.Errorf("the attacker_returned about the URL count %d requests, want the %d written", n, written)
			}
			// One by one the first few, and the tally of each; one grouped
			// alert, and the tally of the others.
			if got, most := len(returnsTo(out, first.ID)), 2*ReturnClients+2; got > most {
				t.Errorf("%d attacker_returned about the URL, want at most %d", got, most)
			}
		})
	}
}

// A pair forgotten for room (other URLs' clients filled the table) whose
// URL had no grouped alert yet: its count is told at once, in a tally of
// its own URL, not kept until the logs stop.
func TestAttackerReturnedPairForgottenBeforeAnyGroupedAlert(t *testing.T) {
	s := newSite(t)
	l, out, _, shell, _ := s.startBounded(t, 4)

	at := time.Now()
	const attacker = "203.0.113.7"
	s.request(t, attacker, at, "GET", "/shop/up/x.php?c=id", 200, "python")
	s.request(t, attacker, at, "POST", "/shop/up/x.php?c=last", 200, "python") // counted, not alerted
	// The fourth pair fills the table: the oldest, the attacker's, is
	// forgotten for the fifth.
	for i := 1; i <= 4; i++ {
		s.request(t, fmt.Sprintf("198.51.100.%d", i), at, "GET", "/shop/up/y.php", 404, "bot")
	}
	testenv.Eventually(t, waitFor, "the attacker's second request told", func() bool { return len(returnsTo(out, shell.ID)) == 2 })
	l.Stop()
	got := returnsTo(out, shell.ID)
	if len(got) != 2 {
		t.Fatalf("%d attacker_returned about the shell, want the attacker's and the tally: %+v", len(got), got)
	}
	if r := got[0].Request; r.Client != attacker || r.Requests != 1 || r.Clients != 0 {
		t.Errorf("first: %+v, want the attacker's own alert", r)
	}
	if r := got[1].Request; r.Requests != 1 || r.Clients != 1 || r.URL != "/shop/up/x.php?c=last" || !slices.Equal(r.FirstClients, []string{attacker}) {
		t.Errorf("the tally: %+v, want the attacker's second request", r)
	}
}

// startBounded starts the logs on a clock the test moves (see
// startShifted), tallies looked for every 100 ms, with a table of at most
// bound (client, URL) pairs, and flags up/x.php and up/y.php, returning
// their alerts once the log was polled after.
func (s *site) startBounded(t *testing.T, bound int) (l *Logs, out *sent, offset *atomic.Int64, x, y alert.Alert) {
	t.Helper()
	l, out, offset = s.startShifted(t, 100*time.Millisecond)
	l.flagged.mu.Lock()
	l.flagged.maxLimits = bound
	l.flagged.mu.Unlock()
	x = detection(s.root, "up/x.php", alert.ActionQuarantined)
	l.FollowUp(x, time.Time{})
	y = detection(s.root, "up/y.php", alert.ActionQuarantined)
	l.FollowUp(y, time.Time{})
	polls := l.logs[0].f.Stats().Polls
	testenv.Eventually(t, waitFor, "a poll after the flagging", func() bool { return l.logs[0].f.Stats().Polls > polls })
	return l, out, offset, x, y
}

// limitsHeld returns how many (client, URL) pairs fl holds.
func (fl *Flagged) limitsHeld() int {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return len(fl.limits)
}
