package control

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// maxSocketPath is the longest path bind(2) accepts: sun_path holds 108
// bytes including the terminating NUL. Checked up front because the kernel
// only says "invalid argument".
const maxSocketPath = 107

// probeTimeout bounds the dial that asks whether a daemon still answers on
// an existing socket file. A live daemon accepts at once (the kernel queues
// the connection even while every slot is busy), so a short wait suffices.
const probeTimeout = 2 * time.Second

// prepareDir makes sure dir exists and that nobody but root (or the
// effective user, for tests and unprivileged runs) can create, replace or
// remove entries in it: the socket's safety rests on that directory, since
// bind and chmod work by path.
func prepareDir(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		// Only the last component is created: a missing /run means a
		// broken system, not something to paper over.
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create control socket directory %s: %w", dir, err)
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return fmt.Errorf("control socket directory %s: %w", dir, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("control socket directory %s is a symbolic link: remove it and let shellwatch create the directory, or configure a socket path in a real directory", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("control socket directory %s is not a directory: move it away", dir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("control socket directory %s: cannot read its owner", dir)
	}
	if euid := os.Geteuid(); st.Uid != 0 && int64(st.Uid) != int64(euid) {
		return fmt.Errorf("control socket directory %s is owned by uid %d, not root: run chown root:root %s", dir, st.Uid, dir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("control socket directory %s is writable by group or others (mode %04o): run chmod go-w %s", dir, perm, dir)
	}
	return nil
}

// clearStale makes path free for bind. Nothing there is fine. A socket that
// nobody answers on is what a crashed daemon leaves behind and is removed. A
// socket that answers belongs to another daemon. Anything else — a symbolic
// link above all, which an attacker could aim at a file for us to clobber —
// is refused and left untouched: the operator decides.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(path)
		return fmt.Errorf("refusing control socket %s: it is a symbolic link (to %q) and shellwatch never follows one there; remove it", path, target)
	case fi.Mode()&fs.ModeSocket == 0:
		return fmt.Errorf("refusing control socket %s: something that is not a socket is in the way (%s); move it away", path, fi.Mode().Type())
	}
	conn, err := net.DialTimeout("unix", path, probeTimeout)
	if err == nil {
		conn.Close()
		return fmt.Errorf("another shellwatch is running on %s", path)
	}
	if errors.Is(err, syscall.EAGAIN) {
		// The listener's backlog is full: someone is alive behind it.
		return fmt.Errorf("another shellwatch is running on %s (its queue is full)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("probe existing control socket %s: %w; if no shellwatch is running, remove it", path, err)
	}
	// Remove the very socket that was probed, not whatever might have been
	// put there meanwhile.
	if err := removeIfSame(path, fi); err != nil {
		return fmt.Errorf("remove stale control socket %s: %w", path, err)
	}
	return nil
}

// removeIfSame removes path only if it is still the file fi describes. It
// reports whether it removed it through the error only: nil when the file
// is gone or was replaced by another (which is left alone).
func removeIfSame(path string, fi fs.FileInfo) error {
	now, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !os.SameFile(fi, now) || now.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%s was replaced by another file; left in place", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// checkSocketPath reports whether path is absolute and short enough for bind.
func checkSocketPath(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("control socket path %q must be absolute", path)
	}
	if len(path) > maxSocketPath {
		return fmt.Errorf("control socket path %s is too long (%d bytes, unix sockets allow %d): choose a shorter one", path, len(path), maxSocketPath)
	}
	return nil
}
