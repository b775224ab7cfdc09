package state

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/walk"
)

// Kind says how a file differs from its record.
type Kind uint8

// The kinds of [Difference].
const (
	// Added: a regular file with no record.
	Added Kind = iota + 1
	// Changed: a record whose file has another device, inode, size, mtime
	// or ctime (a change of mode or owner changes ctime).
	Changed
	// Deleted: a record whose path is no longer a regular file in the
	// walk (removed, renamed away, replaced by a folder, link or FIFO, or
	// now excluded).
	Deleted
	// Unreadable: a folder that could not be listed or a file that could
	// not be lstat'ed; Err says why. The records below it are neither
	// reported nor changed: nothing is known about them.
	Unreadable
)

var kindNames = [...]string{Added: "added", Changed: "changed", Deleted: "deleted", Unreadable: "unreadable"}

// String returns the kind's lower-case name.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Difference is one file whose state differs from the baseline.
type Difference struct {
	// Path is the file's path, byte for byte.
	Path string
	Kind Kind
	// Old is the record (Changed, Deleted); nil for Added and Unreadable.
	Old *File
	// Stat is what lstat said now (Added, Changed); zero otherwise.
	Stat Stat
	// Err says why Path could not be read (Unreadable only).
	Err error
}

// ReconcileStats counts what [Reconcile] met.
type ReconcileStats struct {
	// Files counts the regular files found; each is Unchanged, Added or
	// Changed.
	Files, Unchanged, Added, Changed int64
	// Deleted counts the records reported deleted.
	Deleted int64
	// Symlinks and Special count the entries skipped: symbolic links
	// (never followed), and FIFOs, sockets and device nodes.
	Symlinks, Special int64
	// Vanished counts entries that were listed but gone before lstat (a
	// vanished file with a record is reported Deleted too).
	Vanished int64
	// Errors counts the Unreadable differences; Kept counts the records
	// below them, neither reported nor changed.
	Errors, Kept int64
}

// statBatch bounds how many names of one folder a worker lstats per job, so
// that one huge folder is spread over the workers.
const statBatch = 256

// Reconcile compares the files under root (root itself when it is a file)
// with their records in db and calls fn for each file added, changed or
// deleted since, and for each folder or file it could not read. Files whose
// device, inode, size, mtime and ctime match their record are not reported,
// and no file is ever opened or hashed: the caller scans the Added and
// Changed ones and decides what changed. Excluded entries are left out and
// their records reported Deleted, since they are no longer watched.
//
// The walk never follows a symbolic link (see package walk); each file is
// lstat'ed relative to its folder opened without following links, so a
// folder swapped for a link mid-walk cannot point the stat elsewhere. fn is
// never called concurrently. A root that is missing or a symbolic link is an
// error, not a tree of deletions.
//
// # Memory
//
// The baseline is streamed, never loaded: the tree is walked in the byte
// order of its paths ([walk.WalkSorted]) and merged with the records read in
// key order, a chunk at a time. What Reconcile holds is a chunk of records,
// the folders being listed and the files being lstat'ed, whatever the size
// of the baseline, and 32 bytes for each path longer than a bbolt key the
// walk met (see longRecords).
//
// # Deletions
//
// A record is reported Deleted once the walk has gone past the place of its
// path without meeting a regular file there, and its path, looked at again
// then, is still not one (a file created after its folder was listed is
// compared, not reported deleted). Records below a folder that could not be
// read are neither reported nor changed. A cancelled context stops the walk
// and the reports soon after, and Reconcile returns an error wrapping
// ctx.Err(): the deletions it reported were made sure of, and none is
// reported past the point the walk reached.
func Reconcile(ctx context.Context, db *DB, root string, ex walk.Excluder, fn func(Difference)) (ReconcileStats, error) {
	return ReconcileWithLinks(ctx, db, root, ex, fn, nil)
}

// ReconcileWithLinks is [Reconcile], and calls link for each symbolic link
// the walk meets (links have no record: every one is told, with what
// lstat says of it; one gone before its lstat is not). link is never
// called concurrently with itself or fn; nil tells none.
func ReconcileWithLinks(ctx context.Context, db *DB, root string, ex walk.Excluder, fn func(Difference), link func(path string, st Stat)) (ReconcileStats, error) {
	info, err := os.Lstat(root)
	if err != nil {
		return ReconcileStats{}, fmt.Errorf("reconcile %s: %w", root, err)
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return ReconcileStats{}, fmt.Errorf("reconcile %s: %w", root, walk.ErrSymlink)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if ex == nil {
		ex = (*walk.Globs)(nil) // matches nothing
	}
	r := &reconciler{db: db, root: root, ex: ex, fn: fn, link: link, unreadable: make(map[string]bool)}

	// The walk lists files in path order and hands them, a folder's run at
	// a time, both to the workers that lstat them (jobs) and, in the same
	// order, to the merge (inOrder), which waits for each job's lstats. The
	// queues are bounded: the walk is never far ahead of the merge.
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *statJob, 4*workers)
	inOrder := make(chan *statJob, 4*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for job := range jobs {
				r.statFiles(job)
				close(job.done)
			}
		})
	}
	var complete bool // the walk went through the whole tree; set before inOrder closes
	merged := make(chan error, 1)
	go func() {
		err := r.merge(ctx, inOrder, &complete)
		if err != nil {
			cancel() // stop the walk; the merge drains what it sent
		}
		merged <- err
	}()

	var job *statJob
	flush := func() {
		if job != nil {
			jobs <- job
			inOrder <- job
		}
		job = nil
	}
	var symlinks, special int64 // the walk's goroutine only
	visit := func(p string, d fs.DirEntry) error {
		switch t := d.Type(); {
		case t.IsRegular():
			dir := parentDir(p)
			if job == nil || dir != job.dir || len(job.paths) == statBatch {
				flush()
				job = &statJob{dir: dir, done: make(chan struct{})}
			}
			job.paths = append(job.paths, p)
		case t&fs.ModeSymlink != 0:
			symlinks++
			r.tellLink(p)
		default:
			special++
		}
		return nil
	}
	onError := func(p string, err error) {
		if errors.Is(err, fs.ErrNotExist) {
			r.count(func(s *ReconcileStats) { s.Vanished++ })
			return
		}
		r.unreadableDir(p, err)
	}
	walkErr := walk.WalkSorted(ctx, root, ex, visit, onError)
	flush()
	if walkErr == nil {
		walkErr = ctx.Err()
	}
	complete = walkErr == nil
	close(jobs)
	close(inOrder)
	wg.Wait()
	mergeErr := <-merged
	r.stats.Symlinks += symlinks
	r.stats.Special += special
	switch {
	case mergeErr != nil:
		return r.stats, mergeErr
	case walkErr != nil:
		return r.stats, fmt.Errorf("reconcile %s: %w", root, walkErr)
	}
	return r.stats, nil
}

// statJob is a run of regular files of one folder, in path order, and what
// lstat said of each once done is closed.
type statJob struct {
	dir   string
	paths []string
	found []found
	done  chan struct{}
}

// found is what lstat said of one path of a statJob.
type found struct {
	what uint8
	stat Stat // foundFile only
}

const (
	foundNothing uint8 = iota // gone, or no longer a regular file
	foundFile                 // a regular file, stat
	foundUnknown              // could not be lstat'ed: reported, its record kept
)

type reconciler struct {
	db   *DB
	root string
	ex   walk.Excluder // never nil

	// mu serialises fn and guards stats and unreadable.
	mu         sync.Mutex
	fn         func(Difference)
	link       func(string, Stat) // nil: links are not told
	stats      ReconcileStats
	unreadable map[string]bool
}

func (r *reconciler) count(f func(*ReconcileStats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}

func (r *reconciler) emit(d Difference) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch d.Kind {
	case Added:
		r.stats.Added++
	case Changed:
		r.stats.Changed++
	case Deleted:
		r.stats.Deleted++
	case Unreadable:
		r.stats.Errors++
	}
	r.fn(d)
}

// tellLink lstats the symbolic link at p, relative to its folder opened
// with no link in its path, and tells it to r.link. A link gone since it
// was listed, or that cannot be lstat'ed, is not told.
func (r *reconciler) tellLink(p string) {
	if r.link == nil {
		return
	}
	fd, err := walk.OpenNoSymlinks(parentDir(p), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := fstatat(fd, p[strings.LastIndexByte(p, '/')+1:], &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.link(p, statOf(&st))
}

// unreadableDir reports a folder (or an entry) the walk could not read and
// keeps the records below it.
func (r *reconciler) unreadableDir(p string, err error) {
	r.mu.Lock()
	r.unreadable[p] = true
	r.mu.Unlock()
	r.emit(Difference{Path: p, Kind: Unreadable, Err: err})
}

// statFiles lstats the files of job relative to their folder, opened with
// no symbolic link anywhere in its path.
func (r *reconciler) statFiles(job *statJob) {
	job.found = make([]found, len(job.paths))
	fd, err := walk.OpenNoSymlinks(job.dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			r.count(func(s *ReconcileStats) { s.Vanished += int64(len(job.paths)) })
			return
		}
		r.unreadableDir(job.dir, err)
		return
	}
	defer unix.Close(fd)
	var vanished, symlinks, special int64
	for i, p := range job.paths {
		var st unix.Stat_t
		err := fstatat(fd, p[strings.LastIndexByte(p, '/')+1:], &st)
		switch {
		case err == unix.ENOENT:
			vanished++
		case err != nil:
			job.found[i].what = foundUnknown
			r.emit(Difference{Path: p, Kind: Unreadable, Err: &fs.PathError{Op: "lstat", Path: p, Err: err}})
		case st.Mode&unix.S_IFMT == unix.S_IFLNK:
			symlinks++ // replaced since the listing
		case st.Mode&unix.S_IFMT != unix.S_IFREG:
			special++
		default:
			job.found[i] = found{what: foundFile, stat: statOf(&st)}
		}
	}
	r.count(func(s *ReconcileStats) {
		s.Vanished += vanished
		s.Symlinks += symlinks
		s.Special += special
	})
}

// merge goes through the jobs in walk order and the records in key order —
// the same order — side by side: a file without a record is Added, a record
// passed without its file is gone (see unmatched). After the last job, the
// records left are gone only when the walk was complete. After an error, or
// once ctx is done, it drains inOrder and returns the error.
//
// A path longer than a key is kept out of that merge: its record's key is
// derived from it (keyOf) and does not sort where the path does. The walk's
// long paths are looked up directly; the cursor's long records are set
// aside (see longRecords), and those the walk never met are, once it was
// complete, unmatched.
func (r *reconciler) merge(ctx context.Context, inOrder <-chan *statJob, complete *bool) error {
	records := r.db.stats(r.root)
	long := longRecords{met: make(map[[sha256.Size]byte]bool), pending: make(map[[sha256.Size]byte]bool)}
	// next is the cursor's next record whose key is its path.
	next := func() (statEntry, bool, error) {
		for {
			rec, more, err := records.next()
			if err != nil || !more || len(rec.path) <= maxKeySize {
				return rec, more, err
			}
			long.setAside(rec)
		}
	}
	rec, more, err := next()
	prev := ""
	for job := range inOrder {
		if err == nil && ctx.Err() != nil {
			err = fmt.Errorf("reconcile %s: %w", r.root, ctx.Err())
		}
		if err != nil {
			continue // drain
		}
		<-job.done
		for i, p := range job.paths {
			if p <= prev {
				err = fmt.Errorf("reconcile %s: the walk went back from %q to %q", r.root, prev, p)
				break
			}
			prev = p
			f := job.found[i]
			if len(p) > maxKeySize {
				if err = r.meetLong(&long, p, f); err != nil {
					break
				}
				continue
			}
			for more && err == nil && rec.path < p {
				if err = r.unmatched(rec); err == nil {
					rec, more, err = next()
				}
			}
			if err != nil {
				break
			}
			switch {
			case more && rec.path == p:
				if f.what == foundFile {
					r.compare(p, f.stat, &rec)
				} else if f.what == foundNothing {
					err = r.unmatched(rec)
				}
				if err == nil {
					rec, more, err = next()
				}
			case f.what == foundFile:
				r.count(func(s *ReconcileStats) { s.Files++ })
				r.emit(Difference{Path: p, Kind: Added, Stat: f.stat})
			}
			if err != nil {
				break
			}
		}
	}
	for err == nil && more && *complete {
		if ctx.Err() != nil {
			return fmt.Errorf("reconcile %s: %w", r.root, ctx.Err())
		}
		if err = r.unmatched(rec); err == nil {
			rec, more, err = next()
		}
	}
	if err != nil || !*complete {
		return err
	}
	return r.unmetLong(ctx, &long)
}

// compare reports the file at p, a regular file as now, against its
// record.
func (r *reconciler) compare(p string, now Stat, rec *statEntry) {
	r.count(func(s *ReconcileStats) { s.Files++ })
	if rec.stat.SameIdentity(now) {
		r.count(func(s *ReconcileStats) { s.Unchanged++ })
		return
	}
	old, ok, err := r.db.Get(p)
	switch {
	case err != nil:
		r.emit(Difference{Path: p, Kind: Unreadable, Err: err})
	case !ok: // deleted from the DB since it was read
		r.emit(Difference{Path: p, Kind: Added, Stat: now})
	default:
		r.emit(Difference{Path: p, Kind: Changed, Old: &old, Stat: now})
	}
}

// longRecords is what merge knows of the paths longer than a key. The
// cursor gives their records in the order of their derived keys, the walk
// gives their paths in path order: the two do not meet in step. met holds
// the hash of every long path the walk met; pending, the hash of each long
// record the cursor gave whose path the walk had not met then. Only hashes
// are kept, 32 bytes a path however long, so that a tree of deep files
// cannot make a reconciliation hold their paths.
type longRecords struct {
	met     map[[sha256.Size]byte]bool
	pending map[[sha256.Size]byte]bool
}

// setAside notes a long record the cursor gave, unless the walk met its
// path already (meetLong handled it).
func (l *longRecords) setAside(rec statEntry) {
	if h := sha256.Sum256([]byte(rec.path)); !l.met[h] {
		l.pending[h] = true
	}
}

// meetLong handles a long path the walk met, as merge does a short one,
// looking its record up by its derived key.
func (r *reconciler) meetLong(l *longRecords, p string, f found) error {
	h := sha256.Sum256([]byte(p))
	l.met[h] = true
	delete(l.pending, h)
	old, ok, err := r.db.Get(p)
	switch {
	case err != nil:
		return err
	case ok && f.what == foundFile:
		r.compare(p, f.stat, &statEntry{path: p, stat: old.Stat()})
	case ok && f.what == foundNothing:
		return r.unmatched(statEntry{path: p, stat: old.Stat()})
	case !ok && f.what == foundFile:
		r.count(func(s *ReconcileStats) { s.Files++ })
		r.emit(Difference{Path: p, Kind: Added, Stat: f.stat})
	}
	return nil
}

// unmetLong handles the long records whose path the complete walk never
// met. Their paths were not kept: when there are any, the records are read
// again, the long ones among them picked by hash. A record written since
// the walk is not pending and is left alone.
func (r *reconciler) unmetLong(ctx context.Context, l *longRecords) error {
	records := r.db.stats(r.root)
	for len(l.pending) > 0 {
		if ctx.Err() != nil {
			return fmt.Errorf("reconcile %s: %w", r.root, ctx.Err())
		}
		rec, more, err := records.next()
		if err != nil || !more {
			return err
		}
		if len(rec.path) <= maxKeySize {
			continue
		}
		h := sha256.Sum256([]byte(rec.path))
		if !l.pending[h] {
			continue
		}
		delete(l.pending, h)
		if err := r.unmatched(rec); err != nil {
			return err
		}
	}
	return nil
}

// unmatched handles a record the walk went past without meeting a regular
// file at its path. Below a folder that could not be read, it is kept.
// Otherwise its path is looked at again: a regular file there now, not
// excluded, was created after its folder was listed and is compared; else
// the record is reported Deleted.
func (r *reconciler) unmatched(rec statEntry) error {
	if r.belowUnreadable(rec.path) {
		r.count(func(s *ReconcileStats) { s.Kept++ })
		return nil
	}
	now, isFile, err := r.lookAgain(rec.path)
	switch {
	case err != nil:
		r.count(func(s *ReconcileStats) { s.Kept++ })
		r.emit(Difference{Path: rec.path, Kind: Unreadable, Err: err})
		return nil
	case isFile:
		r.compare(rec.path, now, &rec)
		return nil
	}
	old, ok, err := r.db.Get(rec.path)
	if err != nil {
		return err
	}
	if ok { // else deleted from the DB since it was read
		r.emit(Difference{Path: rec.path, Kind: Deleted, Old: &old})
	}
	return nil
}

// lookAgain reports whether p is, now, a regular file the walk would visit:
// not excluded, nor below an excluded folder, reached without a symbolic
// link. err says why that cannot be told.
func (r *reconciler) lookAgain(p string) (Stat, bool, error) {
	if p != r.root {
		if r.ex.Match(p, false) {
			return Stat{}, false, nil
		}
		for dir := parentDir(p); len(dir) > len(r.root) && strings.HasPrefix(dir, r.root); dir = parentDir(dir) {
			if r.ex.Match(dir, true) {
				return Stat{}, false, nil
			}
		}
	}
	fd, err := walk.OpenNoSymlinks(parentDir(p), unix.O_PATH|unix.O_DIRECTORY)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, walk.ErrSymlink) || errors.Is(err, unix.ENOTDIR):
		return Stat{}, false, nil
	case err != nil:
		return Stat{}, false, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	switch err := fstatat(fd, p[strings.LastIndexByte(p, '/')+1:], &st); {
	case err == unix.ENOENT || err == unix.ENOTDIR:
		return Stat{}, false, nil
	case err != nil:
		return Stat{}, false, &fs.PathError{Op: "lstat", Path: p, Err: err}
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return Stat{}, false, nil
	}
	return statOf(&st), true, nil
}

// belowUnreadable reports whether p, or a folder above it, could not be
// read.
func (r *reconciler) belowUnreadable(p string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.unreadable) > 0 {
		if r.unreadable[p] {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			return r.unreadable["/"]
		}
		p = p[:i]
	}
	return false
}

// parentDir is the folder part of a path the walk gave: everything before
// the last "/", "/" for a file at the top, "." for a bare name.
func parentDir(p string) string {
	switch i := strings.LastIndexByte(p, '/'); {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	default:
		return p[:i]
	}
}

func fstatat(dirfd int, name string, st *unix.Stat_t) error {
	for {
		err := unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}

// statOf converts an lstat result; the conversions are needed on 32-bit
// platforms, where the fields are narrower.
func statOf(st *unix.Stat_t) Stat {
	return Stat{
		Dev:   uint64(st.Dev),
		Inode: uint64(st.Ino),
		Size:  int64(st.Size),
		Mode:  uint32(st.Mode),
		UID:   st.Uid,
		GID:   st.Gid,
		MTime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)),
		CTime: time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)),
	}
}

// StatOf returns the Stat of an os.Lstat or os.Stat result, and false when
// info does not come from the operating system's stat.
func StatOf(info fs.FileInfo) (Stat, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return Stat{}, false
	}
	return Stat{
		Dev:   uint64(st.Dev),
		Inode: uint64(st.Ino),
		Size:  int64(st.Size),
		Mode:  uint32(st.Mode),
		UID:   st.Uid,
		GID:   st.Gid,
		MTime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)),
		CTime: time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)),
	}, true
}
