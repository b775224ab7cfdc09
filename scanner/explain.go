package scanner

import (
	"bytes"
	"context"
	"fmt"

	"github.com/hillu/go-yara/v4"

	"github.com/shellwatch/shellwatch/phpscan"
)

// Explanation says why a file was flagged, for `shellwatch explain`: the
// strings each YARA rule matched and where, and the PHP analyzer's findings
// with the way request input took and the strings it folded.
type Explanation struct {
	YARA []YARAHit
	// PHP is the analyzer's result; nil when it did not run (not PHP, or
	// the analyzer is off).
	PHP *phpscan.Result
}

// YARAHit is one YARA rule that matched, with its matched strings.
type YARAHit struct {
	Rule, Namespace string
	Strings         []StringHit
}

// StringHit is one place a rule's string matched.
type StringHit struct {
	Name   string // the string's identifier, "$e1"
	Offset uint64 // in what was scanned (see Verdict.Partial)
	Line   int    // 1-based; 0 in the tail of a file read in part
	Data   []byte // the matched bytes, at most maxShownMatch
}

// maxShownMatch and maxHitsShown bound what an explanation holds.
const (
	maxShownMatch = 160
	maxHitsShown  = 8
)

// Explain scans the file at path like Scan and also returns what explains
// its matches.
func (s *Scanner) Explain(ctx context.Context, path string) (Verdict, Explanation) {
	v := Verdict{Path: path}
	var ex Explanation
	var w *worker
	select {
	case w = <-s.idle:
	case <-s.closed:
		v.Err = fmt.Errorf("scan %s: %w", path, ErrClosed)
		return v, ex
	case <-ctx.Done():
		v.Err = fmt.Errorf("scan %s: %w", path, ctx.Err())
		return v, ex
	}
	defer func() {
		if cap(w.buf) > keepBuffer {
			w.buf = nil
		}
		s.idle <- w
	}()
	s.scanFile(ctx, w, &v, &ex)
	return v, ex
}

// yaraHits keeps the matched strings of each rule, with their lines in data
// (the head of what was scanned, when it was the head and tail of a file).
func yaraHits(found yara.MatchRules, data []byte) []YARAHit {
	out := make([]YARAHit, 0, len(found))
	for _, m := range found {
		h := YARAHit{Rule: m.Rule, Namespace: m.Namespace}
		for i, str := range m.Strings {
			if i == maxHitsShown {
				break
			}
			d := str.Data
			if len(d) > maxShownMatch {
				d = d[:maxShownMatch]
			}
			off := str.Base + str.Offset
			// A match that starts with line breaks (a pattern anchored
			// on one) is shown at the line of its first other byte.
			lead := len(d) - len(bytes.TrimLeft(d, "\r\n"))
			line := 0 // past data: in the tail of a file read in part
			if end := off + uint64(lead); end <= uint64(len(data)) {
				line = 1 + bytes.Count(data[:end], []byte{'\n'})
			}
			h.Strings = append(h.Strings, StringHit{Name: str.Name, Offset: off, Line: line, Data: append([]byte(nil), d...)})
		}
		out = append(out, h)
	}
	return out
}
