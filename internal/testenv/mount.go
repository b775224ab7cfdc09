package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Tmpfs mounts a tmpfs of size bytes on a folder of the test's own, and
// unmounts it when the test ends (after what the test closed in its
// Cleanups registered later). Without root the test is skipped.
func Tmpfs(t testing.TB, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; CI runs the tests as root")
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { unmount(t, dir) })
	return dir
}

// BindMount mounts the folder src on the folder dst (a bind mount, as
// systemd's ReadOnlyPaths makes), and unmounts it when the test ends.
// Without root the test is skipped.
func BindMount(t testing.TB, src, dst string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a bind mount needs root; CI runs the tests as root")
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount %s on %s: %v", src, dst, err)
	}
	t.Cleanup(func() { unmount(t, dst) })
}

// SetBindReadOnly makes the bind mount on dir (see [BindMount]) read-only,
// or writable again: what is open through it keeps its descriptors, and
// every write through them fails with EROFS meanwhile. The kernel refuses
// (EBUSY) to make a mount read-only while a file on it is open for
// writing, as a spool file being written: the remount is tried again until
// such a write is over (at most a minute).
func SetBindReadOnly(t testing.TB, dir string, readOnly bool) {
	t.Helper()
	flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND)
	if readOnly {
		flags |= unix.MS_RDONLY
	}
	var err error
	if !poll(time.Minute, func() bool {
		err = unix.Mount("", dir, "", flags, "")
		return !errors.Is(err, unix.EBUSY)
	}) || err != nil {
		t.Fatalf("remount %s read-only=%v: %v", dir, readOnly, err)
	}
}

func unmount(t testing.TB, dir string) {
	if err := unix.Unmount(dir, 0); err != nil {
		t.Errorf("unmount %s: %v", dir, err)
		unix.Unmount(dir, unix.MNT_DETACH)
	}
}

// FillDisk writes a file in dir until its filesystem is full, and returns
// its path: removing it frees the space.
func FillDisk(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return path
		}
	}
}
