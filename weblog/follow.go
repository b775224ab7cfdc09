package weblog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shellwatch/shellwatch/internal/regular"
)

// Follower defaults.
const (
	// DefaultPoll is how often a followed log is read. A poll, not
	// inotify: nginx writes every request with its own write(), so
	// inotify would wake the follower once per request on a busy server
	// (and once per line of every other log in the folder), where a poll
	// costs two syscalls a tick whatever the traffic, and sees rename,
	// copytruncate and a log not yet created the same way. The README
	// ("Access logs") has the figures.
	DefaultPoll = 100 * time.Millisecond
	// DefaultRotateGrace is how long a rotated log must stay quiet before
	// it is closed: the server writes to it until it reopens its logs
	// (nginx on USR1, Apache's graceful restart once its requests end).
	DefaultRotateGrace = 10 * time.Second
)

// Follower follows a live access log: it reads what is appended, and goes
// on through rotation by rename (the old file is read to its end, the new
// one from its start), by copytruncate (the file shrinks, or its first
// bytes change: it is read again from the start), a log removed, and a log
// that does not exist yet. Every line is read once: none lost while the
// follower runs, none read twice.
type Follower struct {
	// Path is the live log.
	Path   string
	Format *Format
	// Handle receives each request, in the order of the lines, from the
	// goroutine of Run, with where its line lies in the log (the zero
	// Position for a line of the warm-up, read from a rotated log).
	Handle func(Request, Position)
	// Warm, when not 0, makes Run first read the requests of the last Warm
	// from the log and its rotated siblings, so an index starts full.
	Warm time.Duration
	// OnLive, when set, is called once from the goroutine of Run, after the
	// warm-up and before the first line appended since the follower
	// started: the requests Handle receives from then on are new.
	OnLive func()
	// Poll is how often the log is read (DefaultPoll).
	Poll time.Duration
	// RotateGrace: see DefaultRotateGrace.
	RotateGrace time.Duration
	// MaxLine is the longest line read (DefaultMaxLine).
	MaxLine int
	// Now is the clock (time.Now).
	Now func() time.Time
	// Log receives what the follower survives (slog.Default when nil).
	Log *slog.Logger

	lines, unparsed, tooLong, rotations, truncations, errs, polls atomic.Int64
	failMu                                                        sync.Mutex
	lastFail                                                      string // the failure logged last
	buf                                                           []byte // Run's read buffer
}

// FollowStats counts what a follower read, for metrics.
type FollowStats struct {
	Lines, Unparsed, TooLong, Rotations, Truncations, Errors int64
	// Polls counts the reads of the log; after the first one, every line
	// appended is handed on.
	Polls int64
}

// Stats returns the counts so far; safe to call while Run runs.
func (f *Follower) Stats() FollowStats {
	return FollowStats{Lines: f.lines.Load(), Unparsed: f.unparsed.Load(), TooLong: f.tooLong.Load(),
		Rotations: f.rotations.Load(), Truncations: f.truncations.Load(), Errors: f.errs.Load(), Polls: f.polls.Load()}
}

// tail is one open file of the log, read up to offset.
type tail struct {
	file    *os.File
	dev     uint64
	ino     uint64
	offset  int64
	head    []byte // the file's first bytes when first read: copytruncate shows as a change
	last    []byte // the bytes read last, up to offset: so does a file rewritten past it
	partial []byte // the start of a line whose '\n' has not come yet
	skip    bool   // the current line is over MaxLine: read over to its '\n'
	quiet   time.Time
}

// Run follows the log until ctx is done, then returns nil; it returns an
// error only for a follower that cannot start (no Format or Handle).
func (f *Follower) Run(ctx context.Context) error {
	if f.Format == nil || f.Handle == nil {
		return errors.New("weblog: a Follower needs a Format and a Handle")
	}
	if f.Poll <= 0 {
		f.Poll = DefaultPoll
	}
	if f.RotateGrace <= 0 {
		f.RotateGrace = DefaultRotateGrace
	}
	if f.MaxLine <= 0 {
		f.MaxLine = DefaultMaxLine
	}
	if f.Now == nil {
		f.Now = time.Now
	}
	if f.Log == nil {
		f.Log = slog.Default()
	}
	cur, err := f.open(true)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.fail("open", err)
	}
	if cur != nil && f.Warm > 0 {
		f.warm(ctx, cur)
	}
	if f.OnLive != nil {
		f.OnLive()
	}
	var old []*tail
	defer func() {
		for _, t := range append(old, cur) {
			if t != nil {
				t.file.Close()
			}
		}
	}()
	tick := time.NewTicker(f.Poll)
	defer tick.Stop()
	for {
		old = f.drainOld(old)
		cur, old = f.step(cur, old)
		f.polls.Add(1)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// step reads the current file and checks the path for a rotation.
func (f *Follower) step(cur *tail, old []*tail) (*tail, []*tail) {
	if cur == nil {
		t, err := f.open(false)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				f.fail("open", err)
			}
			return nil, old
		}
		cur = t
	}
	f.read(cur)
	st, err := os.Stat(f.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return cur, old // moved away, nothing new yet: the old file may still be written
	case err != nil:
		f.fail("stat", err)
		return cur, old
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	if sys == nil || (sys.Dev == cur.dev && sys.Ino == cur.ino) {
		return cur, old
	}
	// Rotated by rename: the old file is read on until it is quiet, the
	// new one from its start.
	f.rotations.Add(1)
	cur.quiet = f.Now()
	old = append(old, cur)
	next, err := f.open(false)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			f.fail("open", err)
		}
		return nil, old
	}
	f.read(next)
	return next, old
}

// drainOld reads the rotated files still open and closes those quiet for
// RotateGrace, handing on a last line that has no '\n'.
func (f *Follower) drainOld(old []*tail) []*tail {
	kept := old[:0]
	for _, t := range old {
		if f.read(t) {
			t.quiet = f.Now()
		}
		if f.Now().Sub(t.quiet) < f.RotateGrace {
			kept = append(kept, t)
			continue
		}
		if len(t.partial) > 0 && !t.skip {
			f.emit(t.partial, f.position(t, t.offset))
		}
		t.file.Close()
	}
	return kept
}

// open opens the log at Path; atEnd starts it at its end (the state of the
// log when the follower starts is the warm-up's or nobody's), else at 0.
func (f *Follower) open(atEnd bool) (*tail, error) {
	file, err := regular.Open(f.Path)
	if err != nil {
		return nil, err
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	sys := st.Sys().(*syscall.Stat_t)
	t := &tail{file: file, dev: sys.Dev, ino: sys.Ino}
	if atEnd {
		t.offset = st.Size()
	}
	t.head = f.headOf(t)
	return t, nil
}

// headOf reads the first bytes of t's file, at most markLen.
func (f *Follower) headOf(t *tail) []byte {
	buf := make([]byte, markLen)
	n, _ := t.file.ReadAt(buf, 0)
	return buf[:n]
}

// read reads t from its offset to the end and hands on each whole line.
// It reports whether anything was read.
func (f *Follower) read(t *tail) bool {
	st, err := t.file.Stat()
	if err != nil {
		f.fail("stat", err)
		return false
	}
	if st.Size() < t.offset || f.rewritten(t) {
		// copytruncate: the file was emptied (and maybe written again)
		// under the same name and inode; what is in it now is new.
		f.truncations.Add(1)
		t.offset, t.partial, t.skip, t.last = 0, t.partial[:0], false, t.last[:0]
		t.head = f.headOf(t)
	}
	if f.buf == nil {
		f.buf = make([]byte, 256<<10)
	}
	any := false
	for {
		n, err := t.file.ReadAt(f.buf, t.offset)
		if n > 0 {
			any = true
			t.offset += int64(n)
			if len(t.head) < markLen {
				t.head = f.headOf(t)
			}
			t.last = append(t.last, f.buf[max(0, n-markLen):n]...)
			t.last = t.last[max(0, len(t.last)-markLen):]
			f.split(t, f.buf[:n], t.offset-int64(n))
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				f.fail("read", err)
			}
			return any
		}
	}
}

// markLen is how many bytes of a file's start, and of what was read last,
// the follower keeps to tell a file rewritten under it.
const markLen = 64

// rewritten reports whether the first bytes of t's file, or the last ones
// read, are not those read before: a copytruncate followed by more writes
// than were read. Either changing shows a rewrite; both are checked
// because either alone can look unchanged (a server's first line after
// the truncation may well be the old first one: the same client asking for
// the same page in the same second).
func (f *Follower) rewritten(t *tail) bool {
	return changedAt(t.file, t.head, 0) || changedAt(t.file, t.last, t.offset-int64(len(t.last)))
}

// changedAt reports whether r no longer holds want at off.
func changedAt(r io.ReaderAt, want []byte, off int64) bool {
	if len(want) == 0 {
		return false
	}
	var buf [markLen]byte
	n, _ := r.ReadAt(buf[:len(want)], off)
	return !bytes.Equal(buf[:n], want)
}

// split hands on the whole lines of chunk, read at offset at of t's file,
// keeping a line's start until its '\n' comes, at most MaxLine bytes of it.
func (f *Follower) split(t *tail, chunk []byte, at int64) {
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			if !t.skip {
				if len(t.partial)+len(chunk) > f.MaxLine {
					t.skip, t.partial = true, t.partial[:0]
					f.tooLong.Add(1)
				} else {
					t.partial = append(t.partial, chunk...)
				}
			}
			return
		}
		line := chunk[:i]
		chunk = chunk[i+1:]
		at += int64(i) + 1
		pos := f.position(t, at)
		switch {
		case t.skip:
			t.skip = false
		case len(t.partial) > 0:
			if len(t.partial)+len(line) > f.MaxLine {
				f.tooLong.Add(1)
			} else {
				f.emit(append(t.partial, line...), pos)
			}
			t.partial = t.partial[:0]
		case len(line) > f.MaxLine:
			f.tooLong.Add(1)
		default:
			f.emit(line, pos)
		}
	}
}

func (f *Follower) emit(line []byte, pos Position) {
	f.lines.Add(1)
	r, err := f.Format.Parse(line)
	if err != nil {
		f.unparsed.Add(1)
		return
	}
	f.Handle(r, pos)
}

// Position is where a followed request's line lies: its file (device and
// inode), the copytruncates the follower had seen when it read it (a file
// emptied under the same inode starts its offsets again), and the offset
// just past the line's end. The zero Position is unknown (a line read back
// from a rotated log). It is handed beside the Request, not in it: an
// Index keeps hundreds of thousands of Requests and needs none.
type Position struct {
	Dev, Ino uint64
	Epoch    int64
	End      int64
}

func (f *Follower) position(t *tail, end int64) Position {
	return Position{Dev: t.dev, Ino: t.ino, Epoch: f.truncations.Load(), End: end}
}

// Mark returns where the log ends now: the file at Path and its size, in
// the follower's current epoch. A line whose Position is After it was
// written after the call. ok is false when the log cannot be looked at.
// Safe to call while Run runs.
func (f *Follower) Mark() (m Position, ok bool) {
	epoch := f.truncations.Load()
	var st syscall.Stat_t
	if err := syscall.Stat(f.Path, &st); err != nil {
		return Position{}, false
	}
	return Position{Dev: uint64(st.Dev), Ino: st.Ino, Epoch: epoch, End: st.Size}, true
}

// After reports whether a line at p was written after mark m, and known
// whether the two can be told apart: the same file, read in the same
// epoch (no copytruncate seen since the mark), and p known.
func (p Position) After(m Position) (after, known bool) {
	if p.Dev == 0 && p.Ino == 0 || p.Dev != m.Dev || p.Ino != m.Ino || p.Epoch != m.Epoch {
		return false, false
	}
	return p.End > m.End, true
}

// fail counts a failure, and logs it when it differs from the last one
// logged: a log that stays unreadable is said once, not at every poll.
func (f *Follower) fail(op string, err error) {
	f.errs.Add(1)
	msg := op + ": " + err.Error()
	f.failMu.Lock()
	repeat := msg == f.lastFail
	f.lastFail = msg
	f.failMu.Unlock()
	if !repeat {
		f.Log.Warn("access log: "+op+" failed (said once until it changes)", "path", f.Path, "err", err)
	}
}

// warm reads the requests of the last Warm before cur's end: from the
// rotated siblings that reach into that time, then from cur up to where
// following starts.
func (f *Follower) warm(ctx context.Context, cur *tail) {
	cutoff := f.Now().Add(-f.Warm)
	files, err := Rotated(f.Path)
	if err != nil {
		f.fail("list rotated files", err)
		return
	}
	if len(files) > 0 && files[len(files)-1] == f.Path {
		files = files[:len(files)-1]
	}
	// The oldest file needed is the newest whose first request is not
	// after the cutoff; when the live log starts after it, siblings too.
	start := len(files)
	if first, ok := f.firstTime(cur.file); !ok || first.After(cutoff) {
		for start > 0 {
			start--
			if first, ok := f.firstTimeOf(files[start]); ok && !first.After(cutoff) {
				break
			}
		}
	}
	for _, p := range files[start:] {
		if ctx.Err() != nil {
			return
		}
		f.warmFile(p, cutoff)
	}
	from := f.seekTime(cur.file, cur.offset, cutoff)
	section := io.NewSectionReader(cur.file, from, cur.offset-from)
	f.warmReader(section, cutoff)
}

func (f *Follower) warmFile(path string, cutoff time.Time) {
	rc, err := OpenLog(path)
	if err != nil {
		f.fail("open", fmt.Errorf("rotated log: %w", err))
		return
	}
	defer rc.Close()
	f.warmReader(rc, cutoff)
}

func (f *Follower) warmReader(r io.Reader, cutoff time.Time) {
	lr := NewLineReader(r, f.MaxLine)
	for {
		line, err := lr.Next()
		if err != nil {
			f.tooLong.Add(lr.TooLong())
			return
		}
		f.lines.Add(1)
		req, err := f.Format.Parse(line)
		if err != nil {
			f.unparsed.Add(1)
			continue
		}
		if !req.Time.Before(cutoff) {
			f.Handle(req, Position{})
		}
	}
}

// firstTime returns the time of the first request of r that parses, among
// its first lines.
func (f *Follower) firstTime(r io.ReaderAt) (time.Time, bool) {
	return f.timeAfter(r, 0)
}

func (f *Follower) firstTimeOf(path string) (time.Time, bool) {
	rc, err := OpenLog(path)
	if err != nil {
		return time.Time{}, false
	}
	defer rc.Close()
	return f.firstParsedTime(NewLineReader(rc, f.MaxLine))
}

// firstParsedTime returns the time of the first of the next 16 lines of lr
// that parses.
func (f *Follower) firstParsedTime(lr *LineReader) (time.Time, bool) {
	for range 16 {
		line, err := lr.Next()
		if err != nil {
			return time.Time{}, false
		}
		if req, err := f.Format.Parse(line); err == nil {
			return req.Time, true
		}
	}
	return time.Time{}, false
}

// timeAfter returns the time of the first request that parses among the
// lines starting after off (at off itself when off is 0).
func (f *Follower) timeAfter(r io.ReaderAt, off int64) (time.Time, bool) {
	lr := NewLineReader(io.NewSectionReader(r, off, 1<<40), f.MaxLine)
	if off > 0 {
		if _, err := lr.Next(); err != nil { // the line off falls into
			return time.Time{}, false
		}
	}
	return f.firstParsedTime(lr)
}

// seekTime returns an offset of a line start in r before end from which on
// requests are at cutoff or later (the log is in time order, near enough:
// a bisection, then the warm-up filters line by line).
func (f *Follower) seekTime(r io.ReaderAt, end int64, cutoff time.Time) int64 {
	lo, hi := int64(0), end
	for hi-lo > 256<<10 {
		mid := lo + (hi-lo)/2
		t, ok := f.timeAfter(r, mid)
		if !ok || !t.Before(cutoff) {
			hi = mid
		} else {
			lo = mid
		}
	}
	if lo == 0 {
		return 0
	}
	// Start at the line after lo: timeAfter(lo) was before the cutoff.
	buf := make([]byte, f.MaxLine)
	n, _ := r.ReadAt(buf, lo)
	if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
		return lo + int64(i) + 1
	}
	return lo
}
