package scanner

import (
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// fillStat copies the fstat result into v.
func fillStat(v *Verdict, st *unix.Stat_t) {
	v.Size = st.Size
	v.Mode, v.StMode = fileMode(st.Mode), st.Mode
	v.UID, v.GID = st.Uid, st.Gid
	v.ModTime = time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	v.ChangeTime = time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	v.Nlink = uint64(st.Nlink)
	v.Dev, v.Inode = uint64(st.Dev), st.Ino
}

// fileMode converts a stat st_mode to an fs.FileMode, as package os does.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFREG:
	default:
		mode |= fs.ModeIrregular
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
