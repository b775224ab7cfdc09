package quarantine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/internal/testenv"
)

// outsideFile is a file outside every web root that an attacker can reach
// by a hard link (same filesystem): what the vault must never change.
type outsideFile struct {
	path    string
	content []byte
	st      unix.Stat_t
}

// plantOutside writes a file in a temp dir of its own, owned by uid 33 when
// the test runs as root (so a chown to root would show), mode 0640.
func plantOutside(t *testing.T, content string) *outsideFile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.php")
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(path, 33, 33); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	return &outsideFile{path: path, content: []byte(content), st: lstat(t, path)}
}

// checkUntouched fails the test when the mode, owner, size, mtime or content
// of the outside file changed. Its ctime is not compared: the link count
// changes with every link and unlink, and that moves ctime by design.
func (o *outsideFile) checkUntouched(t *testing.T) {
	t.Helper()
	st := lstat(t, o.path)
	if st.Ino != o.st.Ino || st.Mode != o.st.Mode || st.Uid != o.st.Uid || st.Gid != o.st.Gid ||
		st.Size != o.st.Size || st.Mtim != o.st.Mtim {
		t.Errorf("outside file %s changed: inode %d mode %o owner %d:%d size %d mtime %v; was inode %d mode %o owner %d:%d size %d mtime %v",
			o.path, st.Ino, st.Mode, st.Uid, st.Gid, st.Size, st.Mtim, o.st.Ino, o.st.Mode, o.st.Uid, o.st.Gid, o.st.Size, o.st.Mtim)
	}
	if got, err := os.ReadFile(o.path); err != nil || !bytes.Equal(got, o.content) {
		t.Errorf("outside file %s content %q, %v; want %q", o.path, got, err, o.content)
	}
}

// onBothFilesystems runs test in a directory on the vault's filesystem
// (moves rename) and in one on a tmpfs of its own (moves copy).
func onBothFilesystems(t *testing.T, test func(t *testing.T, dir string)) {
	t.Run("same filesystem", func(t *testing.T) { test(t, t.TempDir()) })
	t.Run("across filesystems", func(t *testing.T) { test(t, mountTmpfs(t)) })
}

// linkOver puts a hard link to target at path, replacing what is there by
// rename, as an attacker swapping the shell would.
func linkOver(target, path string) error {
	tmp := path + ".lnk"
	os.Remove(tmp)
	if err := os.Link(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// The attack of issue 10 item 8: while the vault moves a flagged shell, the
// attacker keeps renaming a hard link to a file outside the root over it.
// Whatever lands in the vault, the outside file keeps its mode, owner and
// content: the vault never chmods, chowns or writes an inode it moved.
//
// Half the rounds swap at the worst moment (between the check and the
// rename, through the test hook), so the race is hit for sure; the other
// half leave it to a goroutine that swaps without pause.
func TestMoveSwapLoopNeverTouchesOutsideFile(t *testing.T) {
	v := newVault(t)
	root := t.TempDir()
	path := filepath.Join(root, "shell.php")
	outside := plantOutside(t, "<?php $db_password = 'hunter2';\n")
	const rounds = 200

	var forced atomic.Bool
	v.hook = func(stage string) {
		if stage == "rename" && forced.Load() {
			if err := linkOver(outside.path, path); err != nil {
				t.Error(err)
			}
		}
	}
	round := func(i int) Entry {
		req := plant(t, path+".new", shell)
		if err := os.Rename(req.Path, path); err != nil {
			t.Fatal(err)
		}
		req.Path = path
		e, err := v.Move(req)
		if err != nil && !errors.Is(err, ErrChanged) {
			t.Fatalf("round %d: Move: %v", i, err)
		}
		return e
	}

	forced.Store(true)
	for i := range rounds / 2 {
		if e := round(i); e.ID == "" || e.Inode != outside.st.Ino || e.Verified {
			t.Fatalf("round %d: a swap at the rename gave %+v; want the outside file's link moved, unverified", i, e)
		}
		if outside.checkUntouched(t); t.Failed() {
			t.FailNow()
		}
	}
	forced.Store(false)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		swapper := filepath.Join(root, "swapper")
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Errors are expected: the vault takes the name away.
			linkOver(outside.path, swapper)
			os.Rename(swapper, path)
		}
	})
	hits := 0
	for i := rounds / 2; i < rounds; i++ {
		if e := round(i); e.ID != "" && e.Inode == outside.st.Ino {
			hits++
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("with a free-running swapper, %d of %d moves took the outside file's link", hits, rounds/2)

	outside.checkUntouched(t)
	os.Remove(path)
	os.Remove(filepath.Join(root, "swapper"))
	os.Remove(path + ".lnk")
	os.Remove(filepath.Join(root, "swapper.lnk"))
	if st := lstat(t, outside.path); st.Nlink != 1 {
		t.Errorf("outside file has %d links after the loop: the vault still holds one", st.Nlink)
	}
}

// The attack of issue 10 item 9: the dropper keeps its write descriptor
// open and goes on writing after the move. The vault holds the bytes that
// were scanned, in an inode of its own that the descriptor cannot reach.
func TestMoveKeepsScannedBytesWhileDropperWrites(t *testing.T) {
	onBothFilesystems(t, func(t *testing.T, root string) {
		v := newVault(t)
		path := filepath.Join(root, "uploads", "x.php")
		dropper := testenv.Dropper(t, path, shell)
		req := scanned(t, path, shell)
		// Written after the scan, before the move: the file has grown.
		if _, err := dropper.WriteString("<?php system($_GET['c']);\n"); err != nil {
			t.Fatal(err)
		}

		// The dropper writes while the move runs (16 MiB at the most,
		// so that a vault reading to the end cannot fill the disk),
		// then 20 MiB after it.
		chunk := bytes.Repeat([]byte("A"), 64<<10)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for written := 0; written < 16<<20; written += len(chunk) {
				select {
				case <-done:
					return
				default:
				}
				dropper.Write(chunk)
			}
		})
		e, err := v.Move(req)
		close(done)
		wg.Wait()
		if err != nil {
			t.Fatalf("Move: %v", err)
		}
		for written := 0; written < 20<<20; written += len(chunk) {
			if _, err := dropper.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}

		stored := filepath.Join(v.Dir(), e.ID)
		if got, err := os.ReadFile(stored); err != nil || string(got) != shell {
			t.Errorf("vault holds %d bytes (%v), want the %d scanned bytes", len(got), err, len(shell))
		}
		if st := lstat(t, stored); st.Ino == req.Inode || st.Nlink != 1 || st.Mode&0o7777 != 0 || st.Uid != uint32(os.Geteuid()) {
			t.Errorf("stored file: inode %d (the dropper's is %d), %d links, mode %04o, uid %d; want a fresh inode of ours, one link, 0000",
				st.Ino, req.Inode, st.Nlink, st.Mode&0o7777, st.Uid)
		}
		if !e.Verified || e.SHA256 != req.SHA256 || e.Size != int64(len(shell)) || e.Inode != req.Inode {
			t.Errorf("entry %+v, want the scanned inode, size and sha256, verified", e)
		}
		if !strings.Contains(e.Note, "grown") {
			t.Errorf("note %q does not say the file grew after the scan", e.Note)
		}
		if s, err := v.Check(e); err != nil || !s.Intact || s.Size != int64(len(shell)) || s.SHA256 != req.SHA256 {
			t.Errorf("Check after 20 MiB more from the dropper: %+v, %v; want the stored bytes intact", s, err)
		}
		if exists(path) {
			t.Error("the shell is still in the web root")
		}
	})
}

// A shell with a second name: the name in the root is removed, the vault
// keeps a verified copy, and the other name — its mode, owner and content —
// is left exactly as it was. The entry says how many names remain.
func TestMoveHardLinkedShell(t *testing.T) {
	onBothFilesystems(t, func(t *testing.T, base string) {
		v := newVault(t)
		path := filepath.Join(base, "www", "shell.php")
		req := plant(t, path, shell)
		other := filepath.Join(base, "elsewhere", "kept.php")
		if err := os.MkdirAll(filepath.Dir(other), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(path, other); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if err := os.Chown(other, 33, 33); err != nil {
				t.Fatal(err)
			}
		}
		o := &outsideFile{path: other, content: []byte(shell), st: lstat(t, other)}

		e, err := v.Move(req)
		if err != nil {
			t.Fatalf("Move: %v", err)
		}
		if exists(path) {
			t.Error("the name in the web root was not removed")
		}
		o.checkUntouched(t)
		if st := lstat(t, other); st.Nlink != 1 {
			t.Errorf("the other name has %d links, want 1 (the vault keeps a copy, not a link)", st.Nlink)
		}
		stored := filepath.Join(v.Dir(), e.ID)
		if got, err := os.ReadFile(stored); err != nil || string(got) != shell {
			t.Errorf("vault holds %q, %v", got, err)
		}
		if st := lstat(t, stored); st.Ino == req.Inode || st.Nlink != 1 || st.Mode&0o7777 != 0 {
			t.Errorf("stored file: inode %d (the shell's is %d), %d links, mode %04o; want a fresh 0000 copy", st.Ino, req.Inode, st.Nlink, st.Mode&0o7777)
		}
		if !e.Verified || e.Nlink != 2 || e.OtherLinks != 1 || !strings.Contains(e.Note, "1 other link(s)") {
			t.Errorf("entry %+v, want verified, nlink 2, one other link named in the note", e)
		}
		if got, err := v.Get(e.ID); err != nil || got.OtherLinks != 1 || got.Note != e.Note {
			t.Errorf("metadata on disk: %+v, %v; want the other link recorded", got, err)
		}
	})
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Check reads the stored bytes again: intact after the move, and not once
// someone with access to the vault changed them.
func TestCheckSeesTamperedStoredFile(t *testing.T) {
	v := newVault(t)
	e, err := v.Move(plant(t, filepath.Join(t.TempDir(), "x.php"), shell))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := v.Check(e); err != nil || !s.Intact || s.SHA256 != e.SHA256 {
		t.Fatalf("Check of a fresh entry: %+v, %v; want intact", s, err)
	}
	stored := filepath.Join(v.Dir(), e.ID)
	for name, content := range map[string]string{
		"same size":   strings.Replace(shell, "x", "y", 1),
		"grown":       shell + "<?php system($_GET['c']);\n",
		"shrunk":      shell[:10],
		"emptied":     "",
		"same prefix": shell + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(stored, []byte(content), 0); err != nil {
				t.Fatal(err)
			}
			s, err := v.Check(e)
			if err != nil || s.Intact || s.Size != int64(len(content)) {
				t.Fatalf("Check after the stored file became %q: %+v, %v; want not intact, size %d", content, s, err, len(content))
			}
			if msg := s.Mismatch(e); !strings.Contains(msg, "no longer match") || !strings.Contains(msg, e.SHA256) {
				t.Errorf("Mismatch: %q", msg)
			}
			if err := v.Restore(e.ID, filepath.Join(t.TempDir(), "out.php")); !errors.Is(err, ErrChanged) {
				t.Errorf("Restore of a tampered file: %v, want ErrChanged", err)
			}
		})
	}
	if err := os.Remove(stored); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Check(e); err == nil {
		t.Error("Check of a missing stored file succeeded")
	}
}

func TestCopyScanned(t *testing.T) {
	scannedSHA := sha256Hex([]byte(shell))
	for _, tc := range []struct {
		name      string
		src       string
		sha       string
		want      string
		verified  bool
		wantShort bool
	}{
		{"the scanned bytes", shell, scannedSHA, shell, true, false},
		{"appended to after the scan", shell + "more", scannedSHA, shell, true, false},
		{"rewritten in place", "X" + shell[1:] + "tail", scannedSHA, "X" + shell[1:] + "tail", false, false},
		{"truncated", shell[:5], scannedSHA, shell[:5], false, false},
		{"nothing scanned of it", "outside content", "", "outside content", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			c, err := copyScanned(strings.NewReader(tc.src), &out, int64(len(shell)), tc.sha)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want || c.verified != tc.verified || c.cut || c.size != int64(len(tc.want)) || c.sha256 != sha256Hex([]byte(tc.want)) {
				t.Errorf("copied %q, %+v; want %q verified %v", out.String(), c, tc.want, tc.verified)
			}
		})
	}
	t.Run("unscanned content past the bound", func(t *testing.T) {
		big := io.LimitReader(zeros{}, maxUnscannedCopy+4096)
		c, err := copyScanned(big, io.Discard, 10, "")
		if err != nil || !c.cut || c.size != maxUnscannedCopy || c.verified {
			t.Errorf("copy of %d unscanned bytes: %+v, %v; want %d kept and cut", maxUnscannedCopy+4096, c, err, maxUnscannedCopy)
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Restore never changes an inode that has another name: a stored file of
// an older vault that still held the moved inode, hard-linked elsewhere, is
// restored as a copy.
func TestRestoreLinkedStoredFileAsCopy(t *testing.T) {
	v := newVault(t)
	path := filepath.Join(t.TempDir(), "site", "x.php")
	req := plant(t, path, shell)
	if os.Geteuid() == 0 {
		os.Chown(path, 33, 33)
	}
	e, err := v.Move(req)
	if err != nil {
		t.Fatal(err)
	}
	// As an older vault left it: the stored inode has a second name.
	other := filepath.Join(t.TempDir(), "other")
	if err := os.Link(filepath.Join(v.Dir(), e.ID), other); err != nil {
		t.Fatal(err)
	}
	o := &outsideFile{path: other, content: []byte(shell), st: lstat(t, other)}
	if err := v.Restore(e.ID, ""); err != nil {
		t.Fatal(err)
	}
	o.checkUntouched(t)
	checkRestored(t, path, shell, 33, 33, 0o644, e.MTime)
	if st := lstat(t, path); st.Ino == o.st.Ino {
		t.Error("restored by moving the linked inode, want a copy")
	}
	if st := lstat(t, other); st.Nlink != 1 {
		t.Errorf("the other name has %d links, want 1 (the vault's name removed)", st.Nlink)
	}
}

// A symbolic link put at the restore target between Restore's check and
// its rename is neither followed nor replaced, on the same filesystem and
// across.
func TestRestoreSymlinkRacedIntoTarget(t *testing.T) {
	onBothFilesystems(t, func(t *testing.T, dir string) {
		v := newVault(t)
		e, err := v.Move(plant(t, filepath.Join(t.TempDir(), "x.php"), shell))
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, "x.php")
		victim := plantOutside(t, "root:x:0:0::/root:/bin/bash\n")
		v.hook = func(stage string) {
			if stage == "restore" {
				if err := os.Symlink(victim.path, target); err != nil {
					t.Error(err)
				}
			}
		}
		if err := v.Restore(e.ID, target); !errors.Is(err, ErrExists) {
			t.Fatalf("Restore with a symlink raced into the target: %v, want ErrExists", err)
		}
		victim.checkUntouched(t)
		if dst, err := os.Readlink(target); err != nil || dst != victim.path {
			t.Errorf("target is %q, %v; want the attacker's symlink left as it was", dst, err)
		}
		checkStillQuarantined(t, v, e)
		if names, _ := os.ReadDir(dir); len(names) != 1 {
			t.Errorf("restore left files beside the target: %v", names)
		}
	})
}
