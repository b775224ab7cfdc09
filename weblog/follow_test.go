package weblog

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/internal/weblogtest"
)

var t0 = time.Date(2025, 12, 2, 10, 0, 0, 0, time.UTC)

// line returns log line n: a request for /n/<n> at t0 + n seconds.
func line(n int) string {
	return weblogtest.Line("192.0.2.1", t0.Add(time.Duration(n)*time.Second), "GET", fmt.Sprintf("/n/%d", n), 200, 1, "ua")
}

// appendLines appends lines from..to-1 to path as a server does, one
// write each.
func appendLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for n := from; n < to; n++ {
		if _, err := f.WriteString(line(n)); err != nil {
			t.Fatal(err)
		}
	}
}

// collector gathers what a follower hands on.
type collector struct {
	mu   sync.Mutex
	seen map[string]int
	n    int
	pos  map[string]Position // by path
}

func (c *collector) handle(r Request, pos Position) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = make(map[string]int)
	}
	c.seen[r.Path]++
	c.n++
	if c.pos == nil {
		c.pos = make(map[string]Position)
	}
	c.pos[r.Path] = pos
}

// after reports whether line n was written after mark m, and whether that
// could be told.
func (c *collector) after(n int, m Position) (after, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pos[fmt.Sprintf("/n/%d", n)].After(m)
}

// waitAll waits until lines from..to-1 were all handed on, and fails if any
// came twice or a line outside them came.
func (c *collector) waitAll(t *testing.T, from, to int) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, fmt.Sprintf("lines %d to %d", from, to-1), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for n := from; n < to; n++ {
			if c.seen[fmt.Sprintf("/n/%d", n)] == 0 {
				return false
			}
		}
		return true
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, k := range c.seen {
		if k != 1 {
			t.Errorf("%s handed on %d times", p, k)
		}
	}
	if c.n != to-from {
		t.Errorf("%d requests handed on, want %d", c.n, to-from)
	}
}

// follow runs a follower of path until the test ends, and checks that its
// goroutine is gone after.
func follow(t *testing.T, f *Follower) *collector {
	t.Helper()
	return followWith(t, f, &collector{})
}

func followWith(t *testing.T, f *Follower, c *collector) *collector {
	t.Helper()
	if f.Format == nil {
		f.Format = mustFormat(t, "nginx:combined")
	}
	f.Handle = c.handle
	if f.Poll == 0 {
		f.Poll = 5 * time.Millisecond
	}
	if f.RotateGrace == 0 {
		f.RotateGrace = 300 * time.Millisecond
	}
	before := testenv.RunningGoroutines()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		testenv.NoGoroutinesLeft(t, before, 5*time.Second)
	})
	testenv.Eventually(t, 10*time.Second, "the follower's first poll", func() bool { return f.Stats().Polls > 0 })
	return c
}

// The server renames the log, keeps writing to the old file until it
// reopens, then writes to the new one; logrotate gzips the old file and
// removes it. Every line is read once.
func TestFollowRotationByRenameThenGzip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	appendLines(t, path, -5, 0) // there before the follower: not handed on
	// The old file's grace (RotateGrace of quiet) passes when the test
	// says, not on the wall clock: a test held off the CPU for longer than
	// the grace between its writes to the old file would otherwise see the
	// late ones never read, the old file closed before they came.
	var elapsed atomic.Int64
	start := time.Now()
	f := &Follower{Path: path, Now: func() time.Time { return start.Add(time.Duration(elapsed.Load())) }}
	c := follow(t, f)
	appendLines(t, path, 0, 100)
	c.waitAll(t, 0, 100)

	old := path + ".1"
	if err := os.Rename(path, old); err != nil {
		t.Fatal(err)
	}
	appendLines(t, old, 100, 150) // the server has not reopened yet
	appendLines(t, path, 150, 200)
	appendLines(t, old, 200, 210) // a request that ended late, on the old file
	testenv.GzipAndRemove(t, old)
	appendLines(t, path, 210, 300)
	c.waitAll(t, 0, 300)
	elapsed.Store(int64(time.Hour)) // the old file has been quiet for its grace: closed
	// One more line: a full poll of the old and the new file has passed.
	appendLines(t, path, 300, 301)
	c.waitAll(t, 0, 301)
	if s := f.Stats(); s.Rotations != 1 || s.Truncations != 0 || s.Unparsed != 0 {
		t.Errorf("stats %+v, want 1 rotation, no truncation, nothing unparsed", s)
	}
}

// copytruncate: the log is copied away and emptied under the same inode.
// Written again past where the follower had read before it looks, the
// file's first bytes tell it apart.
func TestFollowCopyTruncate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after int // lines written after the truncation
	}{{"fewer lines after", 20}, {"more lines after than before", 400}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "access.log")
			appendLines(t, path, -3, 0)
			f := &Follower{Path: path, Poll: 200 * time.Millisecond}
			c := follow(t, f)
			appendLines(t, path, 0, 100)
			c.waitAll(t, 0, 100)
			copyTruncate(t, path)
			appendLines(t, path, 100, 100+tc.after)
			c.waitAll(t, 0, 100+tc.after)
			if s := f.Stats(); s.Truncations != 1 || s.Rotations != 0 {
				t.Errorf("stats %+v, want 1 truncation", s)
			}
		})
	}
}

// copyTruncate rotates path as logrotate's copytruncate does.
func copyTruncate(t *testing.T, path string) {
	t.Helper()
	copyFile(t, path, path+".1")
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A log that does not exist when the follower starts is read from its
// first line once it appears; one removed and created again too.
func TestFollowLogCreatedLater(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	f := &Follower{Path: path}
	c := follow(t, f)
	appendLines(t, path, 0, 50)
	c.waitAll(t, 0, 50)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, 50, 60)
	c.waitAll(t, 0, 60)
}

// A partial line (the server's write cut in two) is handed on once whole;
// a line past MaxLine is skipped and counted, and the next one is read.
func TestFollowPartialAndLongLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f := &Follower{Path: path, MaxLine: 1024}
	c := follow(t, f)
	l := line(0)
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.WriteString(l[:20])
	polls := f.Stats().Polls
	testenv.Eventually(t, 5*time.Second, "a poll after the half line", func() bool { return f.Stats().Polls >= polls+2 })
	if f.Stats().Lines != 0 {
		t.Fatal("half a line was handed on")
	}
	w.WriteString(l[20:])
	for range 3 {
		w.WriteString(string(make([]byte, 600)))
	}
	w.WriteString("\n")
	appendLines(t, path, 1, 3)
	c.waitAll(t, 0, 3)
	if s := f.Stats(); s.TooLong != 1 {
		t.Errorf("stats %+v, want 1 line too long", s)
	}
}

// Warm: the requests of the last Warm are read at start, from the rotated
// siblings that reach into that time and from the live log (bisected when
// large), and no older one.
func TestFollowWarmStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	// .2.gz: lines 0-999, .1: 1000-1999, live: 2000-9999 (one a second).
	appendLines(t, path+".2", 0, 1000)
	testenv.GzipAndRemove(t, path+".2")
	appendLines(t, path+".1", 1000, 2000)
	appendLines(t, path, 2000, 10000)
	now := t0.Add(10000 * time.Second)
	f := &Follower{Path: path, Warm: time.Duration(8500) * time.Second, Now: func() time.Time { return now }}
	c := follow(t, f)
	c.waitAll(t, 1500, 10000) // cutoff: line 1500
	appendLines(t, path, 10000, 10010)
	c.waitAll(t, 1500, 10010)

	// Within the live log alone, past the bisection's granularity.
	dir = t.TempDir()
	path = filepath.Join(dir, "access.log")
	appendLines(t, path, 0, 10000)
	f = &Follower{Path: path, Warm: 100 * time.Second, Now: func() time.Time { return now }}
	c = follow(t, f)
	c.waitAll(t, 9900, 10000)
}

// OnLive comes once, after every warm-up request and before the first
// line appended since the start: a follower's user can tell the requests
// read back from the new ones.
func TestFollowOnLive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	appendLines(t, path, 0, 100)
	now := t0.Add(100 * time.Second)
	var mu sync.Mutex
	warmed, calls := -1, 0
	f := &Follower{Path: path, Warm: 50 * time.Second, Now: func() time.Time { return now }}
	var c *collector
	f.OnLive = func() {
		mu.Lock()
		defer mu.Unlock()
		c.mu.Lock()
		warmed = c.n
		c.mu.Unlock()
		calls++
	}
	c = &collector{}
	c = followWith(t, f, c)
	appendLines(t, path, 100, 110)
	c.waitAll(t, 50, 110)
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 || warmed != 50 {
		t.Errorf("OnLive called %d times, after %d requests; want once, after the 50 of the warm-up", calls, warmed)
	}
}

// copytruncate, and the server writes the same first line again and more
// than was read before the follower looks: the bytes read last are not
// there any more, so the file is read again from its start.
func TestFollowCopyTruncateSameHead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	same := weblogtest.Line("192.0.2.1", t0, "GET", "/index.html", 200, 1, "ua")
	if err := os.WriteFile(path, []byte(same+line(1)), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	f := &Follower{Path: path, Format: mustFormat(t, "nginx:combined"), Handle: c.handle, MaxLine: DefaultMaxLine}
	cur, err := f.open(false)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.file.Close()
	f.read(cur)
	// Truncated, then the same first line and a longer one.
	if err := os.WriteFile(path, []byte(same+line(123456789)), 0o644); err != nil {
		t.Fatal(err)
	}
	f.read(cur)
	if c.seen["/n/123456789"] != 1 || c.seen["/index.html"] != 2 || f.Stats().Unparsed != 0 || f.Stats().Truncations != 1 {
		t.Errorf("seen %v, stats %+v: want the rewritten file read again from its start", c.seen, f.Stats())
	}
}

// A log that stays unreadable (here a folder where the log should be) is
// said once in the agent's log, not at every poll; the failures are still
// counted.
func TestFollowUnreadableSaidOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs testenv.Buffer
	f := &Follower{Path: path, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	follow(t, f)
	testenv.Eventually(t, 30*time.Second, "20 failed polls", func() bool { return f.Stats().Errors >= 20 })
	if n := strings.Count(logs.String(), "access log:"); n != 1 {
		t.Errorf("%d warnings for one unreadable log over 20 polls, want 1:\n%s", n, logs.String())
	}
}

// A mark tells the lines written after it from those before, however late
// the follower reads them; after a copytruncate the two cannot be told
// apart by offset, and say so.
func TestFollowMark(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	appendLines(t, path, -3, 0)
	f := &Follower{Path: path, Poll: 200 * time.Millisecond}
	c := follow(t, f)
	appendLines(t, path, 0, 5)
	m, ok := f.Mark()
	if !ok {
		t.Fatal("no mark of an existing log")
	}
	appendLines(t, path, 5, 10)
	c.waitAll(t, 0, 10)
	for n := range 10 {
		if after, known := c.after(n, m); !known || after != (n >= 5) {
			t.Errorf("line %d: after the mark %v (known %v), want %v", n, after, known, n >= 5)
		}
	}
	copyTruncate(t, path)
	appendLines(t, path, 10, 12)
	c.waitAll(t, 0, 12)
	if _, known := c.after(11, m); known {
		t.Error("a line after a copytruncate is compared by offset with a mark before it")
	}
	if _, ok := (&Follower{Path: filepath.Join(dir, "none.log")}).Mark(); ok {
		t.Error("a mark of a log that does not exist")
	}
}
