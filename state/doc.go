// Package state keeps the baseline: what each watched regular file was when
// shellwatch last saw it (identity, metadata, SHA-256, the last verdict, and
// whether its content was accepted), so that a restart can tell what changed
// while the agent was down without hashing files that did not change.
//
// # Storage
//
// The baseline is one bbolt file ([DB]). Each file is one record in the
// "files.v1" bucket, keyed by its path byte for byte (newlines and invalid
// UTF-8 included). A record is a version byte, binary varints, the raw
// 32-byte SHA-256, and a CRC-32C of key and value at the end, so a flipped
// bit inside an otherwise well-formed page is caught when the record is
// read. Small named JSON blobs (deploy windows, pre-approved manifests) live
// in a separate "meta.v1" bucket; the file's format is recorded under
// "info"/"format" and checked at open. The "flagged.v1" bucket keeps the
// URLs of flagged files for attacker_returned across restarts
// ([DB.ReadFlagged], [DB.WriteFlagged]): keyed by hashes, each record
// checked by its own CRC-32C, and one that does not decode is skipped and
// counted, never an error of the file.
//
// # Durability
//
// [DB.Put], [DB.Delete], [DB.PutMeta] and [DB.DeleteMeta] return after their
// transaction is committed and fsynced: what they returned nil for survives a
// crash or a kill -9. Puts and Deletes from many goroutines are merged into
// shared transactions by one committer (group commit: no added delay when
// alone, one fsync for many callers when busy), so each call still returns
// only once its own changes are on disk.
//
// # Corruption
//
// A file that is not a bbolt database, is truncated, has torn or overwritten
// pages, or holds records that fail their CRC gives an error wrapping
// [ErrCorrupt] that names the file, at [Open] (which checks the whole file)
// or, for damage that happens later, at the read that meets it. bbolt may
// panic or fault on a damaged page; those are recovered and reported as
// [ErrCorrupt] too. [OpenOrReset] moves a corrupt file aside and starts an
// empty baseline, and says so, so that the caller can alert.
//
// # Reconciliation
//
// [Reconcile] walks a root without following symbolic links and compares
// what it finds with the baseline by identity (device, inode, size, mtime,
// ctime) only: it never opens or hashes a file; the caller scans what it
// reports as added or changed. It walks in the byte order of the paths and
// merges the walk with the records read in that same order, a chunk at a
// time, so its memory does not grow with the baseline.
package state
