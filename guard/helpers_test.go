package guard

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// wwwData is Debian's www-data, the web server's user of these tests.
const wwwData = 33

// waitFor bounds the waits of these tests: it catches a hang, it does not
// measure speed.
const waitFor = 30 * time.Second

// openerEnv makes the test binary an opener (see TestMain): a process of
// its own, run as another user, that opens the files it is told to.
const openerEnv = "SHELLWATCH_GUARD_OPENER"

// guardChildEnv makes the test binary a guard of the roots it names (see
// TestMain), whose scans never end: the fail-open test kills it.
const guardChildEnv = "SHELLWATCH_GUARD_CHILD"

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(openerEnv) != "":
		runOpener()
		os.Exit(0)
	case os.Getenv(guardChildEnv) != "":
		runGuardChild(os.Getenv(guardChildEnv))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runOpener reads paths, one a line, opens and reads each, and answers
// "ok CONTENT" (quoted) or "err MESSAGE", one line each.
func runOpener() {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if dir, ok := strings.CutPrefix(in.Text(), "bench "); ok {
			benchOpens(dir)
			continue
		}
		b, err := os.ReadFile(in.Text())
		if err != nil {
			fmt.Printf("err %s\n", strconv.Quote(err.Error()))
			continue
		}
		fmt.Printf("ok %s\n", strconv.Quote(string(b)))
	}
}

// benchOpens opens and reads every file of dir once, timing each open,
// and answers "ok P50NS P99NS TOTALNS".
func benchOpens(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Printf("err %s\n", strconv.Quote(err.Error()))
		return
	}
	times := make([]time.Duration, 0, len(entries))
	buf := make([]byte, 4096)
	start := time.Now()
	for _, e := range entries {
		t0 := time.Now()
		fd, err := unix.Open(filepath.Join(dir, e.Name()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		times = append(times, time.Since(t0))
		if err != nil {
			fmt.Printf("err %s\n", strconv.Quote(err.Error()))
			return
		}
		unix.Read(fd, buf)
		unix.Close(fd)
	}
	total := time.Since(start)
	slices.Sort(times)
	fmt.Printf("ok %s\n", strconv.Quote(fmt.Sprintf("%d %d %d", times[len(times)/2], times[len(times)*99/100], total)))
}

// runGuardChild guards the root, holding every open of www-data until the
// process dies, and says "ready" once the marks are in.
func runGuardChild(root string) {
	block := make(chan struct{})
	g, err := Start(Options{Roots: []string{root}, UIDs: []uint32{wwwData}, Deadline: time.Hour,
		MinSeverity: finding.SeverityHigh,
		Scan:        func(context.Context, int, string) Verdict { <-block; return Verdict{} }})
	if err != nil {
		fmt.Println("error", err)
		return
	}
	defer g.Stop()
	fmt.Println("ready")
	select {}
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("fanotify permission events need root (CAP_SYS_ADMIN); CI runs as root")
	}
}

// opener is a process of the test binary running as uid, which opens the
// files it is told to.
type opener struct {
	t   testing.TB
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startOpener copies the test binary where uid can run it and starts it
// as uid.
func startOpener(t testing.TB, uid uint32) *opener {
	t.Helper()
	dir := t.TempDir()
	testenv.Searchable(t, dir)
	bin := filepath.Join(dir, "opener")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), openerEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}, Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	o := &opener{t: t, cmd: cmd, in: in, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return o
}

// ask sends path without waiting for the answer.
func (o *opener) ask(path string) {
	o.t.Helper()
	if _, err := fmt.Fprintln(o.in, path); err != nil {
		o.t.Fatal(err)
	}
}

// answer waits for the answer to the last path asked: the content read,
// or the error.
func (o *opener) answer() (content string, err error) {
	o.t.Helper()
	type line struct {
		s   string
		err error
	}
	got := make(chan line, 1)
	go func() {
		s, err := o.out.ReadString('\n')
		got <- line{s, err}
	}()
	var l line
	select {
	case l = <-got:
	case <-time.After(waitFor):
		o.t.Fatal("the opener did not answer: its open hangs")
	}
	if l.err != nil {
		o.t.Fatalf("opener: %v", l.err)
	}
	kind, rest, _ := strings.Cut(strings.TrimSuffix(l.s, "\n"), " ")
	text, qerr := strconv.Unquote(rest)
	if qerr != nil {
		o.t.Fatalf("opener said %q", l.s)
	}
	if kind == "err" {
		return "", errors.New(text)
	}
	return text, nil
}

// open opens path as the opener and returns what it read, or its error.
func (o *opener) open(path string) (string, error) {
	o.t.Helper()
	o.ask(path)
	return o.answer()
}

// judge flags content holding "SHELL", as a rule would: it reads the file
// through the descriptor, as the real scanner does.
// countedJudge is judge, counting its scans in n.
func countedJudge(n *atomic.Int32) func(context.Context, int, string) Verdict {
	return func(ctx context.Context, fd int, path string) Verdict { n.Add(1); return judge(ctx, fd, path) }
}

// openAll opens each of paths as o, and fails the test at the first that
// is refused.
func (o *opener) openAll(t testing.TB, paths []string) {
	t.Helper()
	for _, p := range paths {
		if _, err := o.open(p); err != nil {
			t.Fatal(err)
		}
	}
}

func judge(_ context.Context, fd int, _ string) Verdict {
	buf := make([]byte, 64<<10) // the tests' files are small
	n, err := unix.Pread(fd, buf, 0)
	if err != nil {
		return Verdict{Err: err}
	}
	if bytes.Contains(buf[:n], []byte("SHELL")) {
		return Verdict{Severity: finding.SeverityCritical, Detail: "SHELL"}
	}
	return Verdict{}
}

// reports collects a guard's reports.
type reports struct {
	mu   sync.Mutex
	list []Report
}

func (r *reports) add(rep Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rep)
}

func (r *reports) all() []Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Report(nil), r.list...)
}

// root makes a web root www-data can reach, in the test's temp dir.
func webRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "www")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.Searchable(t, root)
	return root
}

// startGuard starts a guard over opts, stopped when the test ends.
func startGuard(t testing.TB, opts Options) *Guard {
	t.Helper()
	needRoot(t)
	g, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)
	return g
}
