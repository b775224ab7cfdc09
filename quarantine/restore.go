package quarantine

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"golang.org/x/sys/unix"
)

// Restore puts the file of entry id back at its original path, or at to
// when to is not empty, with its original owner, mode (setuid and setgid
// bits included) and access and modification times, then removes the entry
// from the vault.
//
// The target's parent directory is opened without following symbolic links,
// as Move does, and must exist. An existing target is never overwritten: the
// error wraps ErrExists. A vault file whose size or SHA-256 no longer match
// its metadata is not restored (the error wraps ErrChanged).
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
	st, err := lstatAt(v.fd, id)
	if err != nil {
		return fmt.Errorf("restore %s: the vault file is missing: %w", id, err)
	}
	if !isRegular(&st) {
		return fmt.Errorf("restore %s: %w: the vault holds a %s; inspect it in %s", id, ErrNotRegular, fileType(st.Mode), v.dir)
	}
	fd, err := openat(v.fd, id, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("restore %s: %w", id, err)
	}
	defer closeFD(fd)
	d, err := hashReader(fdReader(fd), nil)
	if err != nil {
		return fmt.Errorf("restore %s: read the vault file: %w", id, err)
	}
	if d.size != e.Size || (e.SHA256 != "" && d.sha256 != e.SHA256) {
		return fmt.Errorf("restore %s: %w: the vault file has size %d and sha256 %s, its metadata says size %d and sha256 %s",
			id, ErrChanged, d.size, d.sha256, e.Size, e.SHA256)
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

	var attrErr error
	switch err := renameNoReplace(v.fd, id, pfd, base); err {
	case nil:
		// The inode arrives as root's with mode 0000; now it gets its own.
		attrErr = setAttributes(fd, e)
	case unix.EEXIST:
		return fmt.Errorf("restore %s to %q: %w; move it away or restore with --to another path", id, target, ErrExists)
	case unix.EXDEV:
		if err := v.copyOut(fd, d, e, pfd, base); err != nil {
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
func (v *Vault) copyOut(fd int, want digest, e Entry, pfd int, base string) error {
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
		d, err = hashReader(fdReader(fd), fdWriter(tfd))
	}
	if err == nil && (d.size != want.size || d.sha256 != want.sha256) {
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
