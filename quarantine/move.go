package quarantine

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"golang.org/x/sys/unix"
)

// Request asks for one file to be quarantined. Dev, Inode, Size and SHA256
// are what the scanner saw when it flagged the file: Move checks that what it
// moves is that file. The rest is recorded in the metadata.
type Request struct {
	Path   string // absolute
	Dev    uint64
	Inode  uint64
	Size   int64
	SHA256 string // hex, required
	Rules  []Match
	Reason string // why the caller quarantines, e.g. "webshell" or "undeployed script"
}

// Move moves the file req.Path out of its web root into the vault and
// returns its entry. It never follows a symbolic link: a link anywhere in the
// path, or the file itself being one, is refused with an error wrapping
// ErrSymlink, and a FIFO, device or directory with ErrNotRegular.
//
// Move never changes the mode, owner or content of the inode it moves: that
// inode may have other names (hard links) outside the root, and one renamed
// over the path during the move is not the file that was scanned. On the same
// filesystem the name is renamed into the vault, which takes it out of the
// root at once; across filesystems the file is opened, checked, copied, and
// its name unlinked once the copy and its metadata are on disk. Either way
// what the vault stores is a copy it wrote itself, by content, into a fresh
// inode of mode 0000 that no other process holds open: the first req.Size
// bytes, kept when they hash to req.SHA256 — what was scanned, whatever a
// writer that kept its descriptor open added since (Note says so). The
// moved inode loses its name in the vault; names it had elsewhere keep it,
// untouched, and Entry.OtherLinks counts them.
//
// The file must be the one that was scanned. If, when Move looks at it, the
// path holds another inode (or nothing), nothing is moved and the error wraps
// ErrChanged: rescan the path. If the swap happens during the move, so that
// the vault receives another inode, or the scanned bytes changed, the vault
// keeps a copy of what it received (up to maxUnscannedCopy bytes) with
// Verified false, its own hashes, and the scanned values in Scanned; the
// error wraps ErrChanged too, and the returned Entry has its ID. It is kept
// rather than put back because it is unscanned content that appeared in a
// web root at the moment of a detection — the likeliest author is the
// attacker dodging quarantine — and putting it back would make it servable
// again through a rename that can itself race; in the vault it is harmless,
// an operator can restore it in one command, and the rescan the caller makes
// of the path catches whatever comes next. A directory, FIFO or device
// swapped in is kept in the vault as it is, neither opened nor changed.
func (v *Vault) Move(req Request) (Entry, error) {
	path, dir, base, err := splitPath(req.Path)
	if err != nil {
		return Entry{}, fmt.Errorf("quarantine: %w", err)
	}
	want := strings.ToLower(req.SHA256)
	if want == "" || !isHex(want, 64) {
		return Entry{}, fmt.Errorf("quarantine %q: the request carries no sha256 of the scanned file", path)
	}
	if req.Inode == 0 {
		return Entry{}, fmt.Errorf("quarantine %q: the request carries no inode of the scanned file", path)
	}
	pfd, err := openDirNoFollow(dir)
	if err != nil {
		return Entry{}, fmt.Errorf("quarantine %q: %w", path, err)
	}
	defer closeFD(pfd)
	st, err := lstatAt(pfd, base)
	if err != nil {
		if err == unix.ENOENT {
			return Entry{}, fmt.Errorf("quarantine %q: gone before the move: %w: %w", path, ErrChanged, err)
		}
		return Entry{}, fmt.Errorf("quarantine %q: %w", path, err)
	}
	if err := checkScanned(path, &st, req); err != nil {
		return Entry{}, err
	}
	now := v.now().UTC()
	id, err := newID(now)
	if err != nil {
		return Entry{}, fmt.Errorf("quarantine %q: %w", path, err)
	}
	e := Entry{ID: id, Path: path, Rules: req.Rules, Reason: req.Reason, QuarantinedAt: now, Host: v.host}
	v.at("rename")
	switch err := v.renameIn(pfd, base, id); err {
	case nil:
		e.Method = "rename"
		return v.keepRenamed(e, req, want, &st, pfd)
	case unix.EXDEV:
		e.Method = "copy"
		return v.copyIn(e, req, want, pfd, base)
	case unix.ENOENT:
		return Entry{}, fmt.Errorf("quarantine %q: gone before the move: %w: %w", path, ErrChanged, err)
	default:
		return Entry{}, fmt.Errorf("quarantine %q: move into vault %q: %w", path, v.dir, err)
	}
}

// checkScanned refuses what the path holds now unless it is the regular
// file the scanner saw.
func checkScanned(path string, st *unix.Stat_t, req Request) error {
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return fmt.Errorf("quarantine %q: the file is a %w", path, ErrSymlink)
	case !isRegular(st):
		return fmt.Errorf("quarantine %q: %w: a %s", path, ErrNotRegular, fileType(st.Mode))
	case uint64(st.Dev) != req.Dev || uint64(st.Ino) != req.Inode:
		return fmt.Errorf("quarantine %q: %w: the path holds inode %d on device %d, the scanner saw inode %d on device %d; nothing moved",
			path, ErrChanged, st.Ino, st.Dev, req.Inode, req.Dev)
	}
	return nil
}

// renameIn renames name in dirfd to id in the vault. The id is fresh and
// the vault private, so where RENAME_NOREPLACE is not supported a plain
// rename is as safe.
func (v *Vault) renameIn(dirfd int, name, id string) error {
	err := unix.Renameat2(dirfd, name, v.fd, id, unix.RENAME_NOREPLACE)
	if err == unix.EINVAL || err == unix.ENOSYS {
		err = unix.Renameat(dirfd, name, v.fd, id)
	}
	return err
}

// maxUnscannedCopy bounds the copy of content nobody scanned: an inode
// swapped in during a move, or the scanned inode once its scanned bytes
// changed. What lies beyond is not kept, and the entry says so.
const maxUnscannedCopy = 64 << 20

// keepRenamed turns what a rename brought into the vault as e.ID into an
// entry: a fresh copy of its content replaces it under that name, and the
// metadata is written. before is the stat of the path just before the
// rename. The moved inode is opened read-only and never changed.
func (v *Vault) keepRenamed(e Entry, req Request, want string, before *unix.Stat_t, pfd int) (Entry, error) {
	var problems []string
	// The directory the file left is synced so the removal survives a crash.
	if err := unix.Fsync(pfd); err != nil {
		problems = append(problems, "sync of the original directory failed: "+err.Error())
	}
	st, err := lstatAt(v.fd, e.ID)
	if err != nil {
		// Nothing the vault can describe; leave the name to List as an orphan.
		return e, fmt.Errorf("quarantine %q: moved into the vault as %s, then: %w", e.Path, e.ID, err)
	}
	if !isRegular(&st) {
		// A directory, FIFO or device renamed over the file between the
		// check and the rename (a symbolic link was refused by the check,
		// and one swapped in lands here too). The vault is private: kept as
		// it is, it harms nobody; opened, a device could act.
		fillStat(&e, &st)
		e.Scanned = &Scanned{Dev: req.Dev, Inode: req.Inode, Size: req.Size, SHA256: want}
		problems = append([]string{fmt.Sprintf("a %s (inode %d; the scanner saw inode %d) was swapped in between the check and the move; the vault keeps it as it is",
			fileType(st.Mode), st.Ino, req.Inode)}, problems...)
		return v.finish(e, problems)
	}
	// The vault is private, so the name still holds what lstat saw; what
	// counts from here is the descriptor.
	fd, err := openat(v.fd, e.ID, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err == nil {
		defer closeFD(fd)
		err = unix.Fstat(fd, &st)
	}
	if err != nil {
		fillStat(&e, &st)
		e.Scanned = &Scanned{Dev: req.Dev, Inode: req.Inode, Size: req.Size, SHA256: want}
		return v.finish(e, append([]string{"the vault holds the moved file itself, not a copy: cannot read it: " + err.Error()}, problems...))
	}
	sameInode := uint64(st.Dev) == req.Dev && st.Ino == req.Inode
	if sameInode {
		fillStat(&e, before)
	} else {
		fillStat(&e, &st)
		problems = append([]string{fmt.Sprintf("a different file (inode %d; the scanner saw inode %d) was swapped in between the check and the move; the vault keeps a copy of its content",
			st.Ino, req.Inode)}, problems...)
		want = "" // nothing of this inode was scanned
	}
	c, err := v.storeCopy(fd, e.ID, req.Size, want)
	if err != nil {
		e.Scanned = &Scanned{Dev: req.Dev, Inode: req.Inode, Size: req.Size, SHA256: strings.ToLower(req.SHA256)}
		return v.finish(e, append(problems, "the vault holds the moved file itself, not a copy: "+err.Error()))
	}
	e.record(req, c, otherLinks(&st))
	return v.finish(e, problems)
}

// finish writes the metadata of e, with problems joined into e.Problem after
// any problem e already records, and returns the error Move owes its
// caller: one wrapping ErrChanged when what is in the vault is not what was
// scanned.
func (v *Vault) finish(e Entry, problems []string) (Entry, error) {
	if len(problems) > 0 {
		e.Problem = joinProblem(strings.Join(problems, "; "), e.Problem)
	}
	if err := v.writeMetadata(e); err != nil {
		return e, fmt.Errorf("quarantine %q: moved into the vault as %s, but: %w", e.Path, e.ID, err)
	}
	if !e.Verified {
		return e, fmt.Errorf("quarantine %q: %w: %s; what was moved is kept in the vault as %s, marked unverified", e.Path, ErrChanged, e.Problem, e.ID)
	}
	if e.Problem != "" {
		return e, fmt.Errorf("quarantine %q: moved into the vault as %s, but: %s", e.Path, e.ID, e.Problem)
	}
	return e, nil
}

// record fills e with what the vault stored, c, and says in Problem and
// Note how it differs from what was scanned: otherLinks names of the inode
// remain outside the vault.
func (e *Entry) record(req Request, c stored, otherLinks uint64) {
	e.Size, e.SHA256, e.MD5 = c.size, c.sha256, c.md5
	e.Verified = c.verified
	e.OtherLinks = otherLinks
	if !c.verified {
		e.Scanned = &Scanned{Dev: req.Dev, Inode: req.Inode, Size: req.Size, SHA256: strings.ToLower(req.SHA256)}
		if uint64(e.Inode) == req.Inode && e.Dev == req.Dev {
			e.Problem = joinProblem(e.Problem, fmt.Sprintf("content differs from what was scanned: the file holds %d bytes, the scanner saw %d bytes with sha256 %s; the vault keeps what the file held",
				c.srcSize, req.Size, e.Scanned.SHA256))
		}
	}
	if c.cut {
		e.Problem = joinProblem(e.Problem, fmt.Sprintf("only the first %d of its %d bytes are kept", c.size, c.srcSize))
	}
	if c.verified && c.srcSize != req.Size {
		e.Note = joinProblem(e.Note, fmt.Sprintf("the file had grown to %d bytes after the scan (a writer kept it open); the vault keeps the %d bytes that were scanned", c.srcSize, req.Size))
	}
	if otherLinks > 0 {
		e.Note = joinProblem(e.Note, fmt.Sprintf("the inode had %d other link(s) (hard links: find -xdev -inum %d on the filesystem of device %d lists them); they still hold the content and were left as they are",
			otherLinks, e.Inode, e.Dev))
	}
}

// otherLinks is how many names the file of st has besides the one the vault
// is taking away.
func otherLinks(st *unix.Stat_t) uint64 {
	if st.Nlink < 1 {
		return 0
	}
	return uint64(st.Nlink) - 1
}

// stored is what storeCopy kept.
type stored struct {
	digest        // of the bytes kept
	verified bool // they are the scanned bytes
	cut      bool // the source held more than maxUnscannedCopy unscanned bytes
	srcSize  int64
}

// storeCopy writes into the vault, under the name id (replacing what a
// rename put there), a fresh copy of what src holds: see copyScanned. The
// copy is created by this process with mode 0000, synced, then renamed into
// place, so it is never seen half written and no other process holds it.
func (v *Vault) storeCopy(src int, id string, size int64, sha string) (stored, error) {
	c, err := v.storeFrom(fdReader(src), id, size, sha)
	if err != nil {
		return c, err
	}
	var st unix.Stat_t
	if unix.Fstat(src, &st) == nil {
		c.srcSize = st.Size
	}
	return c, nil
}

// storeFrom is storeCopy from a reader.
func (v *Vault) storeFrom(src io.Reader, id string, size int64, sha string) (stored, error) {
	tmp := tempPrefix + id
	tfd, err := openat(v.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return stored{}, fmt.Errorf("create a copy in vault %q: %w", v.dir, err)
	}
	c, err := copyScanned(src, fdWriter(tfd), size, sha)
	if err == nil {
		err = unix.Fsync(tfd)
	}
	if cerr := unix.Close(tfd); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(v.fd, tmp, v.fd, id)
	}
	if err != nil {
		unix.Unlinkat(v.fd, tmp, 0)
		return stored{}, fmt.Errorf("copy into vault %q: %w", v.dir, err)
	}
	return c, nil
}

// copyScanned copies r to w. When sha is not empty it copies the first size
// bytes and stops there if they hash to sha: the bytes that were scanned,
// whatever was written after them. Otherwise — they changed, or there is no
// scan of r to check against — it copies on to maxUnscannedCopy bytes at the
// most, and reports whether r held more.
func copyScanned(r io.Reader, w io.Writer, size int64, sha string) (stored, error) {
	s, m := sha256.New(), md5.New()
	dst := io.MultiWriter(s, m, w)
	var n int64
	if sha != "" {
		var err error
		if n, err = io.Copy(dst, io.LimitReader(r, size)); err != nil {
			return stored{}, err
		}
		if n == size && hex.EncodeToString(s.Sum(nil)) == sha {
			return stored{digest: digest{size: n, sha256: sha, md5: hex.EncodeToString(m.Sum(nil))}, verified: true}, nil
		}
	}
	more, err := io.Copy(dst, io.LimitReader(r, max(0, maxUnscannedCopy-n)))
	if err != nil {
		return stored{}, err
	}
	n += more
	var one [1]byte
	k, err := r.Read(one[:])
	if err != nil && err != io.EOF {
		return stored{}, err
	}
	return stored{digest: digest{size: n, sha256: hex.EncodeToString(s.Sum(nil)), md5: hex.EncodeToString(m.Sum(nil))}, cut: k > 0}, nil
}

// copyIn quarantines across filesystems: open the file through its parent,
// check it is the scanned inode, copy it into the vault (storeCopy), write
// the metadata, then unlink the original if its name still holds the copied
// inode. The original inode is only read.
func (v *Vault) copyIn(e Entry, req Request, want string, pfd int, base string) (Entry, error) {
	path := e.Path
	v.at("open")
	sfd, err := openat(pfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		err = classifyOpenError(pfd, base, err)
		if err == ErrSymlink || err == unix.ENOENT {
			return Entry{}, fmt.Errorf("quarantine %q: %w: %w", path, ErrChanged, err)
		}
		return Entry{}, fmt.Errorf("quarantine %q: %w", path, err)
	}
	defer closeFD(sfd)
	var st unix.Stat_t
	if err := unix.Fstat(sfd, &st); err != nil {
		return Entry{}, fmt.Errorf("quarantine %q: %w", path, err)
	}
	if err := checkScanned(path, &st, req); err != nil {
		return Entry{}, err
	}
	c, err := v.storeCopy(sfd, e.ID, req.Size, want)
	if err != nil {
		return Entry{}, fmt.Errorf("quarantine %q: %w; the original is left in place", path, err)
	}
	fillStat(&e, &st)
	e.record(req, c, otherLinks(&st))
	if err := v.writeMetadata(e); err != nil {
		// Without metadata the copy is useless; the original stays.
		v.remove(e.ID)
		return Entry{}, fmt.Errorf("quarantine %q: %w; the original is left in place", path, err)
	}

	// Unlink the original only if its name still holds the copied inode: a
	// file renamed over it meanwhile is not ours to delete.
	v.at("unlink")
	cur, err := lstatAt(pfd, base)
	switch {
	case err == nil && cur.Dev == st.Dev && cur.Ino == st.Ino:
		if err := unix.Unlinkat(pfd, base, 0); err != nil {
			e.Problem = joinProblem(e.Problem, "the original could not be removed: "+err.Error())
			v.writeMetadata(e)
			return e, fmt.Errorf("quarantine %q: copied into the vault as %s, but the original could not be removed: %w", path, e.ID, err)
		}
		if err := unix.Fsync(pfd); err != nil {
			return e, fmt.Errorf("quarantine %q: copied into the vault as %s, but syncing the original directory: %w", path, e.ID, err)
		}
	case err == nil || err == unix.ENOENT:
		e.Problem = joinProblem(e.Problem, "the original path changed during the copy and was left as it is")
		v.writeMetadata(e)
		return e, fmt.Errorf("quarantine %q: %w: copied into the vault as %s, but the path changed during the copy and was left as it is", path, ErrChanged, e.ID)
	default:
		return e, fmt.Errorf("quarantine %q: copied into the vault as %s, but the original was not removed: %w", path, e.ID, err)
	}
	if !e.Verified {
		return e, fmt.Errorf("quarantine %q: %w: %s; the copy is kept in the vault as %s, marked unverified", path, ErrChanged, e.Problem, e.ID)
	}
	return e, nil
}

func joinProblem(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// fillStat records the stat of the file in e.
func fillStat(e *Entry, st *unix.Stat_t) {
	e.Type = fileType(st.Mode)
	e.Dev, e.Inode, e.Nlink = uint64(st.Dev), uint64(st.Ino), uint64(st.Nlink)
	e.UID, e.GID = st.Uid, st.Gid
	e.User, e.Group = ownerNames(st.Uid, st.Gid)
	e.Mode = Mode(st.Mode & 0o7777)
	e.MTime, e.CTime, e.ATime = timespec(st.Mtim), timespec(st.Ctim), timespec(st.Atim)
	e.Size = st.Size
}
