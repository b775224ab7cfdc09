// Package weblogtest writes synthetic access logs in the combined format,
// with rotated and gzipped parts, for the weblog tests, `shellwatch trace`
// tests and the trace benchmark (internal/cmd/loggen).
package weblogtest

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Spec describes a generated log set.
type Spec struct {
	// Dir receives access.log, access.log.1 and access.log.2.gz… .
	Dir string
	// Lines is the number of lines in all files together.
	Lines int
	// Parts is the number of files: the live log, a plain .1, and the
	// rest gzipped (at least 1).
	Parts int
	// Start is the time of the first line; lines are spaced evenly over
	// Span.
	Start time.Time
	Span  time.Duration
	// Shell is the URL path of a webshell some lines request (every
	// ShellEvery-th line, from ShellClients), with a POST that "drops" it
	// as the first of them, to Upload. Empty: none.
	Shell, Upload string
	ShellEvery    int
	ShellClients  []string
	// Seed makes the output reproducible.
	Seed uint64
}

// Files returns the generated files oldest first, as weblog.Rotated lists
// them.
func (s Spec) Files() []string {
	var out []string
	for i := s.Parts - 1; i >= 0; i-- {
		out = append(out, s.file(i))
	}
	return out
}

// file returns part i's name: 0 is the live log, 1 plain, more gzipped.
func (s Spec) file(i int) string {
	switch i {
	case 0:
		return filepath.Join(s.Dir, "access.log")
	case 1:
		return filepath.Join(s.Dir, "access.log.1")
	}
	return filepath.Join(s.Dir, "access.log."+strconv.Itoa(i)+".gz")
}

// Write generates the files, the parts in parallel, and returns how many
// requests for the shell it wrote.
func (s Spec) Write() (shellHits int, err error) {
	if s.Parts < 1 {
		s.Parts = 1
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return 0, err
	}
	per := s.Lines / s.Parts
	hits := make([]int, s.Parts)
	errs := make([]error, s.Parts)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for part := range s.Parts {
		// Part Parts-1 is the oldest; its lines come first.
		first := (s.Parts - 1 - part) * per
		n := per
		if part == 0 {
			n = s.Lines - (s.Parts-1)*per
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			hits[part], errs[part] = s.writePart(part, first, n)
		}()
	}
	wg.Wait()
	for i := range hits {
		shellHits += hits[i]
		if errs[i] != nil {
			return 0, errs[i]
		}
	}
	return shellHits, nil
}

var (
	methods = []string{"GET", "GET", "GET", "GET", "GET", "GET", "POST", "HEAD"}
	agents  = []string{
		"curl/8.5.0", "Wget/1.21.3", "Go-http-client/1.1",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
		"Googlebot/2.1", "-",
	}
	statuses = []int{200, 200, 200, 200, 200, 304, 301, 404, 500}
	sections = []string{"shop", "blog", "static", "api", "wp-content/uploads", "img"}
)

func (s Spec) writePart(part, first, n int) (hits int, err error) {
	f, err := os.Create(s.file(part))
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	var w io.Writer = f
	var zw *gzip.Writer
	if part >= 2 {
		zw = gzip.NewWriter(f)
		w = zw
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(s.Seed, uint64(part)))
	step := time.Duration(0)
	if s.Lines > 0 {
		step = s.Span / time.Duration(s.Lines)
	}
	var buf []byte
	for i := first; i < first+n; i++ {
		t := s.Start.Add(step * time.Duration(i))
		buf = buf[:0]
		if s.Shell != "" && s.ShellEvery > 0 && i%s.ShellEvery == s.ShellEvery/2 {
			client := s.ShellClients[(i/s.ShellEvery)%len(s.ShellClients)]
			method, target := "GET", s.Shell+"?c=id"
			if i == s.ShellEvery/2 && s.Upload != "" {
				method, target = "POST", s.Upload
			} else {
				hits++
			}
			buf = appendLine(buf, client, t, method, target, 200, 31, "-")
		} else {
			client := fmt.Sprintf("198.51.%d.%d", rng.IntN(200), rng.IntN(250)+1)
			target := "/" + sections[rng.IntN(len(sections))] + "/" + strconv.Itoa(rng.IntN(5000)) + ".html"
			if rng.IntN(10) == 0 {
				target += "?q=a%20b&p=" + strconv.Itoa(rng.IntN(100))
			}
			buf = appendLine(buf, client, t, methods[rng.IntN(len(methods))], target,
				statuses[rng.IntN(len(statuses))], rng.IntN(50000), agents[rng.IntN(len(agents))])
		}
		if _, err := bw.Write(buf); err != nil {
			return 0, err
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if zw != nil {
		return hits, zw.Close()
	}
	return hits, nil
}

// appendLine appends one combined-format line.
func appendLine(b []byte, client string, t time.Time, method, target string, status, size int, ua string) []byte {
	b = append(b, client...)
	b = append(b, " - - ["...)
	b = t.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, "] \""...)
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\" "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, " \"-\" \""...)
	b = append(b, ua...)
	b = append(b, "\"\n"...)
	return b
}

// Line returns one combined-format line (with its '\n'), as Write writes them.
func Line(client string, t time.Time, method, target string, status, size int, ua string) string {
	return string(appendLine(nil, client, t, method, target, status, size, ua))
}
