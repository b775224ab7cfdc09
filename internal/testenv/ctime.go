package testenv

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// WaitCtimePast returns once a file changed now gets a later ctime than
// ref's. File times come from a coarse kernel clock (a few milliseconds): a
// test that tells a rewritten file by its ctime waits here, rather than
// sleeping and hoping the clock moved. It probes with a file in a temp dir
// of its own, on the file system of the test's other temp dirs: ref must be
// on that one too.
func WaitCtimePast(t testing.TB, ref string) {
	t.Helper()
	old := ctimeOf(t, ref)
	probe := filepath.Join(t.TempDir(), "ctime-probe")
	Eventually(t, time.Minute, "the file system clock to move past the ctime of "+ref, func() bool {
		if err := os.WriteFile(probe, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		return ctimeOf(t, probe).After(old)
	})
}

func ctimeOf(t testing.TB, path string) time.Time {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatalf("lstat %s: %v", path, err)
	}
	return time.Unix(st.Ctim.Unix())
}
