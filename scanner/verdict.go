package scanner

import (
	"io/fs"
	"time"

	"github.com/shellwatch/shellwatch/finding"
)

// Verdict is what scanning one file found.
type Verdict struct {
	// Path is the path scanned, byte for byte as it was given.
	Path string
	// Size is the number of bytes read and hashed: the whole file as it was
	// when read. It equals the fstat size unless the file changed while it
	// was read; when it could not be read, it is the fstat size.
	Size int64
	// Mode, UID, GID, ModTime, ChangeTime, Nlink, Dev and Inode come from
	// fstat of the descriptor that was read.
	Mode       fs.FileMode
	StMode     uint32 // st_mode as fstat gave it: type and permission bits
	UID, GID   uint32
	ModTime    time.Time
	ChangeTime time.Time
	Nlink      uint64
	Dev, Inode uint64
	// SHA256 and MD5 are the lower-case hex digests of the Size bytes read;
	// empty when the file could not be read to the end.
	SHA256, MD5 string
	// Matches lists the rules and hash lists that matched, in rule order,
	// a hash list match last.
	Matches []finding.Match
	// Severity is the highest severity of Matches, finding.SeverityNone when
	// nothing matched.
	Severity finding.Severity
	// TooLarge is set when the file is larger than Options.MaxFileSize: it
	// was hashed (unless Err says why not) and checked against the hash
	// lists, and YARA and the analyzer read only its head and its tail
	// (Partial says how much).
	TooLarge bool
	// Partial says what part of the file YARA and the analyzer read when it
	// was not all of it ("its first and last 16MiB of 41943040 bytes"),
	// and why; "" when they read the whole file.
	Partial string
	// Script is set when the file is code: by its name (the default
	// script_globs: *.php, *.jsp, .htaccess, …) or by what was read of it
	// (a PHP open tag, "<%", a #! line).
	Script bool
	// Allowed is set when the file's hash is on the allow list: it was not
	// YARA-scanned (known-bad hash lists still apply).
	Allowed bool
	// Incomplete says why the PHP analysis of the file stopped before its
	// end (its time or step budget); its findings so far are in Matches.
	Incomplete string
	// Err says why the file could not be opened, read or fully scanned; it
	// names the path. After a YARA error (a timeout, say) the hashes and the
	// metadata are still filled.
	Err error
}

// Flagged reports whether anything matched.
func (v Verdict) Flagged() bool { return len(v.Matches) > 0 }

// Stats counts what a scan of trees met.
type Stats struct {
	// Files is the number of regular files scanned (or tried: the ones that
	// failed are in Errors too), Bytes the bytes they held.
	Files, Bytes int64
	// Flagged counts the verdicts with a match.
	Flagged int64
	// Errors counts the verdicts with an error: files that could not be
	// read or scanned, and folders that could not be walked.
	Errors int64
	// TooLarge counts the files larger than MaxFileSize, of which only the
	// head and the tail were scanned.
	TooLarge int64
	// Symlinks and Special count the entries skipped: symbolic links, and
	// FIFOs, sockets and device nodes.
	Symlinks, Special int64
}
