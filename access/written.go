package access

import (
	"time"

	"golang.org/x/sys/unix"
)

// BirthTime returns the birth time (statx btime) of the file at path, when
// the filesystem keeps one and the path still holds inode; else ctime, the
// closest the inode tells.
func BirthTime(path string, inode uint64, ctime time.Time) time.Time {
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME|unix.STATX_INO, &stx)
	if err == nil && stx.Mask&unix.STATX_BTIME != 0 && stx.Ino == inode {
		return time.Unix(stx.Btime.Sec, int64(stx.Btime.Nsec))
	}
	return ctime
}

// WrittenAt returns the moment the request that made the file what was
// scanned ran: for a new file its birth ([BirthTime]), for a file the
// baseline knew its last change (ctime: the write, which no one can set
// back; its birth is the deploy's). Call it before the file is moved into
// the vault: the path is gone after.
func WrittenAt(path string, inode uint64, ctime time.Time, isNew bool) time.Time {
	if isNew {
		return BirthTime(path, inode, ctime)
	}
	return ctime
}
