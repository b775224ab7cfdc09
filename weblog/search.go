package weblog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"time"
)

// Query selects requests in logs: those for a target URL, or those of one
// client, within a time range.
type Query struct {
	// Target, when its Path is set, selects the requests for it.
	Target Target
	// Client, when set, selects the requests of this client address.
	Client string
	// Since and Until, when set, bound the requests' times: [Since, Until).
	Since, Until time.Time
}

// Matches reports whether q selects r.
func (q *Query) Matches(r *Request) bool {
	if q.Target.Path != "" && !q.Target.Matches(r) {
		return false
	}
	if q.Client != "" && r.Client != q.Client {
		return false
	}
	if !q.Since.IsZero() && r.Time.Before(q.Since) {
		return false
	}
	return q.Until.IsZero() || r.Time.Before(q.Until)
}

// prefilter returns a test that is true for every line whose request the
// query may select, and cheap for the others: only those lines are parsed.
// A request for /up/x.php holds "x.php" as it is, or a '%' (an escape of
// one of its letters); a client's line holds its address.
func (q *Query) prefilter() func(line []byte) bool {
	var needle []byte
	escapes := false
	switch {
	case q.Client != "":
		needle = []byte(q.Client)
	case q.Target.Path != "":
		needle = []byte(path.Base(q.Target.Path))
		escapes = true
	}
	if len(needle) == 0 || needle[0] == '/' || !printable(needle) {
		return func([]byte) bool { return true } // a server escapes such bytes: parse every line
	}
	return func(line []byte) bool {
		return bytes.Contains(line, needle) || (escapes && bytes.IndexByte(line, '%') >= 0)
	}
}

// printable reports whether b holds only bytes both servers log as they
// are (no control bytes, quotes, backslashes or non-ASCII).
func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Log is one access log: its live file (whose rotated siblings are read
// too) and its format.
type Log struct {
	Path   string
	Format *Format
}

// SearchStats counts what a search read.
type SearchStats struct {
	Files int
	// Bytes counts the bytes of log text read (after gunzip).
	Bytes int64
	// Lines counts every line; Parsed those the prefilter let through;
	// Unparsed those of them that do not match their format; TooLong the
	// lines skipped for their length; Matched the requests selected.
	Lines, Parsed, Unparsed, TooLong, Matched int64
	// File is the file being read.
	File string
}

// Search reads each log, its rotated siblings first (oldest first,
// gzipped ones through gzip), streaming: the memory it takes does not grow
// with the logs. It calls fn with every request q selects, in the order of
// the files, and progress, when not nil, about every 64 MiB. A file that
// cannot be read is an error that names it, returned after the others were
// read; an error from fn stops the search.
func Search(ctx context.Context, logs []Log, q Query, progress func(SearchStats), fn func(*Request) error) (SearchStats, error) {
	var stats SearchStats
	var errs []error
	keep := q.prefilter()
	for _, l := range logs {
		files, err := Rotated(l.Path)
		if err != nil {
			errs = append(errs, fmt.Errorf("list %s: %w", l.Path, err))
			continue
		}
		if len(files) == 0 {
			errs = append(errs, fmt.Errorf("%s: no such log (nor rotated siblings)", l.Path))
		}
		for _, file := range files {
			stats.File = file
			err := searchFile(ctx, file, l.Format, q, keep, &stats, progress, fn)
			var stop stopError
			switch {
			case errors.As(err, &stop):
				return stats, stop.err
			case err != nil:
				errs = append(errs, err)
			}
			if ctx.Err() != nil {
				return stats, ctx.Err()
			}
		}
	}
	return stats, errors.Join(errs...)
}

// stopError carries an error of the caller's fn, which ends the search.
type stopError struct{ err error }

func (e stopError) Error() string { return e.err.Error() }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func searchFile(ctx context.Context, file string, format *Format, q Query, keep func([]byte) bool,
	stats *SearchStats, progress func(SearchStats), fn func(*Request) error) error {
	rc, err := OpenLog(file)
	if err != nil {
		return err
	}
	defer rc.Close()
	stats.Files++
	cr := &countingReader{r: rc}
	lr := NewLineReader(cr, 0)
	var lastReport int64
	base := stats.Bytes
	defer func() {
		stats.Bytes = base + cr.n
		stats.TooLong += lr.TooLong()
	}()
	for {
		line, err := lr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read %s: %w", file, err)
		}
		stats.Lines++
		if cr.n-lastReport >= 64<<20 {
			lastReport = cr.n
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if progress != nil {
				s := *stats
				s.Bytes = base + cr.n
				progress(s)
			}
		}
		if !keep(line) {
			continue
		}
		stats.Parsed++
		r, err := format.Parse(line)
		if err != nil {
			stats.Unparsed++
			continue
		}
		if !q.Matches(&r) {
			continue
		}
		stats.Matched++
		if err := fn(&r); err != nil {
			return stopError{err}
		}
	}
}
