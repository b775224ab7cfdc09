package quarantine

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

const shell = "<?php @eval($_POST['x']); ?>\n"

var testRules = []Match{{Rule: "shellwatch:php_eval_post", Severity: "critical", Family: "china_chopper"}}

func newVault(t *testing.T) *Vault {
	t.Helper()
	v, err := Open(filepath.Join(t.TempDir(), "state", "quarantine"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// plant writes a file as an attacker would leave it and returns the request
// a scanner would make for it.
func plant(t *testing.T, path, content string) Request {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return scanned(t, path, content)
}

// scanned returns the request for the file now at path with content.
func scanned(t testing.TB, path, content string) Request {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return Request{
		Path: path, Dev: uint64(st.Dev), Inode: st.Ino, Size: st.Size,
		SHA256: hex.EncodeToString(sum[:]), Rules: testRules, Reason: "webshell",
	}
}

func lstat(t *testing.T, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// vaultNames lists the names in the vault directory.
func vaultNames(t *testing.T, v *Vault) []string {
	t.Helper()
	ents, err := os.ReadDir(v.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root to %s", why)
	}
}

// swapIn replaces path with a new file of content, as an attacker renaming
// over it would.
func swapIn(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".swap"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestOpenCreatesPrivateVault(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "shellwatch", "quarantine")
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if st := lstat(t, dir); st.Mode&0o7777 != 0o700 || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("new vault has mode %o, want a directory with 0700", st.Mode)
	}
	// Opening it again is fine.
	v2, err := Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	v2.Close()
}

func TestOpenRefusesUnsafeVault(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
		want string
	}{
		{"symlink", func(*testing.T) string { return link }, "symbolic link"},
		{"world-writable", func(t *testing.T) string { return mkdirMode(t, 0o777) }, "chmod 0700"},
		{"group-readable", func(t *testing.T) string { return mkdirMode(t, 0o750) }, "chmod 0700"},
		{"sticky world-writable", func(t *testing.T) string { return mkdirMode(t, 0o1777) }, "chmod 0700"},
		{"owned by another user", func(t *testing.T) string {
			requireRoot(t, "chown a directory to another user")
			d := mkdirMode(t, 0o700)
			if err := os.Chown(d, 12345, 12345); err != nil {
				t.Fatal(err)
			}
			return d
		}, "chown root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			v, err := Open(dir)
			if err == nil {
				v.Close()
				t.Fatalf("Open(%s) succeeded, want ErrUnsafeVault", dir)
			}
			if !errors.Is(err, ErrUnsafeVault) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %v; want ErrUnsafeVault saying %q", err, tc.want)
			}
		})
	}
}

func mkdirMode(t *testing.T, mode uint32) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "vault")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	// Chmod, not Mkdir's mode, which the umask narrows.
	if err := unix.Chmod(d, mode); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMoveSameFilesystem(t *testing.T) {
	v := newVault(t)
	root := t.TempDir()
	path := filepath.Join(root, "uploads", "avatar.php")
	req := plant(t, path, shell)
	if os.Geteuid() == 0 {
		if err := os.Chown(path, 33, 33); err != nil {
			t.Fatal(err)
		}
	}
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	before := lstat(t, path)

	e, err := v.Move(req)
	if err != nil {
		t.Fatal(err)
	}
	if exists(path) {
		t.Error("the original is still in the web root")
	}
	if !ValidID(e.ID) {
		t.Errorf("id %q is not a valid id", e.ID)
	}
	stored := filepath.Join(v.Dir(), e.ID)
	st := lstat(t, stored)
	if st.Mode&0o7777 != 0 {
		t.Errorf("stored file has mode %04o, want 0000", st.Mode&0o7777)
	}
	if st.Ino == before.Ino || st.Nlink != 1 || st.Uid != uint32(os.Geteuid()) {
		t.Errorf("stored inode %d with %d links, uid %d; want a copy of the scanned inode %d, ours, one link",
			st.Ino, st.Nlink, st.Uid, before.Ino)
	}
	if got, _ := os.ReadFile(stored); string(got) != shell {
		t.Errorf("stored content %q", got)
	}
	if vst := lstat(t, v.Dir()); vst.Mode&0o7777 != 0o700 {
		t.Errorf("vault mode %04o, want 0700", vst.Mode&0o7777)
	}

	sum, md5sum := sha256.Sum256([]byte(shell)), md5.Sum([]byte(shell))
	want := Entry{
		ID: e.ID, Path: path, Type: "file",
		Dev: uint64(before.Dev), Inode: before.Ino, Nlink: 1,
		UID: before.Uid, GID: before.Gid, User: e.User, Group: e.Group,
		Mode:  0o644,
		MTime: mtime, CTime: timespec(before.Ctim), ATime: mtime,
		Size: int64(len(shell)), SHA256: hex.EncodeToString(sum[:]), MD5: hex.EncodeToString(md5sum[:]),
		Rules: testRules, Reason: "webshell",
		QuarantinedAt: e.QuarantinedAt, Host: v.host,
		Method: "rename", Verified: true,
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("entry\n got %+v\nwant %+v", e, want)
	}
	if os.Geteuid() == 0 && (e.UID != 33 || e.User == "") {
		t.Errorf("owner %d (%q), want 33 with its name", e.UID, e.User)
	}
	got, err := v.Get(e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Errorf("Get returns\n%+v\nMove returned\n%+v", got, e)
	}
	if mst := lstat(t, filepath.Join(v.Dir(), e.ID+".json")); mst.Mode&0o077 != 0 {
		t.Errorf("metadata mode %04o, readable by others", mst.Mode&0o7777)
	}
}

// mountTmpfs mounts a fresh tmpfs inside a temp dir, so a move from it into
// the vault crosses filesystems.
func mountTmpfs(t *testing.T) string {
	t.Helper()
	requireRoot(t, "mount a tmpfs for the cross-filesystem path")
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64m"); err != nil {
		t.Skipf("cannot mount tmpfs (%v): the cross-filesystem path is not tested here", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func TestMoveAndRestoreAcrossFilesystems(t *testing.T) {
	v := newVault(t)
	root := mountTmpfs(t)
	path := filepath.Join(root, "www", "cache", "x.php")
	req := plant(t, path, shell)
	if err := os.Chown(path, 33, 34); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2023, 1, 2, 3, 4, 5, 6000, time.UTC)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	before := lstat(t, path)

	e, err := v.Move(req)
	if err != nil {
		t.Fatal(err)
	}
	if e.Method != "copy" || !e.Verified {
		t.Errorf("method %q verified %v, want a verified copy", e.Method, e.Verified)
	}
	if exists(path) {
		t.Error("the original was not unlinked after the copy")
	}
	if e.Inode != before.Ino || e.UID != 33 || e.GID != 34 || e.Mode != 0o640 || !e.MTime.Equal(mtime) {
		t.Errorf("entry does not describe the original: %+v", e)
	}
	st := lstat(t, filepath.Join(v.Dir(), e.ID))
	if st.Mode&0o7777 != 0 || st.Uid != 0 || st.Size != int64(len(shell)) {
		t.Errorf("stored copy: mode %04o uid %d size %d, want 0000, root, %d", st.Mode&0o7777, st.Uid, st.Size, len(shell))
	}
	for _, n := range vaultNames(t, v) {
		if strings.HasPrefix(n, tempPrefix) {
			t.Errorf("temporary file %s left in the vault", n)
		}
	}

	// Back across: the copy path of Restore.
	if err := v.Restore(e.ID, ""); err != nil {
		t.Fatal(err)
	}
	checkRestored(t, path, shell, 33, 34, 0o640, mtime)
	if names := vaultNames(t, v); len(names) != 0 {
		t.Errorf("vault still holds %q after the restore", names)
	}
	if names, _ := os.ReadDir(filepath.Dir(path)); len(names) != 1 {
		t.Errorf("restore left temporary files beside the target: %v", names)
	}
}

func checkRestored(t *testing.T, path, content string, uid, gid, mode uint32, mtime time.Time) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("restored file: %v", err)
	}
	if string(got) != content {
		t.Errorf("restored content %q, want %q", got, content)
	}
	st := lstat(t, path)
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o7777 != mode {
		t.Errorf("restored mode %o, want a regular file with %04o", st.Mode, mode)
	}
	if os.Geteuid() == 0 && (st.Uid != uid || st.Gid != gid) {
		t.Errorf("restored owner %d:%d, want %d:%d", st.Uid, st.Gid, uid, gid)
	}
	if m := timespec(st.Mtim); !m.Equal(mtime) {
		t.Errorf("restored mtime %s, want %s", m, mtime)
	}
}

func TestMoveRefusesFileSwappedBeforeMove(t *testing.T) {
	v := newVault(t)
	path := filepath.Join(t.TempDir(), "index.php")
	req := plant(t, path, shell)
	const deployed = "<?php echo 'the real index';\n"
	swapIn(t, path, deployed)

	_, err := v.Move(req)
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("Move after a swap: %v, want ErrChanged", err)
	}
	if got, _ := os.ReadFile(path); string(got) != deployed {
		t.Errorf("the file now at the path was touched: %q", got)
	}
	if names := vaultNames(t, v); len(names) != 0 {
		t.Errorf("vault holds %q after a refused move", names)
	}
}

func TestMoveGoneBeforeMove(t *testing.T) {
	v := newVault(t)
	path := filepath.Join(t.TempDir(), "x.php")
	req := plant(t, path, shell)
	os.Remove(path)
	if _, err := v.Move(req); !errors.Is(err, ErrChanged) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Move of a vanished file: %v, want ErrChanged and ErrNotExist", err)
	}
}

// A swap between the check and the rename brings another inode into the
// vault: it is kept there, unverified, and the caller hears ErrChanged.
func TestMoveKeepsFileSwappedDuringMoveUnverified(t *testing.T) {
	v := newVault(t)
	path := filepath.Join(t.TempDir(), "x.php")
	req := plant(t, path, shell)
	const other = "<?php system($_GET['c']);\n"
	v.hook = func(stage string) {
		if stage == "rename" {
			swapIn(t, path, other)
		}
	}
	e, err := v.Move(req)
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("Move with a swap during the move: %v, want ErrChanged", err)
	}
	if e.ID == "" || e.Verified || e.Scanned == nil || e.Scanned.Inode != req.Inode || e.Problem == "" {
		t.Fatalf("entry %+v: want an unverified entry recording what was scanned", e)
	}
	sum := sha256.Sum256([]byte(other))
	if e.SHA256 != hex.EncodeToString(sum[:]) || e.Inode == req.Inode {
		t.Errorf("entry describes %s inode %d, want what is in the vault", e.SHA256, e.Inode)
	}
	if exists(path) {
		t.Error("the swapped-in file is still at the path")
	}
	stored := filepath.Join(v.Dir(), e.ID)
	if got, _ := os.ReadFile(stored); string(got) != other {
		t.Errorf("vault holds %q", got)
	}
	if st := lstat(t, stored); st.Mode&0o7777 != 0 {
		t.Errorf("unverified file has mode %04o, want 0000", st.Mode&0o7777)
	}
	if got, err := v.Get(e.ID); err != nil || got.Verified || got.Scanned == nil {
		t.Errorf("metadata on disk: %+v, %v; want it marked unverified", got, err)
	}
}

// The same inode with its scanned bytes rewritten in place after the scan
// is moved — the flagged inode leaves the web root — but not trusted: the
// vault keeps what the file held, marked as differing from the scan.
func TestMoveContentChangedInPlace(t *testing.T) {
	v := newVault(t)
	path := filepath.Join(t.TempDir(), "x.php")
	req := plant(t, path, shell)
	const rewritten = "<?php echo 'innocent'; ?>   \n// and longer than the scanned bytes\n"
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(rewritten)
	f.Close()
	e, err := v.Move(req)
	if !errors.Is(err, ErrChanged) || e.ID == "" || e.Verified || e.Inode != req.Inode || e.Scanned == nil {
		t.Fatalf("Move: %+v, %v; want the inode moved, unverified, and ErrChanged", e, err)
	}
	if !strings.Contains(e.Problem, "content differs from what was scanned") {
		t.Errorf("problem %q does not say the content differs from the scan", e.Problem)
	}
	if got, _ := os.ReadFile(filepath.Join(v.Dir(), e.ID)); string(got) != rewritten || e.SHA256 != sha256Hex([]byte(rewritten)) {
		t.Errorf("vault holds %q (entry sha256 %s), want all the file held", got, e.SHA256)
	}
	if exists(path) {
		t.Error("the flagged inode is still in the web root")
	}
}

func TestMoveAcrossFilesystemsSwaps(t *testing.T) {
	root := mountTmpfs(t)
	const other = "<?php echo 'deployed';\n"

	t.Run("before the open", func(t *testing.T) {
		v := newVault(t)
		path := filepath.Join(root, "a.php")
		req := plant(t, path, shell)
		v.hook = func(stage string) {
			if stage == "open" {
				swapIn(t, path, other)
			}
		}
		if _, err := v.Move(req); !errors.Is(err, ErrChanged) {
			t.Fatalf("Move: %v, want ErrChanged", err)
		}
		if got, _ := os.ReadFile(path); string(got) != other {
			t.Errorf("the path holds %q, want the swapped-in file untouched", got)
		}
		if names := vaultNames(t, v); len(names) != 0 {
			t.Errorf("vault holds %q", names)
		}
	})
	t.Run("before the unlink", func(t *testing.T) {
		v := newVault(t)
		path := filepath.Join(root, "b.php")
		req := plant(t, path, shell)
		v.hook = func(stage string) {
			if stage == "unlink" {
				swapIn(t, path, other)
			}
		}
		e, err := v.Move(req)
		if !errors.Is(err, ErrChanged) || e.ID == "" {
			t.Fatalf("Move: %+v, %v; want the copy kept and ErrChanged", e, err)
		}
		if got, _ := os.ReadFile(path); string(got) != other {
			t.Errorf("the path holds %q, want the swapped-in file left alone", got)
		}
		if got, _ := os.ReadFile(filepath.Join(v.Dir(), e.ID)); string(got) != shell {
			t.Errorf("vault holds %q, want the scanned file", got)
		}
	})
}

func TestMoveNeverFollowsSymlinks(t *testing.T) {
	v := newVault(t)
	root := t.TempDir()
	real := filepath.Join(root, "real")
	req := plant(t, filepath.Join(real, "shell.php"), shell)
	if err := os.Symlink(real, filepath.Join(root, "linkdir")); err != nil {
		t.Fatal(err)
	}
	secret := plant(t, filepath.Join(root, "etc", "shadow"), "root:x:...\n")
	if err := os.Symlink(secret.Path, filepath.Join(root, "evil.php")); err != nil {
		t.Fatal(err)
	}

	t.Run("symlinked parent", func(t *testing.T) {
		r := req
		r.Path = filepath.Join(root, "linkdir", "shell.php")
		if _, err := v.Move(r); !errors.Is(err, ErrSymlink) {
			t.Errorf("Move through a symlinked parent: %v, want ErrSymlink", err)
		}
		if !exists(req.Path) {
			t.Error("the file behind the link was moved")
		}
	})
	t.Run("file is a symlink", func(t *testing.T) {
		r := scanned(t, filepath.Join(root, "evil.php"), "")
		if _, err := v.Move(r); !errors.Is(err, ErrSymlink) {
			t.Errorf("Move of a symlink: %v, want ErrSymlink", err)
		}
		if st := lstat(t, r.Path); st.Mode&unix.S_IFMT != unix.S_IFLNK {
			t.Error("the link was moved")
		}
		if got, _ := os.ReadFile(secret.Path); string(got) != "root:x:...\n" {
			t.Error("the link target was touched")
		}
	})
	t.Run("symlink stat as scanned", func(t *testing.T) {
		// The scanner saw the target (it followed); Move still refuses.
		r := secret
		r.Path = filepath.Join(root, "evil.php")
		if _, err := v.Move(r); !errors.Is(err, ErrSymlink) {
			t.Errorf("Move of a symlink: %v, want ErrSymlink", err)
		}
		if !exists(secret.Path) {
			t.Error("the link target was moved")
		}
	})
	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(root, "pipe.php")
		if err := unix.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		r := scanned(t, fifo, "")
		if _, err := v.Move(r); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Move of a FIFO: %v, want ErrNotRegular", err)
		}
	})
	if names := vaultNames(t, v); len(names) != 0 {
		t.Errorf("vault holds %q after refused moves", names)
	}
}

func TestHostileNamesKeptExact(t *testing.T) {
	v := newVault(t)
	root := t.TempDir()
	for _, name := range []string{"new\nline.php", "\xff\xfeinvalid.php", "-rf --no-preserve-root.php", "tab\there.php", " .php"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			path := filepath.Join(root, name)
			e, err := v.Move(plant(t, path, shell))
			if err != nil {
				t.Fatal(err)
			}
			if e.Path != path {
				t.Errorf("entry path %q, want %q", e.Path, path)
			}
			raw, err := os.ReadFile(filepath.Join(v.Dir(), e.ID+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(raw), `"path_base64"`) == !utf8.ValidString(path) {
				t.Errorf("path_base64 present=%v for a path valid=%v:\n%s", strings.Contains(string(raw), "path_base64"), utf8.ValidString(path), raw)
			}
			got, err := v.Get(e.ID)
			if err != nil || got.Path != path {
				t.Fatalf("Get: path %q, %v; want %q", got.Path, err, path)
			}
			if err := v.Restore(e.ID, ""); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); string(b) != shell {
				t.Errorf("restored %q", b)
			}
		})
	}
}

func TestRestore(t *testing.T) {
	quarantined := func(t *testing.T) (*Vault, Entry, string) {
		v := newVault(t)
		path := filepath.Join(t.TempDir(), "site", "wp-content", "x.php")
		req := plant(t, path, shell)
		if os.Geteuid() == 0 {
			os.Chown(path, 33, 33)
		}
		os.Chmod(path, 0o755)
		e, err := v.Move(req)
		if err != nil {
			t.Fatal(err)
		}
		return v, e, path
	}

	t.Run("to the original path", func(t *testing.T) {
		v, e, path := quarantined(t)
		if err := v.Restore(e.ID, ""); err != nil {
			t.Fatal(err)
		}
		checkRestored(t, path, shell, 33, 33, 0o755, e.MTime)
		if _, err := v.Get(e.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after restore: %v, want ErrNotFound", err)
		}
		if names := vaultNames(t, v); len(names) != 0 {
			t.Errorf("vault still holds %q", names)
		}
	})
	t.Run("to another path", func(t *testing.T) {
		v, e, path := quarantined(t)
		to := filepath.Join(t.TempDir(), "inspect.php.txt")
		if err := v.Restore(e.ID, to); err != nil {
			t.Fatal(err)
		}
		checkRestored(t, to, shell, 33, 33, 0o755, e.MTime)
		if exists(path) {
			t.Error("restored to the original path too")
		}
	})
	t.Run("refuses an existing target", func(t *testing.T) {
		v, e, path := quarantined(t)
		const deployed = "<?php echo 'new';\n"
		plant(t, path, deployed)
		if err := v.Restore(e.ID, ""); !errors.Is(err, ErrExists) {
			t.Fatalf("Restore over a file: %v, want ErrExists", err)
		}
		if got, _ := os.ReadFile(path); string(got) != deployed {
			t.Errorf("existing file overwritten: %q", got)
		}
		checkStillQuarantined(t, v, e)
	})
	t.Run("refuses an existing symlink target", func(t *testing.T) {
		v, e, path := quarantined(t)
		if err := os.Symlink("/etc/passwd", path); err != nil {
			t.Fatal(err)
		}
		if err := v.Restore(e.ID, ""); !errors.Is(err, ErrExists) {
			t.Fatalf("Restore over a symlink: %v, want ErrExists", err)
		}
		checkStillQuarantined(t, v, e)
	})
	t.Run("refuses a symlinked parent", func(t *testing.T) {
		v, e, _ := quarantined(t)
		dir := t.TempDir()
		if err := os.Symlink(t.TempDir(), filepath.Join(dir, "link")); err != nil {
			t.Fatal(err)
		}
		if err := v.Restore(e.ID, filepath.Join(dir, "link", "x.php")); !errors.Is(err, ErrSymlink) {
			t.Fatalf("Restore through a symlink: %v, want ErrSymlink", err)
		}
		checkStillQuarantined(t, v, e)
	})
	t.Run("refuses a missing parent", func(t *testing.T) {
		v, e, _ := quarantined(t)
		if err := v.Restore(e.ID, filepath.Join(t.TempDir(), "no", "such", "dir", "x.php")); err == nil {
			t.Fatal("Restore into a missing directory succeeded")
		}
		checkStillQuarantined(t, v, e)
	})
	t.Run("refuses a tampered vault file", func(t *testing.T) {
		v, e, path := quarantined(t)
		if err := os.WriteFile(filepath.Join(v.Dir(), e.ID), []byte("changed"), 0); err != nil {
			t.Fatal(err)
		}
		if err := v.Restore(e.ID, ""); !errors.Is(err, ErrChanged) {
			t.Fatalf("Restore of a changed vault file: %v, want ErrChanged", err)
		}
		if exists(path) {
			t.Error("a tampered file was restored")
		}
	})
}

func checkStillQuarantined(t *testing.T, v *Vault, e Entry) {
	t.Helper()
	if _, err := v.Get(e.ID); err != nil {
		t.Errorf("entry gone after a refused restore: %v", err)
	}
	st := lstat(t, filepath.Join(v.Dir(), e.ID))
	if st.Mode&0o7777 != 0 || st.Uid != uint32(os.Geteuid()) {
		t.Errorf("vault file after a refused restore: mode %04o uid %d, want 0000 and ours", st.Mode&0o7777, st.Uid)
	}
}

func TestHostileIDsRefused(t *testing.T) {
	v := newVault(t)
	for _, id := range []string{
		"", "../../etc/passwd", "/etc/passwd", ".", "..", "x",
		"20250314T101502-3f9a1c0b7d2e/../../x", "20250314T101502-3F9A1C0B7D2E",
		"20250314T101502-3f9a1c0b7d2e.json", "20250314T101502-3f9a1c0b7d2", "-20250314T101502-3f9a1c0b7d",
		"20250314t101502-3f9a1c0b7d2e", "2025031xT101502-3f9a1c0b7d2e", "20250314T101502_3f9a1c0b7d2e",
	} {
		if ValidID(id) {
			t.Errorf("ValidID(%q) = true", id)
		}
		if _, err := v.Get(id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Get(%q): %v, want ErrInvalidID", id, err)
		}
		if err := v.Restore(id, ""); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Restore(%q): %v, want ErrInvalidID", id, err)
		}
	}
	if !ValidID("20250314T101502-3f9a1c0b7d2e") {
		t.Error("a well-formed id is refused")
	}
	id, err := newID(time.Now())
	if err != nil || !ValidID(id) {
		t.Errorf("newID = %q, %v: not valid", id, err)
	}
}

func TestPurgeByAge(t *testing.T) {
	v := newVault(t)
	root := t.TempDir()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := t0
	v.now = func() time.Time { return clock }
	var ids []string
	for i, age := range []time.Duration{0, 10 * 24 * time.Hour, 20 * 24 * time.Hour} {
		clock = t0.Add(age)
		e, err := v.Move(plant(t, filepath.Join(root, fmt.Sprintf("%d.php", i)), shell))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	clock = t0.Add(25 * 24 * time.Hour)
	n, err := v.Purge(7 * 24 * time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("Purge(7d) = %d, %v; want 2", n, err)
	}
	entries, err := v.List()
	if err != nil || len(entries) != 1 || entries[0].ID != ids[2] {
		t.Fatalf("List after purge: %+v, %v; want only %s", entries, err, ids[2])
	}
	if names := vaultNames(t, v); len(names) != 2 {
		t.Errorf("vault holds %q, want one file and its metadata", names)
	}
	if n, err := v.Purge(30 * 24 * time.Hour); n != 0 || err != nil {
		t.Errorf("Purge(30d) = %d, %v; want nothing purged", n, err)
	}
	if _, err := v.Purge(-time.Hour); err == nil {
		t.Error("Purge of a negative age succeeded")
	}
}

func TestListOrderOrphansAndDamagedMetadata(t *testing.T) {
	v := newVault(t)
	root := t.TempDir()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 3 {
		v.now = func() time.Time { return t0.Add(time.Duration(2-i) * time.Hour) }
		e, err := v.Move(plant(t, filepath.Join(root, fmt.Sprintf("%d.php", i)), shell))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	entries, err := v.List()
	if err != nil || len(entries) != 3 || entries[0].ID != ids[2] || entries[2].ID != ids[0] {
		t.Fatalf("List: %v, %v; want oldest first", entries, err)
	}

	// Damaged metadata: the entry is named in the error, the others listed.
	if err := os.WriteFile(filepath.Join(v.Dir(), ids[0]+".json"), []byte(`{"version":1,"id":"../x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// An orphan: metadata lost.
	if err := os.Remove(filepath.Join(v.Dir(), ids[1]+".json")); err != nil {
		t.Fatal(err)
	}
	// Files that are not entries are ignored.
	os.WriteFile(filepath.Join(v.Dir(), tempPrefix+"junk"), nil, 0o600)
	os.WriteFile(filepath.Join(v.Dir(), "README"), nil, 0o600)

	entries, err = v.List()
	if err == nil || !strings.Contains(err.Error(), ids[0]) {
		t.Errorf("List error %v, want one naming %s", err, ids[0])
	}
	if len(entries) != 2 {
		t.Fatalf("List: %+v, want the good entry and the orphan", entries)
	}
	var orphan *Entry
	for i := range entries {
		if entries[i].ID == ids[1] {
			orphan = &entries[i]
		}
	}
	if orphan == nil || orphan.Problem == "" || orphan.Size != int64(len(shell)) {
		t.Errorf("orphan listed as %+v", orphan)
	}
}

func TestConcurrentMoves(t *testing.T) {
	v := newVault(t)
	root := t.TempDir()
	const n = 32
	reqs := make([]Request, n)
	for i := range reqs {
		reqs[i] = plant(t, filepath.Join(root, fmt.Sprintf("d%d", i%4), fmt.Sprintf("%d.php", i)), fmt.Sprintf("%s// %d\n", shell, i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range reqs {
		wg.Go(func() { _, errs[i] = v.Move(reqs[i]) })
	}
	// Readers at the same time.
	wg.Go(func() { v.List() })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("move %d: %v", i, err)
		}
	}
	entries, err := v.List()
	if err != nil || len(entries) != n {
		t.Fatalf("List: %d entries, %v; want %d", len(entries), err, n)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.ID] {
			t.Errorf("id %s given twice", e.ID)
		}
		seen[e.ID] = true
		if !e.Verified {
			t.Errorf("%s unverified: %s", e.ID, e.Problem)
		}
	}
}

func TestMoveRefusesBadRequests(t *testing.T) {
	v := newVault(t)
	path := filepath.Join(t.TempDir(), "x.php")
	good := plant(t, path, shell)
	for name, mutate := range map[string]func(*Request){
		"relative path": func(r *Request) { r.Path = "x.php" },
		"root":          func(r *Request) { r.Path = "/" },
		"NUL byte":      func(r *Request) { r.Path += "\x00" },
		"no sha256":     func(r *Request) { r.SHA256 = "" },
		"bad sha256":    func(r *Request) { r.SHA256 = "../../" },
		"no inode":      func(r *Request) { r.Inode = 0 },
	} {
		r := good
		mutate(&r)
		if _, err := v.Move(r); err == nil {
			t.Errorf("%s: Move succeeded", name)
		}
	}
	if !exists(path) {
		t.Error("a bad request moved the file")
	}
}

// goldenEntry is a fixed entry whose JSON is the documented metadata format.
func goldenEntry() Entry {
	at := time.Date(2025, 3, 14, 10, 15, 2, 123456789, time.UTC)
	return Entry{
		ID: "20250314T101502-3f9a1c0b7d2e", Path: "/srv/www/uploads/\xffavatar\n.php", Type: "file",
		Dev: 2049, Inode: 1311768, Nlink: 1, UID: 33, GID: 33, User: "www-data", Group: "www-data",
		Mode:  0o644,
		MTime: at.Add(-time.Minute), CTime: at.Add(-time.Minute), ATime: at.Add(-time.Second),
		Size:   30,
		SHA256: "8f2c7e3f8b9d4a0e1c6b5a4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f",
		MD5:    "0cc175b9c0f1b6a831c399e269772661",
		Rules:  testRules, Reason: "webshell",
		QuarantinedAt: at, Host: "web1.example", Method: "rename", Verified: true,
	}
}

func TestEntryFormatGolden(t *testing.T) {
	for name, e := range map[string]Entry{
		"entry.json": goldenEntry(),
		"unverified.json": func() Entry {
			e := goldenEntry()
			e.Path = "/srv/www/index.php"
			e.Verified = false
			e.Problem = "a different file (inode 99; the scanner saw inode 1311768) was swapped in between the check and the move"
			e.Scanned = &Scanned{Dev: 2049, Inode: 1311768, Size: 29, SHA256: strings.Repeat("ab", 32)}
			return e
		}(),
		"linked.json": func() Entry {
			e := goldenEntry()
			e.Nlink, e.OtherLinks = 3, 2
			e.Note = "the inode had 2 other link(s) (hard links: find -xdev -inum 1311768 on the filesystem of device 2049 lists them); they still hold the content and were left as they are"
			return e
		}(),
	} {
		got, err := jsonIndent(e)
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s changed (run with -update if on purpose):\n%s", golden, got)
		}
		back, err := DecodeEntry(want)
		if err != nil {
			t.Fatalf("decode %s: %v", golden, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Errorf("%s decodes to\n%+v\nwant\n%+v", golden, back, e)
		}
	}
}

func TestDecodeEntryRefuses(t *testing.T) {
	good, _ := jsonIndent(goldenEntry())
	for name, doc := range map[string]string{
		"not json":       "{",
		"trailing data":  string(good) + "{}",
		"version 2":      strings.Replace(string(good), `"version": 1`, `"version": 2`, 1),
		"hostile id":     strings.Replace(string(good), "20250314T101502-3f9a1c0b7d2e", "../../etc/passwd", 1),
		"relative path":  `{"version":1,"id":"20250314T101502-3f9a1c0b7d2e","path":"etc/passwd"}`,
		"bad base64":     `{"version":1,"id":"20250314T101502-3f9a1c0b7d2e","path":"/x","path_base64":"!!"}`,
		"NUL in path":    `{"version":1,"id":"20250314T101502-3f9a1c0b7d2e","path":"/x\u0000y"}`,
		"mode too large": `{"version":1,"id":"20250314T101502-3f9a1c0b7d2e","path":"/x","mode":"17777"}`,
		"mode signed":    `{"version":1,"id":"20250314T101502-3f9a1c0b7d2e","path":"/x","mode":"+644"}`,
		"bad sha256":     `{"version":1,"id":"20250314T101502-3f9a1c0b7d2e","path":"/x","sha256":"../"}`,
		"negative size":  `{"version":1,"id":"20250314T101502-3f9a1c0b7d2e","path":"/x","size":-1}`,
	} {
		if e, err := DecodeEntry([]byte(doc)); err == nil {
			t.Errorf("%s: decoded as %+v", name, e)
		}
	}
}

func jsonIndent(e Entry) ([]byte, error) { return encodeMetadata(e) }

// A directory renamed over the file during the move lands in the vault: it
// is kept as it is (it is not the file scanned, so the vault changes
// nothing of it), recorded as what it is, and purged like any entry.
func TestMoveDirectorySwappedInDuringMove(t *testing.T) {
	v := newVault(t)
	root := t.TempDir()
	path := filepath.Join(root, "x.php")
	req := plant(t, path, shell)
	var dirSt unix.Stat_t
	v.hook = func(stage string) {
		if stage != "rename" {
			return
		}
		dir := filepath.Join(root, "dir")
		plant(t, filepath.Join(dir, "inner.php"), shell)
		dirSt = lstat(t, dir)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(dir, path); err != nil {
			t.Fatal(err)
		}
	}
	e, err := v.Move(req)
	if !errors.Is(err, ErrChanged) || e.ID == "" || e.Type != "dir" || e.Verified {
		t.Fatalf("Move: %+v, %v; want an unverified dir entry and ErrChanged", e, err)
	}
	if st := lstat(t, filepath.Join(v.Dir(), e.ID)); st.Ino != dirSt.Ino || st.Mode != dirSt.Mode || st.Uid != dirSt.Uid {
		t.Errorf("swapped-in dir in the vault: inode %d mode %o uid %d, want it unchanged: inode %d mode %o uid %d",
			st.Ino, st.Mode, st.Uid, dirSt.Ino, dirSt.Mode, dirSt.Uid)
	}
	if err := v.Restore(e.ID, ""); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Restore of a dir entry: %v, want ErrNotRegular", err)
	}
	v.now = func() time.Time { return time.Now().Add(time.Hour) }
	if n, err := v.Purge(time.Minute); n != 1 || err != nil {
		t.Errorf("Purge = %d, %v; want the dir entry purged", n, err)
	}
	if names := vaultNames(t, v); len(names) != 0 {
		t.Errorf("vault holds %q after the purge", names)
	}
}
