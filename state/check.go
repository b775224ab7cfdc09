package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// check reads the whole file before anything else touches it:
//
//  1. the size against bbolt's high-water mark: a truncated file would fault
//     when a missing page is touched;
//  2. every page reachable from the buckets, by cursor, in this goroutine
//     under guard: a damaged page panics or faults here and becomes
//     ErrCorrupt, rather than crashing the daemon later;
//  3. every record's checksum and the key order of every bucket;
//  4. the meta and freelist pages' headers, read with pread (see
//     checkSpecialPages), then bbolt's tx.Check: pages referenced twice,
//     reachable pages on the freelist (a future write would overwrite live
//     data), pages lost.
//
// tx.Check runs in a goroutine of bbolt's own, where a panic cannot be
// recovered; steps 2 and 4 make sure every page it reads was read safely
// first.
func (db *DB) check() (err error) {
	defer guard(db.path, &err, debug.SetPanicOnFault(true))
	info, err := os.Stat(db.path)
	if err != nil {
		return fmt.Errorf("check state DB %s: %w", db.path, err)
	}
	return db.bolt.View(func(tx *bolt.Tx) error {
		if need := tx.Size(); info.Size() < need {
			return fmt.Errorf("state DB %s: truncated: %d bytes, the database needs %d: %w", db.path, info.Size(), need, ErrCorrupt)
		}
		err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			var prev []byte
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if prev != nil && bytes.Compare(prev, k) >= 0 {
					return fmt.Errorf("state DB %s: bucket %q: keys out of order at %q: %w", db.path, name, k, ErrCorrupt)
				}
				prev = k
				if v == nil {
					return fmt.Errorf("state DB %s: bucket %q: unexpected nested bucket %q: %w", db.path, name, k, ErrCorrupt)
				}
				if bytes.Equal(name, filesBucket) {
					if _, err := decodeFile(k, v); err != nil {
						return db.corrupt(k, err)
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		bothMetasSound, err := db.checkSpecialPages(tx.Size())
		if err != nil {
			return err
		}
		if !bothMetasSound {
			// bbolt opened on the sound twin (the normal recovery from a
			// torn meta write); its next commit rewrites the damaged
			// one. tx.Check would assert on it, so it is skipped, and
			// steps 1-3 stand.
			return nil
		}
		var first error
		for err := range tx.Check() {
			// Read to the end so Check's goroutine finishes; the first
			// error is enough to say what is wrong.
			if first == nil {
				first = err
			}
		}
		if first != nil {
			return fmt.Errorf("state DB %s: consistency check: %v: %w", db.path, first, ErrCorrupt)
		}
		return nil
	})
}

// The on-disk layout of bbolt's page header and meta page (file format
// version 2, unchanged since bbolt 1.0), native byte order.
const (
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	metaPageFlag     = 0x04
	freelistPageFlag = 0x10
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	metaSumEnd       = pageHeaderSize + 56 // the meta fields before checksum
	noFreelist       = 0xffffffffffffffff
)

type metaPage struct {
	sound         bool
	pageSize      int64
	freelist, hwm uint64
	txid          uint64
}

// checkSpecialPages reads the two meta pages and the freelist page's header
// with pread, as tx.Check would through the map with assertions. It reports
// whether both meta pages are sound, and an ErrCorrupt error when the
// freelist page of the newest sound meta is not a freelist page.
func (db *DB) checkSpecialPages(size int64) (bool, error) {
	pageSize := int64(db.bolt.Info().PageSize)
	f, err := os.Open(db.path)
	if err != nil {
		return false, fmt.Errorf("check state DB %s: %w", db.path, err)
	}
	defer f.Close()
	head := make([]byte, 2*pageSize)
	if _, err := f.ReadAt(head, 0); err != nil {
		return false, fmt.Errorf("check state DB %s: meta pages: %v: %w", db.path, err, ErrCorrupt)
	}
	m0, m1 := readMeta(head[:pageSize], 0), readMeta(head[pageSize:], 1)
	newest := m0
	if !m0.sound || (m1.sound && m1.txid > m0.txid) {
		newest = m1
	}
	if newest.freelist != noFreelist {
		hdr := make([]byte, pageHeaderSize)
		off := int64(newest.freelist) * pageSize
		if newest.freelist >= newest.hwm || off >= size {
			return false, fmt.Errorf("state DB %s: freelist page %d beyond the end: %w", db.path, newest.freelist, ErrCorrupt)
		}
		if _, err := f.ReadAt(hdr, off); err != nil {
			return false, fmt.Errorf("check state DB %s: freelist page: %v: %w", db.path, err, ErrCorrupt)
		}
		if id, flags := binary.NativeEndian.Uint64(hdr), binary.NativeEndian.Uint16(hdr[8:]); id != newest.freelist || flags != freelistPageFlag {
			return false, fmt.Errorf("state DB %s: freelist page %d is damaged: %w", db.path, newest.freelist, ErrCorrupt)
		}
	}
	return m0.sound && m1.sound, nil
}

// readMeta decodes the meta page p, which must be page id.
func readMeta(p []byte, id uint64) metaPage {
	ne := binary.NativeEndian
	if ne.Uint64(p) != id || ne.Uint16(p[8:]) != metaPageFlag ||
		ne.Uint32(p[16:]) != boltMagic || ne.Uint32(p[20:]) != boltVersion {
		return metaPage{}
	}
	h := fnv.New64a()
	h.Write(p[pageHeaderSize:metaSumEnd])
	if h.Sum64() != ne.Uint64(p[metaSumEnd:]) {
		return metaPage{}
	}
	// After magic, version, pageSize, flags (16 bytes) and the root
	// bucket (root pgid, sequence: 16 bytes): freelist, pgid, txid.
	return metaPage{sound: true, pageSize: int64(ne.Uint32(p[24:])), freelist: ne.Uint64(p[48:]), hwm: ne.Uint64(p[56:]), txid: ne.Uint64(p[64:])}
}

// precheckFile reads what bolt.Open will read — the meta pages and the
// freelist page — with pread, and checks that the file is as long as the
// newest meta page says. bolt.Open reads them through its map with
// assertions, and a panic there would leave its lock and descriptor behind;
// a fault on a page past the end of a truncated file would kill the process
// unless recovered. Another process may be writing the file meanwhile, so
// damage found here is confirmed under the file's lock (see confirmDamage).
func precheckFile(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open state DB %s: %w", path, err)
	}
	defer f.Close()
	page := func(off, n int64) []byte {
		b := make([]byte, n)
		if got, _ := f.ReadAt(b, off); int64(got) < n {
			return nil
		}
		return b
	}
	var m0, m1 metaPage
	if p := page(0, 4096); p != nil {
		m0 = readMeta(p, 0)
	}
	pageSize := int64(os.Getpagesize())
	if m0.sound {
		pageSize = m0.pageSize
	}
	if pageSize < 1024 || pageSize > 1<<16 {
		return fmt.Errorf("state DB %s: page size %d: %w", path, pageSize, ErrCorrupt)
	}
	if p := page(pageSize, pageSize); p != nil {
		m1 = readMeta(p, 1)
	}
	newest := m0
	if !m0.sound || (m1.sound && m1.txid > m0.txid) {
		newest = m1
	}
	switch {
	case !newest.sound:
		return fmt.Errorf("state DB %s: no sound meta page (not a bbolt file, or overwritten): %w", path, ErrCorrupt)
	case newest.pageSize != pageSize:
		return fmt.Errorf("state DB %s: meta pages disagree on the page size: %w", path, ErrCorrupt)
	case newest.hwm > uint64(size/pageSize):
		return fmt.Errorf("state DB %s: truncated: %d bytes, the database needs %d: %w", path, size, int64(newest.hwm)*pageSize, ErrCorrupt)
	case newest.freelist == noFreelist:
		return nil
	case newest.freelist >= newest.hwm:
		return fmt.Errorf("state DB %s: freelist page %d beyond the end: %w", path, newest.freelist, ErrCorrupt)
	}
	hdr := page(int64(newest.freelist)*pageSize, pageHeaderSize)
	if hdr == nil || binary.NativeEndian.Uint64(hdr) != newest.freelist || binary.NativeEndian.Uint16(hdr[8:]) != freelistPageFlag {
		return fmt.Errorf("state DB %s: freelist page %d is damaged: %w", path, newest.freelist, ErrCorrupt)
	}
	// The freelist's overflow pages must be in the file too.
	if overflow := uint64(binary.NativeEndian.Uint32(hdr[12:])); newest.freelist+overflow >= newest.hwm {
		return fmt.Errorf("state DB %s: freelist runs past the end: %w", path, ErrCorrupt)
	}
	return nil
}

// confirmDamage repeats precheckFile while holding the file's lock, as bbolt
// takes it (flock, exclusive), so that a file being written by a running
// shellwatch is reported locked, not corrupt.
func confirmDamage(path string, timeout time.Duration) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open state DB %s: %w", path, err)
	}
	defer f.Close()
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			return fmt.Errorf("lock state DB %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("open state DB %s: %w", path, ErrLocked)
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open state DB %s: %w", path, err)
	}
	return precheckFile(path, info.Size())
}
