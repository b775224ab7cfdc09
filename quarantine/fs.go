package quarantine

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// splitPath checks that p is an absolute path naming something below "/" and
// returns it cleaned, with its directory and last component.
func splitPath(p string) (clean, dir, base string, err error) {
	if !strings.HasPrefix(p, "/") {
		return "", "", "", fmt.Errorf("path %q is not absolute", p)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", "", "", fmt.Errorf("path %q holds a NUL byte", p)
	}
	clean = filepath.Clean(p)
	if clean == "/" {
		return "", "", "", fmt.Errorf("path %q names the root directory", p)
	}
	return clean, filepath.Dir(clean), filepath.Base(clean), nil
}

// openDirNoFollow opens the directory dir (absolute and clean) walking from
// "/" one component at a time with O_NOFOLLOW, so no symbolic link anywhere
// in the path is followed: a link fails with an error wrapping ErrSymlink.
// Unlike openat2 with RESOLVE_NO_SYMLINKS, it works on every kernel.
func openDirNoFollow(dir string) (int, error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := openat(unix.AT_FDCWD, "/", flags, 0)
	if err != nil {
		return -1, fmt.Errorf("open /: %w", err)
	}
	walked := ""
	for _, name := range strings.Split(strings.TrimPrefix(dir, "/"), "/") {
		if name == "" {
			continue
		}
		walked += "/" + name
		next, err := openat(fd, name, flags, 0)
		if err != nil {
			err = classifyOpenError(fd, name, err)
			unix.Close(fd)
			return -1, fmt.Errorf("open directory %q: %w", walked, err)
		}
		unix.Close(fd)
		fd = next
	}
	return fd, nil
}

// classifyOpenError turns the ELOOP or ENOTDIR of an O_NOFOLLOW open of a
// symbolic link into ErrSymlink.
func classifyOpenError(dirfd int, name string, err error) error {
	if err != unix.ELOOP && err != unix.ENOTDIR && err != unix.EMLINK {
		return err
	}
	var st unix.Stat_t
	if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return ErrSymlink
	}
	return err
}

// openat is unix.Openat retried on EINTR, which opening a FIFO or a file on a
// network filesystem may return.
func openat(dirfd int, name string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags, mode)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// lstatAt stats name in dirfd without following a symbolic link.
func lstatAt(dirfd int, name string) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	return st, err
}

// renameNoReplace renames without replacing an existing target: renameat2
// with RENAME_NOREPLACE, or, on filesystems without it, link then unlink
// (link fails with EEXIST just the same). Across filesystems it returns EXDEV.
func renameNoReplace(olddirfd int, oldname string, newdirfd int, newname string) error {
	err := unix.Renameat2(olddirfd, oldname, newdirfd, newname, unix.RENAME_NOREPLACE)
	if err != unix.EINVAL && err != unix.ENOSYS {
		return err
	}
	if err := unix.Linkat(olddirfd, oldname, newdirfd, newname, 0); err != nil {
		return err
	}
	return unix.Unlinkat(olddirfd, oldname, 0)
}

// fileType names the type bits of a stat mode.
func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR:
		return "char-device"
	case unix.S_IFBLK:
		return "block-device"
	}
	return "unknown"
}

func isRegular(st *unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFREG }

func timespec(ts unix.Timespec) time.Time { return time.Unix(ts.Unix()).UTC() }

// digest is what one read of a file yields.
type digest struct {
	size        int64
	sha256, md5 string
}

// hashReader reads r to the end, hashing it and, when w is not nil, copying
// it to w.
func hashReader(r io.Reader, w io.Writer) (digest, error) {
	s, m := sha256.New(), md5.New()
	dst := io.MultiWriter(s, m)
	if w != nil {
		dst = io.MultiWriter(s, m, w)
	}
	n, err := io.Copy(dst, r)
	if err != nil {
		return digest{}, err
	}
	return digest{size: n, sha256: hex.EncodeToString(s.Sum(nil)), md5: hex.EncodeToString(m.Sum(nil))}, nil
}

// fdReader reads from a file descriptor it does not own.
type fdReader int

func (fd fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// fdWriter writes to a file descriptor it does not own.
type fdWriter int

func (fd fdWriter) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		n, err := unix.Write(int(fd), p[written:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return written, err
		}
		written += n
	}
	return written, nil
}

// futimens sets the access and modification times of an open file:
// utimensat(fd, NULL, times, 0), which x/sys/unix does not wrap.
func futimens(fd int, atime, mtime time.Time) error {
	ts := [2]unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// closeFD closes fd, for defer.
func closeFD(fd int) { unix.Close(fd) }

// isNotExist reports whether err says a name does not exist.
func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
