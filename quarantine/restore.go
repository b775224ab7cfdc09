package quarantine

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// Restore puts the file of entry id back at its original path, or at to
// when to is not empty, with its original owner, mode (setuid and setgid
// bits included) and access and modification times, then removes the entry
// from the vault.
//
// The target's parent directory is opened without following symbolic links,
// as Move does, and must exist. An existing target is never overwritten: the
// error wraps ErrExists; a symbolic link put at the target meanwhile counts as
// existing and is not followed. A vault file whose size or SHA-256 no longer
// match its metadata is not restored (the error wraps ErrChanged). A stored
// file with more than one name (from a vault written before the vault kept
// copies) is restored as a copy, and the linked inode is left as it is.
//
// Restoring a file into a watched root makes the agent see it again; it is
// the caller's business to keep it from being quarantined a second time.
func (v *Vault) Restore(id, to string) error {
	e, err := v.Get(id)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	target := e.Path
	if to != "" {
		target = to
	}
	target, dir, base, err := splitPath(target)
	if err != nil {
		return fmt.Errorf("restore %s: %w", id, err)
	}
	fd, st, s, err := v.openStored(e)
	if err != nil {
		return fmt.Errorf("restore %s: %w", id, err)
	}
	defer closeFD(fd)
	if !s.Intact {
		return fmt.Errorf("restore %s: %w: %s", id, ErrChanged, s.Mismatch(e))
	}

	pfd, err := openDirNoFollow(dir)
	if err != nil {
		return fmt.Errorf("restore %s to %q: %w", id, target, err)
	}
	defer closeFD(pfd)
	if _, err := lstatAt(pfd, base); err == nil {
		return fmt.Errorf("restore %s to %q: %w; move it away or restore with --to another path", id, target, ErrExists)
	} else if err != unix.ENOENT {
		return fmt.Errorf("restore %s to %q: %w", id, target, err)
	}
	if e.Type == "symlink" && e.LinkTarget != "" {
		return v.restoreLink(fd, s, e, target, pfd, base)
	}

	var attrErr error
	v.at("restore")
	err = unix.EXDEV
	if st.Nlink == 1 {
		err = renameNoReplace(v.fd, id, pfd, base)
	}
	switch err {
	case nil:
		// The inode arrives as root's with mode 0000; now it gets its own.
		// It is the vault's own copy with no other name, so nothing else
		// changes with it; checked again on the descriptor, as a name can
		// only have been added through a descriptor held since before it
		// entered the vault.
		attrErr = setAttributesAlone(fd, e)
	case unix.EEXIST:
		return fmt.Errorf("restore %s to %q: %w; move it away or restore with --to another path", id, target, ErrExists)
	case unix.EXDEV:
		// Across filesystems, or a stored file with other names (an entry
		// of an older vault that kept the moved inode): a fresh copy gets
		// the attributes, the linked inode is not changed.
		if err := v.copyOut(fd, s, e, pfd, base); err != nil {
			return fmt.Errorf("restore %s to %q: %w", id, target, err)
		}
	default:
		return fmt.Errorf("restore %s to %q: %w", id, target, err)
	}
	if err := unix.Fsync(pfd); err != nil {
		return fmt.Errorf("restore %s to %q: sync: %w", id, target, err)
	}
	if err := v.remove(id); err != nil {
		return fmt.Errorf("restored %s to %q, but: %w", id, target, err)
	}
	if err := unix.Fsync(v.fd); err != nil {
		return fmt.Errorf("restored %s to %q, but syncing the vault: %w", id, target, err)
	}
	if attrErr != nil {
		return fmt.Errorf("restored %s to %q, but not its owner, mode or times: %w", id, target, attrErr)
	}
	return nil
}

// copyOut restores across filesystems: a copy in a temporary file beside the
// target, synced, given the entry's attributes, then renamed to the target
// without replacing anything.
func (v *Vault) copyOut(fd int, want Stored, e Entry, pfd int, base string) error {
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return err
	}
	tmp := ".shellwatch-restore-" + e.ID + "-" + hex.EncodeToString(r[:])
	tfd, err := openat(pfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("create a temporary file beside the target: %w", err)
	}
	var d digest
	_, err = unix.Seek(fd, 0, 0)
	if err == nil {
		d, err = hashReader(io.LimitReader(fdReader(fd), want.Size+1), fdWriter(tfd))
	}
	if err == nil && (d.size != want.Size || d.sha256 != want.SHA256) {
		err = fmt.Errorf("%w: the vault file changed during the copy", ErrChanged)
	}
	if err == nil {
		err = unix.Fsync(tfd)
	}
	if err == nil {
		err = setAttributes(tfd, e)
	}
	if cerr := unix.Close(tfd); err == nil {
		err = cerr
	}
	if err == nil {
		err = renameNoReplace(pfd, tmp, pfd, base)
		if err == unix.EEXIST {
			err = fmt.Errorf("%w; move it away or restore with --to another path", ErrExists)
		}
	}
	if err != nil {
		unix.Unlinkat(pfd, tmp, 0)
		return err
	}
	if err := unix.Unlinkat(v.fd, e.ID, 0); err != nil {
		return fmt.Errorf("restored, but the vault copy was not removed: %w", err)
	}
	return nil
}

// setAttributesAlone is setAttributes for a file that must have no other
// name: when it has, nothing is changed.
func setAttributesAlone(fd int, e Entry) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Nlink != 1 {
		return fmt.Errorf("the restored file has %d names, so its owner, mode and times were left as they are (root, 0000)", st.Nlink)
	}
	return setAttributes(fd, e)
}

// setAttributes gives the open file the owner, mode and times of the entry.
// The owner comes first: chown clears the setuid and setgid bits.
func setAttributes(fd int, e Entry) error {
	if err := unix.Fchown(fd, int(e.UID), int(e.GID)); err != nil {
		return fmt.Errorf("chown %d:%d: %w", e.UID, e.GID, err)
	}
	if err := unix.Fchmod(fd, uint32(e.Mode)); err != nil {
		return fmt.Errorf("chmod %s: %w", e.Mode, err)
	}
	if !e.MTime.IsZero() {
		atime := e.ATime
		if atime.IsZero() {
			atime = e.MTime
		}
		if err := futimens(fd, atime, e.MTime); err != nil {
			return fmt.Errorf("set times: %w", err)
		}
	}
	return nil
}

// Stored is what the file an entry keeps in the vault holds when it is read
// again.
type Stored struct {
	Size int64 // bytes it holds now
	// SHA256 is the hash of those bytes, or empty when Size already differs
	// from the entry's (the file is not read then).
	SHA256 string
	// Intact reports that the stored file still holds the bytes the entry
	// records: its size and SHA-256.
	Intact bool
}

// Mismatch says how s differs from what e records, for an error or a
// report.
func (s Stored) Mismatch(e Entry) string {
	now := fmt.Sprintf("size %d", s.Size)
	if s.SHA256 != "" {
		now += " and sha256 " + s.SHA256
	}
	return fmt.Sprintf("the stored bytes no longer match the recorded hash: the vault file has %s, its metadata says size %d and sha256 %s", now, e.Size, e.SHA256)
}

// Check reads the stored file of e again and reports whether it still holds
// the bytes e records. It fails when the stored file is missing, is not a
// regular file (a directory swapped in during a move: the error wraps
// ErrNotRegular), or cannot be read.
func (v *Vault) Check(e Entry) (Stored, error) {
	fd, _, s, err := v.openStored(e)
	if err != nil {
		return Stored{}, err
	}
	unix.Close(fd)
	return s, nil
}

// openStored opens the stored file of e without following links, hashes it
// when its size is the recorded one, and compares it with e. The descriptor
// is left at the end of what was read; the caller closes it.
func (v *Vault) openStored(e Entry) (int, unix.Stat_t, Stored, error) {
	if err := checkID(e.ID); err != nil {
		return -1, unix.Stat_t{}, Stored{}, err
	}
	st, err := lstatAt(v.fd, e.ID)
	if err != nil {
		return -1, st, Stored{}, fmt.Errorf("the vault file of %s is missing: %w", e.ID, err)
	}
	if !isRegular(&st) {
		// Not opened: a device could act on open.
		return -1, st, Stored{}, fmt.Errorf("%w: the vault holds a %s as %s; inspect it in %s", ErrNotRegular, fileType(st.Mode), e.ID, v.dir)
	}
	fd, err := openat(v.fd, e.ID, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err == nil {
		err = unix.Fstat(fd, &st)
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		return -1, st, Stored{}, fmt.Errorf("open the vault file of %s: %w", e.ID, err)
	}
	s := Stored{Size: st.Size}
	if st.Size == e.Size {
		// One byte more than recorded is enough to see a file that grows.
		d, err := hashReader(io.LimitReader(fdReader(fd), e.Size+1), nil)
		if err != nil {
			unix.Close(fd)
			return -1, st, Stored{}, fmt.Errorf("read the vault file of %s: %w", e.ID, err)
		}
		s.Size, s.SHA256 = d.size, d.sha256
	}
	s.Intact = s.Size == e.Size && (e.SHA256 == "" || s.SHA256 == e.SHA256)
	return fd, st, s, nil
}
