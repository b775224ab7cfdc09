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

// fullDisk is a baseline whose state database is on a tmpfs filled up, and
// the records written until a commit failed for want of space.
type fullDisk struct {
	b      *Baseline
	heard  *commits
	disk   string
	filler string // remove it and there is room again
	n      int    // records written: name(0) to name(n-1)
	closed bool
}

// fillDisk opens a baseline on a small tmpfs, fills the tmpfs and writes
// new records, which make the database grow into the space there is not,
// until a commit fails.
func fillDisk(t *testing.T) *fullDisk {
	fd := &fullDisk{heard: &commits{}, disk: testenv.Tmpfs(t, 1<<20)}
	var err error
	if fd.b, _, err = Open(filepath.Join(fd.disk, "state.db"), Options{OnCommit: fd.heard.add}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !fd.closed {
			fd.b.Close()
		}
	})
	fd.filler = testenv.FillDisk(t, fd.disk)
	testenv.Eventually(t, 30*time.Second, "a commit that fails for want of space", func() bool {
		for range 200 {
			fd.b.Remember(state.File{Path: fd.name(fd.n), Inode: uint64(fd.n + 1), SHA256: [32]byte{byte(fd.n)}}, nil, true)
			fd.n++
		}
		fd.b.Flush()
		_, err := fd.heard.last()
		return err != nil
	})
	return fd
}

func (fd *fullDisk) name(i int) string {
	return fmt.Sprintf("/srv/www/%s/file-%d.php", strings.Repeat("d", 100), i)
}

// A state database on a full disk: the commit fails and says so, the
// records are kept, and once there is room again they are committed
// without any new record to carry them, and that says so too.
func TestCommitFailsOnFullDiskAndRecovers(t *testing.T) {
	fd := fillDisk(t)
	b, heard, disk, filler, n, name := fd.b, fd.heard, fd.disk, fd.filler, fd.n, fd.name
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
	fd.closed = true
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

// storedBuilt reads root's first-baseline marker from the database itself,
// not from the writer.
func storedBuilt(t *testing.T, b *Baseline, root string) bool {
	t.Helper()
	var built bool
	if _, err := b.db.GetMeta(metaBaselineBuilt+root, &built); err != nil {
		t.Fatal(err)
	}
	return built
}

// A root is marked built only once every record written before the mark
// is committed: while the state's disk is full the records stay pending
// and so does the mark; once there is room again the records land, and
// only then the mark. A root marked built with records missing would have
// its files taken for new at the next start.
func TestMarkBuiltWaitsForRecordsOnFullDisk(t *testing.T) {
	fd := fillDisk(t)
	b, n, name := fd.b, fd.n, fd.name
	const root = "/srv/www"
	if err := b.Flush(); err == nil {
		t.Error("Flush with records that could not be committed says nil")
	}
	if err := b.MarkBuilt(root); !errors.Is(err, unix.ENOSPC) {
		t.Errorf("MarkBuilt with its records pending on a full disk says %v, want ENOSPC", err)
	}
	missing := func() int {
		m := 0
		for i := range n {
			if _, ok, err := b.db.Get(name(i)); err != nil || !ok {
				m++
			}
		}
		return m
	}
	if m := missing(); m == 0 {
		t.Fatal("every record was stored on the full disk: the test proves nothing")
	}
	if storedBuilt(t, b, root) {
		t.Fatalf("the root is marked built on disk with %d of its %d records pending", missing(), n)
	}
	if !b.Built(root) {
		t.Error("Built does not read the pending mark: the agent would build the root's first baseline again")
	}

	if err := os.Remove(fd.filler); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the mark stored once there is room", func() bool { return storedBuilt(t, b, root) })
	if m := missing(); m != 0 {
		t.Errorf("the root is marked built on disk with %d of its %d records missing", m, n)
	}
	if err := b.Flush(); err != nil {
		t.Errorf("Flush once everything is committed: %v", err)
	}
}
