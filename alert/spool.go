package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shellwatch/shellwatch/finding"
)

// DefaultMaxSpool is the number of alerts a webhook spool holds before it
// drops low and medium ones.
const DefaultMaxSpool = 10000

// maxSpoolRecord bounds what is read from one spool file: an alert is a few
// kilobytes; anything far larger was not written by us.
const maxSpoolRecord = 4 << 20

// corruptDir is the subdirectory of a spool that unreadable files are moved
// to, so that they are kept for a human but never block the queue.
const corruptDir = "corrupt"

// DefaultMaxHeld is how many alerts a webhook keeps in memory while its
// spool cannot be written (a full or read-only disk, I/O errors).
const DefaultMaxHeld = 1000

// probeName is the file a spool writes, fsyncs and removes to learn that
// its disk takes writes again; one left by a crash is removed at load.
const probeName = "tmp-probe"

// tmpPrefix marks a spool file that is still being written. A crash between
// write and rename leaves one behind; it is replayed if it holds a whole
// alert (the alert was never acknowledged to its sender, but delivering it
// twice is better than never).
const tmpPrefix = "tmp-"

// spoolName matches the final names: a 20-digit sequence number (so names
// sort by arrival) and the alert ID (for the human who lists the spool).
var spoolName = regexp.MustCompile(`^([0-9]{20})-([A-Za-z0-9_-]{1,64})\.json$`)

// spoolEntry is what the spool keeps in memory of one spooled alert: enough
// to order, drop and report it. The alert itself is read from its file when
// it is delivered, so a long backlog of high alerts costs little memory.
type spoolEntry struct {
	seq      uint64
	name     string
	time     time.Time // the alert's Time
	sample   Sample
	inflight bool // claimed by a delivery worker; never dropped meanwhile
	// held is the alert itself while its file could not be written (disk
	// full, read-only, I/O error): it lives in memory only, is delivered
	// from there, and is written as soon as the disk takes it. nil once
	// the alert is on disk.
	held    *Alert
	writing bool // its file is being written from held
	// notBefore and rejections hold back an alert the receiver refused for
	// its own sake (400, 413, 422): the alerts behind it go on meanwhile.
	notBefore  time.Time
	rejections int
}

// spool is a durable FIFO of alerts in one directory. Every alert is on disk
// (file and directory entry fsynced) before add returns, and its file is
// removed only by remove, after the receiver accepted it. When the file
// cannot be written, the alert is held in memory instead (at most maxHeld
// of them) until writeHeld can write it; it is delivered from memory
// meanwhile.
type spool struct {
	dir     string
	max     int
	maxHeld int
	log     *slog.Logger
	d       *os.File // the directory, kept open to fsync renames into it

	mu      sync.Mutex
	nextSeq uint64
	entries []*spoolEntry // sorted by seq

	// added is signalled when an entry may be ready to claim; removed when
	// one left the spool. Both hold at most one pending signal.
	added   chan struct{}
	removed chan struct{}
}

// openSpool opens (creating it 0700 if needed) the spool directory and loads
// what an earlier run left there. It refuses a directory that is a symlink,
// is not owned by us or is writable by anyone else: whoever can write there
// can forge or delete alerts. The returned entries were dropped at once
// because the spool holds more than max.
func openSpool(dir string, max, maxHeld int, log *slog.Logger) (*spool, []spoolEntry, error) {
	if max <= 0 {
		max = DefaultMaxSpool
	}
	if maxHeld <= 0 {
		maxHeld = DefaultMaxHeld
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("spool dir %s: %w", dir, err)
	}
	if err := checkPrivateDir(dir); err != nil {
		return nil, nil, err
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("spool dir %s: %w", dir, err)
	}
	s := &spool{
		dir:     dir,
		max:     max,
		maxHeld: maxHeld,
		log:     log,
		d:       d,
		nextSeq: 1,
		added:   make(chan struct{}, 1),
		removed: make(chan struct{}, 1),
	}
	if err := s.load(); err != nil {
		d.Close()
		return nil, nil, err
	}
	s.mu.Lock()
	dropped := s.dropOverflowLocked()
	s.mu.Unlock()
	s.signal(s.added)
	return s, dropped, nil
}

// checkPrivateDir fails unless dir is a real directory, owned by this
// process's user and writable by nobody else.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("spool dir %s: %w", dir, err)
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("spool dir %s is a symlink; give the real directory", dir)
	case !fi.IsDir():
		return fmt.Errorf("spool dir %s is not a directory", dir)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("spool dir %s is writable by group or others (mode %04o); chmod 0700 it", dir, fi.Mode().Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("spool dir %s is owned by uid %d, not by this process (uid %d)", dir, st.Uid, os.Geteuid())
	}
	return nil
}

// load reads the directory, replays complete files in sequence order and
// moves anything unreadable into corrupt/.
func (s *spool) load() error {
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool dir %s: %w", s.dir, err)
	}
	for _, de := range des {
		name := de.Name()
		if name == corruptDir && de.IsDir() {
			continue
		}
		if name == probeName {
			os.Remove(filepath.Join(s.dir, name))
			continue
		}
		final := strings.TrimPrefix(name, tmpPrefix)
		m := spoolName.FindStringSubmatch(final)
		if m == nil || !de.Type().IsRegular() {
			s.setAside(name, fmt.Errorf("%w: not a spool file", errCorruptRecord))
			continue
		}
		seq, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			s.setAside(name, err)
			continue
		}
		s.nextSeq = max(s.nextSeq, seq+1) // even for a file skipped now: later alerts sort after it
		a, err := s.readFile(name)
		if errors.Is(err, errCorruptRecord) {
			s.setAside(name, err)
			continue
		}
		if err != nil {
			// Not the file's fault (out of file descriptors, I/O error):
			// leave it for the next start rather than call it corrupt.
			s.log.Error("webhook spool: cannot read a spooled alert; it is kept for the next start", "file", filepath.Join(s.dir, name), "error", err)
			continue
		}
		if name != final {
			// A whole alert whose rename did not happen: finish it.
			if err := os.Rename(filepath.Join(s.dir, name), filepath.Join(s.dir, final)); err != nil {
				s.setAside(name, err)
				continue
			}
		}
		s.entries = append(s.entries, newSpoolEntry(seq, final, &a))
	}
	slices.SortFunc(s.entries, func(a, b *spoolEntry) int { return cmpUint(a.seq, b.seq) })
	if err := s.d.Sync(); err != nil {
		return fmt.Errorf("spool dir %s: fsync: %w", s.dir, err)
	}
	if len(s.entries) > 0 {
		s.log.Info("webhook spool replays alerts left by an earlier run", "spool", s.dir, "count", len(s.entries))
	}
	return nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func newSpoolEntry(seq uint64, name string, a *Alert) *spoolEntry {
	return &spoolEntry{seq: seq, name: name, time: a.Time, sample: a.Sample()}
}

// setAside moves an unreadable spool file into corrupt/ so that a human can
// look at it, and logs it by name. It never fails the spool: at worst the
// file stays where it is and is tried again at the next start.
func (s *spool) setAside(name string, why error) {
	src := filepath.Join(s.dir, name)
	cdir := filepath.Join(s.dir, corruptDir)
	if err := os.Mkdir(cdir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		s.log.Error("webhook spool: cannot set aside an unreadable file", "file", src, "reason", why.Error(), "error", err)
		return
	}
	dst := filepath.Join(cdir, name)
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = filepath.Join(cdir, fmt.Sprintf("%s.%d", name, i))
	}
	if err := os.Rename(src, dst); err != nil {
		s.log.Error("webhook spool: cannot set aside an unreadable file", "file", src, "reason", why.Error(), "error", err)
		return
	}
	s.log.Error("webhook spool: unreadable file set aside", "file", src, "moved_to", dst, "reason", why.Error())
}

// errCorruptRecord marks a spool file that will never be readable: it is
// set aside. Other read errors (no file descriptors left, I/O errors) may
// pass, and the file is kept.
var errCorruptRecord = errors.New("corrupt spool record")

// readFile reads and decodes one spool file, without following symlinks.
func (s *spool) readFile(name string) (Alert, error) {
	f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return Alert{}, fmt.Errorf("%w: a symlink", errCorruptRecord)
	}
	if err != nil {
		return Alert{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Alert{}, err
	}
	if !fi.Mode().IsRegular() {
		return Alert{}, fmt.Errorf("%w: not a regular file (%s)", errCorruptRecord, fi.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSpoolRecord+1))
	if err != nil {
		return Alert{}, err
	}
	a, err := decodeSpoolRecord(data)
	if err != nil {
		return Alert{}, fmt.Errorf("%w: %w", errCorruptRecord, err)
	}
	return a, nil
}

// decodeSpoolRecord parses the content of one spool file: one alert in its
// JSON form, as MarshalJSON writes it.
func decodeSpoolRecord(data []byte) (Alert, error) {
	if len(data) > maxSpoolRecord {
		return Alert{}, fmt.Errorf("larger than %d bytes", maxSpoolRecord)
	}
	var a Alert
	if err := json.Unmarshal(data, &a); err != nil {
		return Alert{}, err
	}
	if a.ID == "" {
		return Alert{}, errors.New("alert without an id")
	}
	return a, nil
}

// add writes a to the spool: to a temp file, fsynced, renamed to its final
// name and the directory fsynced, so that it survives a crash once add
// returns. When that write fails, a is held in memory instead and writeErr
// says why (a is not lost; it is delivered from memory, and writeHeld
// writes it later). Then, if the spool holds more than max alerts, it drops
// the oldest low and medium ones (never high or critical ones, so a spool
// of only high and critical alerts grows past max), and if more than
// maxHeld alerts are held in memory, the oldest of those (low and medium
// first); it returns what it dropped. A low alert added to a spool full of
// high ones is so dropped at once. err is set only when a could not even be
// encoded, and is lost.
func (s *spool) add(a *Alert) (dropped []spoolEntry, writeErr, err error) {
	data, err := json.Marshal(a)
	if err != nil {
		return nil, nil, fmt.Errorf("encode alert %s: %w", a.ID, err)
	}
	s.mu.Lock()
	seq := s.nextSeq
	s.nextSeq++
	s.mu.Unlock()

	// The file is written outside the lock: fsync takes milliseconds, and
	// delivery workers must not wait for it.
	name := fmt.Sprintf("%020d-%s.json", seq, fileSafeID(a.ID))
	writeErr = s.writeFile(name, data)

	s.mu.Lock()
	e := newSpoolEntry(seq, name, a)
	if writeErr != nil {
		held := *a
		e.held = &held
	}
	i, _ := slices.BinarySearchFunc(s.entries, seq, func(e *spoolEntry, seq uint64) int { return cmpUint(e.seq, seq) })
	s.entries = slices.Insert(s.entries, i, e)
	dropped = append(s.dropOverflowLocked(), s.dropHeldOverflowLocked()...)
	s.mu.Unlock()
	s.signal(s.added)
	return dropped, writeErr, nil
}

// dropHeldOverflowLocked drops alerts held in memory while there are more
// than maxHeld: the oldest low and medium ones first, then the oldest of
// any severity, for memory must stay bounded. Alerts being delivered or
// written are not dropped.
func (s *spool) dropHeldOverflowLocked() []spoolEntry {
	var dropped []spoolEntry
	for s.heldLocked() > s.maxHeld {
		free := func(e *spoolEntry) bool { return e.held != nil && !e.inflight && !e.writing }
		i := slices.IndexFunc(s.entries, func(e *spoolEntry) bool { return free(e) && e.isDroppable() })
		if i < 0 {
			i = slices.IndexFunc(s.entries, free)
		}
		if i < 0 {
			break
		}
		dropped = append(dropped, *s.entries[i])
		s.entries = slices.Delete(s.entries, i, i+1)
	}
	if len(dropped) > 0 {
		s.signal(s.removed)
	}
	return dropped
}

// heldLocked counts the alerts held in memory.
func (s *spool) heldLocked() int {
	n := 0
	for _, e := range s.entries {
		if e.held != nil {
			n++
		}
	}
	return n
}

// held counts the alerts held in memory, not on disk.
func (s *spool) held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heldLocked()
}

// writeHeld writes the alerts held in memory to disk, oldest first, and
// stops at the first failure, which it returns. With none held, it writes
// and removes a probe file instead: nil means the disk takes writes again.
func (s *spool) writeHeld() error {
	wrote := false
	for {
		s.mu.Lock()
		i := slices.IndexFunc(s.entries, func(e *spoolEntry) bool { return e.held != nil && !e.writing })
		if i < 0 {
			s.mu.Unlock()
			if wrote {
				return nil
			}
			return s.probe()
		}
		e := s.entries[i]
		e.writing = true
		a, name, seq := e.held, e.name, e.seq
		s.mu.Unlock()

		data, err := json.Marshal(a)
		if err == nil {
			err = s.writeFile(name, data)
		}
		s.mu.Lock()
		e.writing = false
		delivered := !slices.ContainsFunc(s.entries, func(e *spoolEntry) bool { return e.seq == seq })
		if err == nil {
			e.held = nil
		}
		s.mu.Unlock()
		if err != nil {
			return err
		}
		wrote = true
		if delivered {
			// Delivered from memory while its file was written: the file
			// must not deliver it again after a restart.
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.log.Error("webhook spool: cannot remove a delivered alert; it will be delivered again after a restart", "file", filepath.Join(s.dir, name), "error", err)
			}
		}
	}
}

// probe writes, fsyncs and removes a small file: whether the spool's disk
// takes writes.
func (s *spool) probe() error {
	path := filepath.Join(s.dir, probeName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("spool %s: %w", path, err)
	}
	_, err = f.Write([]byte("probe\n"))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := os.Remove(path); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("spool %s: %w", path, err)
	}
	return nil
}

// fileSafeID returns id when it can be part of a file name, else "x": the
// file name only helps humans, the alert inside is what counts.
func fileSafeID(id string) string {
	if spoolName.MatchString("00000000000000000000-" + id + ".json") {
		return id
	}
	return "x"
}

func (s *spool) writeFile(name string, data []byte) error {
	tmp := filepath.Join(s.dir, tmpPrefix+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("spool %s: %w", tmp, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool %s: %w", tmp, err)
	}
	if err := s.d.Sync(); err != nil {
		// The caller holds the alert in memory on an error: its file,
		// renamed already, must not deliver it a second time after a
		// restart.
		os.Remove(filepath.Join(s.dir, name))
		return fmt.Errorf("spool dir %s: fsync: %w", s.dir, err)
	}
	return nil
}

// isDroppable says whether a full spool may drop the alert: only low and
// medium ones (and those without a severity), never one being delivered.
func (e *spoolEntry) isDroppable() bool {
	return !e.inflight && e.sample.Severity < finding.SeverityHigh && e.sample.Kind != KindAlertsDropped
}

// dropOverflowLocked drops the oldest droppable entries while the spool
// holds more than max, and returns what it dropped.
func (s *spool) dropOverflowLocked() []spoolEntry {
	var dropped []spoolEntry
	for len(s.entries) > s.max {
		i := slices.IndexFunc(s.entries, (*spoolEntry).isDroppable)
		if i < 0 {
			break // only high, critical or in-flight alerts: exceed the bound
		}
		e := s.entries[i]
		s.entries = slices.Delete(s.entries, i, i+1)
		if err := os.Remove(filepath.Join(s.dir, e.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Error("webhook spool: cannot remove a dropped alert", "file", filepath.Join(s.dir, e.name), "error", err)
		}
		dropped = append(dropped, *e)
	}
	if len(dropped) > 0 {
		s.signal(s.removed)
	}
	return dropped
}

// claim returns the oldest entry that no worker is delivering, marked as in
// flight, or false when there is none.
func (s *spool) claim() (spoolEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for i, e := range s.entries {
		if !e.inflight && !now.Before(e.notBefore) {
			e.inflight = true
			if slices.ContainsFunc(s.entries[i+1:], func(e *spoolEntry) bool { return !e.inflight }) {
				s.signal(s.added) // wake another worker for the rest
			}
			return *e, true
		}
	}
	return spoolEntry{}, false
}

// release gives a claimed entry back after a failed attempt.
func (s *spool) release(seq uint64) {
	s.mu.Lock()
	for _, e := range s.entries {
		if e.seq == seq {
			e.inflight = false
		}
	}
	s.mu.Unlock()
	s.signal(s.added)
}

// holdBack releases a claimed entry the receiver refused for its own sake
// and keeps it from being claimed for a while, doubling each time (up to
// max), so that one alert the receiver will not take does not block those
// behind it. It returns the wait.
func (s *spool) holdBack(seq uint64, min, max time.Duration) time.Duration {
	s.mu.Lock()
	var wait time.Duration
	for _, e := range s.entries {
		if e.seq == seq {
			e.inflight = false
			e.rejections++
			wait = max
			if e.rejections-1 < 40 {
				if d := min << (e.rejections - 1); d > 0 && d < max {
					wait = d
				}
			}
			e.notBefore = time.Now().Add(wait)
		}
	}
	s.mu.Unlock()
	s.signal(s.added)
	return wait
}

// nextDue returns when the earliest held-back entry may be claimed again;
// zero when none is held back.
func (s *spool) nextDue() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due time.Time
	for _, e := range s.entries {
		if !e.inflight && !e.notBefore.IsZero() && (due.IsZero() || e.notBefore.Before(due)) {
			due = e.notBefore
		}
	}
	return due
}

// remove deletes a delivered (or unreadable and set aside) entry.
func (s *spool) remove(seq uint64, deleteFile bool) {
	s.mu.Lock()
	i := slices.IndexFunc(s.entries, func(e *spoolEntry) bool { return e.seq == seq })
	if i >= 0 {
		e := s.entries[i]
		s.entries = slices.Delete(s.entries, i, i+1)
		// An alert held in memory has no file: its write failed, or is
		// under way and removes the file itself once it sees the entry
		// gone (see writeHeld).
		if deleteFile && e.held == nil {
			if err := os.Remove(filepath.Join(s.dir, e.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.log.Error("webhook spool: cannot remove a delivered alert; it will be delivered again after a restart", "file", filepath.Join(s.dir, e.name), "error", err)
			}
		}
	}
	s.mu.Unlock()
	s.signal(s.removed)
}

// stats returns how many alerts are spooled and the Time of the oldest.
func (s *spool) stats() (n int, oldest time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		if oldest.IsZero() || (!e.time.IsZero() && e.time.Before(oldest)) {
			oldest = e.time
		}
	}
	return len(s.entries), oldest
}

func (s *spool) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

func (s *spool) signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (s *spool) close() error {
	return s.d.Close()
}
