package baseline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/state"
)

// commits records what OnCommit hears.
type commits struct {
	mu   sync.Mutex
	errs []error
}

func (c *commits) add(err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

// last returns the latest outcome heard, and whether one was.
func (c *commits) last() (heard bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) == 0 {
		return false, nil
	}
	return true, c.errs[len(c.errs)-1]
}

// A state database on a full disk: the commit fails and says so, the
// records are kept, and once there is room again they are committed
// without any new record to carry them, and that says so too.
func TestCommitFailsOnFullDiskAndRecovers(t *testing.T) {
	disk := testenv.Tmpfs(t, 1<<20)
	var heard commits
	b, _, err := Open(filepath.Join(disk, "state.db"), Options{OnCommit: heard.add})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			b.Close()
		}
	})
	filler := testenv.FillDisk(t, disk)

	// New records make the database grow into the space there is not.
	name := func(i int) string { return fmt.Sprintf("/srv/www/%s/file-%d.php", strings.Repeat("d", 100), i) }
	n := 0
	testenv.Eventually(t, 30*time.Second, "a commit that fails for want of space", func() bool {
		for range 200 {
			b.Remember(state.File{Path: name(n), Inode: uint64(n + 1), SHA256: [32]byte{byte(n)}}, nil, true)
			n++
		}
		b.Flush()
		_, err := heard.last()
		return err != nil
	})
	if _, err := heard.last(); !errors.Is(err, unix.ENOSPC) {
		t.Errorf("the failed commit says %v, want ENOSPC", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the kept records committed once there is room", func() bool {
		heardAny, err := heard.last()
		return heardAny && err == nil
	})
	// Every record made it, the ones of the failed commits included.
	closed = true
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := state.Open(filepath.Join(disk, "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range n {
		if _, ok, err := db.Get(name(i)); err != nil || !ok {
			t.Fatalf("record %d of %d: found %v, %v", i, n, ok, err)
		}
	}
}
