package scanner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"github.com/shellwatch/shellwatch/internal/regular"
	"golang.org/x/sys/unix"
)

// Link is what a symbolic link leads to, found without ever following it
// to open its target for anything but a look: the target as the link
// stores it, and, resolved through an O_PATH descriptor (which reads,
// writes and blocks on nothing), what it reaches.
type Link struct {
	// Target is the link's text (readlink), byte-exact: attacker-chosen.
	Target string
	// Resolved is the path the link reaches once every link on the way is
	// followed (as the kernel names it); "" when it reaches nothing.
	Resolved string
	// Mode is the type and permission bits of what the link reaches; zero
	// when it reaches nothing (Unresolved says why).
	Mode       fs.FileMode
	Unresolved error
	// Content is the scan of the target when it is a regular file on a
	// disk filesystem (a pseudo-filesystem such as /proc, or a FUSE one,
	// is never read: a read there can block, or have effects); its Path is
	// the link's, whose name says what a web server makes of it. Nil when
	// the target was not read (ContentSkipped says why, if it was a file).
	Content        *Verdict
	ContentSkipped string
}

// unreadFilesystems are the filesystems whose files a link's target is
// never read from: reading them can block for ever (/proc/kmsg, a FUSE
// server the attacker runs), consume what it reads, or act.
var unreadFilesystems = map[int64]string{
	unix.PROC_SUPER_MAGIC: "proc", unix.SYSFS_MAGIC: "sysfs", unix.DEBUGFS_MAGIC: "debugfs",
	unix.TRACEFS_MAGIC: "tracefs", unix.SECURITYFS_MAGIC: "securityfs", unix.SELINUX_MAGIC: "selinuxfs",
	unix.CGROUP_SUPER_MAGIC: "cgroup", unix.CGROUP2_SUPER_MAGIC: "cgroup2", unix.BPF_FS_MAGIC: "bpf",
	unix.PSTOREFS_MAGIC: "pstore", unix.EFIVARFS_MAGIC: "efivarfs", unix.DEVPTS_SUPER_MAGIC: "devpts",
	unix.FUSE_SUPER_MAGIC: "fuse",
}

// ScanLink looks at the symbolic link at path: its target, what it
// resolves to, and, when that is a regular file on a disk filesystem, a
// scan of its content under the link's name (size limits as for any
// file). The target is reached with an O_PATH descriptor that refuses
// /proc's magic links (/proc/self/fd/N, /proc/PID/root), is looked at with
// fstat, and is opened for reading, through that descriptor, only once it
// is known to be a regular file: a FIFO, a device, a directory are never
// opened. It returns an error when path is not a symbolic link or cannot
// be read.
func (s *Scanner) ScanLink(ctx context.Context, path string) (Link, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return Link{}, fmt.Errorf("lstat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return Link{}, fmt.Errorf("%s is not a symbolic link (%s)", path, regular.TypeName(fileMode(st.Mode)))
	}
	target, err := os.Readlink(path)
	if err != nil {
		return Link{}, err
	}
	l := Link{Target: target}
	fd, err := openPath(path)
	if err != nil {
		l.Unresolved = err
		return l, nil
	}
	defer unix.Close(fd)
	self := "/proc/self/fd/" + strconv.Itoa(fd)
	if l.Resolved, err = os.Readlink(self); err != nil {
		l.Resolved = ""
	}
	if err := unix.Fstat(fd, &st); err != nil {
		l.Unresolved = fmt.Errorf("fstat the target of %s: %w", path, err)
		return l, nil
	}
	l.Mode = fileMode(st.Mode)
	if !l.Mode.IsRegular() {
		return l, nil
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		l.ContentSkipped = "its filesystem cannot be told: " + err.Error()
		return l, nil
	}
	if name, ok := unreadFilesystems[int64(sfs.Type)]; ok {
		l.ContentSkipped = "it is on a " + name + " filesystem, never read"
		return l, nil
	}
	// Reopened through the O_PATH descriptor: the very inode looked at.
	rfd, err := unix.Open(self, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		l.ContentSkipped = "it cannot be opened: " + err.Error()
		return l, nil
	}
	f := os.NewFile(uintptr(rfd), path)
	defer f.Close()
	v := s.scanWith(ctx, path, func(ctx context.Context, w *worker, v *Verdict) {
		s.scanOpen(ctx, w, v, rfd, f, nil)
	})
	l.Content = &v
	return l, nil
}

// openPath opens what the link at path leads to as an O_PATH descriptor,
// following ordinary links but never a /proc magic link.
func openPath(path string) (int, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_MAGICLINKS}
	for {
		fd, err := unix.Openat2(unix.AT_FDCWD, path, &how)
		switch {
		case err == unix.EINTR:
			continue
		case errors.Is(err, unix.ENOSYS):
			// Before Linux 5.6: O_PATH alone (magic links are followed,
			// but nothing is opened for reading or writing through them).
			fd, err = unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		}
		if err != nil {
			return -1, fmt.Errorf("resolve %s: %w", path, err)
		}
		return fd, nil
	}
}
