package quarantine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// LinkRequest asks for a symbolic link to be quarantined: the link itself,
// never what it points to. Dev, Inode and Target are what the caller saw
// and judged: MoveLink moves only that link.
type LinkRequest struct {
	Path   string // absolute
	Dev    uint64
	Inode  uint64
	Target string // the link's text, as readlink gave it
	Rules  []Match
	Reason string
}

// MoveLink takes the symbolic link req.Path out of its root into the vault
// and returns its entry. The link is never followed: its parent is opened
// refusing links, the name is checked to be a link of req's device, inode
// and text, and it is renamed into the vault (on another filesystem: its
// text stored first, then the name unlinked if it still holds that link).
// What the vault keeps is a regular file of mode 0000 holding the link's
// text, byte-exact (Entry.LinkTarget shows it, Type is "symlink"), so the
// vault never holds a link that could lead anywhere; Restore makes the
// link again. A name that holds anything else is left alone and the error
// wraps ErrChanged.
func (v *Vault) MoveLink(req LinkRequest) (Entry, error) {
	path, dir, base, err := splitPath(req.Path)
	if err != nil {
		return Entry{}, fmt.Errorf("quarantine: %w", err)
	}
	pfd, err := openDirNoFollow(dir)
	if err != nil {
		return Entry{}, fmt.Errorf("quarantine %q: %w", path, err)
	}
	defer closeFD(pfd)
	st, err := v.checkLink(pfd, base, path, req)
	if err != nil {
		return Entry{}, err
	}
	now := v.now().UTC()
	id, err := newID(now)
	if err != nil {
		return Entry{}, fmt.Errorf("quarantine %q: %w", path, err)
	}
	e := Entry{ID: id, Path: path, Rules: req.Rules, Reason: req.Reason, QuarantinedAt: now, Host: v.host, LinkTarget: req.Target}
	fillStat(&e, &st)
	v.at("rename")
	switch err := v.renameIn(pfd, base, id); err {
	case nil:
		e.Method = "rename"
		if err := unix.Fsync(pfd); err != nil {
			e.Problem = "sync of the original directory failed: " + err.Error()
		}
		if _, err := v.checkLink(v.fd, id, path, req); err != nil {
			// Swapped between the check and the rename: kept as it is
			// (a link in the private vault leads nobody anywhere).
			e.Problem = joinProblem("what was moved is not the link that was judged: "+err.Error(), e.Problem)
			return v.finish(e, nil)
		}
	case unix.EXDEV:
		e.Method = "copy"
	case unix.ENOENT:
		return Entry{}, fmt.Errorf("quarantine %q: gone before the move: %w: %w", path, ErrChanged, err)
	default:
		return Entry{}, fmt.Errorf("quarantine %q: move into vault %q: %w", path, v.dir, err)
	}
	sum := sha256.Sum256([]byte(req.Target))
	c, err := v.storeFrom(strings.NewReader(req.Target), id, int64(len(req.Target)), hex.EncodeToString(sum[:]))
	if err != nil {
		if e.Method == "copy" {
			return Entry{}, fmt.Errorf("quarantine %q: %w; the link is left in place", path, err)
		}
		e.Problem = joinProblem(e.Problem, "the vault holds the link itself, not its text: "+err.Error())
		return v.finish(e, nil)
	}
	e.Size, e.SHA256, e.MD5, e.Verified = c.size, c.sha256, c.md5, c.verified
	if err := v.writeMetadata(e); err != nil {
		return e, fmt.Errorf("quarantine %q: moved into the vault as %s, but: %w", path, id, err)
	}
	if e.Method == "copy" {
		v.at("unlink")
		if _, err := v.checkLink(pfd, base, path, req); err != nil {
			e.Problem = joinProblem(e.Problem, "the original path changed during the copy and was left as it is")
			v.writeMetadata(e)
			return e, fmt.Errorf("quarantine %q: %w: its text is in the vault as %s, but the path changed and was left as it is", path, ErrChanged, id)
		}
		if err := unix.Unlinkat(pfd, base, 0); err != nil {
			return e, fmt.Errorf("quarantine %q: its text is in the vault as %s, but the link could not be removed: %w", path, id, err)
		}
		unix.Fsync(pfd)
	}
	if e.Problem != "" {
		return e, fmt.Errorf("quarantine %q: moved into the vault as %s, but: %s", path, id, e.Problem)
	}
	return e, nil
}

// checkLink returns the lstat of name in dirfd when it is the link req
// describes (device, inode and text), and an error wrapping ErrChanged
// when it is not.
func (v *Vault) checkLink(dirfd int, name, path string, req LinkRequest) (unix.Stat_t, error) {
	st, err := lstatAt(dirfd, name)
	if err == unix.ENOENT {
		return st, fmt.Errorf("quarantine %q: gone before the move: %w: %w", path, ErrChanged, err)
	}
	if err != nil {
		return st, fmt.Errorf("quarantine %q: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK || uint64(st.Dev) != req.Dev || uint64(st.Ino) != req.Inode {
		return st, fmt.Errorf("quarantine %q: %w: the path holds a %s, inode %d; the link judged was inode %d; nothing moved",
			path, ErrChanged, fileType(st.Mode), st.Ino, req.Inode)
	}
	buf := make([]byte, unix.PathMax+1)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return st, fmt.Errorf("quarantine %q: read the link: %w", path, err)
	}
	if string(buf[:n]) != req.Target {
		return st, fmt.Errorf("quarantine %q: %w: the link now points elsewhere; nothing moved", path, ErrChanged)
	}
	return st, nil
}

// restoreLink makes again the symbolic link an entry of MoveLink stored
// the text of (fd, checked intact as s), at base in pfd, with its owner,
// and removes the entry.
func (v *Vault) restoreLink(fd int, s Stored, e Entry, target string, pfd int, base string) error {
	text := make([]byte, s.Size)
	if _, err := unix.Pread(fd, text, 0); err != nil {
		return fmt.Errorf("restore %s: read the link's text: %w", e.ID, err)
	}
	v.at("restore")
	switch err := unix.Symlinkat(string(text), pfd, base); err {
	case nil:
	case unix.EEXIST:
		return fmt.Errorf("restore %s to %q: %w; move it away or restore with --to another path", e.ID, target, ErrExists)
	default:
		return fmt.Errorf("restore %s to %q: %w", e.ID, target, err)
	}
	attrErr := unix.Fchownat(pfd, base, int(e.UID), int(e.GID), unix.AT_SYMLINK_NOFOLLOW)
	if err := unix.Fsync(pfd); err != nil {
		return fmt.Errorf("restore %s to %q: sync: %w", e.ID, target, err)
	}
	if err := v.remove(e.ID); err != nil {
		return fmt.Errorf("restored %s to %q, but: %w", e.ID, target, err)
	}
	if attrErr != nil {
		return fmt.Errorf("restored %s to %q, but not its owner: %w", e.ID, target, attrErr)
	}
	return nil
}
