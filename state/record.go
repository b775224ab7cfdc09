package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	"github.com/shellwatch/shellwatch/finding"
)

// File is what the baseline holds about one watched regular file.
type File struct {
	// Path is the file's path byte for byte; it is the record's key, or,
	// for a path longer than a bbolt key may be (32 KiB; a tree built
	// with relative mkdir has no limit on its depth), stored in the record
	// under a key derived from it (see keyOf).
	Path string
	// Dev, Inode, Size, Mode (st_mode, type bits included), UID, GID,
	// MTime and CTime are what lstat/fstat said when the file was last
	// seen; times keep their nanoseconds.
	Dev, Inode   uint64
	Size         int64
	Mode         uint32
	UID, GID     uint32
	MTime, CTime time.Time
	// SHA256 is the digest of the content last scanned; all zeros when
	// none is known (the file could not be read).
	SHA256 [32]byte
	// Severity is the last verdict's severity, finding.SeverityNone when
	// nothing matched. It is stored in one byte (0 to 255).
	Severity finding.Severity
	// Rules names the rules that matched last time, usually none.
	Rules []string
	// FirstSeen and LastSeen are when the agent first and last saw the
	// file.
	FirstSeen, LastSeen time.Time
	// Accepted says the content (SHA256) was accepted into the baseline:
	// the first baseline, a deploy, or `baseline accept`. AcceptedAt says
	// when.
	Accepted   bool
	AcceptedAt time.Time
	// Appeared says the file appeared while shellwatch watched its root
	// (created, renamed or linked in, or found new by a start after the
	// root's first baseline) and no deploy window, manifest or `baseline
	// accept` has accepted it since: whoever made it, it stays new, for
	// good, so a shell appended to it later is moved like a new one.
	Appeared bool
}

// Stat is the part of a file's lstat that reconciliation compares and
// reports: its identity (Dev, Inode), Size, the times, and the mode and
// owners the caller may want to compare itself.
type Stat struct {
	Dev, Inode   uint64
	Size         int64
	Mode         uint32
	UID, GID     uint32
	MTime, CTime time.Time
}

// Stat returns the lstat part of f.
func (f File) Stat() Stat {
	return Stat{Dev: f.Dev, Inode: f.Inode, Size: f.Size, Mode: f.Mode, UID: f.UID, GID: f.GID, MTime: f.MTime, CTime: f.CTime}
}

// SameIdentity reports whether s and o describe the same inode with the same
// size, mtime and ctime: then the content cannot have changed through the
// file system's ordinary interfaces, and the file need not be read again.
// Mode, UID and GID are not compared: changing them changes ctime.
func (s Stat) SameIdentity(o Stat) bool {
	return s.Dev == o.Dev && s.Inode == o.Inode && s.Size == o.Size && s.MTime.Equal(o.MTime) && s.CTime.Equal(o.CTime)
}

// recordVersion is the first byte of every encoded File. A new layout gets a
// new version and a decoder for the old one.
const recordVersion = 1

// Bits of a record's presence word: a field whose bit is clear holds its zero
// value and takes no bytes.
const (
	hasMTime = 1 << iota
	hasCTime
	hasSHA256
	hasFirstSeen
	hasLastSeen
	hasAcceptedAt
	hasRules
	isAccepted
	isAppeared
	hasLongPath // the path is in the record, its key is derived (keyOf)
)

// longKeyPrefix is how much of a long path its key keeps: the key is that
// prefix, a NUL (which no path holds) and the path's SHA-256, maxKeySize
// bytes in all. Keys keep the order of paths up to that prefix, so a root's
// records stay together under its prefix; two paths sharing their first
// longKeyPrefix bytes are ordered by their hashes.
const longKeyPrefix = maxKeySize - 1 - sha256.Size

// keyOf is the key of path's record: the path itself, or, for a path longer
// than maxKeySize, a key derived from it.
func keyOf(path string) []byte {
	if len(path) <= maxKeySize {
		return []byte(path)
	}
	sum := sha256.Sum256([]byte(path))
	k := make([]byte, 0, maxKeySize)
	k = append(k, path[:longKeyPrefix]...)
	k = append(k, 0)
	return append(k, sum[:]...)
}

// crcTable is CRC-32C (Castagnoli), computed by a CPU instruction on amd64
// and arm64, so checking every record on every read costs next to nothing.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errRecord is wrapped by every decoding failure; the DB adds the file name
// and ErrCorrupt.
var errRecord = errors.New("malformed record")

// validate says why f cannot be stored, if it cannot.
func (f *File) validate() error {
	switch {
	case f.Path == "":
		return errors.New("empty path")
	case f.Severity < 0 || f.Severity > math.MaxUint8:
		return fmt.Errorf("severity %d out of range", f.Severity)
	}
	return nil
}

// appendRecord appends the encoding of f (without its path, which is the
// key) to b, the key's CRC included.
func appendRecord(b []byte, f *File) []byte {
	start := len(b)
	var present uint64
	set := func(bit uint64, ok bool) {
		if ok {
			present |= bit
		}
	}
	set(hasMTime, !f.MTime.IsZero())
	set(hasCTime, !f.CTime.IsZero())
	set(hasSHA256, f.SHA256 != [32]byte{})
	set(hasFirstSeen, !f.FirstSeen.IsZero())
	set(hasLastSeen, !f.LastSeen.IsZero())
	set(hasAcceptedAt, !f.AcceptedAt.IsZero())
	set(hasRules, len(f.Rules) > 0)
	set(isAccepted, f.Accepted)
	set(isAppeared, f.Appeared)
	set(hasLongPath, len(f.Path) > maxKeySize)

	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, present)
	if present&hasLongPath != 0 {
		b = binary.AppendUvarint(b, uint64(len(f.Path)))
		b = append(b, f.Path...)
	}
	b = binary.AppendUvarint(b, f.Dev)
	b = binary.AppendUvarint(b, f.Inode)
	b = binary.AppendVarint(b, f.Size)
	b = binary.AppendUvarint(b, uint64(f.Mode))
	b = binary.AppendUvarint(b, uint64(f.UID))
	b = binary.AppendUvarint(b, uint64(f.GID))
	b = appendTime(b, present&hasMTime != 0, f.MTime)
	b = appendTime(b, present&hasCTime != 0, f.CTime)
	if present&hasSHA256 != 0 {
		b = append(b, f.SHA256[:]...)
	}
	b = append(b, byte(f.Severity))
	b = appendTime(b, present&hasFirstSeen != 0, f.FirstSeen)
	b = appendTime(b, present&hasLastSeen != 0, f.LastSeen)
	b = appendTime(b, present&hasAcceptedAt != 0, f.AcceptedAt)
	if present&hasRules != 0 {
		b = binary.AppendUvarint(b, uint64(len(f.Rules)))
		for _, r := range f.Rules {
			b = binary.AppendUvarint(b, uint64(len(r)))
			b = append(b, r...)
		}
	}
	crc := crc32.Update(crc32.Checksum(keyOf(f.Path), crcTable), crcTable, b[start:])
	return binary.BigEndian.AppendUint32(b, crc)
}

// appendTime writes t as seconds (zig-zag varint) and nanoseconds (varint):
// about ten bytes for a present-day time, any time.Time representable.
func appendTime(b []byte, present bool, t time.Time) []byte {
	if !present {
		return b
	}
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// recordReader decodes a record's fields in order, remembering the first
// error so the decoders read straight through.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: bad %s", errRecord, what)
	}
	r.b = nil
}

func (r *recordReader) uvarint(what string) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) uint32(what string) uint32 {
	v := r.uvarint(what)
	if v > math.MaxUint32 {
		r.fail(what)
		return 0
	}
	return uint32(v)
}

func (r *recordReader) varint(what string) int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) bytes(n uint64, what string) []byte {
	if n > uint64(len(r.b)) {
		r.fail(what)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *recordReader) time(present bool, what string) time.Time {
	if !present {
		return time.Time{}
	}
	sec := r.varint(what)
	nsec := r.uvarint(what)
	if nsec >= 1e9 {
		r.fail(what)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec))
}

// openRecord checks the version and the CRC of the record val stored under
// key and returns a reader over its fields and its presence word.
func openRecord(key, val []byte) (*recordReader, uint64, error) {
	if len(val) < 1+1+4 {
		return nil, 0, fmt.Errorf("%w: %d bytes is too short", errRecord, len(val))
	}
	body, sum := val[:len(val)-4], binary.BigEndian.Uint32(val[len(val)-4:])
	if crc := crc32.Update(crc32.Checksum(key, crcTable), crcTable, body); crc != sum {
		return nil, 0, fmt.Errorf("%w: checksum mismatch", errRecord)
	}
	if body[0] != recordVersion {
		return nil, 0, fmt.Errorf("%w: unknown record version %d", errRecord, body[0])
	}
	r := &recordReader{b: body[1:]}
	present := r.uvarint("presence word")
	return r, present, r.err
}

// decodeStat decodes the lstat part of a record only, for the fast load of
// a root's identities.
func decodeStat(key, val []byte) (string, Stat, error) {
	r, present, err := openRecord(key, val)
	if err != nil {
		return "", Stat{}, err
	}
	path := r.path(key, present)
	s := r.stat(present)
	return path, s, r.err
}

// path returns the record's path: its key, or the path stored in it when
// the key is derived, which must be the key of that path.
func (r *recordReader) path(key []byte, present uint64) string {
	if present&hasLongPath == 0 {
		return string(key)
	}
	p := r.bytes(r.uvarint("path length"), "path")
	if r.err == nil && (len(p) <= maxKeySize || !bytes.Equal(keyOf(string(p)), key)) {
		r.fail("long path")
	}
	return string(p)
}

func (r *recordReader) stat(present uint64) Stat {
	var s Stat
	s.Dev = r.uvarint("dev")
	s.Inode = r.uvarint("inode")
	s.Size = r.varint("size")
	s.Mode = r.uint32("mode")
	s.UID = r.uint32("uid")
	s.GID = r.uint32("gid")
	s.MTime = r.time(present&hasMTime != 0, "mtime")
	s.CTime = r.time(present&hasCTime != 0, "ctime")
	return s
}

// decodeFile decodes the whole record val stored under key.
func decodeFile(key, val []byte) (File, error) {
	r, present, err := openRecord(key, val)
	if err != nil {
		return File{}, err
	}
	path := r.path(key, present)
	s := r.stat(present)
	f := File{Path: path, Dev: s.Dev, Inode: s.Inode, Size: s.Size, Mode: s.Mode, UID: s.UID, GID: s.GID, MTime: s.MTime, CTime: s.CTime}
	if present&hasSHA256 != 0 {
		copy(f.SHA256[:], r.bytes(32, "sha256"))
	}
	if sev := r.bytes(1, "severity"); sev != nil {
		f.Severity = finding.Severity(sev[0])
	}
	f.FirstSeen = r.time(present&hasFirstSeen != 0, "first seen")
	f.LastSeen = r.time(present&hasLastSeen != 0, "last seen")
	f.AcceptedAt = r.time(present&hasAcceptedAt != 0, "accepted at")
	f.Accepted = present&isAccepted != 0
	f.Appeared = present&isAppeared != 0
	if present&hasRules != 0 {
		n := r.uvarint("rule count")
		// Each name takes at least one byte (its length), which bounds n
		// by what is left and keeps a hostile count from allocating.
		if n > uint64(len(r.b)) {
			r.fail("rule count")
		} else {
			f.Rules = make([]string, 0, n)
			for i := uint64(0); i < n && r.err == nil; i++ {
				f.Rules = append(f.Rules, string(r.bytes(r.uvarint("rule name"), "rule name")))
			}
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return File{}, r.err
	}
	return f, nil
}
