package quarantine

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/internal/testenv"
)

// Probe tells a vault that takes files from one that does not, on a real
// filesystem made full, then read-only, then writable again; it leaves
// nothing in the vault.
func TestProbeFullAndReadOnlyVault(t *testing.T) {
	disk := testenv.Tmpfs(t, 256<<10)
	dir := filepath.Join(disk, "vault")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	bind := filepath.Join(t.TempDir(), "vault")
	if err := os.Mkdir(bind, 0o700); err != nil {
		t.Fatal(err)
	}
	testenv.BindMount(t, dir, bind)
	v, err := Open(bind)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	if err := v.Probe(); err != nil {
		t.Fatalf("empty vault: %v", err)
	}

	filler := testenv.FillDisk(t, disk)
	if err := v.Probe(); !errors.Is(err, unix.ENOSPC) {
		t.Errorf("full vault: Probe = %v, want ENOSPC", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := v.Probe(); err != nil {
		t.Errorf("vault with room again: %v", err)
	}

	testenv.SetBindReadOnly(t, bind, true)
	if err := v.Probe(); !errors.Is(err, unix.EROFS) {
		t.Errorf("read-only vault: Probe = %v, want EROFS", err)
	}
	testenv.SetBindReadOnly(t, bind, false)
	if err := v.Probe(); err != nil {
		t.Errorf("writable vault again: %v", err)
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 0 {
		t.Errorf("the probes left %v in the vault", names)
	}
}
