package scanner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/phpscan"
	"github.com/shellwatch/shellwatch/walk"
)

// A file larger than MaxFileSize is not skipped: YARA and the analyzer read
// its head and its tail, the first and the last MaxFileSize/2 bytes, joined
// by a newline (so that no match spans the seam). A shell an attacker pads
// past the limit sits at one end or the other of its padding; one padded on
// both sides past MaxFileSize/2 is not found, and the Verdict says which
// part was read (Partial), so that policy can judge a new script it could
// not read in full as the risk it is.
//
// The head and the tail come from the bytes read for the hashes, in one
// pass: the head is the start of the worker's buffer, the tail a ring
// buffer in its second half, so that no file needs more than the
// MaxFileSize+1 bytes a worker holds anyway.
//
// A file that is not hashed in full — larger than MaxHashSize, or sparse
// (see isSparse) — is not read through: its data extents are found with
// SEEK_DATA and SEEK_HOLE, and the head and tail are taken from its data,
// the holes left out. A sparse file of 50 GB costs an attacker nothing; it
// costs a worker the few bytes it really holds.

// timeoutWindow is how much of each end of a file is YARA-scanned again
// when the scan of the whole ran out of time: a shell behind padding made to
// slow the rules down is at one end of it, and this much of the slowest
// padding the benchmarks know scans in well under a second.
const timeoutWindow = 128 << 10

// maxExtents bounds the data extents of a sparse file looked at: past it,
// the tail is read where the file ends, holes and all.
const maxExtents = 4096

// ErrSparse is wrapped by the Verdict error of a sparse file larger than
// MaxFileSize: far fewer bytes are allocated than its size says, so it is
// not hashed (SHA-256 cannot skip a hole; hashing 50 GB of zeros kept a
// worker busy for half a minute), but its data is scanned.
var ErrSparse = errors.New("sparse file: not hashed")

// isSparse reports whether a file larger than maxSize has less than half of
// its bytes allocated.
func isSparse(st *unix.Stat_t, maxSize int64) bool {
	return st.Size > maxSize && st.Blocks*512 < st.Size/2
}

// ring keeps the last len(buf) bytes written to it.
type ring struct {
	buf  []byte
	next int  // where the next byte goes
	full bool // buf has wrapped at least once
}

func (r *ring) Write(p []byte) {
	if len(p) >= len(r.buf) {
		copy(r.buf, p[len(p)-len(r.buf):])
		r.next, r.full = 0, true
		return
	}
	n := copy(r.buf[r.next:], p)
	if n < len(p) {
		copy(r.buf, p[n:])
		r.full = true
	}
	r.next = (r.next + len(p)) % len(r.buf)
	if r.next == 0 && len(p) > 0 {
		r.full = true
	}
}

// bytes rotates the ring in place so that its bytes are in order, and
// returns them.
func (r *ring) bytes() []byte {
	if !r.full {
		return r.buf[:r.next]
	}
	slices.Reverse(r.buf[:r.next])
	slices.Reverse(r.buf[r.next:])
	slices.Reverse(r.buf)
	r.next = 0
	return r.buf
}

// headAndTail returns the head (the first window bytes of data, which holds
// more than maxSize) and a ring for the tail, both in the worker's buffer:
// buf[:window] is the head, buf[window] the newline, the ring after it. The
// ring starts with the last window bytes of data.
func headAndTail(data []byte, window int) (head []byte, tail *ring) {
	data[window] = '\n'
	tail = &ring{buf: data[window+1 : 2*window+1]}
	// The last window bytes of data start past the ring's start (data
	// holds more than 2*window bytes), so the copy moves them down.
	tail.Write(data[len(data)-window:])
	return data[:window], tail
}

// joinedWindows returns head, a newline and the tail, as laid out in the
// buffer by headAndTail.
func joinedWindows(head []byte, tail *ring) []byte {
	t := tail.bytes()
	return head[:len(head)+1+len(t)]
}

// window is the size of the head and of the tail of a file over maxSize.
func window(maxSize int64) int { return int(maxSize / 2) }

// streamTail hashes the rest of f like stream, and keeps its last bytes in
// tail.
func (w *worker) streamTail(ctx context.Context, f *os.File, limit int64, tail *ring) (int64, error) {
	w.onChunk = tail.Write
	defer func() { w.onChunk = nil }()
	return w.stream(ctx, f, limit)
}

// extent is a range of a file that holds data.
type extent struct{ off, end int64 }

// dataExtents lists where f holds data, with SEEK_DATA and SEEK_HOLE: at most
// maxExtents of them; complete is false when there were more. A filesystem
// that cannot say has one extent, the whole file.
func dataExtents(f *os.File, size int64) (exts []extent, complete bool, err error) {
	fd := int(f.Fd())
	for off := int64(0); off < size; {
		if len(exts) == maxExtents {
			return exts, false, nil
		}
		start, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole from off to the end
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
			return []extent{{0, size}}, true, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("seek data %s: %w", f.Name(), err)
		}
		end, err := unix.Seek(fd, start, unix.SEEK_HOLE)
		if err != nil {
			return nil, false, fmt.Errorf("seek hole %s: %w", f.Name(), err)
		}
		end = min(end, size)
		if end > start {
			exts = append(exts, extent{start, end})
		}
		off = end
	}
	return exts, true, nil
}

// readExtents reads the head and the tail of the data of f (its extents,
// holes left out) into the worker's buffer, at most window bytes each, and
// returns them joined by a newline, with how many data bytes the file has
// and whether they were all read.
func (w *worker) readExtents(ctx context.Context, f *os.File, size int64, window int) (data []byte, allocated int64, whole bool, err error) {
	exts, complete, err := dataExtents(f, size)
	if err != nil {
		return nil, 0, false, err
	}
	if !complete {
		// The rest of the extents are not known: the tail is where the
		// file ends, holes read as zeros.
		exts = append(exts, extent{max(size-int64(window), exts[len(exts)-1].end), size})
	}
	for _, e := range exts {
		allocated += e.end - e.off
	}
	if need := 2*window + 1; cap(w.buf) < need {
		w.buf = make([]byte, 0, need)
	}
	buf := w.buf[:2*window+1]
	readAt := func(p []byte, off int64) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %s: %w", f.Name(), err)
		}
		n, err := f.ReadAt(p, off)
		if err == io.EOF { // the file shrank: what is there is read
			clear(p[n:])
			err = nil
		}
		return err
	}
	// The head: the first window bytes of data, extent by extent.
	head := 0
	for _, e := range exts {
		if head == window {
			break
		}
		n := int(min(e.end-e.off, int64(window-head)))
		if err := readAt(buf[head:head+n], e.off); err != nil {
			return nil, 0, false, err
		}
		head += n
	}
	if allocated <= int64(window) {
		return buf[:head], allocated, complete, nil
	}
	// The tail: the last window bytes of data (or what follows the head,
	// when there are fewer than two windows of it), from the last extent
	// back.
	buf[window] = '\n'
	tail := buf[window+1 : window+1+int(min(int64(window), allocated-int64(window)))]
	at := len(tail)
	for i := len(exts) - 1; i >= 0 && at > 0; i-- {
		e := exts[i]
		n := int(min(e.end-e.off, int64(at)))
		if err := readAt(tail[at-n:at], e.end-int64(n)); err != nil {
			return nil, 0, false, err
		}
		at -= n
	}
	return buf[:window+1+len(tail)], allocated, complete && allocated <= int64(2*window), nil
}

// scriptNames are the file names taken as code whatever they hold: a
// protected root's default script_globs.
var scriptNames = func() *walk.Globs {
	g, err := walk.CompileGlobs(config.DefaultScriptGlobs())
	if err != nil {
		panic(err)
	}
	return g
}()

// isScript reports whether the file at p is code, by its name (the default
// script_globs of a protected root) or by what was read of it: a #! line,
// a "<?php" tag (a polyglot image holds one), or, in text, a "<?=" tag or
// an ASP or JSP block. Those are two or three bytes that random or
// compressed data holds every few tens of KiB: in a video or an archive
// they would make every large upload "a new script".
func isScript(p string, data []byte) bool {
	if scriptNames.Match(p, false) || bytes.HasPrefix(data, []byte("#!")) || phpscan.HasLongOpenTag(data) {
		return true
	}
	return isText(data) && (phpscan.LooksLikePHP(path.Base(p), data) || bytes.Contains(data, []byte("<%")))
}

// isText reports whether data looks like text: no NUL in its first 8 KiB.
func isText(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), 8<<10)], 0) < 0
}
