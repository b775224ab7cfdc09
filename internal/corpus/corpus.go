// Package corpus reads the detection corpora (webshell collections and benign
// application code, each folder with a MANIFEST.tsv) and tallies what a scan
// flagged in them, per language and per source collection. It is what `make
// report` and the corpus tests measure with; it never runs or serves a file.
package corpus

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Sample is one file of a corpus.
type Sample struct {
	// File is the path relative to the corpus folder.
	File string
	// Source is the collection (repository) it came from.
	Source string
	// Language is the family it is counted in: php, jsp, asp, script
	// (Perl, Python, CGI, shell) or other.
	Language string
}

// The language families a report counts.
const (
	PHP    = "php"
	JSP    = "jsp"
	ASP    = "asp"
	Script = "script"
	Other  = "other"
)

// ReadManifest lists the samples of the corpus folder dir from its
// MANIFEST.tsv. Two layouts are understood, told apart by the header: the
// webshell collections' (file, sha256, size, ext, source_repo,
// source_commit, original_path) and benign-web's (file, sha256, size,
// source_repo, source_commit, source_path, original_name). Files are relative
// to dir; benign-web's manifest names them with its own folder first, which is
// dropped. A sample's language comes from its original name (a ".txt" suffix,
// as collections store samples, is ignored) and else from its first bytes.
func ReadManifest(dir string) ([]Sample, error) {
	path := filepath.Join(dir, "MANIFEST.tsv")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("%s: empty", path)
	}
	header := strings.Split(sc.Text(), "\t")
	col := make(map[string]int, len(header))
	for i, h := range header {
		col[h] = i
	}
	fileCol, ok1 := col["file"]
	srcCol, ok2 := col["source_repo"]
	nameCol, ok3 := col["original_path"]
	if !ok3 {
		nameCol, ok3 = col["original_name"]
	}
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("%s: header %q lacks file, source_repo or original_path/original_name", path, sc.Text())
	}
	prefix := filepath.Base(dir) + "/"
	var out []Sample
	for line := 2; sc.Scan(); line++ {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < len(header) {
			return nil, fmt.Errorf("%s:%d: %d columns, want %d", path, line, len(cols), len(header))
		}
		file := strings.TrimPrefix(cols[fileCol], prefix)
		head, err := readHead(filepath.Join(dir, file))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, Sample{File: file, Source: cols[srcCol], Language: Classify(cols[nameCol], head)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// readHead returns the first 64 KiB of the file at path.
func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64<<10))
}

var (
	phpSniff    = regexp.MustCompile(`<\?php|<\?=|<\? `)
	jspSniff    = regexp.MustCompile(`<%@ *page|request\.getParameter|java\.io`)
	aspSniff    = regexp.MustCompile(`(?i)server\.createobject|response\.write|request\.form|<%@ *(page|webhandler)`)
	scriptSniff = regexp.MustCompile(`(?m)^#!.*(perl|python|sh)`)
)

// Classify names the language family of a file from its original name and,
// when the name does not tell, from its content.
func Classify(originalName string, content []byte) string {
	p := strings.TrimSuffix(strings.ToLower(originalName), ".txt")
	switch ext := strings.TrimPrefix(filepath.Ext(p), "."); ext {
	case "php", "php3", "php4", "php5", "php7", "phtml", "inc":
		return PHP
	case "jsp", "jspx":
		return JSP
	case "asp", "aspx", "ashx", "asmx", "asa", "cer", "cdx":
		return ASP
	case "pl", "cgi", "py", "sh":
		return Script
	}
	switch {
	case phpSniff.Match(content):
		return PHP
	case jspSniff.Match(content):
		return JSP
	case aspSniff.Match(content):
		return ASP
	case scriptSniff.Match(bytes.TrimSpace(content)):
		return Script
	}
	return Other
}

// Count is a number of files and how many of them were flagged.
type Count struct{ Total, Flagged int }

// Rate is the share flagged, 0 for no files.
func (c Count) Rate() float64 {
	if c.Total == 0 {
		return 0
	}
	return float64(c.Flagged) / float64(c.Total)
}

func (c Count) String() string {
	return fmt.Sprintf("%5d/%5d  %6.2f%%", c.Flagged, c.Total, 100*c.Rate())
}

// Tally counts flagged files by language and by source.
type Tally struct {
	All        Count
	ByLanguage map[string]*Count
	BySource   map[string]*Count
	// Missed lists the unflagged samples (for webshells) or the flagged
	// ones (for benign code), with a note each.
	Listed []string
}

// NewTally returns an empty Tally.
func NewTally() *Tally {
	return &Tally{ByLanguage: make(map[string]*Count), BySource: make(map[string]*Count)}
}

// Add counts one sample.
func (t *Tally) Add(s Sample, flagged bool) {
	add := func(m map[string]*Count, k string) {
		c := m[k]
		if c == nil {
			c = &Count{}
			m[k] = c
		}
		c.Total++
		if flagged {
			c.Flagged++
		}
	}
	t.All.Total++
	if flagged {
		t.All.Flagged++
	}
	add(t.ByLanguage, s.Language)
	add(t.BySource, s.Source)
}

// Language returns the count of one language family (zero when absent).
func (t *Tally) Language(lang string) Count {
	if c := t.ByLanguage[lang]; c != nil {
		return *c
	}
	return Count{}
}

// Write prints the tally under title.
func (t *Tally) Write(w io.Writer, title string) {
	fmt.Fprintf(w, "%s: %s\n", title, t.All)
	fmt.Fprintln(w, "  by language:")
	for _, k := range SortedKeys(t.ByLanguage) {
		fmt.Fprintf(w, "    %-8s %s\n", k, *t.ByLanguage[k])
	}
	if len(t.BySource) > 1 {
		fmt.Fprintln(w, "  by source:")
		for _, k := range SortedKeys(t.BySource) {
			fmt.Fprintf(w, "    %-34s %s\n", k, *t.BySource[k])
		}
	}
}

// SortedKeys lists the keys of m in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
