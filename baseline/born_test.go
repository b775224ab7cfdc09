package baseline

import (
	"fmt"
	"testing"
	"time"
)

// The set of new files stays bounded under a flood, forgets what it has not
// heard of for bornMemory, and tells a new inode under an old name apart.
func TestBornFilesBounded(t *testing.T) {
	b := newBornFiles()
	t0 := time.Unix(1000, 0)
	b.add("/r/a", 1, 10, t0)
	if !b.has("/r/a", 1, 10, t0.Add(time.Minute)) {
		t.Error("a file seen appearing a minute ago is not new")
	}
	if b.has("/r/a", 1, 11, t0) {
		t.Error("another inode under the same name counts as new")
	}
	if b.has("/r/a", 1, 10, t0.Add(bornMemory)) {
		t.Error("a file not heard of for bornMemory still counts as new")
	}
	for i := range 2 * bornLimit {
		b.add(fmt.Sprintf("/r/flood/%d", i), 1, uint64(i), t0.Add(time.Second))
	}
	if n := b.len(); n > bornLimit {
		t.Errorf("%d files remembered after a flood, want at most %d", n, bornLimit)
	}
	b.drop("/r/flood/0")
	if b.has("/r/flood/0", 1, 0, t0.Add(time.Second)) {
		t.Error("a dropped file still counts as new")
	}
}
