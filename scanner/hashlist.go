package scanner

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shellwatch/shellwatch/finding"
)

// HashListRule, HashListNamespace and HashListFamily name the Match a
// known-bad hash becomes.
const (
	HashListRule      = "known_bad_hash"
	HashListNamespace = "hashlist"
	HashListFamily    = "known_bad"
)

// maxHashListLine bounds a line of a hash list (a hash and a label such as a
// file name).
const maxHashListLine = 64 << 10

// HashList holds known-bad file hashes, a second detector beside the YARA
// rules. The zero value and a nil *HashList hold nothing. A HashList is
// read-only once loaded and safe for concurrent use.
type HashList struct {
	sha256 map[[32]byte]Entry
	md5    map[[16]byte]Entry
}

// Entry is one known-bad hash and where it was listed.
type Entry struct {
	// Kind is "sha256" or "md5".
	Kind string
	// Hash is the hash in lower-case hex.
	Hash string
	// File and Line locate the entry in its hash list.
	File string
	Line int
	// Label is whatever followed the hash on its line (the file name of
	// sha256sum output, a family), or "".
	Label string
}

// LoadHashLists reads hash list files. Each line holds a sha256 (64 hex
// digits) or md5 (32 hex digits) hash in any case, optionally followed by
// white space and a label; lines that are blank or start with "#" are
// ignored, so the output of sha256sum and md5sum is a valid list. Any other
// line is an error naming the file and the line. A hash listed twice keeps
// its first entry. With no paths, the list is empty.
func LoadHashLists(paths ...string) (*HashList, error) {
	l := &HashList{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("hash list: %w", err)
		}
		err = l.parse(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Len returns the number of hashes in l.
func (l *HashList) Len() int {
	if l == nil {
		return 0
	}
	return len(l.sha256) + len(l.md5)
}

// Lookup returns the entry of the file whose hashes are sha256 and md5
// (hex, any case), looking the sha256 up first.
func (l *HashList) Lookup(sha256, md5 string) (Entry, bool) {
	if l == nil {
		return Entry{}, false
	}
	var s [32]byte
	if n, err := hex.Decode(s[:], []byte(sha256)); err == nil && n == len(s) {
		if e, ok := l.sha256[s]; ok {
			return e, true
		}
	}
	var m [16]byte
	if n, err := hex.Decode(m[:], []byte(md5)); err == nil && n == len(m) {
		if e, ok := l.md5[m]; ok {
			return e, true
		}
	}
	return Entry{}, false
}

// match turns the entry into the Match a verdict reports.
func (e Entry) match() finding.Match {
	desc := fmt.Sprintf("%s listed in %s:%d", e.Kind, e.File, e.Line)
	if e.Label != "" {
		desc += " (" + e.Label + ")"
	}
	return finding.Match{
		Rule:        HashListRule,
		Namespace:   HashListNamespace,
		Severity:    finding.SeverityCritical,
		Family:      HashListFamily,
		Description: desc,
	}
}

// parse adds the entries read from r, named name in errors and entries.
func (l *HashList) parse(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxHashListLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		hash, label := text, ""
		if i := strings.IndexAny(text, " \t"); i >= 0 {
			hash, label = text[:i], strings.TrimSpace(text[i+1:])
		}
		// sha256sum marks a name holding "\" or a newline with a leading
		// "\", and binary mode with a "*" before the name.
		hash = strings.TrimPrefix(hash, `\`)
		label = strings.TrimPrefix(label, "*")
		if err := l.add(hash, label, name, line); err != nil {
			return fmt.Errorf("%s:%d: %q: %w", name, line, truncate(text, 80), err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: line longer than %d bytes", name, line+1, maxHashListLine)
		}
		return fmt.Errorf("read hash list %s: %w", name, err)
	}
	return nil
}

var errNotAHash = errors.New("not a sha256 (64 hex digits) or md5 (32 hex digits) hash")

func (l *HashList) add(hash, label, file string, line int) error {
	raw, err := hex.DecodeString(hash)
	if err != nil {
		return errNotAHash
	}
	e := Entry{Hash: strings.ToLower(hash), File: file, Line: line, Label: label}
	switch len(raw) {
	case 32:
		e.Kind = "sha256"
		addFirst(&l.sha256, [32]byte(raw), e)
	case 16:
		e.Kind = "md5"
		addFirst(&l.md5, [16]byte(raw), e)
	default:
		return errNotAHash
	}
	return nil
}

// addFirst adds e under k unless k is listed already.
func addFirst[K comparable](m *map[K]Entry, k K, e Entry) {
	if *m == nil {
		*m = make(map[K]Entry)
	}
	if _, dup := (*m)[k]; !dup {
		(*m)[k] = e
	}
}

// truncate shortens s to at most n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
