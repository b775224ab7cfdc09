package access

import (
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/weblog"
)

// countingStore is the real state database, counting the commits.
type countingStore struct {
	*state.DB
	commits atomic.Int32
}

func (c *countingStore) WriteFlagged(b state.FlaggedBatch) error {
	c.commits.Add(1)
	return c.DB.WriteFlagged(b)
}

// A botnet probing a flagged URL matches requests all the time: their
// stamps make at most one commit a minute (untilEvery), not one each;
// the last stamp is stored at the flush all the same.
func TestStampsDoNotCommitEachMatch(t *testing.T) {
	db, err := state.Open(filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := &countingStore{DB: db}
	w := newStoreWriter(store, slog.New(slog.DiscardHandler))
	start := time.Now().Truncate(time.Second)
	for i := range 200 {
		w.until("log0", start.Add(time.Duration(i)*time.Second))
		time.Sleep(time.Millisecond) // longer than nothing, far shorter than untilEvery
	}
	w.flush()
	if n := store.commits.Load(); n > 2 {
		t.Errorf("200 stamps within a second made %d commits, want at most 2 (the first, the flush)", n)
	}
	got, err := db.ReadFlagged()
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(199 * time.Second); !got.ReadUntil["log0"].Equal(want) {
		t.Errorf("stored stamp %v, want the last, %v", got.ReadUntil["log0"], want)
	}
}

// A grouped tally names the latest request, whatever order its clients
// are gathered in.
func TestCrowdKeepsTheLatestHit(t *testing.T) {
	var c crowd
	t0 := time.Now()
	c.gather("198.51.100.2", 1, weblog.Hit{Time: t0.Add(time.Second), Client: "198.51.100.2"}, true)
	c.gather("198.51.100.1", 1, weblog.Hit{Time: t0, Client: "198.51.100.1"}, true)
	if c.hit.Client != "198.51.100.2" || c.requests != 2 || c.clients != 2 {
		t.Errorf("crowd %+v: want the later hit kept, 2 requests of 2 clients", c)
	}
}
