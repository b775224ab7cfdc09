package scanner

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/rules"
	"github.com/shellwatch/shellwatch/walk"
)

// testRules is a small rule set written for these tests, so they do not
// depend on the bundled rules. test_marker checks the externals.
const testRules = `
rule test_eval_post : webshell php {
  meta:
    severity = "critical"
    family = "test_family"
    description = "eval of POST input"
  strings:
    $a = "eval($_POST"
  condition:
    $a
}

rule test_marker {
  meta:
    severity = "low"
    family = "test_marker"
  condition:
    filename == "marker.txt" and extension == ".txt" and filepath endswith "/marker.txt"
}
`

// slowRule loops over every pair of bytes of a large file: it always runs
// into the timeout.
const slowRule = `
rule test_slow {
  meta:
    severity = "low"
  condition:
    filesize > 100000 and
    for all i in (0..filesize - 1) : (
      for all j in (0..filesize - 1) : ( uint8(i) == uint8(j) )
    )
}
`

const shell = "<?php @eval($_POST['x']); ?>\n"

func compile(t testing.TB, text string) *rules.Set {
	t.Helper()
	p := testenv.WriteFile(t, filepath.Join(t.TempDir(), "test.yar"), text)
	set, err := rules.Compile(rules.Options{Paths: []string{p}})
	if err != nil {
		t.Fatalf("compile test rules: %v", err)
	}
	t.Cleanup(set.Destroy)
	return set
}

func newScanner(t testing.TB, set *rules.Set, known *HashList, opts Options) *Scanner {
	t.Helper()
	s, err := New(set, known, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func sha256Hex(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
func md5Hex(b []byte) string    { h := md5.Sum(b); return hex.EncodeToString(h[:]) }

func TestScanHappyPath(t *testing.T) {
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 2})
	dir := t.TempDir()
	p := testenv.WriteFile(t, filepath.Join(dir, "up", "avatar.gif"), "GIF89a\n"+shell)
	mtime := time.Date(2026, 11, 25, 3, 12, 44, 123, time.UTC)
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	v := s.Scan(p)
	if v.Err != nil {
		t.Fatal(v.Err)
	}
	content := []byte("GIF89a\n" + shell)
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	if v.Path != p || v.Size != int64(len(content)) || v.SHA256 != sha256Hex(content) || v.MD5 != md5Hex(content) {
		t.Errorf("verdict %+v: want size %d sha256 %s md5 %s", v, len(content), sha256Hex(content), md5Hex(content))
	}
	if v.Mode != 0o640 || !v.ModTime.Equal(mtime) || v.UID != st.Uid || v.GID != st.Gid || v.Inode != st.Ino || v.Dev != uint64(st.Dev) {
		t.Errorf("metadata %v %v uid %d gid %d dev %d ino %d, want %v %v %+v", v.Mode, v.ModTime, v.UID, v.GID, v.Dev, v.Inode, fs.FileMode(0o640), mtime, st)
	}
	want := finding.Match{Rule: "test_eval_post", Namespace: rules.OperatorNamespace, Tags: []string{"webshell", "php"},
		Severity: finding.SeverityCritical, Family: "test_family", Description: "eval of POST input"}
	if len(v.Matches) != 1 || fmt.Sprint(v.Matches[0]) != fmt.Sprint(want) || v.Severity != finding.SeverityCritical || !v.Flagged() || v.TooLarge {
		t.Errorf("matches %+v severity %v, want %+v", v.Matches, v.Severity, want)
	}

	// Externals are defined for each file.
	m := s.Scan(testenv.WriteFile(t, filepath.Join(dir, "marker.txt"), "hello"))
	if m.Err != nil || len(m.Matches) != 1 || m.Matches[0].Rule != "test_marker" || m.Severity != finding.SeverityLow {
		t.Errorf("marker.txt: %+v", m)
	}
	clean := s.Scan(testenv.WriteFile(t, filepath.Join(dir, "index.php"), "<?php echo 'hello';\n"))
	if clean.Err != nil || clean.Flagged() || clean.Severity != finding.SeverityNone || clean.SHA256 == "" {
		t.Errorf("clean file: %+v", clean)
	}
	empty := s.Scan(testenv.WriteFile(t, filepath.Join(dir, "empty.php"), ""))
	if empty.Err != nil || empty.Flagged() || empty.SHA256 != sha256Hex(nil) || empty.MD5 != md5Hex(nil) {
		t.Errorf("empty file: %+v", empty)
	}
}

func TestScanSymlinks(t *testing.T) {
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 1})
	outside := t.TempDir()
	secret := testenv.WriteFile(t, filepath.Join(outside, "shadow"), shell)
	root := t.TempDir()
	link := filepath.Join(root, "link.php")
	dirLink := filepath.Join(root, "linkdir")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, dirLink); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, filepath.Join(dirLink, "shadow")} {
		v := s.Scan(p)
		if v.Err == nil || v.Flagged() || v.SHA256 != "" || !strings.Contains(v.Err.Error(), p) {
			t.Errorf("Scan(%s) through a link: %+v", p, v)
		}
	}
	if v := s.Scan(filepath.Join(dirLink, "shadow")); !errors.Is(v.Err, walk.ErrSymlink) {
		t.Errorf("parent folder a link: error %v, want walk.ErrSymlink", v.Err)
	}

	var got []Verdict
	stats := s.ScanTrees(context.Background(), []string{root}, nil, func(v Verdict) { got = append(got, v) })
	if len(got) != 0 || stats.Symlinks != 2 || stats.Files != 0 {
		t.Errorf("ScanTrees: verdicts %+v, stats %+v; want no verdict, 2 symlinks", got, stats)
	}
	// A root that is a link is reported, not followed.
	got = nil
	stats = s.ScanTrees(context.Background(), []string{dirLink}, nil, func(v Verdict) { got = append(got, v) })
	if len(got) != 1 || !errors.Is(got[0].Err, walk.ErrSymlink) || got[0].Path != dirLink || stats.Errors != 1 {
		t.Errorf("ScanTrees(link root): verdicts %+v, stats %+v", got, stats)
	}
}

func TestScanFIFO(t *testing.T) {
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 1})
	root := t.TempDir()
	fifo := filepath.Join(root, "pipe.php")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, filepath.Join(root, "a.php"), shell)

	done := make(chan Verdict, 1)
	go func() { done <- s.Scan(fifo) }()
	select {
	case v := <-done:
		if v.Err == nil || !strings.Contains(v.Err.Error(), "not a regular file (fifo)") || v.Mode&fs.ModeNamedPipe == 0 {
			t.Errorf("Scan(fifo): %+v", v)
		}
	case <-time.After(time.Minute): // a hang is the failure, not a timing
		t.Fatal("Scan of a FIFO blocked")
	}

	// The open itself does not block either, should a FIFO be swapped in
	// after the first look.
	fd, err := walk.OpenNoSymlinks(fifo, openFlags)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)

	stats := s.ScanTrees(context.Background(), []string{root}, nil, func(Verdict) {})
	if stats.Special != 1 || stats.Files != 1 || stats.Flagged != 1 || stats.Errors != 0 {
		t.Errorf("ScanTrees: %+v, want 1 special, 1 file flagged", stats)
	}
}

func TestScanUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root, which reads files of mode 000; TestScanVanished covers the error path")
	}
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 1})
	p := testenv.WriteFile(t, filepath.Join(t.TempDir(), "x.php"), shell)
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	if v := s.Scan(p); !errors.Is(v.Err, fs.ErrPermission) || !strings.Contains(v.Err.Error(), p) {
		t.Errorf("Scan(mode 000): %+v", v)
	}
}

func TestScanVanished(t *testing.T) {
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 2})
	root := t.TempDir()
	gone := testenv.WriteFile(t, filepath.Join(root, "gone.php"), shell)
	kept := testenv.WriteFile(t, filepath.Join(root, "kept.php"), shell)
	s.beforeScan = func(p string) { // between the walk and the scan
		if p == gone {
			os.Remove(gone)
		}
	}
	var got []Verdict
	stats := s.ScanTrees(context.Background(), []string{root}, nil, func(v Verdict) { got = append(got, v) })
	s.beforeScan = nil
	sort.Slice(got, func(i, j int) bool { return got[i].Path < got[j].Path })
	if len(got) != 2 || !errors.Is(got[0].Err, fs.ErrNotExist) || got[0].Path != gone || !strings.Contains(got[0].Err.Error(), gone) ||
		got[1].Path != kept || !got[1].Flagged() {
		t.Errorf("verdicts %+v", got)
	}
	if stats.Files != 2 || stats.Errors != 1 || stats.Flagged != 1 {
		t.Errorf("stats %+v, want 2 files, 1 error, 1 flagged", stats)
	}

	// A missing root is an error verdict naming it.
	missing := filepath.Join(root, "missing")
	got = nil
	stats = s.ScanTrees(context.Background(), []string{missing}, nil, func(v Verdict) { got = append(got, v) })
	if len(got) != 1 || got[0].Path != missing || !errors.Is(got[0].Err, fs.ErrNotExist) || stats.Errors != 1 {
		t.Errorf("missing root: verdicts %+v stats %+v", got, stats)
	}
}

// TestScanTooLargeHashed: a file larger than MaxFileSize (and not sparse) is
// hashed in full, in bounded memory, and the hash lists apply to it.
func TestScanTooLargeHashed(t *testing.T) {
	const size = 64 << 20
	dir := t.TempDir()
	p := filepath.Join(dir, "huge.bin")
	line := "not a shell, only data\n"
	content := strings.Repeat(line, size/len(line)+1)[:size]
	testenv.WriteFile(t, p, content)
	want := sha256Hex([]byte(content))
	list := testenv.WriteFile(t, filepath.Join(dir, "bad.sha256"), want+"  huge.bin\n")
	known, err := LoadHashLists(list)
	if err != nil {
		t.Fatal(err)
	}
	s := newScanner(t, compile(t, testRules), known, Options{Workers: 1, MaxFileSize: 1 << 20})

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := s.Scan(p)
	runtime.ReadMemStats(&after)
	if v.Err != nil {
		t.Fatal(v.Err)
	}
	if !v.TooLarge || v.Size != size || v.SHA256 != want || !strings.Contains(v.Partial, "first and last 512KiB") {
		t.Errorf("verdict size %d too large %v sha256 %s partial %q; want %d, true, %s, the first and last 512KiB", v.Size, v.TooLarge, v.SHA256, v.Partial, size, want)
	}
	if len(v.Matches) != 1 || v.Matches[0].Rule != HashListRule || v.Severity != finding.SeverityCritical ||
		v.Matches[0].Description != fmt.Sprintf("sha256 listed in %s:1 (huge.bin)", list) {
		t.Errorf("the hash list does not apply to a file too large to scan: %+v", v.Matches)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 16<<20 {
		t.Errorf("scanning a 64 MiB file allocated %d MiB", grown>>20)
	}
}

// TestScanSparseTooLargeToHash: a sparse file of 8 EiB (free to make) is
// given up at MaxHashSize with an error saying so, not hashed for hours.
func TestScanSparseTooLargeToHash(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "endless.php")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1<<63 - 1); err != nil {
		t.Skipf("filesystem refuses an 8 EiB sparse file: %v", err)
	}
	f.Close()
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 1, MaxFileSize: 1 << 20, MaxHashSize: 8 << 20})
	v := s.Scan(p)
	if !errors.Is(v.Err, ErrTooLargeToHash) || !strings.Contains(v.Err.Error(), p) {
		t.Fatalf("error %v, want one naming %s and wrapping ErrTooLargeToHash", v.Err, p)
	}
	if v.SHA256 != "" || v.Flagged() || !v.TooLarge {
		t.Errorf("verdict %+v: want no hashes, no matches, too large", v)
	}
}

func TestScanGrowingFile(t *testing.T) {
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 1, MaxFileSize: 64 << 10})
	dir := t.TempDir()
	tests := []struct {
		name          string
		initial, more int
		tooLarge      bool
	}{
		{"grows past the limit", 1000, 100 << 10, true},
		{"grows within the limit", 5000, 50 << 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testenv.WriteFile(t, filepath.Join(dir, "grow.php"), shell+strings.Repeat("a", tt.initial))
			extra := []byte(strings.Repeat("b", tt.more))
			s.afterStat = func(string) { // after fstat, before the read
				f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Error(err)
					return
				}
				f.Write(extra)
				f.Close()
			}
			defer func() { s.afterStat = nil }()
			v := s.Scan(p)
			content, _ := os.ReadFile(p)
			if v.Err != nil || v.TooLarge != tt.tooLarge || v.Size != int64(len(content)) || v.SHA256 != sha256Hex(content) || v.MD5 != md5Hex(content) {
				t.Errorf("verdict err %v too large %v size %d sha256 %s; want too large %v, size %d, sha256 %s",
					v.Err, v.TooLarge, v.Size, v.SHA256, tt.tooLarge, len(content), sha256Hex(content))
			}
			// The shell is at the head: found whether or not the file
			// grew past the limit (then only its head and tail are read).
			if !v.Flagged() || (v.Partial != "") != tt.tooLarge {
				t.Errorf("flagged %v partial %q, want the shell at the head found, and partial set when too large", v.Flagged(), v.Partial)
			}
		})
	}
}

func TestScanOddNames(t *testing.T) {
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 2})
	root := t.TempDir()
	want := map[string]bool{}
	for _, n := range []string{"a\nb.php", "bad\xff\xfe.php", "-rf.php", "x\ty\".php", "sub\r\n/\xc0\xaf.php"} {
		p := testenv.WriteFile(t, filepath.Join(root, n), shell)
		want[p] = true
		if v := s.Scan(p); v.Path != p || v.Err != nil || !v.Flagged() {
			t.Errorf("Scan(%q): %+v", p, v)
		}
	}
	got := map[string]bool{}
	s.ScanTrees(context.Background(), []string{root}, nil, func(v Verdict) {
		if v.Err != nil || !v.Flagged() {
			t.Errorf("%q: %+v", v.Path, v)
		}
		got[v.Path] = true
	})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reported %v\nwant     %v", got, want)
	}
}

func TestScanTreesStats(t *testing.T) {
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 3, MaxFileSize: 4096})
	root := t.TempDir()
	for i := 0; i < 20; i++ {
		testenv.WriteFile(t, filepath.Join(root, fmt.Sprintf("d%d", i%4), fmt.Sprintf("clean%d.php", i)), "<?php echo 1;\n")
	}
	testenv.WriteFile(t, filepath.Join(root, "up", "a.php"), shell)
	testenv.WriteFile(t, filepath.Join(root, "up", "b.php"), shell)
	testenv.WriteFile(t, filepath.Join(root, "big.php"), strings.Repeat("x", 5000))
	testenv.WriteFile(t, filepath.Join(root, "wp-content", "cache", "c.php"), shell) // excluded
	testenv.WriteFile(t, filepath.Join(root, "x.log"), shell)                        // excluded
	single := testenv.WriteFile(t, filepath.Join(t.TempDir(), "single.php"), shell)
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "l")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(root, "p"), 0o600); err != nil {
		t.Fatal(err)
	}
	ex, err := walk.CompileGlobs([]string{"*/cache/*", "*.log"})
	if err != nil {
		t.Fatal(err)
	}
	before := s.Progress()
	inReport := false
	reported := 0
	stats := s.ScanTrees(context.Background(), []string{root, single, filepath.Join(root, "nope")}, ex, func(v Verdict) {
		if inReport { // the race detector catches most overlaps; this the rest
			t.Error("report called concurrently")
		}
		inReport = true
		reported++
		if strings.Contains(v.Path, "cache") || strings.HasSuffix(v.Path, ".log") {
			t.Errorf("excluded %s scanned", v.Path)
		}
		inReport = false
	})
	want := Stats{Files: 24, Bytes: 20*14 + 3*int64(len(shell)) + 5000, Flagged: 3, Errors: 1, TooLarge: 1, Symlinks: 1, Special: 1}
	if stats != want {
		t.Errorf("stats %+v\nwant  %+v", stats, want)
	}
	if reported != 25 {
		t.Errorf("%d verdicts reported, want 25 (24 files, 1 walk error)", reported)
	}
	after := s.Progress()
	if after.Files-before.Files != want.Files || after.Flagged-before.Flagged != want.Flagged || after.Special-before.Special != 1 {
		t.Errorf("Progress moved from %+v to %+v", before, after)
	}
}

func TestScanTreesCancel(t *testing.T) {
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 2})
	root := t.TempDir()
	const files = 300
	for i := 0; i < files; i++ {
		testenv.WriteFile(t, filepath.Join(root, fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%d.php", i)), shell)
	}
	before := testenv.RunningGoroutines()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var reported int
	stats := s.ScanTrees(ctx, []string{root}, nil, func(Verdict) {
		reported++
		cancel()
	})
	if reported == 0 || reported > 10 || stats.Files != int64(reported) {
		t.Errorf("after cancel: %d reported, stats %+v; want a few", reported, stats)
	}
	testenv.NoGoroutinesLeft(t, before, time.Minute)
	// Cancelled before it starts: nothing scanned, nothing stuck.
	stats = s.ScanTrees(ctx, []string{root}, nil, func(v Verdict) { t.Errorf("reported %+v", v) })
	if stats != (Stats{}) {
		t.Errorf("cancelled scan: %+v", stats)
	}
	if v := s.ScanContext(ctx, filepath.Join(root, "d0", "f0.php")); !errors.Is(v.Err, context.Canceled) {
		// With a free worker the select may pick either; both are fine as
		// long as a scan that did run is right.
		if v.Err != nil || !v.Flagged() {
			t.Errorf("ScanContext with a cancelled context: %+v", v)
		}
	}
}

func TestScanConcurrent(t *testing.T) {
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 2})
	dir := t.TempDir()
	var paths []string
	for i := 0; i < 10; i++ {
		content := shell
		if i%2 == 1 {
			content = fmt.Sprintf("<?php echo %d;\n", i)
		}
		paths = append(paths, testenv.WriteFile(t, filepath.Join(dir, fmt.Sprintf("f%d.php", i)), content))
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, p := range paths {
				v := s.Scan(p)
				content, _ := os.ReadFile(p)
				if v.Err != nil || v.Flagged() != (i%2 == 0) || v.SHA256 != sha256Hex(content) {
					t.Errorf("%s: %+v", p, v)
				}
			}
		}()
	}
	wg.Wait()
}

func TestScanTimeout(t *testing.T) {
	for _, tt := range []struct{ in, want time.Duration }{
		{0, DefaultTimeout}, {-1, DefaultTimeout}, {time.Nanosecond, time.Second},
		{time.Second, time.Second}, {1500 * time.Millisecond, 2 * time.Second}, {time.Minute, time.Minute},
	} {
		s := newScanner(t, nil, &HashList{md5: map[[16]byte]Entry{{}: {}}}, Options{Workers: 1, Timeout: tt.in})
		if s.Timeout() != tt.want {
			t.Errorf("Timeout %v: scanner uses %v, want %v", tt.in, s.Timeout(), tt.want)
		}
	}

	// A rule that runs into the timeout: the error says so, the hashes
	// and metadata are still there.
	s := newScanner(t, compile(t, slowRule+testRules), nil, Options{Workers: 1, Timeout: time.Second})
	content := shell + strings.Repeat("\x00", 200000)
	p := testenv.WriteFile(t, filepath.Join(t.TempDir(), "slow.php"), content)
	v := s.Scan(p)
	if !errors.Is(v.Err, ErrTimeout) || !strings.Contains(v.Err.Error(), p) {
		t.Errorf("error %v, want ErrTimeout naming the path", v.Err)
	}
	if v.SHA256 != sha256Hex([]byte(content)) || v.MD5 != md5Hex([]byte(content)) || v.Size != int64(len(content)) {
		t.Errorf("hashes missing after a timeout: %+v", v)
	}
}

func TestScannerOptionsAndClose(t *testing.T) {
	if _, err := New(nil, nil, Options{}); err == nil {
		t.Error("New with no rules and no hashes: no error")
	}
	s, err := New(compile(t, testRules), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Workers() != runtime.GOMAXPROCS(0) || s.MaxFileSize() != DefaultMaxFileSize {
		t.Errorf("defaults: %d workers, max %d", s.Workers(), s.MaxFileSize())
	}
	p := testenv.WriteFile(t, filepath.Join(t.TempDir(), "a.php"), shell)
	s.Close()
	s.Close()
	if v := s.Scan(p); !errors.Is(v.Err, ErrClosed) {
		t.Errorf("Scan after Close: %+v", v)
	}
}
