package baseline

import (
	"sync"
	"time"
)

// bornFiles remembers, for a while, the files the agent saw appear (created,
// renamed or linked into a root, or born after it started). A file is
// usually created empty and written a moment later, or renamed in harmless
// and rewritten: its later reports say "modified", yet it is new, and
// quarantined when flagged. Everything else the agent knows of a file is in
// the baseline; only this is not.
//
// It is bounded in time and size, and costs O(1) per report: a flood of new
// files must not grow it without end, nor make a removal walk it.
type bornFiles struct {
	mu    sync.Mutex
	files map[string]bornFile
}

type bornFile struct {
	dev, inode uint64
	seen       time.Time
}

const (
	// bornMemory is how long after its last report a file still counts
	// as new: long past any settle interval between two writes.
	bornMemory = 10 * time.Minute
	// bornLimit bounds the set. Past it, entries older than bornMemory go,
	// and when a flood leaves none that old, a quarter at random: such a
	// file's next write is then judged like a changed old file (alerted,
	// moved only with quarantine_modified). Its creation was judged new.
	bornLimit = 1 << 16
)

func newBornFiles() *bornFiles { return &bornFiles{files: make(map[string]bornFile)} }

// IsBorn reports whether the file at path, as this inode, was seen
// appearing lately (NoteBorn).
func (b *Baseline) IsBorn(path string, dev, inode uint64, now time.Time) bool {
	return b.born.has(path, dev, inode, now)
}

// NoteBorn remembers the file at path, as this inode, as new: its later
// writes are those of a new file.
func (b *Baseline) NoteBorn(path string, dev, inode uint64, now time.Time) {
	b.born.add(path, dev, inode, now)
}

// ForgetBorn forgets that path was new (it is gone, or was judged not new).
func (b *Baseline) ForgetBorn(path string) { b.born.drop(path) }

// BornLen is the number of files remembered as new.
func (b *Baseline) BornLen() int { return b.born.len() }

// has reports whether path, as this inode, was seen appearing lately.
func (b *bornFiles) has(path string, dev, inode uint64, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.files[path]
	return ok && f.dev == dev && f.inode == inode && now.Sub(f.seen) < bornMemory
}

// add remembers path, as this inode, as new.
func (b *bornFiles) add(path string, dev, inode uint64, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.files[path]; !ok && len(b.files) >= bornLimit {
		b.shrinkLocked(now)
	}
	b.files[path] = bornFile{dev: dev, inode: inode, seen: now}
}

// drop forgets path (it is gone, or was judged not new).
func (b *bornFiles) drop(path string) {
	b.mu.Lock()
	delete(b.files, path)
	b.mu.Unlock()
}

func (b *bornFiles) shrinkLocked(now time.Time) {
	for p, f := range b.files {
		if now.Sub(f.seen) >= bornMemory {
			delete(b.files, p)
		}
	}
	for p := range b.files { // map order is random enough
		if len(b.files) <= bornLimit*3/4 {
			break
		}
		delete(b.files, p)
	}
}

func (b *bornFiles) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.files)
}
