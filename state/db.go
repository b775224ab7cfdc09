package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrCorrupt is wrapped by the errors of a state file that is not a bbolt
// database, is truncated, fails bbolt's consistency check, or holds a record
// that does not decode or fails its checksum. [OpenOrReset] moves such a
// file aside.
var ErrCorrupt = errors.New("state DB corrupt")

// ErrLocked is wrapped by the error of [Open] when another process holds the
// file's lock past Options.LockTimeout.
var ErrLocked = errors.New("state DB locked by another process (is another shellwatch running?)")

// ErrFormat is wrapped by the error of [Open] for a sound bbolt file that is
// not a shellwatch state DB, or is one of a format this version does not
// read (a newer one, say). It is not reset: the file may be someone's data.
var ErrFormat = errors.New("not a state DB of a format this shellwatch reads")

// ErrClosed is returned by the methods of a closed DB.
var ErrClosed = errors.New("state DB closed")

// DefaultLockTimeout is how long [Open] waits for another process's lock
// when Options.LockTimeout is zero.
const DefaultLockTimeout = 2 * time.Second

// formatName is stored under infoBucket/formatKey; a file without it (and
// with other buckets) is someone else's, one with another value is of another
// format.
const formatName = "shellwatch-state/1"

// maxKeySize is bbolt's limit on a key. A path can be longer: the kernel
// bounds a path given to one call (PATH_MAX), not the depth of a tree built
// with relative mkdir. Such a path's record is kept under a derived key
// (keyOf) with the path in the record, so no path makes a write fail.
const maxKeySize = bolt.MaxKeySize

var (
	infoBucket  = []byte("info")
	formatKey   = []byte("format")
	filesBucket = []byte("files.v1")
	metaBucket  = []byte("meta.v1")
)

// Options tune [Open].
type Options struct {
	// LockTimeout is how long Open waits while another process holds the
	// file's lock; zero means DefaultLockTimeout.
	LockTimeout time.Duration
	// SkipCheck skips the full check at open (every page walked, every
	// record's checksum verified, bbolt's tx.Check). The check reads the
	// whole file once; skip it only where open time matters more than
	// finding damage before it is used.
	SkipCheck bool
}

// DB is the baseline in one bbolt file. Its methods are safe for concurrent
// use; the file is locked against other processes while it is open.
type DB struct {
	path    string
	bolt    *bolt.DB
	created bool

	// mu guards closed against sends on writes: Close takes it to stop new
	// writes, then closes writes and waits for the committer.
	mu        sync.RWMutex
	closed    bool
	writes    chan *writeRequest
	committed chan struct{}
}

// Open opens the state file at path, creating it (mode 0600, and its folder,
// mode 0700, if missing). Unless opts.SkipCheck is set it checks the whole
// file; damage gives an error wrapping ErrCorrupt that names the file.
func Open(path string, opts Options) (db *DB, err error) {
	if path == "" {
		return nil, errors.New("open state DB: empty path")
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open state DB %s: %w", path, err)
	}
	created := false
	switch info, err := os.Lstat(path); {
	case errors.Is(err, fs.ErrNotExist):
		created = true
	case err != nil:
		return nil, fmt.Errorf("open state DB %s: %w", path, err)
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("open state DB %s: not a regular file (%s)", path, info.Mode().Type())
	case info.Size() == 0:
		// bbolt would quietly make an empty database of it; but an existing
		// empty file is a baseline lost (truncated), and the caller must
		// know it starts from nothing.
		return nil, fmt.Errorf("open state DB %s: empty file: %w", path, ErrCorrupt)
	default:
		if err := precheckFile(path, info.Size()); err != nil {
			if err := confirmDamage(path, opts.LockTimeout); err != nil {
				return nil, err
			}
		}
	}

	bdb, err := openBolt(path, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	db = &DB{path: path, bolt: bdb, created: created}
	defer func() {
		if err != nil {
			bdb.Close()
		}
	}()
	if !opts.SkipCheck {
		if err := db.check(); err != nil {
			return nil, err
		}
	}
	if err := db.initFormat(); err != nil {
		return nil, err
	}
	db.writes = make(chan *writeRequest, 256)
	db.committed = make(chan struct{})
	go db.commitLoop()
	return db, nil
}

// openBolt opens the bbolt file, recovering from the panics and faults bbolt
// can meet on a damaged meta or freelist page.
func openBolt(path string, timeout time.Duration) (bdb *bolt.DB, err error) {
	defer guard(path, &err, debug.SetPanicOnFault(true))
	bdb, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, FreelistType: bolt.FreelistMapType})
	switch {
	case err == nil:
		return bdb, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open state DB %s: %w", path, ErrLocked)
	case isSystemError(err):
		return nil, fmt.Errorf("open state DB %s: %w", path, err)
	default:
		// Invalid meta pages, version mismatch, checksum error, file too
		// small to hold the meta pages.
		return nil, fmt.Errorf("open state DB %s: %v: %w", path, err, ErrCorrupt)
	}
}

// isSystemError tells an error of the operating system (permission denied,
// out of memory for the map) from bbolt's verdict on the content.
func isSystemError(err error) bool {
	var pathErr *fs.PathError
	var errno syscall.Errno
	return errors.As(err, &pathErr) || errors.As(err, &errno)
}

// guard turns a panic (or, with SetPanicOnFault, a memory fault on a page
// past the end of a truncated file) inside bbolt into an error wrapping
// ErrCorrupt. Use it as `defer guard(path, &err, debug.SetPanicOnFault(true))`:
// it restores the goroutine's previous fault setting.
func guard(path string, errp *error, oldPanicOnFault bool) {
	debug.SetPanicOnFault(oldPanicOnFault)
	if p := recover(); p != nil {
		*errp = fmt.Errorf("state DB %s: bbolt failed on a damaged page (%v): %w", path, p, ErrCorrupt)
	}
}

// corrupt wraps a record decoding error with the file and ErrCorrupt.
func (db *DB) corrupt(key []byte, err error) error {
	return fmt.Errorf("state DB %s: record %q: %v: %w", db.path, key, err, ErrCorrupt)
}

// initFormat stamps a new file with the format and its buckets, and refuses a
// file of another format.
func (db *DB) initFormat() (err error) {
	defer guard(db.path, &err, debug.SetPanicOnFault(true))
	return db.bolt.Update(func(tx *bolt.Tx) error {
		if info := tx.Bucket(infoBucket); info != nil {
			if got := info.Get(formatKey); string(got) != formatName {
				return fmt.Errorf("open state DB %s: format %q, want %q: %w", db.path, got, formatName, ErrFormat)
			}
			for _, name := range [][]byte{filesBucket, metaBucket} {
				if tx.Bucket(name) == nil {
					return fmt.Errorf("state DB %s: bucket %q missing: %w", db.path, name, ErrCorrupt)
				}
			}
			// Added after the format's first release: a file of an
			// older shellwatch gets it now.
			_, err := tx.CreateBucketIfNotExists(flaggedBucket)
			return err
		}
		// No format stamp: a file bbolt just made (here, or by a run that
		// died before this transaction), or someone else's database.
		if c := tx.Cursor(); func() bool { k, _ := c.First(); return k != nil }() {
			return fmt.Errorf("open state DB %s: no format stamp but other data: %w", db.path, ErrFormat)
		}
		db.created = true
		for _, name := range [][]byte{filesBucket, metaBucket, flaggedBucket} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		info, err := tx.CreateBucket(infoBucket)
		if err != nil {
			return err
		}
		return info.Put(formatKey, []byte(formatName))
	})
}

// OpenOrReset opens the state file at path like [Open]; when that fails with
// ErrCorrupt, it moves the file aside to "<path>.corrupt-<UTC time>", opens a
// fresh one, and returns why in reset, so that the caller can alert that the
// baseline was rebuilt. err is set when no DB could be opened.
func OpenOrReset(path string, opts Options) (db *DB, reset error, err error) {
	db, err = Open(path, opts)
	if err == nil || !errors.Is(err, ErrCorrupt) {
		return db, nil, err
	}
	reason := err
	aside := path + ".corrupt-" + time.Now().UTC().Format("20060102T150405Z")
	if _, err := os.Lstat(aside); err == nil {
		aside = path + ".corrupt-" + time.Now().UTC().Format("20060102T150405.000000000Z")
	}
	if err := os.Rename(path, aside); err != nil {
		return nil, reason, fmt.Errorf("move corrupt state DB aside: %w", err)
	}
	syncDir(filepath.Dir(path))
	db, err = Open(path, opts)
	if err != nil {
		return nil, reason, err
	}
	return db, fmt.Errorf("%w; moved to %s, fresh baseline started", reason, aside), nil
}

// syncDir makes a rename in dir durable; a failure only risks seeing the old
// name again after a crash, so it is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Path returns the file the DB is stored in.
func (db *DB) Path() string { return db.path }

// Created reports whether Open started an empty baseline: the file did not
// exist, or held no data yet. A caller builds the first baseline then.
func (db *DB) Created() bool { return db.created }

// Close waits for the writes in flight and closes the file.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return ErrClosed
	}
	db.closed = true
	close(db.writes)
	db.mu.Unlock()
	<-db.committed
	return db.bolt.Close()
}

// Get returns the record of path, and whether there is one.
func (db *DB) Get(path string) (f File, ok bool, err error) {
	defer guard(db.path, &err, debug.SetPanicOnFault(true))
	err = db.bolt.View(func(tx *bolt.Tx) error {
		key := keyOf(path)
		v := tx.Bucket(filesBucket).Get(key)
		if v == nil {
			return nil
		}
		ok = true
		if f, err = decodeFile(key, v); err != nil {
			return db.corrupt(key, err)
		}
		return nil
	})
	if err != nil {
		return File{}, false, err
	}
	return f, ok, nil
}

// Count returns the number of file records.
func (db *DB) Count() (n int, err error) {
	defer guard(db.path, &err, debug.SetPanicOnFault(true))
	err = db.bolt.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(filesBucket).Stats().KeyN
		return nil
	})
	return n, err
}

// rootPrefix is what the paths below root start with: root and "/", unless
// root ends in "/" already (paths keep the root as it was given).
func rootPrefix(root string) []byte {
	if strings.HasSuffix(root, "/") {
		return []byte(root)
	}
	return []byte(root + "/")
}

// forEachChunk is how many records ForEach and a statCursor decode per read
// transaction.
const forEachChunk = 1024

// ForEach calls fn for the record of root itself, if root is a file, and
// then for every record below root (paths starting with root+"/"), in key
// order, until fn returns an error, which ForEach returns. Records are read
// in chunks, each in its own read transaction, and fn runs outside them, so
// fn may write to the DB; records written during the iteration may or may
// not be seen.
func (db *DB) ForEach(root string, fn func(File) error) error {
	if root == "" {
		return errors.New("state ForEach: empty root")
	}
	f, ok, err := db.Get(root)
	if err != nil {
		return err
	}
	if ok && !strings.HasSuffix(root, "/") {
		if err := fn(f); err != nil {
			return err
		}
	}
	prefix := rootPrefix(root)
	after := prefix
	inclusive := true
	var chunk []File
	for {
		chunk = chunk[:0]
		err := db.readChunk(prefix, after, inclusive, func(k, v []byte) error {
			f, err := decodeFile(k, v)
			chunk = append(chunk, f)
			return err
		})
		if err != nil {
			return err
		}
		for _, f := range chunk {
			if err := fn(f); err != nil {
				return err
			}
		}
		if len(chunk) < forEachChunk {
			return nil
		}
		after, inclusive = keyOf(chunk[len(chunk)-1].Path), false
	}
}

// readChunk calls decode for up to forEachChunk records with prefix, from
// the key after (included when inclusive), in one read transaction. A
// decoding error is returned as the record's corruption.
func (db *DB) readChunk(prefix, after []byte, inclusive bool, decode func(k, v []byte) error) (err error) {
	defer guard(db.path, &err, debug.SetPanicOnFault(true))
	return db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(filesBucket).Cursor()
		k, v := c.Seek(after)
		if !inclusive && bytes.Equal(k, after) {
			k, v = c.Next()
		}
		for n := 0; k != nil && bytes.HasPrefix(k, prefix) && n < forEachChunk; k, v = c.Next() {
			if err := decode(k, v); err != nil {
				return db.corrupt(k, err)
			}
			n++
		}
		return nil
	})
}

type statEntry struct {
	path string
	stat Stat
}

// statCursor reads the lstat part of the records at or below a root, root's
// own first, then in key order, decoding nothing else: what a restart needs
// to tell which files changed. It reads forEachChunk records per read
// transaction, so that going through a baseline of millions of files holds
// one chunk of it in memory, never the whole; records written meanwhile may
// or may not be seen.
type statCursor struct {
	db        *DB
	root      string
	prefix    []byte
	after     []byte // the key to read from: prefix, then the last one read
	inclusive bool
	started   bool // root's own record was looked up
	last      bool // the chunk held is the last one
	chunk     []statEntry
	i         int
}

// stats returns a cursor over the records at or below root.
func (db *DB) stats(root string) *statCursor {
	prefix := rootPrefix(root)
	return &statCursor{db: db, root: root, prefix: prefix, after: prefix, inclusive: true}
}

// next returns the next record, and false at the end.
func (c *statCursor) next() (statEntry, bool, error) {
	if !c.started {
		c.started = true
		if c.root == "" {
			return statEntry{}, false, errors.New("state: reconcile an empty root")
		}
		if !strings.HasSuffix(c.root, "/") {
			var e statEntry
			var found bool
			err := c.db.view(func(tx *bolt.Tx) error {
				key := keyOf(c.root)
				v := tx.Bucket(filesBucket).Get(key)
				if v == nil {
					return nil
				}
				found = true
				var err error
				if e.path, e.stat, err = decodeStat(key, v); err != nil {
					return c.db.corrupt(key, err)
				}
				return nil
			})
			if err != nil || found {
				return e, found, err
			}
		}
	}
	for c.i == len(c.chunk) {
		if c.last {
			return statEntry{}, false, nil
		}
		c.chunk, c.i = c.chunk[:0], 0
		err := c.db.readChunk(c.prefix, c.after, c.inclusive, func(k, v []byte) error {
			p, s, err := decodeStat(k, v)
			c.chunk = append(c.chunk, statEntry{p, s})
			return err
		})
		if err != nil {
			return statEntry{}, false, err
		}
		c.last = len(c.chunk) < forEachChunk
		if len(c.chunk) > 0 {
			c.after, c.inclusive = keyOf(c.chunk[len(c.chunk)-1].path), false
		}
	}
	c.i++
	return c.chunk[c.i-1], true, nil
}

// writeRequest is one Put or Delete call waiting for its commit.
type writeRequest struct {
	ops  []writeOp
	done chan error
}

type writeOp struct {
	key, value []byte // value nil: delete
}

// applyOps puts or deletes (value nil) each op in b, in the order given,
// and returns the key of the first that failed with its error.
func applyOps(b *bolt.Bucket, ops []writeOp) ([]byte, error) {
	for _, op := range ops {
		var err error
		if op.value == nil {
			err = b.Delete(op.key)
		} else {
			err = b.Put(op.key, op.value)
		}
		if err != nil {
			return op.key, err
		}
	}
	return nil, nil
}

// Put stores files, replacing the records of their paths, in one
// transaction: all or none are stored, and when Put returns nil they are on
// disk (fsynced). Puts from concurrent goroutines share transactions (see the
// package documentation); a bulk load is fastest with many files per call.
func (db *DB) Put(files ...File) error {
	if len(files) == 0 {
		return nil
	}
	size := 0
	for i := range files {
		if err := files[i].validate(); err != nil {
			return fmt.Errorf("state put %q: %w", files[i].Path, err)
		}
		size += 96 + len(files[i].Path)
	}
	// One buffer for every record of the call; the slices are taken once
	// it has stopped growing.
	buf := make([]byte, 0, size)
	ends := make([]int, len(files))
	for i := range files {
		buf = appendRecord(buf, &files[i])
		ends[i] = len(buf)
	}
	ops := make([]writeOp, len(files))
	start := 0
	for i := range files {
		ops[i] = writeOp{key: keyOf(files[i].Path), value: buf[start:ends[i]:ends[i]]}
		start = ends[i]
	}
	return db.submit(ops)
}

// Delete removes the records of paths (a path without one is ignored) in one
// transaction, durable when Delete returns nil.
func (db *DB) Delete(paths ...string) error {
	if len(paths) == 0 {
		return nil
	}
	ops := make([]writeOp, 0, len(paths))
	for _, p := range paths {
		if p == "" {
			continue // no record has it
		}
		ops = append(ops, writeOp{key: keyOf(p)})
	}
	return db.submit(ops)
}

// submit hands ops to the committer and waits for their commit.
func (db *DB) submit(ops []writeOp) error {
	req := &writeRequest{ops: ops, done: make(chan error, 1)}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	db.writes <- req
	db.mu.RUnlock()
	return <-req.done
}

// fillPercent is how full bbolt fills a page it splits.
const fillPercent = 0.9

// maxGroup bounds how many calls share one transaction, so that one commit's
// latency stays bounded under a flood.
const maxGroup = 512

// commitLoop is the one writer of file records: it takes whatever calls are
// waiting, commits them in one transaction (one fsync), and answers each. A
// lone call is committed at once; calls that arrive during a commit wait for
// the next one, together.
func (db *DB) commitLoop() {
	defer close(db.committed)
	for req := range db.writes {
		group := []*writeRequest{req}
	gather:
		for len(group) < maxGroup {
			select {
			case r, ok := <-db.writes:
				if !ok {
					break gather
				}
				group = append(group, r)
			default:
				break gather
			}
		}
		err := db.commit(group)
		if err != nil && len(group) > 1 {
			// Give each call its own verdict rather than failing them
			// all for one.
			for _, r := range group {
				r.done <- db.commit([]*writeRequest{r})
			}
			continue
		}
		for _, r := range group {
			r.done <- err
		}
	}
}

// commit applies the ops of group in one transaction, in key order (pages
// are filled left to right; a stable sort keeps the calls' order for one
// key).
func (db *DB) commit(group []*writeRequest) (err error) {
	defer guard(db.path, &err, debug.SetPanicOnFault(true))
	var ops []writeOp
	if len(group) == 1 {
		ops = group[0].ops
	} else {
		for _, r := range group {
			ops = append(ops, r.ops...)
		}
	}
	if !sort.SliceIsSorted(ops, func(i, j int) bool { return bytes.Compare(ops[i].key, ops[j].key) < 0 }) {
		ops = append([]writeOp(nil), ops...)
		sort.SliceStable(ops, func(i, j int) bool { return bytes.Compare(ops[i].key, ops[j].key) < 0 })
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(filesBucket)
		// Fuller pages than bbolt's default of half: a baseline is mostly
		// read, and mostly written in key order (a walk, folder by folder).
		b.FillPercent = fillPercent
		if key, err := applyOps(b, ops); err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state DB %s: write: %w", db.path, err)
	}
	return nil
}

// GetMeta decodes the JSON blob stored under key into v and reports whether
// there was one.
func (db *DB) GetMeta(key string, v any) (ok bool, err error) {
	var blob []byte
	err = db.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(metaBucket).Get([]byte(key)); b != nil {
			blob = bytes.Clone(b)
		}
		return nil
	})
	if err != nil || blob == nil {
		return false, err
	}
	if err := json.Unmarshal(blob, v); err != nil {
		return true, fmt.Errorf("state DB %s: meta %q: %w", db.path, key, err)
	}
	return true, nil
}

// PutMeta stores v as JSON under key, durably, replacing what was there.
func (db *DB) PutMeta(key string, v any) error {
	if key == "" {
		return errors.New("state PutMeta: empty key")
	}
	blob, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("state PutMeta %q: %w", key, err)
	}
	return db.update(func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Put([]byte(key), blob) })
}

// DeleteMeta removes the blob stored under key, if any, durably.
func (db *DB) DeleteMeta(key string) error {
	if key == "" {
		return nil
	}
	return db.update(func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Delete([]byte(key)) })
}

func (db *DB) view(fn func(*bolt.Tx) error) (err error) {
	defer guard(db.path, &err, debug.SetPanicOnFault(true))
	return db.bolt.View(fn)
}

func (db *DB) update(fn func(*bolt.Tx) error) (err error) {
	defer guard(db.path, &err, debug.SetPanicOnFault(true))
	if err := db.bolt.Update(fn); err != nil {
		return fmt.Errorf("state DB %s: write: %w", db.path, err)
	}
	return nil
}
