package guard

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/walk"
)

// rootFDs are the roots opened, by file system id: a folder event names
// its folder by handle, which open_by_handle_at opens through any
// descriptor on the same file system (not an O_PATH one).
type rootFDs struct {
	byFsid map[[8]byte]int
}

// fsidOf returns the id of the file system fd is on, as fanotify's FID
// records give it.
func fsidOf(fd int) ([8]byte, error) {
	var id [8]byte
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return id, err
	}
	for i, v := range sfs.Fsid.Val {
		for k := range 4 {
			id[4*i+k] = byte(uint32(v) >> (8 * k))
		}
	}
	return id, nil
}

// holds reports whether the guard can open handles on the file system of
// fd: the file systems of the roots. A file on a file system mounted
// below a root (another disk, a btrfs subvolume) is not: the events of
// its attribute changes could not be turned back into the file.
func (r *rootFDs) holds(fd int) bool {
	id, err := fsidOf(fd)
	if err != nil {
		return false
	}
	_, ok := r.byFsid[id]
	return ok
}

func openRoots(roots []string) (*rootFDs, error) {
	r := &rootFDs{byFsid: map[[8]byte]int{}}
	for _, root := range roots {
		fd, err := walk.OpenNoSymlinks(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NONBLOCK)
		if err != nil {
			r.close()
			return nil, err
		}
		id, err := fsidOf(fd)
		if err != nil {
			unix.Close(fd)
			r.close()
			return nil, err
		}
		if _, ok := r.byFsid[id]; ok {
			unix.Close(fd)
			continue
		}
		r.byFsid[id] = fd
	}
	return r, nil
}

func (r *rootFDs) close() {
	for _, fd := range r.byFsid {
		unix.Close(fd)
	}
	clear(r.byFsid)
}

// markTree marks dir and every folder below it, in both groups. Symbolic
// links are never followed; a folder that cannot be marked is counted and
// logged, and the rest are marked still.
func (g *Guard) markTree(dir string) {
	queue := []string{dir}
	for len(queue) > 0 {
		d := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		fd, err := walk.OpenNoSymlinks(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NONBLOCK)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				g.markFailed(d, err)
			}
			continue
		}
		if err := g.markFD(fd); err != nil {
			g.markFailed(d, err)
		}
		f := os.NewFile(uintptr(fd), d)
		entries, _ := f.ReadDir(-1)
		f.Close()
		for _, e := range entries {
			if e.Type().IsDir() {
				queue = append(queue, filepath.Join(d, e.Name()))
			}
		}
	}
}

// markVault marks the folder dir (not those below it) in the permission
// group: held users' opens of its files are refused (Options.Vaults). A
// vault that cannot be marked is logged and counted, as a folder of a
// root is.
func (g *Guard) markVault(dir string) {
	fd, err := walk.OpenNoSymlinks(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NONBLOCK)
	if err == nil {
		err = rawFD(g.perm, func(group int) error {
			return unix.FanotifyMark(group, unix.FAN_MARK_ADD, permMask|unix.FAN_EVENT_ON_CHILD, fd, "")
		})
		unix.Close(fd)
	}
	if err != nil {
		g.markFailed(dir, err)
	}
}

// inVault reports whether path is a file of one of the vault folders.
func (g *Guard) inVault(path string) bool {
	for _, v := range g.opts.Vaults {
		if filepath.Dir(path) == filepath.Clean(v) {
			return true
		}
	}
	return false
}

// markFD marks the folder open as fd: its files' opens in the permission
// group, its new sub-folders in the folder group.
func (g *Guard) markFD(fd int) error {
	err := rawFD(g.perm, func(group int) error {
		return unix.FanotifyMark(group, unix.FAN_MARK_ADD, permMask|unix.FAN_EVENT_ON_CHILD, fd, "")
	})
	if err != nil {
		return err
	}
	if err := rawFD(g.dirs, func(group int) error {
		return unix.FanotifyMark(group, unix.FAN_MARK_ADD, dirMask, fd, "")
	}); err != nil {
		return err
	}
	g.stats.marks.Add(1)
	return nil
}

func (g *Guard) markFailed(dir string, err error) {
	g.stats.markErrors.Add(1)
	if errors.Is(err, unix.ENOSPC) {
		g.log.Error("prevention: folder not guarded: fs.fanotify.max_user_marks is reached; raise it", "path", dir, "err", err)
	} else {
		g.log.Error("prevention: folder not guarded", "path", dir, "err", err)
	}
	g.degraded()
}

// dirLoop marks the folders made or moved into a marked folder, with what
// they already hold, as soon as the folder group reports them. A queue
// overflow loses such reports: every root is marked again (marking a
// marked folder changes nothing).
func (g *Guard) dirLoop() {
	buf := make([]byte, 64<<10)
	for {
		if g.opts.dirHold != nil {
			select {
			case <-g.opts.dirHold:
			case <-g.stopping:
				return
			}
		}
		n, err := g.dirs.Read(buf)
		if err != nil {
			if g.closed.Load() || errors.Is(err, os.ErrClosed) {
				return
			}
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			g.log.Error("fanotify: read folder events; new folders are not guarded", "err", err)
			return
		}
		overflow := false
		var made []string
		perr := parseEvents(buf[:n], func(e event) {
			if e.fd >= 0 {
				unix.Close(int(e.fd)) // FID groups pass none; never keep one
			}
			switch {
			case e.mask&unix.FAN_Q_OVERFLOW != 0:
				overflow = true
			case e.mask&unix.FAN_ONDIR != 0:
				if e.mask&(unix.FAN_CREATE|unix.FAN_MOVED_TO) == 0 {
					break // a folder's own attributes
				}
				if p, ok := g.resolve(parseFIDInfo(e.info)); ok {
					made = append(made, p)
				}
			case e.mask&unix.FAN_ATTRIB != 0:
				g.untrustEntry(parseFIDInfo(e.info))
			}
		})
		if perr != nil {
			g.log.Error("fanotify: folder events", "err", perr)
		}
		for _, p := range made {
			g.markTree(p)
		}
		if overflow {
			for _, r := range g.opts.Roots {
				g.markTree(r)
			}
			n := g.untrustChanged()
			g.log.Warn("prevention: folder events lost (queue overflow); the roots are marked again, and the trust of the files the web users may write now ended",
				"untrusted", n)
		}
	}
}

// resolve turns a folder event's parent handle and name into the path of
// the new folder.
func (g *Guard) resolve(fi fidInfo) (string, bool) {
	fd, name, ok := g.openParent(fi)
	if !ok {
		return "", false
	}
	defer unix.Close(fd)
	parent := fdPath(int32(fd))
	if parent == "" || parent[0] != '/' {
		return "", false
	}
	return filepath.Join(parent, name), true
}

// openParent opens (O_PATH) the folder a folder-group event names by
// handle, and returns it with the entry's name.
func (g *Guard) openParent(fi fidInfo) (fd int, name string, ok bool) {
	name = fi.name
	if !fi.hasEntry || name == "." || name == ".." || filepath.Base(name) != name {
		return -1, "", false
	}
	fd, ok = g.openByID(fi.dir)
	return fd, name, ok
}

// openByID opens (O_PATH) the file or folder a folder-group event names by
// handle, through the root open on its file system; false when no root is
// on it, or the kernel cannot open the handle (the file is gone).
func (g *Guard) openByID(id fileID) (fd int, ok bool) {
	mount, ok := g.roots.byFsid[id.fsid]
	if !ok {
		return -1, false
	}
	fd, err := unix.OpenByHandleAt(mount, id.handle, unix.O_PATH|unix.O_CLOEXEC)
	if err != nil {
		return -1, false
	}
	return fd, true
}

// untrustEntry ends the trust of a file whose attributes changed (a chmod
// or chown may have made it writable to a web user, see ignore.go),
// without opening it: the ignore mark of the inode the event names by its
// own handle, whatever its name is now; without that handle (byNameOnly,
// see initFolderGroup) or when it cannot be opened, the mark of the file
// at the name the event gave. A file the guard has not trusted costs a
// stat, no mark call.
func (g *Guard) untrustEntry(fi fidInfo) {
	if g.trusted.len() == 0 {
		return
	}
	if fi.hasFile {
		if fd, ok := g.openByID(fi.file); ok {
			defer unix.Close(fd)
			g.untrustInode(fd)
			return
		}
	}
	dir, name, ok := g.openParent(fi)
	if !ok {
		return
	}
	defer unix.Close(dir)
	var st unix.Stat_t
	if unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || !g.trusted.has(fileKey{uint64(st.Dev), st.Ino}) {
		return // no trusted file at the name: no mark to remove by it
	}
	if g.unmarkAt(dir, name, false) == nil {
		g.untrusted(&st)
	}
}

// untrustInode removes the ignore mark of the regular file open (O_PATH)
// as fd. fanotify_mark refuses an O_PATH descriptor as the object itself
// (EBADF); its /proc/self/fd link, followed, is that very inode.
func (g *Guard) untrustInode(fd int) {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || !g.trusted.has(fileKey{uint64(st.Dev), st.Ino}) {
		return // only regular files are trusted, and this one is not
	}
	if g.unmarkAt(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), true) == nil {
		g.untrusted(&st)
	}
}
