package baseline

import (
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/state"
)

// clock is a settable clock for deploy windows and approvals.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// testBaseline is a baseline in its own temp folder, reopened by reopen.
type testBaseline struct {
	*Baseline
	t     *testing.T
	path  string
	clock *clock
	logs  *testenv.Buffer
}

func openTest(t *testing.T) *testBaseline {
	t.Helper()
	tb := &testBaseline{t: t, path: filepath.Join(t.TempDir(), "state", "state.db"), clock: newClock(), logs: &testenv.Buffer{}}
	tb.open()
	t.Cleanup(func() {
		if tb.Baseline != nil {
			tb.Close()
		}
	})
	return tb
}

func (tb *testBaseline) open() {
	tb.t.Helper()
	b, reset, err := Open(tb.path, Options{Logger: slog.New(slog.NewTextHandler(tb.logs, nil)), Now: tb.clock.now})
	if err != nil || reset != nil {
		tb.t.Fatalf("open %s: %v (reset %v)", tb.path, err, reset)
	}
	tb.Baseline = b
}

// reopen closes the baseline and opens it again: a restart.
func (tb *testBaseline) reopen() {
	tb.t.Helper()
	if err := tb.Close(); err != nil {
		tb.t.Fatal(err)
	}
	tb.Baseline = nil
	tb.open()
}

// stored reads path's record from the database itself, not the writer.
func (tb *testBaseline) stored(path string) (state.File, bool) {
	tb.t.Helper()
	f, ok, err := tb.db.Get(path)
	if err != nil {
		tb.t.Fatal(err)
	}
	return f, ok
}

// seen is what a scan of path would hand to Remember: its lstat and a
// content hash of our choosing.
func seen(t *testing.T, path string, sum byte) state.File {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := state.StatOf(info)
	return state.File{Path: path, Dev: s.Dev, Inode: s.Inode, Size: s.Size, Mode: s.Mode, UID: s.UID, GID: s.GID,
		MTime: s.MTime, CTime: s.CTime, SHA256: [32]byte{sum}}
}

// Remember keeps when a file was first seen and, while its content stays
// accepted, when it was accepted; a new content is accepted anew or not at
// all; the rules and severity are stored as seen.
func TestRemember(t *testing.T) {
	b := openTest(t)
	p := "/srv/www/index.php"
	t0 := b.clock.now()
	b.Remember(state.File{Path: p, Inode: 1, SHA256: [32]byte{1}}, nil, true)
	first := b.Record(p)
	if first == nil || !first.FirstSeen.Equal(t0) || !first.AcceptedAt.Equal(t0) || !first.Accepted {
		t.Fatalf("first record %+v", first)
	}

	t1 := b.clock.advance(time.Minute)
	b.Remember(state.File{Path: p, Inode: 1, SHA256: [32]byte{1}}, first, true)
	same := b.Record(p)
	if !same.FirstSeen.Equal(t0) || !same.AcceptedAt.Equal(t0) || !same.LastSeen.Equal(t1) {
		t.Errorf("same content again: first %v accepted %v last %v; want %v %v %v", same.FirstSeen, same.AcceptedAt, same.LastSeen, t0, t0, t1)
	}

	t2 := b.clock.advance(time.Minute)
	b.Remember(state.File{Path: p, Inode: 1, SHA256: [32]byte{2}}, same, true)
	if r := b.Record(p); !r.AcceptedAt.Equal(t2) || !r.FirstSeen.Equal(t0) {
		t.Errorf("new content accepted: %+v, want accepted at %v, first seen %v", r, t2, t0)
	}

	b.clock.advance(time.Minute)
	b.Remember(state.File{Path: p, Inode: 1, SHA256: [32]byte{3}, Severity: finding.SeverityHigh, Rules: []string{"php_eval"}}, b.Record(p), false)
	b.Flush()
	r, ok := b.stored(p)
	if !ok || r.Accepted || !r.AcceptedAt.IsZero() || !r.FirstSeen.Equal(t0) || r.Severity != finding.SeverityHigh || len(r.Rules) != 1 {
		t.Errorf("unaccepted change, committed: %+v", r)
	}
}

// The writer lets a reader see its own writes at once, commits them behind,
// and a close commits what is pending.
func TestRecordsWrittenBehind(t *testing.T) {
	b := openTest(t)
	b.Remember(state.File{Path: "/srv/www/a.php", Inode: 1}, nil, true)
	if b.Record("/srv/www/a.php") == nil {
		t.Fatal("a record just remembered is not read back")
	}
	b.Flush()
	if _, ok := b.stored("/srv/www/a.php"); !ok {
		t.Fatal("Flush returned before the record was committed")
	}
	b.Forget("/srv/www/a.php")
	if b.Record("/srv/www/a.php") != nil {
		t.Error("a forgotten record is still read back")
	}
	b.Remember(state.File{Path: "/srv/www/b.php", Inode: 2}, nil, true)
	b.reopen()
	if _, ok := b.stored("/srv/www/a.php"); ok {
		t.Error("a forgotten record is back after a restart")
	}
	if _, ok := b.stored("/srv/www/b.php"); !ok {
		t.Error("a record pending at Close was lost")
	}
	if n, err := b.Count(); err != nil || n != 1 {
		t.Errorf("Count = %d, %v; want 1", n, err)
	}
}

// Removed drops a file's record, or a folder's records pending and
// committed, and nothing beside them; inside a window of the root, what had
// a record is listed as removed, what Forget drops (a quarantine) is not.
func TestRemoved(t *testing.T) {
	b := openTest(t)
	root := "/srv/www"
	for _, p := range []string{"/srv/www/a/x.php", "/srv/www/a/sub/y.php", "/srv/www/ab.php", "/srv/www/b.php", "/srv/www/q.php"} {
		b.Remember(state.File{Path: p, Inode: 1}, nil, true)
	}
	b.Flush()
	b.Remember(state.File{Path: "/srv/www/a/pending.php", Inode: 1}, nil, true) // not committed yet
	b.Begin([]string{root}, time.Hour, "test")

	b.Removed(root, "/srv/www/a")
	b.Removed(root, "/srv/www/b.php")
	b.Removed(root, "/srv/www/never-recorded.php")
	b.Forget("/srv/www/q.php") // quarantined
	b.Removed(root, "/srv/www/q.php")
	for p, want := range map[string]bool{"/srv/www/a/x.php": false, "/srv/www/a/sub/y.php": false, "/srv/www/a/pending.php": false,
		"/srv/www/b.php": false, "/srv/www/ab.php": true, "/srv/www/q.php": false} {
		if got := b.Record(p) != nil; got != want {
			t.Errorf("%s recorded: %v, want %v", p, got, want)
		}
	}
	sum, ok := b.End(root)
	want := "/srv/www/a/pending.php|/srv/www/a/sub/y.php|/srv/www/a/x.php|/srv/www/b.php"
	removed := append([]string(nil), sum.Removed...)
	sort.Strings(removed)
	if !ok || strings.Join(removed, "|") != want {
		t.Errorf("window removals %q, want %q", removed, want)
	}
}

// The first-baseline marker is per root, kept across restarts, and set only
// once the records written before it are committed.
func TestBuilt(t *testing.T) {
	b := openTest(t)
	if b.Built("/srv/www") {
		t.Fatal("a new baseline says its root is built")
	}
	b.Remember(state.File{Path: "/srv/www/a.php", Inode: 1}, nil, true)
	b.MarkBuilt("/srv/www")
	if _, ok := b.stored("/srv/www/a.php"); !ok {
		t.Error("MarkBuilt before the records written before it were committed")
	}
	b.reopen()
	if !b.Built("/srv/www") || b.Built("/srv/www2") || b.Built("/srv") {
		t.Errorf("after a restart: built %v, /srv/www2 %v, /srv %v; want only /srv/www", b.Built("/srv/www"), b.Built("/srv/www2"), b.Built("/srv"))
	}
}
