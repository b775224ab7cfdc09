package quarantine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultDir is the vault directory used unless the configuration names
// another.
const DefaultDir = "/var/lib/shellwatch/quarantine"

// Vault is an open vault directory. Its methods are safe for concurrent use;
// every operation works relative to the directory descriptor opened by
// [Open], so the vault cannot be swapped under a running agent.
type Vault struct {
	dir  string
	fd   int
	host string
	now  func() time.Time // the clock; tests move it
	// hook, when set by a test, runs at the named stage of a move
	// ("rename", "open", "unlink") to swap files at the worst moment.
	hook func(stage string)
}

func (v *Vault) at(stage string) {
	if v.hook != nil {
		v.hook(stage)
	}
}

// Open opens the vault at dir, creating it with mode 0700 (and its parents
// with 0755) when it does not exist. An existing dir is refused, with an
// error wrapping ErrUnsafeVault that says how to fix it, when it is a
// symbolic link, is not owned by root or the effective user, or grants any
// access to group or others.
func Open(dir string) (*Vault, error) {
	if dir == "" {
		return nil, errors.New("open vault: no directory given")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open vault %q: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	switch {
	case isNotExist(err):
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("create vault: %w", err)
		}
		if err := unix.Mkdir(dir, 0o700); err != nil && err != unix.EEXIST {
			return nil, fmt.Errorf("create vault %q: %w", dir, err)
		}
	case err != nil:
		return nil, fmt.Errorf("open vault: %w", err)
	case fi.Mode()&os.ModeSymlink != 0:
		return nil, fmt.Errorf("vault %q is a symbolic link: %w; name the real directory instead (or remove the link and let shellwatch create the vault)", dir, ErrUnsafeVault)
	}
	fd, err := openat(unix.AT_FDCWD, dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if classifyOpenError(unix.AT_FDCWD, dir, err) == ErrSymlink {
			return nil, fmt.Errorf("vault %q is a symbolic link: %w; name the real directory instead", dir, ErrUnsafeVault)
		}
		return nil, fmt.Errorf("open vault %q: %w", dir, err)
	}
	if err := checkVaultDir(fd, dir); err != nil {
		unix.Close(fd)
		return nil, err
	}
	host, _ := os.Hostname()
	return &Vault{dir: dir, fd: fd, host: host, now: time.Now}, nil
}

// checkVaultDir refuses a vault that someone other than its owner could
// read or change, and one owned by an ordinary user.
func checkVaultDir(fd int, dir string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat vault %q: %w", dir, err)
	}
	if euid := uint32(os.Geteuid()); st.Uid != 0 && st.Uid != euid {
		return fmt.Errorf("vault %q is owned by uid %d, not root: %w; fix with: chown root:root %s", dir, st.Uid, ErrUnsafeVault, dir)
	}
	if perm := st.Mode & 0o7777; perm&0o077 != 0 {
		return fmt.Errorf("vault %q has mode %04o, open to group or others: %w; fix with: chmod 0700 %s", dir, perm, ErrUnsafeVault, dir)
	}
	return nil
}

// Dir returns the absolute path of the vault directory.
func (v *Vault) Dir() string { return v.dir }

// Close releases the vault directory.
func (v *Vault) Close() error { return unix.Close(v.fd) }

// metadataName is the name of the metadata file of id.
func metadataName(id string) string { return id + ".json" }

// tempPrefix starts the names of files being written into the vault; List
// ignores them.
const tempPrefix = ".tmp-"

// writeMetadata stores e as <id>.json: written to a temporary file, synced,
// renamed over the old one, and the directory synced, so a crash leaves the
// old metadata or the new, never a torn file.
func (v *Vault) writeMetadata(e Entry) error {
	data, err := encodeMetadata(e)
	if err != nil {
		return fmt.Errorf("encode metadata of %s: %w", e.ID, err)
	}
	tmp := tempPrefix + metadataName(e.ID)
	fd, err := openat(v.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("write metadata of %s: %w", e.ID, err)
	}
	_, err = fdWriter(fd).Write(data)
	if err == nil {
		err = unix.Fsync(fd)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(v.fd, tmp, v.fd, metadataName(e.ID))
	}
	if err == nil {
		err = unix.Fsync(v.fd)
	}
	if err != nil {
		unix.Unlinkat(v.fd, tmp, 0)
		return fmt.Errorf("write metadata of %s: %w", e.ID, err)
	}
	return nil
}

// Get returns the entry with the given id.
func (v *Vault) Get(id string) (Entry, error) {
	if err := checkID(id); err != nil {
		return Entry{}, err
	}
	fd, err := openat(v.fd, metadataName(id), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENOENT {
			return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return Entry{}, fmt.Errorf("read metadata of %s: %w", id, err)
	}
	defer closeFD(fd)
	data, err := io.ReadAll(io.LimitReader(fdReader(fd), maxMetadataSize+1))
	if err != nil {
		return Entry{}, fmt.Errorf("read metadata of %s: %w", id, err)
	}
	if len(data) > maxMetadataSize {
		return Entry{}, fmt.Errorf("metadata of %s is larger than %d bytes", id, maxMetadataSize)
	}
	e, err := DecodeEntry(data)
	if err != nil {
		return Entry{}, fmt.Errorf("metadata of %s: %w", id, err)
	}
	if e.ID != id {
		return Entry{}, fmt.Errorf("metadata of %s names another id, %q", id, e.ID)
	}
	return e, nil
}

// List returns every entry in the vault, oldest first. A stored file whose
// metadata is missing (a crash between the move and the metadata write) is
// listed with what can be known: its id, size, and the time it entered the
// vault, with a Problem saying so. Entries whose metadata cannot be read are
// left out and named in the error, which joins one error per entry; the
// entries that could be read are returned all the same.
func (v *Vault) List() ([]Entry, error) {
	dfd, err := openat(v.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("list vault %q: %w", v.dir, err)
	}
	d := os.NewFile(uintptr(dfd), v.dir)
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("list vault %q: %w", v.dir, err)
	}
	hasMetadata := make(map[string]bool)
	for _, name := range names {
		if id, ok := strings.CutSuffix(name, ".json"); ok && ValidID(id) {
			hasMetadata[id] = true
		}
	}
	var entries []Entry
	var errs []error
	for _, name := range names {
		if id, ok := strings.CutSuffix(name, ".json"); ok && hasMetadata[id] {
			e, err := v.Get(id)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			entries = append(entries, e)
			continue
		}
		if !ValidID(name) || hasMetadata[name] {
			continue
		}
		st, err := lstatAt(v.fd, name)
		if err != nil {
			continue // restored or purged meanwhile
		}
		entries = append(entries, Entry{
			ID:            name,
			Type:          fileType(st.Mode),
			Size:          st.Size,
			QuarantinedAt: timespec(st.Ctim),
			Problem:       "metadata missing: the original path is unknown",
		})
	}
	sort.Slice(entries, func(i, j int) bool {
		if !entries[i].QuarantinedAt.Equal(entries[j].QuarantinedAt) {
			return entries[i].QuarantinedAt.Before(entries[j].QuarantinedAt)
		}
		return entries[i].ID < entries[j].ID
	})
	return entries, errors.Join(errs...)
}

// Purge removes the entries quarantined more than olderThan ago, file and
// metadata, and returns how many it removed. Entries whose metadata cannot
// be read are kept (List's error names them).
func (v *Vault) Purge(olderThan time.Duration) (int, error) {
	if olderThan < 0 {
		return 0, fmt.Errorf("purge: negative age %s", olderThan)
	}
	entries, listErr := v.List()
	cutoff := v.now().Add(-olderThan)
	n := 0
	var errs []error
	if listErr != nil {
		errs = append(errs, listErr)
	}
	for _, e := range entries {
		if !e.QuarantinedAt.Before(cutoff) {
			continue
		}
		if err := v.remove(e.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if n > 0 {
		if err := unix.Fsync(v.fd); err != nil {
			errs = append(errs, fmt.Errorf("sync vault %q: %w", v.dir, err))
		}
	}
	return n, errors.Join(errs...)
}

// remove deletes the stored file of id, then its metadata.
func (v *Vault) remove(id string) error {
	if err := unix.Unlinkat(v.fd, id, 0); err != nil && err != unix.ENOENT {
		if err == unix.EISDIR || err == unix.EPERM {
			// A directory that was swapped in during a move.
			if err := os.RemoveAll(filepath.Join(v.dir, id)); err != nil {
				return fmt.Errorf("remove %s from the vault: %w", id, err)
			}
		} else {
			return fmt.Errorf("remove %s from the vault: %w", id, err)
		}
	}
	if err := unix.Unlinkat(v.fd, metadataName(id), 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove metadata of %s: %w", id, err)
	}
	return nil
}

// ownerNames looks up the user and group names of uid and gid; unknown ids
// give empty names.
func ownerNames(uid, gid uint32) (string, string) {
	var userName, groupName string
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		userName = u.Username
	}
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		groupName = g.Name
	}
	return userName, groupName
}

// probeSize is what [Vault.Probe] writes: one page, so a filesystem with
// no block left refuses it as it would refuse a quarantined file.
const probeSize = 4096

// Probe reports whether the vault takes a file now: it writes one page
// into an unnamed file in the vault (O_TMPFILE, or a temporary name where
// the filesystem has none) and lets it go. The error is the vault's
// filesystem's (ENOSPC when full, EROFS when read-only, EDQUOT), wrapped
// with the vault's path.
func (v *Vault) Probe() error {
	fd, err := openat(v.fd, ".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	name := ""
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) {
		var r [8]byte
		rand.Read(r[:])
		name = tempPrefix + "probe-" + hex.EncodeToString(r[:])
		fd, err = openat(v.fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	}
	if err != nil {
		return fmt.Errorf("vault %q takes no file: %w", v.dir, err)
	}
	defer func() {
		closeFD(fd)
		if name != "" {
			unix.Unlinkat(v.fd, name, 0)
		}
	}()
	var page [probeSize]byte
	if _, err := (fdWriter(fd)).Write(page[:]); err != nil {
		return fmt.Errorf("vault %q takes no file: %w", v.dir, err)
	}
	return nil
}
