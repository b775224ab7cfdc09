package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// flaggedBucket holds what attacker_returned needs to recognise, after a
// restart, a request for the URL of a file shellwatch flagged: one record
// per flagged URL (key flaggedURLKey and the SHA-256 of its root and URL),
// and per access log the stamp of the newest request matched against them
// (key readUntilKey and the SHA-256 of the log's path). Keys are hashes:
// a URL, a root or a log's path can be longer than a bbolt key may be.
var flaggedBucket = []byte("flagged.v1")

const (
	flaggedURLKey   = 'u'
	readUntilKey    = 'r'
	flaggedVersion  = 1
	flaggedKeyBytes = 1 + sha256.Size
)

// FlaggedURL is the URL of a file shellwatch flagged or quarantined, as
// kept for attacker_returned across restarts.
type FlaggedURL struct {
	// Root is the watch root's real path, URL the file's URL path and
	// Hosts the server names it is served on (none: any).
	Root, URL string
	Hosts     []string
	// AlertID is the file's alert, named by ref_id; At is when the file
	// was flagged: a request stamped before it is no return.
	AlertID string
	At      time.Time
	// Path and SHA256 are the file's; Kind and Action its alert's kind and
	// the action taken ("quarantined", …).
	Path, SHA256 string
	Kind, Action string
}

// Flagged is what ReadFlagged found.
type Flagged struct {
	// URLs, oldest flagged first.
	URLs []FlaggedURL
	// ReadUntil is, by access log path, the stamp of the newest request
	// of that log matched against the flagged URLs.
	ReadUntil map[string]time.Time
	// Skipped counts the records that did not decode (a torn or damaged
	// page): left out, and removed.
	Skipped int
}

// FlaggedBatch is one write of ReadFlagged's records.
type FlaggedBatch struct {
	// Put stores these URLs, replacing those of the same root and URL.
	Put []FlaggedURL
	// Delete removes the URLs of these roots and URLs (other fields
	// unused).
	Delete []FlaggedURL
	// ReadUntil stores the stamp of each log's newest matched request.
	ReadUntil map[string]time.Time
}

func flaggedKey(kind byte, parts ...string) []byte {
	h := sha256.New()
	for _, p := range parts {
		// Length-prefixed: ("a", "bc") and ("ab", "c") differ.
		h.Write(binary.AppendUvarint(nil, uint64(len(p))))
		h.Write([]byte(p))
	}
	return h.Sum([]byte{kind})
}

func urlKey(u *FlaggedURL) []byte { return flaggedKey(flaggedURLKey, u.Root, u.URL) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// sealFlagged appends the CRC-32C of key and the record to b.
func sealFlagged(key, b []byte) []byte {
	crc := crc32.Update(crc32.Checksum(key, crcTable), crcTable, b)
	return binary.BigEndian.AppendUint32(b, crc)
}

func encodeFlaggedURL(key []byte, u *FlaggedURL) []byte {
	b := []byte{flaggedVersion}
	for _, s := range []string{u.Root, u.URL} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(u.Hosts)))
	for _, h := range u.Hosts {
		b = appendString(b, h)
	}
	for _, s := range []string{u.AlertID, u.Path, u.SHA256, u.Kind, u.Action} {
		b = appendString(b, s)
	}
	b = appendTime(b, true, u.At)
	return sealFlagged(key, b)
}

func encodeReadUntil(key []byte, log string, t time.Time) []byte {
	b := appendString([]byte{flaggedVersion}, log)
	return sealFlagged(key, appendTime(b, true, t))
}

// openFlagged checks the CRC and version of a record of flaggedBucket.
func openFlagged(key, val []byte) (*recordReader, error) {
	if len(key) != flaggedKeyBytes {
		return nil, fmt.Errorf("%w: key of %d bytes", errRecord, len(key))
	}
	if len(val) < 1+4 {
		return nil, fmt.Errorf("%w: %d bytes is too short", errRecord, len(val))
	}
	body, sum := val[:len(val)-4], binary.BigEndian.Uint32(val[len(val)-4:])
	if crc32.Update(crc32.Checksum(key, crcTable), crcTable, body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", errRecord)
	}
	if body[0] != flaggedVersion {
		return nil, fmt.Errorf("%w: unknown record version %d", errRecord, body[0])
	}
	return &recordReader{b: body[1:]}, nil
}

func (r *recordReader) string(what string) string {
	return string(r.bytes(r.uvarint(what+" length"), what))
}

// done fails on trailing bytes and returns the first error.
func (r *recordReader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	return r.err
}

func decodeFlaggedURL(key, val []byte) (FlaggedURL, error) {
	r, err := openFlagged(key, val)
	if err != nil {
		return FlaggedURL{}, err
	}
	var u FlaggedURL
	u.Root, u.URL = r.string("root"), r.string("url")
	// Each host takes at least its length's byte: the count is bounded
	// by what is left, so a hostile count allocates nothing.
	if n := r.uvarint("host count"); n > uint64(len(r.b)) {
		r.fail("host count")
	} else if n > 0 {
		u.Hosts = make([]string, 0, n)
		for range n {
			u.Hosts = append(u.Hosts, r.string("host"))
		}
	}
	u.AlertID, u.Path, u.SHA256, u.Kind, u.Action = r.string("alert id"), r.string("path"), r.string("sha256"), r.string("kind"), r.string("action")
	u.At = r.time(true, "flagged at")
	if err := r.done(); err != nil {
		return FlaggedURL{}, err
	}
	if !bytes.Equal(urlKey(&u), key) {
		return FlaggedURL{}, fmt.Errorf("%w: key is not its root's and URL's", errRecord)
	}
	return u, nil
}

func decodeReadUntil(key, val []byte) (string, time.Time, error) {
	r, err := openFlagged(key, val)
	if err != nil {
		return "", time.Time{}, err
	}
	log := r.string("log")
	t := r.time(true, "read until")
	if err := r.done(); err != nil {
		return "", time.Time{}, err
	}
	if !bytes.Equal(flaggedKey(readUntilKey, log), key) {
		return "", time.Time{}, fmt.Errorf("%w: key is not its log's", errRecord)
	}
	return log, t, nil
}

// ReadFlagged returns the flagged URLs kept, oldest first, and the stamps
// of the logs. A record that does not decode is skipped, counted in
// Skipped and removed (when the removal fails it is skipped again at the
// next read); only a database that cannot be read at all is an error.
func (db *DB) ReadFlagged() (Flagged, error) {
	out := Flagged{ReadUntil: map[string]time.Time{}}
	var bad [][]byte
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(flaggedBucket).ForEach(func(k, v []byte) error {
			var err error
			switch {
			case len(k) > 0 && k[0] == flaggedURLKey:
				var u FlaggedURL
				if u, err = decodeFlaggedURL(k, v); err == nil {
					out.URLs = append(out.URLs, u)
				}
			case len(k) > 0 && k[0] == readUntilKey:
				var log string
				var t time.Time
				if log, t, err = decodeReadUntil(k, v); err == nil {
					out.ReadUntil[log] = t
				}
			default:
				err = errRecord
			}
			if err != nil {
				out.Skipped++
				bad = append(bad, bytes.Clone(k))
			}
			return nil
		})
	})
	if err != nil {
		return Flagged{}, err
	}
	slices.SortStableFunc(out.URLs, func(a, b FlaggedURL) int { return a.At.Compare(b.At) })
	if len(bad) > 0 {
		_ = db.update(func(tx *bolt.Tx) error {
			b := tx.Bucket(flaggedBucket)
			for _, k := range bad {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return out, nil
}

// WriteFlagged applies batch in one transaction, durable when it returns
// nil.
func (db *DB) WriteFlagged(batch FlaggedBatch) error {
	ops := make([]writeOp, 0, len(batch.Put)+len(batch.Delete)+len(batch.ReadUntil))
	for i := range batch.Delete {
		ops = append(ops, writeOp{key: urlKey(&batch.Delete[i])})
	}
	for i := range batch.Put {
		k := urlKey(&batch.Put[i])
		ops = append(ops, writeOp{k, encodeFlaggedURL(k, &batch.Put[i])})
	}
	for log, t := range batch.ReadUntil {
		k := flaggedKey(readUntilKey, log)
		ops = append(ops, writeOp{k, encodeReadUntil(k, log, t)})
	}
	if len(ops) == 0 {
		return nil
	}
	// Deletes first, then puts: a URL deleted and put again in one batch
	// is kept. Keys in order within each, for bbolt's pages.
	nDel := len(batch.Delete)
	byKey := func(a, b writeOp) int { return bytes.Compare(a.key, b.key) }
	slices.SortFunc(ops[:nDel], byKey)
	slices.SortStableFunc(ops[nDel:], byKey)
	return db.update(func(tx *bolt.Tx) error {
		if key, err := applyOps(tx.Bucket(flaggedBucket), ops); err != nil {
			return fmt.Errorf("flagged URL %x: %w", key, err)
		}
		return nil
	})
}
