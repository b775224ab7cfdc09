package guard

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/walk"
)

// Trusting a file: once a file is judged clean, the guard asks the kernel
// to stop reporting its opens, with an ignore mark on the file's inode
// (FAN_MARK_IGNORED_MASK over FAN_OPEN_PERM and FAN_OPEN_EXEC_PERM). Its
// next opens, by the web server or by root's backup alike, cost nothing:
// no event, no round trip through the guard.
//
// The mark lasts while the file is the file judged:
//
//   - the kernel clears it at the file's first modification (write(2),
//     truncate, fallocate, copy_file_range, io_uring writes: every change
//     that raises FS_MODIFY), since the mark is made without
//     FAN_MARK_IGNORED_SURV_MODIFY; the next open is an event again, and the
//     changed identity is judged anew;
//   - it is made evictable (FAN_MARK_EVICTABLE): it never pins the inode in
//     memory, and goes with it when the kernel evicts the inode; the next
//     open is an event again;
//   - a new name for the file (a rename, a new hard link) is the same
//     content, judged.
//
// A change that raises no FS_MODIFY is a write through a shared mapping
// (mmap). A held user could open a trusted file for writing without an
// event (its open is ignored too) and write through a mapping, so only a
// file that no held user can write is trusted: its owner is not a held
// user, and neither its group nor others may write it (with a POSIX ACL,
// the group bits are the ACL's mask, which bounds every named user and
// group). A change of its attributes (chmod, chown, an ACL) may make it
// writable to them: it ends the trust. The folder group hears FAN_ATTRIB
// of the folders' entries and, by an inode mark of its own made with the
// ignore mark (watchAttrib), of the trusted file itself by any name, a
// new hard link included; the event names the file by its own handle,
// and the mark of that inode is removed, whatever its name is by then
// (untrustEntry, marks.go); when the group lost events, the roots are
// walked (untrustChanged). What is left, and
// the README says: an account other than the web users' that can write
// the file (root, a deploy user) and writes it through a shared mapping
// is not seen by prevention until the file's next event (the watcher's,
// or the sweep's); the detection pipeline still judges it then, as it
// always did.
//
// A mark is made only when no one has the file open for writing (a read
// lease probe), and checked again after it is made: a writer that opened
// the file between the verdict and the mark, or a change in between,
// removes it at once.

// trustable reports whether a file of identity id and status st, judged
// clean, may be trusted: a regular, non-empty file no held user can write.
func (g *Guard) trustable(st *unix.Stat_t) bool {
	return !g.opts.NoTrust && g.unwritable(st) && !g.trustOff()
}

// unwritable reports whether st is a regular, non-empty file no held user
// can write.
func (g *Guard) unwritable(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size > 0 && st.Mode&0o022 == 0 && !g.users[st.Uid]
}

// untrustChanged walks the roots once the folder group has lost events
// (a full queue: a mass chown or chmod, say) and removes the ignore mark
// of every trusted file that a held user may write now, by its name,
// without opening it: a change of attributes whose event was lost must
// not leave such a file trusted. It returns the number of marks removed.
func (g *Guard) untrustChanged() int {
	n := 0
	if g.trusted.len() == 0 {
		return n
	}
	for _, root := range g.opts.Roots {
		walk.Walk(context.Background(), root, nil, func(path string, d fs.DirEntry) error {
			if g.closed.Load() {
				return fs.SkipAll
			}
			var st unix.Stat_t
			if !d.Type().IsRegular() || walk.LstatT(path, &st) != nil || g.unwritable(&st) {
				return nil
			}
			if g.trusted.has(fileKey{uint64(st.Dev), st.Ino}) && g.unmarkAt(unix.AT_FDCWD, path, false) == nil {
				g.untrusted(&st)
				n++
			}
			return nil
		}, func(string, error) {})
	}
	return n
}

// The marks of a user are bounded by fs.fanotify.max_user_marks, folders'
// and ignore marks alike: the guard trusts at most half of it at once, so
// that trusting never leaves a new folder unmarked, hence unguarded. The
// count of marks made is an upper bound: the kernel drops an ignore mark
// with its inode (evicted, deleted) without a word; a guard that reaches
// the bound stops trusting until it is restarted (a reload), and judges
// every other open as before.
const fallbackTrustCap = 8192

// defaultTrustCap is the files that half of what proc's
// fs.fanotify.max_user_marks leaves once folders marks are made may
// trust: each folder takes two marks (the permission group's and the
// folders group's), and four while a reload runs the old guard beside the
// new one; each trusted file takes two (its ignore mark, and the mark that
// hears its attribute changes).
func defaultTrustCap(proc string, folders int64) int64 {
	b, err := os.ReadFile(proc + "/sys/fs/fanotify/max_user_marks")
	if err != nil {
		return fallbackTrustCap
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n < 2 {
		return fallbackTrustCap
	}
	return max(0, n-4*folders) / 4
}

// trust marks the file of fd, whose identity id was judged clean, to be
// ignored by the kernel from now on, when it is trustable and no one has
// it open for writing. It never blocks: a few system calls.
func (g *Guard) trust(fd int32, id Identity) {
	var st unix.Stat_t
	if unix.Fstat(int(fd), &st) != nil || identityOf(&st) != id || !g.trustable(&st) || isOpenForWriting(fd) ||
		!g.roots.holds(int(fd)) {
		// A file on a file system mounted below a root is never
		// trusted: its attribute changes could not be traced back to it
		// (untrustEntry opens handles on the roots' file systems only).
		return
	}
	key := fileKey{id.Dev, id.Inode}
	added, ok := g.trusted.add(key, g.opts.trustCap)
	if !ok {
		g.capReached()
		return
	}
	// Its attribute changes are heard whatever name they come by: an inode
	// mark of the folder group, made before the ignore mark (see
	// watchAttrib).
	err := g.watchAttrib(fd)
	if err == nil {
		err = g.mark(unix.FAN_MARK_ADD|unix.FAN_MARK_IGNORED_MASK|unix.FAN_MARK_EVICTABLE, fd)
	}
	if err != nil {
		if added {
			g.unwatchAttrib(int(fd), "", 0) // the ignore mark was not made
			g.trusted.remove(key)
		}
		g.stats.trustErrors.Add(1)
		switch {
		case errors.Is(err, unix.ENOSPC):
			// fs.fanotify.max_user_marks: the files already trusted stay,
			// the others are judged at each open; try again later.
			g.trustPausedUntil.Store(time.Now().Add(trustPause).UnixNano())
		case errors.Is(err, unix.EINVAL):
			// A kernel before 5.19 (no FAN_MARK_EVICTABLE), or a file
			// system that refuses the mark: every open is judged, as
			// before there was trust.
			g.trustPausedUntil.Store(math.MaxInt64)
			g.log.Warn("prevention: the kernel refuses ignore marks; every open in the roots is a round trip through the agent", "err", err)
		}
		return
	}
	// A writer that came between the checks and the mark: its write may
	// have raised FS_MODIFY before there was a mask to clear.
	if unix.Fstat(int(fd), &st) != nil || identityOf(&st) != id || isOpenForWriting(fd) {
		g.untrust(fd)
		return
	}
	g.stats.trusted.Add(1)
}

// watchAttrib makes the folder group hear the attribute changes of the
// file of fd itself (FAN_ATTRIB on an evictable inode mark): a chmod,
// chown or ACL change by any name, a name outside the roots included (a
// hard link; the file renamed out, changed, and renamed back), and a new
// hard link (its link count changes). The folder marks alone hear only
// the changes made by a name in a marked folder.
func (g *Guard) watchAttrib(fd int32) error {
	return rawFD(g.dirs, func(group int) error {
		return unix.FanotifyMark(group, unix.FAN_MARK_ADD|unix.FAN_MARK_EVICTABLE, unix.FAN_ATTRIB, int(fd), "")
	})
}

// unmarkAt removes the trust of the file at path (from dirfd; "" for
// dirfd's own file), never through a symbolic link unless follow (a
// /proc/self/fd link, which is the inode open there): its ignore mark,
// whose removal it returns the error of, and the folder group's mark of
// its attribute changes (watchAttrib).
func (g *Guard) unmarkAt(dirfd int, path string, follow bool) error {
	flags := uint(unix.FAN_MARK_REMOVE)
	if !follow {
		flags |= unix.FAN_MARK_DONT_FOLLOW
	}
	err := rawFD(g.perm, func(group int) error {
		return unix.FanotifyMark(group, flags|unix.FAN_MARK_IGNORED_MASK, permMask, dirfd, path)
	})
	if err == nil {
		// Only with the ignore mark: a late event of a file whose trust
		// is being made (its attribute mark made, its ignore mark not
		// yet) must not leave it trusted deaf to its attribute changes.
		g.unwatchAttrib(dirfd, path, flags&unix.FAN_MARK_DONT_FOLLOW)
	}
	return err
}

// unwatchAttrib removes the folder group's mark of the attribute changes
// of the file at path (see watchAttrib); ENOENT when it has none.
func (g *Guard) unwatchAttrib(dirfd int, path string, flags uint) {
	_ = rawFD(g.dirs, func(group int) error {
		return unix.FanotifyMark(group, unix.FAN_MARK_REMOVE|flags, unix.FAN_ATTRIB, dirfd, path)
	})
}

// untrusted counts the end of the trust of the file of status st, whose
// mark was removed.
func (g *Guard) untrusted(st *unix.Stat_t) {
	g.trusted.remove(fileKey{uint64(st.Dev), st.Ino})
	g.stats.untrusted.Add(1)
}

// untrust removes the ignore mark of the file of fd.
func (g *Guard) untrust(fd int32) {
	var st unix.Stat_t
	if g.unmarkAt(int(fd), "", true) == nil && unix.Fstat(int(fd), &st) == nil {
		g.trusted.remove(fileKey{uint64(st.Dev), st.Ino})
	}
}

// fileKey is an inode: what a mark is on.
type fileKey struct{ dev, inode uint64 }

// trustSet is the inodes the guard has made an ignore mark on and not
// removed: a file trusted again after a write (the kernel cleared the
// mask, the mark stays) counts once. The kernel drops the marks of evicted
// or deleted inodes without a word, so the set is an upper bound.
type trustSet struct {
	mu   sync.Mutex
	keys map[fileKey]struct{}
}

// add puts k in the set, unless the set holds limit keys already; added
// says whether k is new, ok whether it is in the set now.
func (s *trustSet) add(k fileKey, limit int64) (added, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, in := s.keys[k]; in {
		return false, true
	}
	if int64(len(s.keys)) >= limit {
		return false, false
	}
	if s.keys == nil {
		s.keys = map[fileKey]struct{}{}
	}
	s.keys[k] = struct{}{}
	return true, true
}

func (s *trustSet) has(k fileKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.keys[k]
	return ok
}

func (s *trustSet) remove(k fileKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, k)
}

func (s *trustSet) len() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.keys))
}

// capReached logs, once a guard, that trusting stops at its bound.
func (g *Guard) capReached() {
	if g.capSaid.CompareAndSwap(false, true) {
		g.log.Warn("prevention: the bound of trusted files is reached; the other files are judged at each open until the next reload",
			"trusted", g.opts.trustCap)
	}
}

// mark changes the permission group's ignore mark of the file of fd. It
// holds the group's descriptor while it does (rawFD), so a Stop at the
// same moment cannot hand the call a number reused by another group.
func (g *Guard) mark(flags uint, fd int32) error {
	return rawFD(g.perm, func(perm int) error {
		return unix.FanotifyMark(perm, flags, permMask, int(fd), "")
	})
}

// trustPause is how long the guard stops trusting files after the kernel
// refused a mark for its limit.
const trustPause = time.Minute

// trustOff reports whether trusting is paused.
func (g *Guard) trustOff() bool {
	until := g.trustPausedUntil.Load()
	return until != 0 && time.Now().UnixNano() < until
}

// learn is an open by someone not held, of a file the guard has no
// verdict on, allowed already: the baseline is asked about it beside the
// read loop, and the file trusted when it knows it clean, so that a
// second burst of root's opens (a backup, a deploy's checks) costs
// nothing. Its descriptor is the learner's to close.
type learn struct {
	fd int32
	id Identity
}

// learnLoop asks the baseline about what the read loop allowed unjudged.
func (g *Guard) learnLoop() {
	for l := range g.learns {
		if g.opts.Known != nil && !g.closed.Load() {
			if v, ok := g.opts.Known(fdPath(l.fd), l.id); ok && !g.denies(v.Severity) && !g.racy(l.id) {
				g.cache.put(l.id, g.kept(v))
				g.trust(l.fd, l.id)
			}
		}
		unix.Close(int(l.fd))
	}
}

// toLearn hands an allowed event's descriptor to the learner, or closes
// it when the learner is busy: learning is a saving, never owed.
func (g *Guard) toLearn(fd int32, st *unix.Stat_t) {
	if g.opts.Known == nil || !g.trustable(st) {
		unix.Close(int(fd))
		return
	}
	select {
	case g.learns <- learn{fd: fd, id: identityOf(st)}:
	default:
		unix.Close(int(fd))
	}
}

// pretrustPause is the rest pretrust takes every pretrustBatch files, to
// leave the CPUs to the host while it walks a large root.
const (
	pretrustBatch = 256
	pretrustPause = time.Millisecond
)

// pretrust trusts, beside the guard's start, the files of the roots that
// the baseline knows clean, so that their first opens after a start or a
// reload (root's backup, the web server's first requests) raise no event
// either. It opens each regular file (never through a link; its own opens
// are allowed at once by the read loop), and stops at the bound of trust
// or when the guard stops.
func (g *Guard) pretrust() {
	defer g.pretrusted.Store(true)
	if g.opts.Known == nil || g.opts.NoTrust {
		return
	}
	n := 0
	for _, root := range g.opts.Roots {
		walk.Walk(context.Background(), root, nil, func(path string, d fs.DirEntry) error {
			if g.closed.Load() || g.trustOff() || g.trusted.len() >= g.opts.trustCap {
				return fs.SkipAll
			}
			if !d.Type().IsRegular() {
				return nil
			}
			if n++; n%pretrustBatch == 0 {
				time.Sleep(pretrustPause)
			}
			// Looked at before it is opened: a root of files the web
			// users can write, or the baseline does not know, costs an
			// lstat and a lookup each, never an open.
			var st unix.Stat_t
			if walk.LstatT(path, &st) != nil || !g.trustable(&st) {
				return nil
			}
			id := identityOf(&st)
			if g.racy(id) {
				return nil // the baseline's record may be racily clean
			}
			v, ok := g.opts.Known(path, id)
			if !ok || g.denies(v.Severity) {
				return nil
			}
			fd, err := walk.OpenNoSymlinks(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC)
			if err != nil {
				return nil
			}
			defer unix.Close(fd)
			g.cache.put(id, g.kept(v))
			g.trust(int32(fd), id) // only when the file opened is the file looked at
			return nil
		}, func(string, error) {})
	}
}
