package weblog

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func req(client, method, target string, at time.Time, status int, ua string) Request {
	return Request{Time: at, Stamp: StampEnd, Client: client, Method: method, Target: target, Path: CleanPath(target), Status: status, UserAgent: ua}
}

// The report of a webshell's URL: who requested it, how often, and in
// dropped_by the upload POST that ran when the file was born, before the
// GETs of that second.
func TestIndexReport(t *testing.T) {
	born := t0.Add(10 * time.Minute)
	now := born.Add(25 * time.Minute)
	x := NewIndex(IndexOptions{Now: func() time.Time { return now }})
	x.Add(req("198.51.100.1", "GET", "/index.php", born.Add(-2*time.Second), 200, "browser"))
	x.Add(req("203.0.113.7", "GET", "/index.php", born, 200, "python"))
	x.Add(req("203.0.113.7", "POST", "/upload.php?dir=up", born.Add(time.Second), 200, "python"))
	x.Add(req("198.51.100.9", "POST", "/contact.php", born.Add(-40*time.Second), 200, "browser")) // ended before the birth
	for i := range 5 {
		x.Add(req("203.0.113.7", "GET", "/up/x.php?c=id", born.Add(time.Duration(i+1)*time.Minute), 200, "python"))
	}
	x.Add(req("192.0.2.50", "GET", "/up/./x%2Ephp/info", born.Add(20*time.Minute), 404, "curl"))
	x.Add(req("192.0.2.50", "GET", "/up/x.phpX", born.Add(21*time.Minute), 404, "curl")) // another file

	rep := x.Report(Target{Path: "/up/x.php"}, born, 30*time.Second)
	if rep.URL != "/up/x.php" || rep.Count != 6 || rep.ClientsTotal != 2 {
		t.Fatalf("report %+v, want 6 requests from 2 clients", rep)
	}
	if c := rep.Clients[0]; c.IP != "203.0.113.7" || c.Count != 5 || !c.First.Equal(born.Add(time.Minute)) || c.UserAgents[0] != "python" {
		t.Errorf("busiest client %+v", c)
	}
	if rep.Statuses["200"] != 5 || rep.Statuses["404"] != 1 {
		t.Errorf("statuses %v", rep.Statuses)
	}
	if len(rep.DroppedBy) < 2 || rep.DroppedBy[0].Method != "POST" || rep.DroppedBy[0].URL != "/upload.php?dir=up" || rep.DroppedBy[0].Client != "203.0.113.7" {
		t.Errorf("dropped_by %+v, want the upload POST first", rep.DroppedBy)
	}
	for _, h := range rep.DroppedBy {
		if h.URL == "/contact.php" {
			t.Errorf("dropped_by holds a POST that ended before the birth: %+v", h)
		}
	}
	// The JSON names are the documented ones.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`"url"`, `"count"`, `"first"`, `"last"`, `"clients"`, `"ip"`, `"user_agents"`, `"statuses"`, `"dropped_by"`, `"time"`, `"client"`, `"method"`, `"status"`, `"user_agent"`} {
		if !strings.Contains(string(b), name) {
			t.Errorf("report JSON has no %s: %s", name, b)
		}
	}
	if rep := x.Report(Target{Path: "/none.php"}, time.Time{}, 0); rep.Count != 0 || rep.First != nil || rep.Clients == nil || rep.DroppedBy == nil {
		t.Errorf("empty report %+v: want count 0, first null, empty lists", rep)
	}
	if got := x.ByClient("192.0.2.50"); len(got) != 2 || got[0].Path != "/up/x.php/info" {
		t.Errorf("ByClient = %+v", got)
	}
}

// Hosts: a request logged with another virtual host is not the root's.
func TestIndexReportHosts(t *testing.T) {
	x := NewIndex(IndexOptions{Now: func() time.Time { return t0 }})
	for _, host := range []string{"shop.example.com", "SHOP.example.com:443", "blog.example.com", "a.shop.example.com", ""} {
		r := req("192.0.2.1", "GET", "/x.php", t0, 200, "")
		r.Vhost = host
		x.Add(r)
	}
	rep := x.Report(Target{Path: "/x.php", Hosts: []string{"shop.example.com", "*.shop.example.com"}}, time.Time{}, 0)
	if rep.Count != 4 {
		t.Errorf("count %d, want 4 (every host but blog.example.com)", rep.Count)
	}
}

// The index keeps the window and its memory bound, oldest out first, and
// says what it holds.
func TestIndexBounds(t *testing.T) {
	now := t0
	x := NewIndex(IndexOptions{Window: 10 * time.Minute, MaxBytes: 100 * (entryOverhead + 100), Now: func() time.Time { return now }})
	for i := range 1000 {
		now = t0.Add(time.Duration(i) * time.Second)
		x.Add(req(fmt.Sprintf("192.0.2.%d", i%200), "GET", fmt.Sprintf("/p/%d", i%7), now, 200, strings.Repeat("u", 50)))
	}
	s := x.Stats()
	if s.Bytes > 100*(entryOverhead+100) || s.Entries < 90 || s.Entries*entryOverhead > 100*(entryOverhead+100) || s.Evicted != int64(1000-s.Entries) || s.CutShort == 0 {
		t.Errorf("stats %+v: want at most the memory bound", s)
	}
	rep := x.Report(Target{Path: "/p/3"}, time.Time{}, 0)
	if rep.Since == nil || !rep.Since.Equal(s.Oldest) {
		t.Errorf("since %v, want the oldest request held %v (memory set the limit)", rep.Since, s.Oldest)
	}
	// Time alone: an hour later, nothing is left, and the maps are empty.
	now = now.Add(time.Hour)
	if s := x.Stats(); s.Entries != 0 || s.Bytes != 0 || len(x.byPath) != 0 || len(x.byClient) != 0 {
		t.Errorf("after the window: stats %+v, %d paths, %d clients", s, len(x.byPath), len(x.byClient))
	}
	x.Add(req("192.0.2.1", "GET", "/old", now.Add(-time.Hour), 200, ""))
	if s := x.Stats(); s.Entries != 0 {
		t.Errorf("a request older than the window was indexed")
	}
}

// A subscriber gets each new request; one that does not read loses the
// ones past its buffer, counted, and never blocks the index.
func TestIndexSubscribe(t *testing.T) {
	x := NewIndex(IndexOptions{Now: func() time.Time { return t0 }})
	s := x.Subscribe(2)
	for i := range 5 {
		x.Add(req("192.0.2.1", "GET", fmt.Sprintf("/%d", i), t0, 200, ""))
	}
	if r := <-s.C; r.Path != "/0" {
		t.Errorf("first request %q", r.Path)
	}
	if s.Dropped() != 3 {
		t.Errorf("dropped %d, want 3", s.Dropped())
	}
	s.Close()
	<-s.C
	if _, ok := <-s.C; ok {
		t.Error("C not closed")
	}
	x.Add(req("192.0.2.1", "GET", "/after", t0, 200, ""))
	s.Close()
}

func TestRanAround(t *testing.T) {
	born := t0.Add(500 * time.Millisecond)
	for _, tt := range []struct {
		stamp Stamp
		at    time.Duration
		dur   time.Duration
		want  bool
	}{
		{StampStart, 0, 0, true}, {StampStart, -20 * time.Second, 0, true}, {StampStart, -31 * time.Second, 0, false},
		{StampStart, time.Second, 0, false},
		{StampEnd, 0, 0, true}, {StampEnd, 20 * time.Second, 0, true}, {StampEnd, -time.Second, 0, false},
		{StampEnd, 20 * time.Second, 5 * time.Second, false}, {StampEnd, 4 * time.Second, 5 * time.Second, true},
		{StampUnknown, -20 * time.Second, 0, true}, {StampUnknown, 20 * time.Second, 0, true},
	} {
		r := Request{Time: t0.Add(tt.at), Stamp: tt.stamp, Duration: tt.dur}
		if got := RanAround(&r, born, 30*time.Second); got != tt.want {
			t.Errorf("stamp %d at %v duration %v: %v, want %v", tt.stamp, tt.at, tt.dur, got, tt.want)
		}
	}
}

func TestURLFor(t *testing.T) {
	for _, tt := range []struct{ root, url, file, want string }{
		{"/srv/www", "/", "/srv/www/up/x.php", "/up/x.php"},
		{"/srv/www/", "/shop", "/srv/www/up/x.php", "/shop/up/x.php"},
		{"/srv/www", "", "/srv/www/x.php", "/x.php"},
		{"/srv/www", "/", "/srv/wwwx/x.php", ""},
		{"/srv/www", "/", "/srv/www/../etc/passwd", ""},
	} {
		if got := URLFor(tt.root, tt.url, tt.file); got != tt.want {
			t.Errorf("URLFor(%q, %q, %q) = %q, want %q", tt.root, tt.url, tt.file, got, tt.want)
		}
	}
}

// A root served by two logs: the report counts the requests of both, and
// answers from the later of their horizons.
func TestReportOf(t *testing.T) {
	born := t0.Add(10 * time.Minute)
	now := born.Add(time.Minute)
	a := NewIndex(IndexOptions{Now: func() time.Time { return now }})
	b := NewIndex(IndexOptions{Now: func() time.Time { return now }, MaxBytes: 3 * (entryOverhead + 64)})
	a.Add(req("203.0.113.7", "GET", "/up/x.php", born.Add(-time.Minute), 404, "python"))
	b.Add(req("198.51.100.1", "GET", "/index.php", born.Add(-3*time.Minute), 200, "browser"))
	b.Add(req("203.0.113.7", "POST", "/upload.php", born, 200, "python"))
	b.Add(req("203.0.113.7", "GET", "/up/x.php?c=id", born.Add(time.Second), 200, "python"))
	b.Add(req("192.0.2.9", "GET", "/up/x.php", born.Add(2*time.Second), 200, "curl"))
	rep := ReportOf([]*Index{a, b}, Target{Path: "/up/x.php"}, born, 30*time.Second)
	if rep.Count != 3 || rep.ClientsTotal != 2 || rep.Clients[0].IP != "203.0.113.7" || rep.Clients[0].Count != 2 {
		t.Errorf("report %+v, want 3 requests from 2 clients, 203.0.113.7 first with 2", rep)
	}
	if len(rep.DroppedBy) == 0 || rep.DroppedBy[0].URL != "/upload.php" {
		t.Errorf("dropped_by %+v, want the upload of the second log", rep.DroppedBy)
	}
	// b dropped its first request for memory: it answers from its oldest.
	if want := born; rep.Since == nil || !rep.Since.Equal(want) {
		t.Errorf("since %v, want %v (the later horizon, b's)", rep.Since, want)
	}
}
