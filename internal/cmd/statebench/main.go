// Command statebench measures the state package on a tree of 100,000 files
// (-files): the baseline build (walk, SHA-256 of every file, Put into a
// fresh DB) against Debian's AIDE `aide --init` on the same tree, the DB's
// bytes per file, and a restart's reconciliation when nothing changed (open
// the DB, check it, Reconcile) in a fresh process: its time and its
// anonymous memory (RssAnon from /proc/self/status, peak and after).
// `make bench-state` runs it at 100,000 and 1,000,000 files.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/walk"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "statebench:", err)
		os.Exit(1)
	}
}

func run() error {
	tree := flag.String("tree", "build/bench/state-tree", "the tree to build (once) and measure")
	total := flag.Int("files", 100000, "files in the tree")
	benign := flag.String("benign", os.Getenv("SHELLWATCH_BENIGN"), "benign tree to include (default $SHELLWATCH_BENIGN, else build/corpus/tree)")
	aide := flag.Bool("aide", true, "compare with Debian's AIDE (aide --init, aide --check)")
	memProfile := flag.String("memprofile", "", "write the heap profile of the restart (full check) at its RssAnon peak to this file")
	cpuProfile := flag.String("cpuprofile", "", "write the CPU profile of the restart (full check) to this file")
	keep := flag.Bool("keep", false, "keep the work folder (the baseline DB, AIDE's files) and say where")
	child := flag.Bool("restart-child", false, "internal: be the restart process, measuring the state DB at -db against -tree")
	dbFlag := flag.String("db", "", "internal: the state DB of -restart-child")
	skipCheck := flag.Bool("skip-check", false, "internal: -restart-child opens the DB with SkipCheck")
	flag.Parse()
	if *child {
		return restartChild(*dbFlag, *tree, *skipCheck, *memProfile, *cpuProfile)
	}
	if *benign == "" {
		*benign = "build/corpus/tree"
	}
	abs, err := filepath.Abs(*tree)
	if err != nil {
		return err
	}
	*tree = abs
	if err := buildTree(*tree, *benign, *total); err != nil {
		return err
	}
	files, bytes, err := countTree(*tree)
	if err != nil {
		return err
	}
	workers := runtime.GOMAXPROCS(0)
	fmt.Printf("tree: %s: %d files, %.1f MB; %d CPUs, %d workers\n", *tree, files, float64(bytes)/1e6, runtime.NumCPU(), workers)

	warm := fmt.Sprintf("find %s -type f -print0 | xargs -0 cat > /dev/null", *tree)
	fmt.Printf("warm-up (page cache warm for every run): %s\n\n", warm)
	if out, err := exec.Command("bash", "-c", warm).CombinedOutput(); err != nil {
		return fmt.Errorf("warm-up: %v: %s", err, out)
	}

	work, err := os.MkdirTemp("", "statebench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Printf("work folder kept: %s (a restart alone: statebench -restart-child -db %s -tree %s)\n\n",
			work, filepath.Join(work, "state.db"), *tree)
	} else {
		defer os.RemoveAll(work)
	}
	dbPath := filepath.Join(work, "state.db")

	// (a) our baseline build.
	start := time.Now()
	built, err := buildBaseline(dbPath, *tree, workers)
	if err != nil {
		return err
	}
	ours := time.Since(start)
	fmt.Printf("(a) shellwatch baseline build: walk + SHA-256 (%d workers) + Put into a fresh DB\n", workers)
	fmt.Printf("    %d files in %.2f s = %.0f files/s\n\n", built, ours.Seconds(), float64(built)/ours.Seconds())

	// (b) AIDE.
	aideErr := errors.New("not run (-aide=false)")
	if *aide {
		var aideSecs float64
		var aideCmd, aideConf string
		aideSecs, aideCmd, aideConf, aideErr = runAIDE(work, *tree, workers)
		fmt.Printf("(b) Debian AIDE: %s\n    config:\n%s", aideCmd, indent(aideConf, "      "))
		if aideErr != nil {
			fmt.Printf("    AIDE failed: %v\n\n", aideErr)
		} else {
			fmt.Printf("    %d files in %.2f s = %.0f files/s; shellwatch/AIDE = %.1fx (target >= 20x)\n\n",
				files, aideSecs, float64(files)/aideSecs, aideSecs/ours.Seconds())
		}
	}

	// (c) bytes per file.
	info, err := os.Stat(dbPath)
	if err != nil {
		return err
	}
	fmt.Printf("(c) DB: %d bytes for %d files = %.0f bytes/file (file size, bbolt pages included)\n\n", info.Size(), built, float64(info.Size())/float64(built))

	// (d) restart reconciliation with nothing changed, each in a fresh
	// process, as a restarted daemon is: its time, and its anonymous memory
	// (the heap; the DB's map is file-backed and the kernel reclaims it).
	var restart time.Duration
	for _, skip := range []bool{false, true} {
		memProf, cpuProf := "", ""
		if !skip {
			memProf, cpuProf = *memProfile, *cpuProfile
		}
		res, err := measureRestart(dbPath, *tree, skip, memProf, cpuProf)
		if err != nil {
			return err
		}
		what := "Open (full check)"
		if skip {
			what = "Open (SkipCheck)"
		}
		fmt.Printf("(d) restart reconciliation, nothing changed: %s + Reconcile: %.3f s (open %.3f s, reconcile %.3f s); %d unchanged, %d reported (target < 2 s)\n",
			what, res.TotalSecs, res.OpenSecs, res.TotalSecs-res.OpenSecs, res.Unchanged, res.Reported)
		fmt.Printf("    RssAnon: %.1f MiB at start, %.1f MiB peak, %.1f MiB after (target <= 128 MiB); VmRSS after %.1f MiB, VmHWM %.1f MiB\n",
			mib(res.StartAnon), mib(res.PeakAnon), mib(res.AfterAnon), mib(res.AfterRSS), mib(res.PeakRSS))
		if res.HeapFile != "" {
			fmt.Printf("    heap profile at the peak: %s (go tool pprof -sample_index=inuse_space %s)\n", res.HeapFile, res.HeapFile)
		}
		if !skip {
			restart = time.Duration(res.TotalSecs * float64(time.Second))
		}
	}

	// (e) AIDE's way to the same answer: --check re-reads and re-hashes
	// every file, where Reconcile compares identities and reads none.
	if aideErr == nil {
		checkSecs, checkCmd, cerr := runAIDECheck(work)
		if cerr != nil {
			fmt.Printf("(e) %s failed: %v\n", checkCmd, cerr)
		} else {
			fmt.Printf("(e) AIDE restart check, nothing changed: %s: %.2f s; shellwatch/AIDE = %.1fx\n",
				checkCmd, checkSecs, checkSecs/restart.Seconds())
		}
	}
	return nil
}

// runAIDECheck runs `aide --check` against the database --init wrote: the
// comparison AIDE makes after downtime.
func runAIDECheck(work string) (secs float64, command string, err error) {
	confPath := filepath.Join(work, "aide.conf")
	conf, err := os.ReadFile(confPath)
	if err != nil {
		return 0, "", err
	}
	if err := os.Rename(filepath.Join(work, "aide.db.new"), filepath.Join(work, "aide.db")); err != nil {
		return 0, "", err
	}
	conf = append([]byte(fmt.Sprintf("database_in=file:%s/aide.db\n", work)), conf...)
	if err := os.WriteFile(confPath, conf, 0o600); err != nil {
		return 0, "", err
	}
	command = fmt.Sprintf("aide --check --config %s", confPath)
	start := time.Now()
	out, err := exec.Command("aide", "--check", "--config", confPath).CombinedOutput()
	secs = time.Since(start).Seconds()
	// aide --check exits 0 when nothing changed; 1-7 report changes.
	if err != nil {
		return secs, command, fmt.Errorf("%v: %.500s", err, out)
	}
	return secs, command, nil
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix) + "\n"
}

// buildTree fills tree with up to total files: the benign tree's files
// (hard links when possible, so no space is used), then synthetic files of
// 1-8 KiB in folders of 100. A marker file records a finished build.
func buildTree(tree, benign string, total int) error {
	marker := filepath.Join(filepath.Dir(tree), "."+filepath.Base(tree)+fmt.Sprintf(".complete-%d", total))
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if err := os.RemoveAll(tree); err != nil {
		return err
	}
	n := 0
	if info, err := os.Stat(benign); err == nil && info.IsDir() {
		err := filepath.WalkDir(benign, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if n >= total {
				return fs.SkipAll
			}
			rel, _ := filepath.Rel(benign, p)
			dst := filepath.Join(tree, "benign", rel)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if os.Link(p, dst) != nil {
				if err := copyFile(p, dst); err != nil {
					return err
				}
			}
			n++
			return nil
		})
		if err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	buf := make([]byte, 8192)
	for i := 0; n < total; i, n = i+1, n+1 {
		dir := filepath.Join(tree, "synthetic", fmt.Sprintf("%03d", i/10000), fmt.Sprintf("%03d", i/100%100))
		if i%100 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		size := 1024 + rng.IntN(7*1024)
		const alphabet = "abcdefghijklmnopqrstuvwxyz <?php;$(){}\n"
		for j := range size {
			buf[j] = alphabet[rng.IntN(len(alphabet))]
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.php", i)), buf[:size], 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(marker, nil, 0o644)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func countTree(tree string) (files int, bytes int64, err error) {
	err = walk.Walk(context.Background(), tree, nil, func(p string, d fs.DirEntry) error {
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err == nil {
				files++
				bytes += info.Size()
			}
		}
		return nil
	}, nil)
	return files, bytes, err
}

// buildBaseline is what the daemon does for a first baseline: walk, read
// and hash every file in workers, and store the records in batches (each
// Put is one fsynced commit, so a bulk load puts many per call).
func buildBaseline(dbPath, tree string, workers int) (int, error) {
	db, err := state.Open(dbPath, state.Options{})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	paths := make(chan string, 1024)
	records := make(chan state.File, 1024)
	var walkErr error
	go func() {
		defer close(paths)
		walkErr = walk.Walk(context.Background(), tree, nil, func(p string, d fs.DirEntry) error {
			if d.Type().IsRegular() {
				paths <- p
			}
			return nil
		}, func(p string, err error) { fmt.Fprintln(os.Stderr, "walk:", err) })
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64*1024)
			for p := range paths {
				f, err := hashFile(p, buf)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					continue
				}
				records <- f
			}
		}()
	}
	go func() { wg.Wait(); close(records) }()
	const batch = 2000
	pending := make([]state.File, 0, batch)
	n := 0
	for f := range records {
		pending = append(pending, f)
		if len(pending) == batch {
			if err := db.Put(pending...); err != nil {
				return n, err
			}
			n += len(pending)
			pending = pending[:0]
		}
	}
	if err := db.Put(pending...); err != nil {
		return n, err
	}
	n += len(pending)
	return n, walkErr
}

// hashFile opens p without following links, fstats and hashes it.
func hashFile(p string, buf []byte) (state.File, error) {
	fd, err := walk.OpenNoSymlinks(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return state.File{}, err
	}
	file := os.NewFile(uintptr(fd), p)
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return state.File{}, err
	}
	s, ok := state.StatOf(info)
	if !ok || !info.Mode().IsRegular() {
		return state.File{}, errors.New(p + ": not a regular file")
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(h, file, buf); err != nil {
		return state.File{}, fmt.Errorf("read %s: %w", p, err)
	}
	now := time.Now()
	f := state.File{Path: p, Dev: s.Dev, Inode: s.Inode, Size: s.Size, Mode: s.Mode, UID: s.UID, GID: s.GID,
		MTime: s.MTime, CTime: s.CTime, FirstSeen: now, LastSeen: now, Accepted: true, AcceptedAt: now}
	h.Sum(f.SHA256[:0])
	return f, nil
}

// runAIDE runs `aide --init` over tree with a config that checks the same
// things our baseline records: permissions, inode, link count, owner,
// group, size, mtime, ctime, and SHA-256 only.
func runAIDE(work, tree string, workers int) (secs float64, command, conf string, err error) {
	confPath := filepath.Join(work, "aide.conf")
	conf = fmt.Sprintf(`database_out=file:%s/aide.db.new
gzip_dbout=no
num_workers=%d
Baseline = p+i+n+u+g+s+m+c+sha256
%s Baseline
`, work, workers, aideRegexp(tree))
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return 0, "", conf, err
	}
	command = fmt.Sprintf("aide --init --config %s", confPath)
	if _, err := exec.LookPath("aide"); err != nil {
		return 0, command, conf, errors.New("aide not installed (apt-get install -y aide; make deps does)")
	}
	start := time.Now()
	out, err := exec.Command("aide", "--init", "--config", confPath).CombinedOutput()
	secs = time.Since(start).Seconds()
	if err != nil {
		return secs, command, conf, fmt.Errorf("%v: %s", err, out)
	}
	return secs, command, conf, nil
}

// aideRegexp quotes the regular expression metacharacters of a path for an
// AIDE selection line.
func aideRegexp(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`.^$*+?()[]{}|\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
