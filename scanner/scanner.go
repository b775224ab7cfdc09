package scanner

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hillu/go-yara/v4"
	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/regular"
	"github.com/shellwatch/shellwatch/phpscan"
	"github.com/shellwatch/shellwatch/rules"
	"github.com/shellwatch/shellwatch/walk"
)

// Defaults for the zero Options.
const (
	DefaultMaxFileSize = 32 << 20
	DefaultMaxHashSize = 4 << 30
	DefaultTimeout     = 10 * time.Second
)

// streamChunk is the buffer size used to hash the part of a file past
// MaxFileSize.
const streamChunk = 256 << 10

// keepBuffer is the largest read buffer a worker keeps between files; a
// larger one, needed for a large file, is dropped after it, so that memory
// held at rest stays at Workers × keepBuffer whatever MaxFileSize is.
const keepBuffer = 4 << 20

// openFlags open a file for reading without following a link (in any
// component: see walk.OpenNoSymlinks), without blocking on a FIFO, without
// making a terminal ours.
const openFlags = unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NOCTTY

// ErrClosed is the error of a scan asked of a closed Scanner.
var ErrClosed = errors.New("scanner is closed")

// ErrTimeout is wrapped by the Verdict error of a YARA scan that ran out of
// time (Options.Timeout); the hashes are still filled.
var ErrTimeout = errors.New("yara timeout")

// ErrTooLargeToHash is wrapped by the Verdict error of a file larger than
// Options.MaxHashSize: it is neither hashed in full nor scanned. A sparse
// file of many terabytes costs nothing to make and would otherwise keep a
// worker hashing zeros for hours.
var ErrTooLargeToHash = errors.New("too large to hash")

// yaraTimeout is libyara's ERROR_SCAN_TIMEOUT (yara/error.h), which go-yara
// does not export.
const yaraTimeout = yara.Error(26)

// Options tune a Scanner.
type Options struct {
	// Workers is the number of files scanned at once, each worker holding
	// a libyara scanner and, while it scans, a read buffer of up to
	// MaxFileSize+1 bytes (at rest, at most 4 MiB). Zero or less means
	// runtime.GOMAXPROCS(0).
	Workers int
	// MaxFileSize is the most bytes read and YARA-scanned per file; a
	// larger file is only hashed (and marked TooLarge). Zero or less means
	// DefaultMaxFileSize.
	MaxFileSize int64
	// MaxHashSize is the most bytes of a file hashed; a larger file gets
	// no hashes and an error wrapping ErrTooLargeToHash. Zero or less
	// means DefaultMaxHashSize; it is never below MaxFileSize.
	MaxHashSize int64
	// Allow lists content known to be harmless (false positives an operator
	// checked): a file whose sha256 or md5 is on it is not YARA-scanned
	// and its Verdict has Allowed set. A known-bad hash list still flags
	// it. Nil allows nothing.
	Allow *HashList
	// Timeout bounds the YARA scan of one file. libyara counts whole
	// seconds, so it is rounded up to the next second. Zero or less means
	// DefaultTimeout.
	Timeout time.Duration
	// NoRescanOnTimeout leaves a file whose YARA scan ran out of time at
	// that: its first and last 128 KiB are not scanned again (which can
	// take a second timeout). Prevention's pool sets it: its scans must
	// end soon, and the normal pipeline judges the file in full.
	NoRescanOnTimeout bool
	// PHP, when set, runs the PHP analyzer with these bounds on PHP files
	// and on any file holding a PHP open tag, beside YARA, on the same
	// bytes. Nil leaves it out.
	PHP *phpscan.Options
}

// Scanner hashes and scans files with a pool of workers. Its methods are
// safe for concurrent use.
type Scanner struct {
	set     *rules.Set
	known   *HashList
	allow   *HashList
	maxSize int64
	maxHash int64
	timeout time.Duration // whole seconds, as libyara applies it
	php     *phpscan.Options
	all     []*worker
	idle    chan *worker
	closed  chan struct{}
	once    sync.Once
	total   counters // every ScanTrees call, for Progress

	// noRescan is Options.NoRescanOnTimeout.
	noRescan bool

	// hooks for tests, called when set.
	afterStat  func(path string)
	beforeScan func(path string)
}

// worker is what one scan needs for itself.
type worker struct {
	yara   *yara.Scanner // nil when there are no rules
	buf    []byte        // reused; grows to at most MaxFileSize+1
	chunk  []byte        // for streaming past MaxFileSize
	sha256 hash.Hash
	md5    hash.Hash
	// onChunk, when set, sees each chunk stream hashes.
	onChunk func([]byte)
}

// New starts a Scanner using the rules of set and the hashes of known. Either
// may be nil (but not both): without rules files are only hashed and looked
// up, without a hash list only YARA-scanned. The set must outlive the
// Scanner; Close releases what New allocated.
func New(set *rules.Set, known *HashList, opts Options) (*Scanner, error) {
	if set == nil && known.Len() == 0 && opts.PHP == nil {
		return nil, errors.New("new scanner: no rules and no known-bad hashes: nothing could be detected")
	}
	s := &Scanner{set: set, known: known, allow: opts.Allow, maxSize: opts.MaxFileSize, timeout: roundTimeout(opts.Timeout), php: opts.PHP,
		noRescan: opts.NoRescanOnTimeout}
	s.maxHash = opts.MaxHashSize
	if s.maxHash <= 0 {
		s.maxHash = DefaultMaxHashSize
	}
	if s.maxSize <= 0 {
		s.maxSize = DefaultMaxFileSize
	}
	n := opts.Workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	s.idle = make(chan *worker, n)
	s.closed = make(chan struct{})
	for i := 0; i < n; i++ {
		w := &worker{sha256: sha256.New(), md5: md5.New()}
		if set != nil {
			ys, err := yara.NewScanner(set.Compiled())
			if err != nil {
				s.destroy()
				return nil, fmt.Errorf("new yara scanner: %w", err)
			}
			ys.SetFlags(yara.ScanFlagsFastMode)
			ys.SetTimeout(s.timeout)
			w.yara = ys
		}
		s.all = append(s.all, w)
		s.idle <- w
	}
	return s, nil
}

// roundTimeout applies the default and rounds up to whole seconds.
func roundTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		d = DefaultTimeout
	}
	return (d + time.Second - 1) / time.Second * time.Second
}

// Workers returns the number of files s scans at once.
func (s *Scanner) Workers() int { return len(s.all) }

// Timeout returns the YARA timeout per file, rounded up to whole seconds as
// libyara applies it.
func (s *Scanner) Timeout() time.Duration { return s.timeout }

// MaxFileSize returns the most bytes YARA-scanned per file.
func (s *Scanner) MaxFileSize() int64 { return s.maxSize }

// Close waits for the scans under way and releases the workers. Scans asked
// afterwards fail with ErrClosed. Close does not destroy the rule set.
func (s *Scanner) Close() {
	s.once.Do(func() {
		close(s.closed)
		for range s.all {
			<-s.idle
		}
		s.destroy()
	})
}

func (s *Scanner) destroy() {
	for _, w := range s.all {
		if w.yara != nil {
			w.yara.Destroy()
			w.yara = nil
		}
		w.buf, w.chunk = nil, nil
	}
}

// Scan hashes and scans the file at path. It waits for a free worker.
func (s *Scanner) Scan(path string) Verdict {
	return s.ScanContext(context.Background(), path)
}

// ScanContext is Scan, giving up (with an error wrapping ctx.Err()) when ctx
// is done while waiting for a worker or while hashing a large file.
func (s *Scanner) ScanContext(ctx context.Context, path string) Verdict {
	return s.scanWith(ctx, path, func(ctx context.Context, w *worker, v *Verdict) {
		s.scanFile(ctx, w, v, nil)
	})
}

// ScanDescriptor is ScanContext for a file already open as fd, read from
// its start through a duplicate of fd (fd stays the caller's, open). path
// names the file for the rules' externals and the PHP analyzer; it is not
// opened. Prevention scans this way the very file the web server is
// opening, through the descriptor fanotify hands it, whatever its path now
// leads to.
func (s *Scanner) ScanDescriptor(ctx context.Context, fd int, path string) Verdict {
	return s.scanWith(ctx, path, func(ctx context.Context, w *worker, v *Verdict) {
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			v.Err = fmt.Errorf("scan %s: dup: %w", path, err)
			return
		}
		f := os.NewFile(uintptr(dup), path)
		defer f.Close()
		if _, err := unix.Seek(dup, 0, io.SeekStart); err != nil {
			v.Err = fmt.Errorf("scan %s: seek: %w", path, err)
			return
		}
		s.scanOpen(ctx, w, v, dup, f, nil)
	})
}

// scanWith runs scan with a free worker on the Verdict of path.
func (s *Scanner) scanWith(ctx context.Context, path string, scan func(context.Context, *worker, *Verdict)) Verdict {
	v := Verdict{Path: path}
	var w *worker
	select {
	case <-s.closed:
		v.Err = fmt.Errorf("scan %s: %w", path, ErrClosed)
		return v
	default:
	}
	select {
	case w = <-s.idle:
	case <-s.closed:
		v.Err = fmt.Errorf("scan %s: %w", path, ErrClosed)
		return v
	case <-ctx.Done():
		v.Err = fmt.Errorf("scan %s: %w", path, ctx.Err())
		return v
	}
	defer func() {
		if cap(w.buf) > keepBuffer {
			w.buf = nil
		}
		s.idle <- w
	}()
	scan(ctx, w, &v)
	return v
}

// scanFile fills v for the file at v.Path using worker w; when ex is set,
// it also keeps what explains the matches there.
func (s *Scanner) scanFile(ctx context.Context, w *worker, v *Verdict, ex *Explanation) {
	path := v.Path
	// A cheap look first, so that a device node or FIFO is not even
	// opened (opening some devices has effects); the fstat below decides.
	var st unix.Stat_t
	if err := unix.Fstatat(unix.AT_FDCWD, path, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		fillStat(v, &st)
		v.Err = fmt.Errorf("open %s: not a regular file (%s)", path, regular.TypeName(v.Mode))
		return
	}
	fd, err := walk.OpenNoSymlinks(path, openFlags)
	if err != nil {
		v.Err = err
		return
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	s.scanOpen(ctx, w, v, fd, f, ex)
}

// scanOpen fills v from the file open as f, whose descriptor is fd (v.Path
// names what is scanned: its name decides the externals and whether the
// PHP analyzer runs). Only a regular file is read.
func (s *Scanner) scanOpen(ctx context.Context, w *worker, v *Verdict, fd int, f *os.File, ex *Explanation) {
	path := v.Path
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		v.Err = fmt.Errorf("fstat %s: %w", path, err)
		return
	}
	fillStat(v, &st)
	if !v.Mode.IsRegular() {
		v.Err = fmt.Errorf("open %s: not a regular file (%s)", path, regular.TypeName(v.Mode))
		return
	}
	if s.afterStat != nil {
		s.afterStat(path)
	}

	if st.Size > s.maxHash || isSparse(&st, s.maxSize) {
		s.scanUnhashed(ctx, w, f, &st, v, ex)
		return
	}
	data, err := w.read(ctx, f, st.Size, s.maxSize)
	if err != nil {
		v.Err = err
		return
	}
	w.sha256.Reset()
	w.md5.Reset()
	w.sha256.Write(data)
	w.md5.Write(data)
	size := int64(len(data))
	headLen := len(data)
	if size > s.maxSize {
		v.TooLarge = true
		win := window(s.maxSize)
		head, tail := headAndTail(data, win)
		n, err := w.streamTail(ctx, f, s.maxHash-size, tail)
		size += n
		if err != nil {
			v.Err = err
			return
		}
		data, headLen = joinedWindows(head, tail), win
		v.Partial = fmt.Sprintf("its first and last %s of %d bytes", config.ByteSize(win), size)
	}
	v.Size = size
	v.SHA256 = hex.EncodeToString(w.sha256.Sum(nil))
	v.MD5 = hex.EncodeToString(w.md5.Sum(nil))
	s.judge(w, v, data, headLen, ex)
}

// scanUnhashed fills v for a file that is not hashed in full: larger than
// MaxHashSize, or sparse. Its data is scanned (the head and tail of it, or
// all of it when it fits), its holes never read.
func (s *Scanner) scanUnhashed(ctx context.Context, w *worker, f *os.File, st *unix.Stat_t, v *Verdict, ex *Explanation) {
	win := window(s.maxSize)
	data, dataBytes, whole, err := w.readExtents(ctx, f, st.Size, win)
	if err != nil {
		v.Err = err
		return
	}
	v.TooLarge = true
	switch sparse := isSparse(st, s.maxSize); {
	case sparse && st.Size > s.maxHash:
		v.Err = fmt.Errorf("hash %s: %d bytes, %d of them allocated: %w, and %w", f.Name(), st.Size, st.Blocks*512, ErrSparse, ErrTooLargeToHash)
	case sparse:
		v.Err = fmt.Errorf("hash %s: %d bytes, %d of them allocated: %w", f.Name(), st.Size, st.Blocks*512, ErrSparse)
	default:
		v.Err = fmt.Errorf("hash %s: more than %d bytes: %w", f.Name(), s.maxHash, ErrTooLargeToHash)
	}
	if whole {
		v.Partial = fmt.Sprintf("all of its data, %d bytes (the rest are holes)", dataBytes)
	} else {
		v.Partial = fmt.Sprintf("the first and last %s of its %d bytes of data", config.ByteSize(win), dataBytes)
	}
	s.judge(w, v, data, min(len(data), win), ex)
}

// judge runs the allow list, YARA, the PHP analyzer and the hash lists over
// data, what was read of the file at v.Path: all of it, or its head (the
// first headLen bytes) and its tail. When ex is set, it also keeps what
// explains the matches there.
func (s *Scanner) judge(w *worker, v *Verdict, data []byte, headLen int, ex *Explanation) {
	path := v.Path
	v.Script = isScript(path, data)
	if _, ok := s.allow.Lookup(v.SHA256, v.MD5); ok && v.SHA256 != "" {
		v.Allowed = true
	} else {
		if w.yara != nil {
			hits, matches, err := s.yaraScan(w, path, data)
			if errors.Is(err, ErrTimeout) && len(data) > 2*timeoutWindow+1 && !s.noRescan {
				// Padding made to slow the rules down: the shell is at
				// one end of it. Scan both ends again; the timeout stays
				// in the verdict, so that what is not found there is not
				// taken as clean.
				ends := make([]byte, 0, 2*timeoutWindow+1)
				ends = append(append(append(ends, data[:timeoutWindow]...), '\n'), data[len(data)-timeoutWindow:]...)
				endHits, endMatches, endErr := s.yaraScan(w, path, ends)
				hits, matches = append(hits, endHits...), mergeMatches(matches, endMatches)
				if endErr != nil && !errors.Is(endErr, ErrTimeout) {
					err = endErr
				}
				data, headLen = ends, timeoutWindow
				v.Partial = strings.TrimPrefix(v.Partial+"; ", "; ") + fmt.Sprintf("YARA, out of time on it, then read its first and last %s", config.ByteSize(timeoutWindow))
			}
			v.Matches = matches
			if v.Err == nil {
				v.Err = err
			}
			if ex != nil {
				ex.YARA = yaraHits(hits, data[:headLen])
			}
		}
		// The analyzer is the costly part of a scan; a file YARA already
		// found critical cannot be judged worse, so only explain runs it
		// there (for the path the data took).
		if s.php != nil && (ex != nil || !yaraCritical(v.Matches)) && phpscan.LooksLikePHP(path, data) {
			res := phpscan.Analyze(data, *s.php)
			v.Matches = append(v.Matches, phpMatches(res)...)
			v.Incomplete = res.Incomplete
			if ex != nil {
				ex.PHP = &res
			}
		}
	}
	if e, ok := s.known.Lookup(v.SHA256, v.MD5); ok && v.SHA256 != "" {
		v.Matches = append(v.Matches, e.match())
	}
	for _, m := range v.Matches {
		v.Severity = max(v.Severity, m.Severity)
	}
}

// mergeMatches adds to ms the matches of more whose rule is not in ms.
func mergeMatches(ms, more []finding.Match) []finding.Match {
	for _, m := range more {
		if !slices.ContainsFunc(ms, func(x finding.Match) bool { return x.Namespace == m.Namespace && x.Rule == m.Rule }) {
			ms = append(ms, m)
		}
	}
	return ms
}

// read reads up to maxSize+1 bytes of f into the worker's buffer: one more
// than maxSize, so that a file larger than maxSize, or one growing past it
// while read, is noticed. size, the fstat size, says how much buffer to
// prepare; the buffer grows if the file grew.
func (w *worker) read(ctx context.Context, f *os.File, size, maxSize int64) ([]byte, error) {
	limit := maxSize + 1
	want := min(max(size+1, 4096), limit)
	if int64(cap(w.buf)) < want {
		w.buf = make([]byte, 0, want)
	}
	buf := w.buf[:0]
	r := io.LimitReader(f, limit)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= limit {
				break
			}
			// The file grew since fstat.
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), limit))
			copy(grown, buf)
			buf = grown
			w.buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err // *fs.PathError, naming the path
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Name(), err)
		}
	}
	return buf, nil
}

// stream hashes the rest of f, past what read returned, in small chunks so
// that a huge (or sparse) file costs no memory. It returns the bytes hashed,
// and an error wrapping ErrTooLargeToHash past limit bytes.
func (w *worker) stream(ctx context.Context, f *os.File, limit int64) (int64, error) {
	if w.chunk == nil {
		w.chunk = make([]byte, streamChunk)
	}
	var total int64
	for {
		if total > limit {
			return total, fmt.Errorf("hash %s: more than %d bytes: %w", f.Name(), limit, ErrTooLargeToHash)
		}
		n, err := f.Read(w.chunk)
		w.sha256.Write(w.chunk[:n])
		w.md5.Write(w.chunk[:n])
		if w.onChunk != nil {
			w.onChunk(w.chunk[:n])
		}
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("read %s: %w", f.Name(), err)
		}
	}
}

// yaraScan runs the rules over data with the externals of path.
func (s *Scanner) yaraScan(w *worker, path string, data []byte) (yara.MatchRules, []finding.Match, error) {
	filename, fullPath, ext := rules.Externals(path)
	for _, def := range [...]struct{ name, value string }{
		{rules.ExternalFilename, filename},
		{rules.ExternalFilepath, fullPath},
		{rules.ExternalExtension, ext},
	} {
		if err := w.yara.DefineVariable(def.name, def.value); err != nil {
			return nil, nil, fmt.Errorf("yara scan %s: define %s: %w", path, def.name, err)
		}
	}
	var found yara.MatchRules
	w.yara.SetCallback(&found)
	err := w.yara.ScanMem(data)
	// Rules that matched before an error (a timeout) still matched.
	var matches []finding.Match
	for _, m := range found {
		match := finding.Match{Rule: m.Rule, Namespace: m.Namespace, Severity: finding.SeverityHigh}
		if len(m.Tags) > 0 {
			match.Tags = m.Tags
		}
		if r, ok := s.set.Lookup(m.Namespace, m.Rule); ok {
			match.Severity, match.Family, match.Description = r.Severity, r.Family, r.Description
		}
		matches = append(matches, match)
	}
	switch {
	case err == nil:
		return found, matches, nil
	case errors.Is(err, yaraTimeout):
		return found, matches, fmt.Errorf("yara scan %s: %w after %s", path, ErrTimeout, s.timeout)
	default:
		return found, matches, fmt.Errorf("yara scan %s: %w", path, err)
	}
}
