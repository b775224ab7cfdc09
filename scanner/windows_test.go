package scanner

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
	"github.com/shellwatch/shellwatch/rules"
)

func TestRing(t *testing.T) {
	var stream []byte
	r := &ring{buf: make([]byte, 10)}
	for i, n := range []int{3, 4, 0, 5, 10, 1, 25, 9, 2} {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		for j := range p {
			p[j] += byte(j % 3)
		}
		stream = append(stream, p...)
		r.Write(p)
		want := stream[max(0, len(stream)-10):]
		if got := r.bytes(); !bytes.Equal(got, want) {
			t.Fatalf("after %d bytes: ring holds %q, want %q", len(stream), got, want)
		}
	}
}

func TestIsScript(t *testing.T) {
	for _, tt := range []struct {
		path, data string
		want       bool
	}{
		{"/w/index.php", "", true},
		{"/w/a.jsp", "", true},
		{"/w/.htaccess", "", true},
		{"/w/logo.gif", "GIF89a<?php eval($_POST[1]);", true},
		{"/w/x.txt", "#!/usr/bin/perl\n", true},
		{"/w/page.html", "<html><% Response.Write(1) %>", true},
		{"/w/logo.gif", "GIF89a\x00\x01", false},
		{"/w/notes.txt", "hello", false},
		{"/w/logo.gif", "GIF89a\x01\x00\x01\x00<?php system($_GET[1]);", true},
		{"/w/v.txt", "<?= $x ?>", true},
		// Binary data holding the two- and three-byte tags by chance.
		{"/w/clip.mp4", "\x00\x00\x00\x18ftypmp42\x00<%\x93<?=\x11", false},
	} {
		if got := isScript(tt.path, []byte(tt.data)); got != tt.want {
			t.Errorf("isScript(%q, %q) = %v, want %v", tt.path, tt.data, got, tt.want)
		}
	}
}

// Random bytes, as a video or an archive holds, are not a script however
// many "<%" and "<?=" they hold by chance (one every 64 KiB and 16 MiB).
func TestIsScriptNotRandomBytes(t *testing.T) {
	data := make([]byte, 16<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(data); i += 8 {
		binary.LittleEndian.PutUint64(data[i:], r.Uint64())
	}
	if !bytes.Contains(data, []byte("<%")) {
		t.Fatal("16 MiB of random bytes without \"<%\": the test proves nothing")
	}
	if isScript("/w/upload/clip.mp4", data) {
		t.Error("16 MiB of random bytes counts as a script")
	}
}

// bundledScanner scans with the bundled rules and the given options.
func bundledScanner(t testing.TB, opts Options) *Scanner {
	t.Helper()
	set, err := rules.Compile(rules.Options{Bundled: true})
	if err != nil {
		t.Fatalf("bundled rules: %v", err)
	}
	t.Cleanup(set.Destroy)
	return newScanner(t, set, nil, opts)
}

// corpusShells returns up to n small PHP webshells of the corpus that the
// bundled rules flag high or critical as they are, or skips when the corpus
// is absent. They are only read here; the tests copy them into their own
// temp folders.
func corpusShells(t *testing.T, s *Scanner, n int) map[string][]byte {
	t.Helper()
	dir := os.Getenv("SHELLWATCH_WEBSHELLS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "corpus", "webshells")
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.tsv")); err != nil {
		t.Skipf("no webshell corpus (%v): the padded copies of real shells are not tested; set SHELLWATCH_WEBSHELLS or put the corpus at ../shared/corpus beside the clone", err)
	}
	var paths []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, ".php") {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	tmp := t.TempDir()
	shells := map[string][]byte{}
	for _, p := range paths {
		if len(shells) == n {
			break
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 64<<10 {
			continue
		}
		cp := filepath.Join(tmp, "plain.php")
		if err := os.WriteFile(cp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if v := s.Scan(cp); v.Err == nil && v.Severity >= finding.SeverityHigh {
			shells[filepath.Base(p)] = b
		}
	}
	if len(shells) == 0 {
		t.Fatalf("no PHP shell of %s is flagged high by the bundled rules", dir)
	}
	return shells
}

// A shell padded past scanner.max_file_size is found at either end of its
// padding; one padded on both sides past half the limit is not, and the
// verdict says that only part of it was read.
func TestScanOversizeHeadAndTail(t *testing.T) {
	const maxSize = 1 << 20
	s := bundledScanner(t, Options{Workers: 1, MaxFileSize: maxSize})
	pad := strings.Repeat("// padding, to carry the shell past the size limit\n", 3*maxSize/51)
	half := pad[:maxSize/2+100]
	shells := map[string][]byte{"synthetic.php": []byte("<?php @eval($_POST['x']); ?>\n")}
	t.Run("corpus", func(t *testing.T) {
		for name, b := range corpusShells(t, bundledScanner(t, Options{Workers: 1}), 5) {
			shells[name] = b
		}
	})
	dir := t.TempDir()
	for name, shell := range shells {
		for _, tt := range []struct {
			where, content string
			found          bool
		}{
			{"at the head", string(shell) + pad, true},
			{"at the tail", pad + string(shell), true},
			{"in the middle", half + string(shell) + half, false},
		} {
			p := testenv.WriteFile(t, filepath.Join(dir, "padded.php"), tt.content)
			v := s.Scan(p)
			if v.Err != nil || !v.TooLarge || !strings.Contains(v.Partial, "first and last 512KiB") || v.SHA256 != sha256Hex([]byte(tt.content)) || !v.Script {
				t.Errorf("%s %s: err %v too large %v partial %q script %v", name, tt.where, v.Err, v.TooLarge, v.Partial, v.Script)
			}
			if found := v.Severity >= finding.SeverityHigh; found != tt.found {
				t.Errorf("%s %s of %d bytes: severity %s (%v), want found %v", name, tt.where, len(tt.content), v.Severity, v.Matches, tt.found)
			}
		}
	}
}

// A YARA scan that runs out of time scans the two ends of the file again:
// the shell behind padding made to slow the rules down is found, and the
// timeout is still in the verdict.
func TestScanTimeoutScansTheEnds(t *testing.T) {
	// test_slow loops over every pair of bytes of a file over 300,000
	// bytes: the whole file runs out of time, its two ends (2 × 128 KiB)
	// do not.
	slow := strings.Replace(slowRule, "filesize > 100000", "filesize > 300000", 1)
	s := newScanner(t, compile(t, slow+testRules), nil, Options{Workers: 1, Timeout: time.Second})
	dir := t.TempDir()
	for _, tt := range []struct {
		name, content string
		found         bool
	}{
		{"shell at the end", strings.Repeat("\x00", 400000) + shell, true},
		{"shell at the start", shell + strings.Repeat("\x00", 400000), true},
		{"shell in the middle", strings.Repeat("\x00", 200000) + shell + strings.Repeat("\x00", 200000), false},
	} {
		p := testenv.WriteFile(t, filepath.Join(dir, "slow.php"), tt.content)
		v := s.Scan(p)
		if !errors.Is(v.Err, ErrTimeout) || !strings.Contains(v.Partial, "out of time") || v.SHA256 != sha256Hex([]byte(tt.content)) {
			t.Errorf("%s: err %v partial %q: want the timeout kept and said", tt.name, v.Err, v.Partial)
		}
		if v.Flagged() != tt.found {
			t.Errorf("%s: matches %v, want found %v", tt.name, v.Matches, tt.found)
		}
	}
}

// sparseFile makes a file of size bytes holding only the given data at the
// given offsets, or skips when the filesystem of dir keeps no holes.
func sparseFile(t testing.TB, p string, size int64, data map[int64]string) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Skipf("%s: the filesystem refuses a sparse file of %d bytes: %v", filepath.Dir(p), size, err)
	}
	for off, s := range data {
		if _, err := f.WriteAt([]byte(s), off); err != nil {
			t.Fatal(err)
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 > 1<<20 {
		t.Skipf("%s: the filesystem keeps no holes (%d bytes allocated for %d)", filepath.Dir(p), st.Blocks*512, size)
	}
}

// A sparse file of 50 GB is not hashed through its holes, but its data is
// scanned wherever it sits, so that holes alone buy no clean verdict.
func TestScanSparse(t *testing.T) {
	const size = 50 << 30
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 1, MaxFileSize: 1 << 20})
	dir := t.TempDir()
	for _, tt := range []struct {
		name  string
		data  map[int64]string
		found bool
	}{
		{"shell in the middle", map[int64]string{25 << 30: shell}, true},
		{"shell at the end", map[int64]string{0: "<?php // start\n", size - int64(len(shell)): shell}, true},
		{"nothing but holes", nil, false},
	} {
		p := filepath.Join(dir, "sparse.php")
		sparseFile(t, p, size, tt.data)
		v := s.Scan(p)
		if !errors.Is(v.Err, ErrSparse) || !strings.Contains(v.Err.Error(), p) || v.SHA256 != "" || v.MD5 != "" {
			t.Errorf("%s: err %v sha256 %q: want ErrSparse naming the path, no hashes", tt.name, v.Err, v.SHA256)
		}
		if !v.TooLarge || !v.Script || !strings.Contains(v.Partial, "all of its data") || v.Size != size {
			t.Errorf("%s: too large %v script %v partial %q size %d", tt.name, v.TooLarge, v.Script, v.Partial, v.Size)
		}
		if v.Flagged() != tt.found {
			t.Errorf("%s: matches %v, want found %v", tt.name, v.Matches, tt.found)
		}
	}
}

// A file over MaxHashSize is not hashed (not even partly: the fstat size
// says so at once), but its two ends are scanned.
func TestScanTooLargeToHashScansTheEnds(t *testing.T) {
	s := newScanner(t, compile(t, testRules), nil, Options{Workers: 1, MaxFileSize: 1 << 20, MaxHashSize: 2 << 20})
	content := strings.Repeat("x", 3<<20) + shell
	p := testenv.WriteFile(t, filepath.Join(t.TempDir(), "big.php"), content)
	v := s.Scan(p)
	if !errors.Is(v.Err, ErrTooLargeToHash) || errors.Is(v.Err, ErrSparse) || v.SHA256 != "" {
		t.Errorf("err %v sha256 %q: want ErrTooLargeToHash alone, no hashes", v.Err, v.SHA256)
	}
	if !v.Flagged() || !strings.Contains(v.Partial, "first and last 512KiB") {
		t.Errorf("matches %v partial %q: want the shell at the end found", v.Matches, v.Partial)
	}
}

// BenchmarkScanSparse scans a 50 GB sparse PHP file holding a shell in its
// middle: its few bytes of data are read, never its holes.
func BenchmarkScanSparse(b *testing.B) {
	s := newScanner(b, compile(b, testRules), nil, Options{Workers: 1})
	p := filepath.Join(b.TempDir(), "sparse.php")
	sparseFile(b, p, 50<<30, map[int64]string{25 << 30: shell})
	for b.Loop() {
		if v := s.Scan(p); !v.Flagged() || !errors.Is(v.Err, ErrSparse) {
			b.Fatalf("%+v", v)
		}
	}
}

// A shell behind 2 MiB of "eval(" (issue 10: the padding ran the YARA scan
// out of its 10 s, and the shell got a medium scan_failed) is found by the
// bundled rules within the default timeout, not by the rescan of the ends
// that follows a timeout. A synthetic shell, and one of the corpus when it
// is present.
//
// What is held to the default timeout is the CPU time the scan costs (about
// 4 s a file here), not its wall time: on a machine shared with other tests
// the wall time of the same scan passed 10 s, so the scanner is given a
// minute and the process's CPU time is measured around it.
// BenchmarkPaddedEval measures the wall time.
func TestScanPaddedEvalDefaultTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("scans 2 MiB of padding made to be slow, a few seconds a file")
	}
	s := bundledScanner(t, Options{Workers: 1, Timeout: time.Minute})
	pad := "<?php\n/*" + strings.Repeat("eval(", (2<<20)/5) + "*/ ?>\n"
	shells := map[string][]byte{"synthetic.php": []byte(shell)}
	t.Run("corpus", func(t *testing.T) {
		for name, b := range corpusShells(t, s, 1) {
			shells[name] = b
		}
	})
	dir := t.TempDir()
	for name, b := range shells {
		p := testenv.WriteFile(t, filepath.Join(dir, "padded.php"), pad+string(b))
		before, start := processCPU(t), time.Now()
		v := s.Scan(p)
		cpu := processCPU(t) - before
		t.Logf("%s: %s of CPU, %s of wall time", name, cpu.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		if v.Err != nil || v.Partial != "" {
			t.Errorf("%s behind 2 MiB of eval(: err %v, partial %q: want the whole file scanned", name, v.Err, v.Partial)
		}
		if cpu >= DefaultTimeout {
			t.Errorf("%s behind 2 MiB of eval(: the scan cost %s of CPU, past the default timeout %s", name, cpu, DefaultTimeout)
		}
		if v.Severity < finding.SeverityHigh {
			t.Errorf("%s behind 2 MiB of eval(: severity %s (%v), want it found", name, v.Severity, v.Matches)
		}
	}
}

// processCPU returns the CPU time the test process has used, user and
// system, all threads.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
