package state

import (
	"context"
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
// never called concurrently. Records are reported Deleted only after a
// complete walk, and never below a folder that could not be read: a
// cancelled context returns ctx.Err() before any Deleted is reported. A root
// that is missing or a symbolic link is an error, not a tree of deletions.
func Reconcile(ctx context.Context, db *DB, root string, ex *walk.Globs, fn func(Difference)) (ReconcileStats, error) {
	info, err := os.Lstat(root)
	if err != nil {
		return ReconcileStats{}, fmt.Errorf("reconcile %s: %w", root, err)
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return ReconcileStats{}, fmt.Errorf("reconcile %s: %w", root, walk.ErrSymlink)
	}
	known, err := db.loadStats(root)
	if err != nil {
		return ReconcileStats{}, err
	}
	r := &reconciler{
		db:         db,
		fn:         fn,
		known:      known,
		index:      make(map[string]int, len(known)),
		seen:       make([]bool, len(known)),
		unreadable: make(map[string]bool),
	}
	for i, e := range known {
		r.index[e.path] = i
	}

	jobs := make(chan statJob, 4*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				r.statFiles(job)
			}
		}()
	}
	var job statJob
	flush := func() {
		if len(job.paths) > 0 {
			jobs <- job
		}
		job = statJob{}
	}
	var symlinks, special int64 // the walk's goroutine only
	visit := func(p string, d fs.DirEntry) error {
		switch t := d.Type(); {
		case t.IsRegular():
			dir := parentDir(p)
			if dir != job.dir || len(job.paths) == statBatch {
				flush()
				job.dir = dir
			}
			job.paths = append(job.paths, p)
		case t&fs.ModeSymlink != 0:
			symlinks++
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
	walkErr := walk.Walk(ctx, root, ex, visit, onError)
	flush()
	close(jobs)
	wg.Wait()
	r.stats.Symlinks += symlinks
	r.stats.Special += special
	if walkErr == nil {
		walkErr = ctx.Err()
	}
	if walkErr != nil {
		return r.stats, fmt.Errorf("reconcile %s: %w", root, walkErr)
	}
	return r.stats, r.reportDeleted()
}

// statJob is a run of regular files of one folder, as the walk listed them.
type statJob struct {
	dir   string
	paths []string
}

type reconciler struct {
	db    *DB
	known []statEntry
	index map[string]int
	// seen[i] is set, by the one worker that meets known[i]'s path, when
	// the path is a regular file (or could not be lstat'ed): its record
	// is not deleted. Read after the workers are done.
	seen []bool

	// mu serialises fn and guards stats and unreadable.
	mu         sync.Mutex
	fn         func(Difference)
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

// unreadableDir reports a folder (or an entry) the walk could not read and
// keeps the records below it.
func (r *reconciler) unreadableDir(p string, err error) {
	r.mu.Lock()
	r.unreadable[p] = true
	r.mu.Unlock()
	r.emit(Difference{Path: p, Kind: Unreadable, Err: err})
}

// statFiles lstats the files of job relative to their folder, opened with
// no symbolic link anywhere in its path, and compares each with its record.
func (r *reconciler) statFiles(job statJob) {
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
	var files, unchanged, vanished, symlinks, special int64
	for _, p := range job.paths {
		var st unix.Stat_t
		err := fstatat(fd, p[strings.LastIndexByte(p, '/')+1:], &st)
		switch {
		case err == unix.ENOENT:
			vanished++
			continue
		case err != nil:
			r.markSeen(p)
			r.emit(Difference{Path: p, Kind: Unreadable, Err: &fs.PathError{Op: "lstat", Path: p, Err: err}})
			continue
		case st.Mode&unix.S_IFMT == unix.S_IFLNK:
			symlinks++ // replaced since the listing
			continue
		case st.Mode&unix.S_IFMT != unix.S_IFREG:
			special++
			continue
		}
		files++
		now := statOf(&st)
		i, ok := r.index[p]
		if !ok {
			r.emit(Difference{Path: p, Kind: Added, Stat: now})
			continue
		}
		r.seen[i] = true
		if r.known[i].stat.SameIdentity(now) {
			unchanged++
			continue
		}
		old, ok, err := r.db.Get(p)
		switch {
		case err != nil:
			r.emit(Difference{Path: p, Kind: Unreadable, Err: err})
		case !ok: // deleted from the DB since the load
			r.emit(Difference{Path: p, Kind: Added, Stat: now})
		default:
			r.emit(Difference{Path: p, Kind: Changed, Old: &old, Stat: now})
		}
	}
	r.count(func(s *ReconcileStats) {
		s.Files += files
		s.Unchanged += unchanged
		s.Vanished += vanished
		s.Symlinks += symlinks
		s.Special += special
	})
}

func (r *reconciler) markSeen(p string) {
	if i, ok := r.index[p]; ok {
		r.seen[i] = true
	}
}

// reportDeleted reports the records whose path the walk did not find as a
// regular file, except those below a folder it could not read.
func (r *reconciler) reportDeleted() error {
	var gone []string
	for i, e := range r.known {
		if r.seen[i] {
			continue
		}
		if r.belowUnreadable(e.path) {
			r.stats.Kept++
			continue
		}
		gone = append(gone, e.path)
	}
	if len(gone) == 0 {
		return nil
	}
	olds, err := r.db.getMany(gone)
	if err != nil {
		return err
	}
	for i := range gone {
		if olds[i] != nil { // else deleted from the DB since the load
			r.emit(Difference{Path: gone[i], Kind: Deleted, Old: olds[i]})
		}
	}
	return nil
}

// belowUnreadable reports whether p, or a folder above it, could not be
// read.
func (r *reconciler) belowUnreadable(p string) bool {
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
