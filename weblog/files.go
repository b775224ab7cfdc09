package weblog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/shellwatch/shellwatch/internal/regular"
)

// DefaultMaxLine is the longest line read; a longer one is skipped and
// counted. Both servers cap a request's line and headers (nginx's
// large_client_header_buffers is 8k by default), so a real line is far
// shorter.
const DefaultMaxLine = 64 << 10

// LineReader reads the lines of a log with a bounded buffer: a line longer
// than the limit is skipped (and counted), never held, so a 1 GiB line
// costs no more memory than a short one.
type LineReader struct {
	r       *bufio.Reader
	tooLong int64
	// skipping: the rest of an over-long line is being read over.
	skipping bool
}

// NewLineReader returns a reader of the lines of r, at most maxLine bytes
// each (0 means DefaultMaxLine).
func NewLineReader(r io.Reader, maxLine int) *LineReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &LineReader{r: bufio.NewReaderSize(r, maxLine)}
}

// TooLong returns how many lines were skipped for their length.
func (lr *LineReader) TooLong() int64 { return lr.tooLong }

// Next returns the next line without its '\n', valid until the next call.
// A last line with no '\n' is returned too. At the end it returns io.EOF.
func (lr *LineReader) Next() ([]byte, error) {
	for {
		line, err := lr.r.ReadSlice('\n')
		switch {
		case err == nil:
			if lr.skipping {
				lr.skipping = false
				continue
			}
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			if !lr.skipping {
				lr.skipping = true
				lr.tooLong++
			}
			continue
		case errors.Is(err, io.EOF) && len(line) > 0 && !lr.skipping:
			return line, nil
		}
		lr.skipping = false
		return nil, err
	}
}

// OpenLog opens a log file for reading: without blocking on a FIFO, only a
// regular file, and through gzip when its first bytes say it is gzipped
// (whatever its name). The caller closes it.
func OpenLog(path string) (io.ReadCloser, error) {
	f, err := regular.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 256<<10)
	magic, _ := br.Peek(2)
	if !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return readCloser{br, f}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return readCloser{zr, f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Rotated returns the files of the log at path oldest first: its rotated
// siblings, numbered (path.3.gz, path.2.gz, path.1) or dated by
// logrotate's dateext (path-20251130.gz, path-20251201), then path itself.
// Files that do not exist are left out; none is an empty list.
func Rotated(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type sibling struct {
		name  string
		num   int    // path.N: larger is older
		dated string // path-YYYYMMDD…: larger is newer
	}
	var sibs []sibling
	current := false
	for _, e := range entries {
		name := e.Name()
		if name == base {
			current = true
			continue
		}
		rest, ok := strings.CutPrefix(name, base)
		if !ok || e.IsDir() {
			continue
		}
		rest = strings.TrimSuffix(rest, ".gz")
		switch {
		case len(rest) > 1 && rest[0] == '.':
			if n, err := strconv.Atoi(rest[1:]); err == nil && n > 0 && isDigits([]byte(rest[1:])) {
				sibs = append(sibs, sibling{name: name, num: n})
			}
		case len(rest) >= 9 && rest[0] == '-' && isDigits([]byte(rest[1:])):
			sibs = append(sibs, sibling{name: name, dated: rest[1:]})
		}
	}
	sort.Slice(sibs, func(i, j int) bool {
		a, b := sibs[i], sibs[j]
		if (a.dated != "") != (b.dated != "") {
			return a.dated != "" // both kinds seldom meet: dated first
		}
		if a.dated != "" && a.dated != b.dated {
			return a.dated < b.dated
		}
		if a.dated != "" {
			return a.name < b.name // "x-D" before "x-D.gz", as the dedup below wants
		}
		if a.num != b.num {
			return a.num > b.num
		}
		return a.name < b.name
	})
	paths := make([]string, 0, len(sibs)+1)
	for i, s := range sibs {
		// While logrotate compresses path.2 into path.2.gz both exist, the
		// .gz one unfinished: read the plain one only.
		// Sorted by name, "x.2" comes before "x.2.gz".
		if i > 0 && s.num == sibs[i-1].num && s.dated == sibs[i-1].dated {
			continue
		}
		paths = append(paths, filepath.Join(dir, s.name))
	}
	if current {
		paths = append(paths, path)
	}
	return paths, nil
}
