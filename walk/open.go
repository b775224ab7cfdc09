package walk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
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
// A path longer than the kernel takes in one call (PATH_MAX, 4096 bytes
// with its NUL) is opened a piece at a time: the longest run of whole
// components that fits is opened as a folder (O_PATH), the next run below
// it, and so on, each with the same refusal of links. A folder nested
// deeper than PATH_MAX (built with relative mkdir, which has no such limit)
// is no hiding place.
//
// Every path is resolved as it is written: a root named through a symbolic
// link (/var/www when /var is a link) cannot be opened, so name roots by
// their real path.
func OpenNoSymlinks(path string, flags int) (int, error) {
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	if len(path) <= maxPathArg {
		fd, err := openNoSymlinksAt(unix.AT_FDCWD, path, flags)
		return fd, openError(path, err)
	}
	dirfd, rest := unix.AT_FDCWD, path
	defer func() {
		if dirfd != unix.AT_FDCWD {
			unix.Close(dirfd)
		}
	}()
	for len(rest) > maxPathArg {
		cut := strings.LastIndexByte(rest[:maxPathArg+1], '/')
		piece := rest[:cut+1] // "/" alone for a first piece of "/"
		if cut <= 0 && !strings.HasPrefix(rest, "/") {
			return -1, openError(path, unix.ENAMETOOLONG) // one name past PATH_MAX
		}
		next, err := openNoSymlinksAt(dirfd, piece, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
		if err != nil {
			return -1, openError(path, err)
		}
		if dirfd != unix.AT_FDCWD {
			unix.Close(dirfd)
		}
		// What is left is relative to the folder opened: never absolute,
		// which would make openat ignore it.
		dirfd, rest = next, strings.TrimLeft(rest[cut+1:], "/")
		if rest == "" {
			rest = "."
		}
	}
	fd, err := openNoSymlinksAt(dirfd, rest, flags)
	return fd, openError(path, err)
}

// maxPathArg is the longest path one system call takes: PATH_MAX less its
// NUL.
const maxPathArg = unix.PathMax - 1

// openNoSymlinksAt opens path relative to dirfd (AT_FDCWD: the working
// folder) with openat2 and RESOLVE_NO_SYMLINKS, or openat where openat2 is
// missing; flags are used as they are. The error is the call's.
func openNoSymlinksAt(dirfd int, path string, flags int) (int, error) {
	if !openat2Missing.Load() {
		how := unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_NO_SYMLINKS}
		for {
			fd, err := unix.Openat2(dirfd, path, &how)
			if err == unix.EINTR {
				continue
			}
			if err != unix.ENOSYS {
				return fd, err
			}
			openat2Missing.Store(true)
			break
		}
	}
	for {
		fd, err := unix.Openat(dirfd, path, flags, 0)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// Lstat returns what lstat(2) says of path, for a path of any length: one
// longer than PATH_MAX is opened (O_PATH, not following a link in any of
// its components, so a link at the end is described, not followed) and
// described with fstat. Shorter paths are lstat-ed as os.Lstat does.
func Lstat(path string) (fs.FileInfo, error) {
	if len(path) <= maxPathArg {
		return os.Lstat(path)
	}
	fd, err := OpenNoSymlinks(path, unix.O_PATH)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: path, Err: unwrapErrno(err)}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	return f.Stat()
}

// LstatT is [Lstat] into a unix.Stat_t.
func LstatT(path string, st *unix.Stat_t) error {
	if len(path) <= maxPathArg {
		return unix.Lstat(path, st)
	}
	fd, err := OpenNoSymlinks(path, unix.O_PATH)
	if err != nil {
		return unwrapErrno(err)
	}
	defer unix.Close(fd)
	return unix.Fstat(fd, st)
}

// unwrapErrno returns the errno inside err (ELOOP for a link refused), or
// err.
func unwrapErrno(err error) error {
	if errors.Is(err, ErrSymlink) {
		return unix.ELOOP
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
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
