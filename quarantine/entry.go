package quarantine

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// formatVersion is the "version" of the metadata files this package writes.
// Add fields freely; bump it only when an old reader would misread a file.
const formatVersion = 1

// maxMetadataSize bounds how much of a metadata file is read: ours are a few
// KiB, so anything larger is not ours.
const maxMetadataSize = 1 << 20

// Match is one rule that flagged a file, as the caller's scanner named it.
type Match struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity,omitempty"`
	Family   string `json:"family,omitempty"`
}

// Mode holds the permission bits of a file as Unix numbers (0644, 04755),
// setuid, setgid and sticky included. In JSON it is an octal string.
type Mode uint32

// String formats m in octal with a leading zero, as chmod takes it.
func (m Mode) String() string { return fmt.Sprintf("%04o", uint32(m)) }

// MarshalText implements encoding.TextMarshaler.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; it accepts octal
// permission bits up to 07777.
func (m *Mode) UnmarshalText(text []byte) error {
	v, err := strconv.ParseUint(string(text), 8, 32)
	if err != nil || v > 0o7777 || len(text) == 0 || text[0] == '+' || text[0] == '-' {
		return fmt.Errorf("mode %q is not octal permission bits (0000 to 7777)", text)
	}
	*m = Mode(v)
	return nil
}

// Scanned is what the caller's scanner saw, recorded when the file that
// reached the vault differs from it.
type Scanned struct {
	Dev    uint64 `json:"dev"`
	Inode  uint64 `json:"inode"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Entry is what the vault knows about one quarantined file. It is stored as
// JSON in <id>.json beside the file, in the format `quarantine list --json`
// prints too (testdata/entry.json is an example): add fields, never rename
// them.
//
// The stat fields describe the file as it was found at its original path;
// Size and the hashes describe the file stored in the vault, a copy the vault
// wrote itself. When Verified is false, the file in the vault is not the one
// that was scanned: the stat fields and hashes then describe what is in the
// vault, and Scanned holds what the scanner had seen.
type Entry struct {
	// ID names the entry in the vault; see [ValidID].
	ID string `json:"id"`
	// Path is the original path, byte for byte. Paths that are not valid
	// UTF-8 are also written as path_base64 in the JSON, which is exact.
	Path  string `json:"path"`
	Type  string `json:"type"` // "file", or what was swapped in: "symlink", "dir", "fifo"…
	Dev   uint64 `json:"dev"`
	Inode uint64 `json:"inode"`
	// Nlink is the number of names the file had, the one in the web root
	// included.
	Nlink uint64 `json:"nlink"`
	// OtherLinks is how many names the inode still had outside the vault
	// once its name in the web root was taken away: hard links that keep
	// the same content, which the vault leaves as they are (it never
	// changes an inode it moved).
	OtherLinks uint64    `json:"other_links,omitempty"`
	UID        uint32    `json:"uid"`
	GID        uint32    `json:"gid"`
	User       string    `json:"user,omitempty"`
	Group      string    `json:"group,omitempty"`
	Mode       Mode      `json:"mode"`
	MTime      time.Time `json:"mtime"`
	CTime      time.Time `json:"ctime"`
	ATime      time.Time `json:"atime"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	MD5        string    `json:"md5"`
	Rules      []Match   `json:"rules"`
	Reason     string    `json:"reason,omitempty"`
	// QuarantinedAt is when the file entered the vault.
	QuarantinedAt time.Time `json:"quarantined_at"`
	Host          string    `json:"host"`
	// Method is how the file got into the vault: "rename" on the same
	// filesystem, "copy" (then fsync and unlink of the original) across.
	Method string `json:"method"`
	// Verified reports that the file moved is the inode the scanner saw
	// (device and inode) and that the vault stores the bytes it scanned
	// (size and SHA-256).
	Verified bool `json:"verified"`
	// Problem says what went wrong when something did.
	Problem string `json:"problem,omitempty"`
	// Note says what the operator should know although the move went
	// right: other links left in place, a file that kept growing after the
	// scan.
	Note    string   `json:"note,omitempty"`
	Scanned *Scanned `json:"scanned,omitempty"`
	// LinkTarget is, for a symbolic link quarantined as one (MoveLink),
	// its text; the vault file holds it byte-exact, and Restore makes the
	// link again from that.
	LinkTarget string `json:"link_target,omitempty"`
}

// entryJSON is the on-disk form of an Entry: a version and, for paths that
// are not valid UTF-8, their exact bytes in base64.
type entryJSON struct {
	Version int `json:"version"`
	*entryFields
	PathBase64       string `json:"path_base64,omitempty"`
	LinkTargetBase64 string `json:"link_target_base64,omitempty"`
}

type entryFields Entry

// MarshalJSON writes the entry in the metadata format, with path_base64 when
// the path is not valid UTF-8.
func (e Entry) MarshalJSON() ([]byte, error) {
	j := entryJSON{Version: formatVersion, entryFields: (*entryFields)(&e)}
	if !utf8.ValidString(e.Path) {
		j.PathBase64 = base64.StdEncoding.EncodeToString([]byte(e.Path))
	}
	if !utf8.ValidString(e.LinkTarget) {
		j.LinkTargetBase64 = base64.StdEncoding.EncodeToString([]byte(e.LinkTarget))
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads an entry written by MarshalJSON; see [DecodeEntry].
func (e *Entry) UnmarshalJSON(data []byte) error {
	var out Entry
	j := entryJSON{entryFields: (*entryFields)(&out)}
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	if j.Version != formatVersion {
		return fmt.Errorf("metadata version %d, this shellwatch reads version %d", j.Version, formatVersion)
	}
	if j.PathBase64 != "" {
		p, err := base64.StdEncoding.DecodeString(j.PathBase64)
		if err != nil {
			return fmt.Errorf("path_base64: %w", err)
		}
		out.Path = string(p)
	}
	if j.LinkTargetBase64 != "" {
		t, err := base64.StdEncoding.DecodeString(j.LinkTargetBase64)
		if err != nil {
			return fmt.Errorf("link_target_base64: %w", err)
		}
		out.LinkTarget = string(t)
	}
	if err := out.check(); err != nil {
		return err
	}
	for _, t := range []*time.Time{&out.MTime, &out.CTime, &out.ATime, &out.QuarantinedAt} {
		*t = t.UTC()
	}
	*e = out
	return nil
}

// encodeMetadata returns the contents of the metadata file of e: indented
// JSON, one field a line, for operators who read it with less.
func encodeMetadata(e Entry) ([]byte, error) {
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// DecodeEntry parses a metadata file. It refuses what this package would not
// have written: another version, a hostile id, a relative path, a path with
// a NUL byte, malformed hashes.
func DecodeEntry(data []byte) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return Entry{}, fmt.Errorf("decode quarantine metadata: %w", err)
	}
	return e, nil
}

func (e *Entry) check() error {
	switch {
	case !ValidID(e.ID):
		return fmt.Errorf("%w: %q", ErrInvalidID, e.ID)
	case !strings.HasPrefix(e.Path, "/"):
		return fmt.Errorf("path %q is not absolute", e.Path)
	case strings.IndexByte(e.Path, 0) >= 0:
		return fmt.Errorf("path %q holds a NUL byte", e.Path)
	case e.Size < 0:
		return fmt.Errorf("size %d is negative", e.Size)
	case !isHex(e.SHA256, 64):
		return fmt.Errorf("sha256 %q is not 64 hex digits", e.SHA256)
	case !isHex(e.MD5, 32):
		return fmt.Errorf("md5 %q is not 32 hex digits", e.MD5)
	}
	return nil
}

// isHex reports whether s is empty or n lower-case hex digits.
func isHex(s string, n int) bool {
	if s == "" {
		return true
	}
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Vault ids are the quarantine time in UTC to the second, a dash, and 48
// random bits: "20250314T101502-3f9a1c0b7d2e". They sort by time and tell
// nothing about the file.
const (
	idTimeLayout = "20060102T150405"
	idRandomHex  = 12
	idLen        = len(idTimeLayout) + 1 + idRandomHex
)

// newID returns a fresh vault id for a file quarantined at t.
func newID(t time.Time) (string, error) {
	var b [idRandomHex / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("vault id: %w", err)
	}
	return t.UTC().Format(idTimeLayout) + "-" + hex.EncodeToString(b[:]), nil
}

// ValidID reports whether id has the shape of a vault id. Anything else — a
// path, "..", a name with a slash — is refused before it reaches the
// filesystem.
func ValidID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < idLen; i++ {
		c := id[i]
		switch {
		case i == 8:
			if c != 'T' {
				return false
			}
		case i == len(idTimeLayout):
			if c != '-' {
				return false
			}
		case i < len(idTimeLayout):
			if c < '0' || c > '9' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// checkID returns an error wrapping ErrInvalidID unless id is valid.
func checkID(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("%w: %q (ids look like 20250314T101502-3f9a1c0b7d2e)", ErrInvalidID, id)
	}
	return nil
}

// Errors wrapped by the errors of this package, for errors.Is.
var (
	// ErrChanged means the file at the path is not the one that was scanned
	// (another inode, size or content): rescan the path.
	ErrChanged = errors.New("file changed since it was scanned")
	// ErrSymlink means a symbolic link was met where a file or directory
	// was expected; it was not followed.
	ErrSymlink = errors.New("symbolic link, not followed")
	// ErrNotRegular means the path names a directory, FIFO, device or socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrExists means a restore would overwrite an existing file.
	ErrExists = errors.New("target exists, not overwritten")
	// ErrInvalidID means a string is not a vault id.
	ErrInvalidID = errors.New("not a vault id")
	// ErrNotFound means the vault holds no entry with that id.
	ErrNotFound = errors.New("no such vault entry")
	// ErrUnsafeVault means the vault directory could be reached or changed
	// by someone other than its owner.
	ErrUnsafeVault = errors.New("unsafe vault directory")
)
