package weblog

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/weblogtest"
)

// Search reads the rotated and gzipped parts oldest first and finds every
// request for the URL, spelled as the client liked (escaped letters, dot
// segments, PATH_INFO), and no other.
func TestSearchRotatedAndGzipped(t *testing.T) {
	dir := t.TempDir()
	spec := weblogtest.Spec{Dir: dir, Lines: 20000, Parts: 4, Start: t0, Span: 4 * time.Hour,
		Shell: "/up/x.php", Upload: "/upload.php", ShellEvery: 1000, ShellClients: []string{"203.0.113.7", "203.0.113.8"}, Seed: 3}
	hits, err := spec.Write()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "access.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	late := t0.Add(5 * time.Hour)
	for _, target := range []string{"/up/%78.php", "/up/./x.php/info", "//up/x.php?a", "/up/x.phpX", "/up/y.php?x.php"} {
		f.WriteString(weblogtest.Line("192.0.2.99", late, "GET", target, 200, 1, "ua"))
	}
	f.Close()
	format := mustFormat(t, "combined")
	logs := []Log{{Path: filepath.Join(dir, "access.log"), Format: format}}

	var got []Request
	stats, err := Search(context.Background(), logs, Query{Target: Target{Path: "/up/x.php"}}, nil, func(r *Request) error {
		got = append(got, *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := hits + 3; len(got) != want {
		t.Errorf("found %d requests, want %d", len(got), want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.Before(got[i-1].Time) {
			t.Errorf("request %d at %v comes before %v: files not read oldest first", i, got[i].Time, got[i-1].Time)
		}
	}
	if stats.Files != 4 || stats.Lines != 20005 || stats.Parsed >= stats.Lines/2 {
		t.Errorf("stats %+v: want 4 files, 20005 lines, most lines not parsed", stats)
	}

	// A client; a time range.
	n := 0
	_, err = Search(context.Background(), logs, Query{Client: "203.0.113.8", Since: t0.Add(time.Hour), Until: t0.Add(2 * time.Hour)}, nil, func(r *Request) error {
		if r.Client != "203.0.113.8" || r.Time.Before(t0.Add(time.Hour)) || !r.Time.Before(t0.Add(2*time.Hour)) {
			t.Errorf("selected %+v", r)
		}
		n++
		return nil
	})
	if err != nil || n != 3 { // lines 5500, 7500, 9500: at 3960 s, 5400 s, 6840 s
		t.Errorf("client in range: %d requests, %v; want 3", n, err)
	}
}

// A missing log is an error naming it; the others are read all the same.
func TestSearchMissingLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	if err := os.WriteFile(path, []byte(line(1)), 0o644); err != nil {
		t.Fatal(err)
	}
	format := mustFormat(t, "combined")
	n := 0
	_, err := Search(context.Background(), []Log{{Path: filepath.Join(dir, "gone.log"), Format: format}, {Path: path, Format: format}},
		Query{Target: Target{Path: "/n/1"}}, nil, func(*Request) error { n++; return nil })
	if err == nil || n != 1 {
		t.Errorf("n %d, err %v; want the request found and an error naming gone.log", n, err)
	}
}
