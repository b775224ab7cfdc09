package walk

import (
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ErrSymlink is wrapped by the error of [OpenNoSymlinks] when the path has a
// symbolic link in it, and by the error [Walk] reports for a root that is a
// symbolic link.
var ErrSymlink = errors.New("symbolic link in path, not followed")

// openat2Missing records that the kernel (before Linux 5.6) or a seccomp
// filter refused openat2, so later opens go straight to the fallback.
var openat2Missing atomic.Bool

// OpenNoSymlinks opens path with flags (O_NOFOLLOW and O_CLOEXEC are always
// added) and returns the file descriptor. It uses openat2 with
// RESOLVE_NO_SYMLINKS, so a symbolic link in any component of the path — not
// only the last — makes the open fail with an error wrapping [ErrSymlink].
// Where openat2 is not available (ENOSYS), it falls back to open(2) with the
// same flags, which refuses a link in the last component only.
//
// Every path is resolved as it is written: a root named through a symbolic
// link (/var/www when /var is a link) cannot be opened, so name roots by
// their real path.
func OpenNoSymlinks(path string, flags int) (int, error) {
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	if !openat2Missing.Load() {
		how := unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_NO_SYMLINKS}
		for {
			fd, err := unix.Openat2(unix.AT_FDCWD, path, &how)
			if err == unix.EINTR {
				continue
			}
			if err != unix.ENOSYS {
				return fd, openError(path, err)
			}
			openat2Missing.Store(true)
			break
		}
	}
	for {
		fd, err := unix.Open(path, flags, 0)
		if err == unix.EINTR {
			continue
		}
		return fd, openError(path, err)
	}
}

// Openat2Available reports whether opens use openat2, and so refuse links in
// every path component. It is false only after openat2 failed with ENOSYS.
func Openat2Available() bool { return !openat2Missing.Load() }

func openError(path string, err error) error {
	switch {
	case err == nil:
		return nil
	case err == unix.ELOOP:
		return fmt.Errorf("open %s: %w", path, ErrSymlink)
	default:
		return fmt.Errorf("open %s: %w", path, err)
	}
}
