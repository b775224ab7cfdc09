package quarantine

import (
	"fmt"
	"os"
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

// Move moves the file req.Path into the vault and returns its entry. It never
// follows a symbolic link: a link anywhere in the path, or the file itself
// being one, is refused with an error wrapping ErrSymlink, and a FIFO,
// device or directory with ErrNotRegular.
//
// On the same filesystem the file is renamed into the vault (the inode moves,
// with its owner, times and link count); across filesystems it is copied,
// synced, and the original is unlinked once the copy and its metadata are on
// disk. Either way the stored file gets mode 0000.
//
// The file must be the one that was scanned. If, when Move looks at it, the
// path holds another inode (or nothing), nothing is moved and the error wraps
// ErrChanged: rescan the path. If the swap happens during the move, so that
// the vault receives another inode or different content, the thing received
// stays in the vault with Verified false, its own hashes, and the scanned
// values in Scanned; the error wraps ErrChanged too, and the returned Entry
// has its ID. It is kept rather than moved back because it is unscanned
// content that appeared in a web root at the moment of a detection — the
// likeliest author is the attacker dodging quarantine — and putting it back
// would make it servable again through a rename that can itself race; in the
// vault it is harmless, an operator can restore it in one command, and the
// rescan the caller makes of the path catches whatever comes next.
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
		return v.verifyRenamed(e, req, want, &st, pfd)
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

// verifyRenamed checks what a rename brought into the vault against the
// request, sets its mode to 0000, and writes the metadata. before is the
// stat of the path just before the rename.
func (v *Vault) verifyRenamed(e Entry, req Request, want string, before *unix.Stat_t, pfd int) (Entry, error) {
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
	var d digest
	hashed := false
	switch {
	case isRegular(&st):
		fd, err := openat(v.fd, e.ID, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			problems = append(problems, "cannot open the vault copy: "+err.Error())
			break
		}
		if err := lockDown(fd); err != nil {
			problems = append(problems, err.Error())
		}
		d, err = hashReader(fdReader(fd), nil)
		unix.Close(fd)
		if err != nil {
			problems = append(problems, "cannot hash the vault copy: "+err.Error())
			break
		}
		hashed = true
	case st.Mode&unix.S_IFMT != unix.S_IFLNK:
		// A directory, FIFO or device was swapped in: take its permissions
		// away too (the vault is private, so the name cannot change here).
		if err := unix.Fchmodat(v.fd, e.ID, 0, 0); err != nil {
			problems = append(problems, "chmod 0000 failed: "+err.Error())
		}
	}
	sameInode := st.Dev == before.Dev && st.Ino == before.Ino
	if sameInode {
		fillStat(&e, before)
	} else {
		fillStat(&e, &st)
	}
	if hashed {
		e.Size, e.SHA256, e.MD5 = d.size, d.sha256, d.md5
	}
	e.Verified = sameInode && hashed && d.size == req.Size && d.sha256 == want
	switch {
	case e.Verified:
	case !sameInode:
		problems = append([]string{fmt.Sprintf("a different %s (inode %d; the scanner saw inode %d) was swapped in between the check and the move",
			fileType(st.Mode), st.Ino, req.Inode)}, problems...)
	case hashed:
		problems = append([]string{fmt.Sprintf("content changed between the scan and the move (size %d, sha256 %s; the scanner saw size %d, sha256 %s)",
			d.size, d.sha256, req.Size, want)}, problems...)
	}
	if !e.Verified {
		e.Scanned = &Scanned{Dev: req.Dev, Inode: req.Inode, Size: req.Size, SHA256: want}
	}
	e.Problem = strings.Join(problems, "; ")
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

// copyIn quarantines across filesystems: open the file through its parent,
// check it is the scanned inode, copy it into a temporary file in the vault
// while hashing, sync, rename to its id, write the metadata, then unlink the
// original if its name still holds the copied inode.
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

	tmp := tempPrefix + e.ID
	tfd, err := openat(v.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return Entry{}, fmt.Errorf("quarantine %q: create in vault %q: %w", path, v.dir, err)
	}
	d, err := hashReader(fdReader(sfd), fdWriter(tfd))
	if err == nil {
		err = unix.Fsync(tfd)
	}
	if err == nil {
		err = unix.Fchmod(tfd, 0)
	}
	if cerr := unix.Close(tfd); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(v.fd, tmp, v.fd, e.ID)
	}
	if err != nil {
		unix.Unlinkat(v.fd, tmp, 0)
		return Entry{}, fmt.Errorf("quarantine %q: copy into vault %q: %w; the original is left in place", path, v.dir, err)
	}

	fillStat(&e, &st)
	e.Size, e.SHA256, e.MD5 = d.size, d.sha256, d.md5
	e.Verified = d.size == req.Size && d.sha256 == want
	if !e.Verified {
		e.Scanned = &Scanned{Dev: req.Dev, Inode: req.Inode, Size: req.Size, SHA256: want}
		e.Problem = fmt.Sprintf("content changed between the scan and the copy (size %d, sha256 %s; the scanner saw size %d, sha256 %s)",
			d.size, d.sha256, req.Size, want)
	}
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

// lockDown makes a file in the vault root's (when running as root, as the
// agent does) with mode 0000, whoever owned it: the owner's quota no longer
// pays for it, and its mode cannot be changed back by its owner.
func lockDown(fd int) error {
	if os.Geteuid() == 0 {
		if err := unix.Fchown(fd, 0, 0); err != nil {
			return fmt.Errorf("chown root failed: %w", err)
		}
	}
	if err := unix.Fchmod(fd, 0); err != nil {
		return fmt.Errorf("chmod 0000 failed: %w", err)
	}
	return nil
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
