// Command latencybench measures the real shellwatch daemon from the outside:
// how long after a webshell's close() its alert is in the journal and at a
// webhook receiver and the file has left the web root, alone and inside a
// burst of benign files, and how much CPU and memory the daemon uses while
// it idles over 10,000 watched directories.
//
// It runs `shellwatch run` as a child process on a temp web root with a
// real systemd-journald (started here, and stopped again, when none runs), a
// webhook receiver on 127.0.0.1 and its own inotify watch on the drop
// folders. Figures are reported, never asserted: a shared machine is noisy.
// `make bench` runs it after the scan benchmark; `make bench-latency` runs
// it alone.
//
// It needs root (journald, the vault's ownership checks) and touches only
// its temp dir, loopback, the journal and the journald lock that the tests
// share (/run/shellwatch-test-journald.lock).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shellwatch/shellwatch/internal/journaldlease"
	"github.com/shellwatch/shellwatch/internal/procstatus"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "latencybench: %v\n", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	bin        string
	out        string
	workParent string
	settle     string
	keep       bool

	drops   int
	renames int
	warmup  int
	pause   time.Duration
	benign  int
	shells  int
	dirs    int
	quiet   time.Duration
	idleFor time.Duration
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/shellwatch", "the shellwatch `binary` to run")
	flag.StringVar(&o.out, "out", "build/bench/latency.json", "write the results as JSON to this `file`")
	flag.StringVar(&o.workParent, "workdir", "build/bench", "make the temp dir (web roots, state, config) below this `dir`")
	flag.StringVar(&o.settle, "settle", "250ms", "agent.settle in the daemon's config (250ms is the default)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (agent logs, configs) instead of removing it")
	flag.StringVar(&payloadKind, "payload", "yara", "webshell dropped: yara (a one-line eval the YARA rules flag critical) or php (a page whose shell only the PHP analyzer finds, -php-kb in size)")
	flag.IntVar(&phpKB, "php-kb", 40, "size in KB of the -payload php page: ordinary functions, then the shell")
	flag.IntVar(&o.drops, "drops", 1000, "webshells dropped one at a time")
	flag.IntVar(&o.renames, "rename-drops", 200, "webshells written outside the root and renamed in, one at a time (0: none)")
	flag.IntVar(&o.warmup, "warmup", 10, "drops before those, not counted")
	flag.DurationVar(&o.pause, "pause", 15*time.Millisecond, "pause after each single drop is quarantined and alerted")
	flag.IntVar(&o.benign, "burst-benign", 10000, "benign files in the burst")
	flag.IntVar(&o.shells, "burst-shells", 100, "webshells interleaved in the burst")
	flag.IntVar(&o.dirs, "dirs", 10000, "directories in the idle tree")
	flag.DurationVar(&o.quiet, "idle-settle", 5*time.Second, "wait after the idle agent is ready before measuring")
	flag.DurationVar(&o.idleFor, "idle", 20*time.Second, "how long idle CPU is measured")
	flag.Parse()
	return o
}

func run() error {
	o := parseFlags()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flag.Arg(0))
	}
	settle, err := time.ParseDuration(o.settle)
	if err != nil {
		return fmt.Errorf("-settle: %w", err)
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("shellwatch binary: %w (run `make build` first)", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	res := results{
		Command:    commandLine(),
		Binary:     bin,
		Settle:     settle.String(),
		CPUs:       runtime.NumCPU(),
		Kernel:     kernelRelease(),
		Started:    time.Now().UTC(),
		Targets:    targets{AlertP99Ms: 20, QuarantineP99Ms: 50, MaxFileBytes: 1 << 20},
		Warmup:     o.warmup,
		PauseMs:    ms(o.pause),
		ShellBytes: len(webshell("single", 0)),
		Defaults:   settle == 250*time.Millisecond,
	}
	fmt.Printf("latencybench: %s\n", res.Command)

	jd, err := journaldlease.Acquire(os.Stderr)
	if err != nil {
		return err
	}
	defer func() {
		if err := jd.Release(); err != nil {
			fmt.Fprintf(os.Stderr, "latencybench: %v\n", err)
		}
	}()
	res.JournaldStartedHere = jd.StartedHere()

	if err := os.MkdirAll(o.workParent, 0o755); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(o.workParent, "latency-")
	if err != nil {
		return err
	}
	// The agent reports real paths; so must the names we match on.
	if dir, err = filepath.Abs(dir); err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Printf("latencybench: working in %s (kept)\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	secret = []byte(hex.EncodeToString(secret))
	if err := os.WriteFile(filepath.Join(dir, "webhook.secret"), append(secret, '\n'), 0o600); err != nil {
		return err
	}
	tr := newTracker()
	recv, err := newReceiver(secret, tr)
	if err != nil {
		return err
	}
	defer recv.close()

	if err := measureLatency(ctx, o, dir, bin, recv, tr, &res); err != nil {
		return err
	}
	if err := measureIdle(ctx, o, dir, bin, recv, tr, &res); err != nil {
		return err
	}
	res.BadSignatures = int(recv.badSig.Load())
	res.Seconds = time.Since(res.Started).Seconds()

	printResults(os.Stdout, &res)
	return writeJSON(o.out, &res)
}

// measureLatency runs phases 1 and 2 on one agent watching dir/www.
func measureLatency(ctx context.Context, o options, dir, bin string, recv *receiver, tr *tracker, res *results) error {
	www := filepath.Join(dir, "www")
	dropDir := filepath.Join(www, "drop")
	burstDir := filepath.Join(www, "burst")
	for _, d := range []string{dropDir, burstDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	cfg, err := writeConfig(dir, "latency", www, o.settle, recv.url())
	if err != nil {
		return err
	}
	// The journal reader starts first and reads every entry of this root
	// (the root is unique to this run), so nothing is missed while it starts.
	jf, err := followJournal(www, tr)
	if err != nil {
		return err
	}
	defer jf.stop()
	gone, err := watchGone(tr, dropDir, burstDir)
	if err != nil {
		return err
	}
	defer gone.close()

	ag, err := startAgent(bin, cfg, filepath.Join(dir, "latency-agent.log"))
	if err != nil {
		return err
	}
	defer ag.stop(30 * time.Second)
	res.AgentCommand = ag.commandLine()
	ready, err := ag.waitReady(ctx, tr, www, 60*time.Second)
	if err != nil {
		return err
	}
	res.Single.ReadySeconds = ready.Seconds()
	fmt.Printf("latencybench: agent pid %d ready in %.2fs; phase 1: %d single drops (+%d warm-up)\n",
		ag.pid(), ready.Seconds(), o.drops, o.warmup)

	single, err := runSingle(ctx, o, o.warmup, o.drops, dropDir, "", tr)
	if err != nil {
		return err
	}
	var renamed []*sample
	if o.renames > 0 {
		fmt.Printf("latencybench: phase 1b: %d webshells renamed in\n", o.renames)
		staging := filepath.Join(dir, "staging")
		if err := os.MkdirAll(staging, 0o755); err != nil {
			return err
		}
		if renamed, err = runSingle(ctx, o, 0, o.renames, dropDir, staging, tr); err != nil {
			return err
		}
	}
	fmt.Printf("latencybench: phase 2: %d webshells among %d benign files\n", o.shells, o.benign)
	burst, info, err := runBurst(ctx, o, burstDir, tr)
	if err != nil {
		return err
	}
	// journald stamps an entry when it receives it; journalctl --follow
	// only hears of it later. Wait for the reader, not for the agent.
	tr.waitStage(ctx, slices.Concat(single, renamed, burst), stageJournal, 30*time.Second)

	res.Single.Drops = len(single)
	res.Single.Stages = stageTable(single)
	res.Single.SlowerThanSettle = countSlower(single, stageGone, mustDuration(o.settle))
	res.Single.NotQuarantined = countNotQuarantined(single)
	if o.renames > 0 {
		res.Renamed = &singleResult{
			Drops:            len(renamed),
			Stages:           stageTable(renamed),
			SlowerThanSettle: countSlower(renamed, stageGone, mustDuration(o.settle)),
			NotQuarantined:   countNotQuarantined(renamed),
		}
	}
	res.Burst = info
	res.Burst.Stages = stageTable(burst)
	res.Burst.SlowerThanSettle = countSlower(burst, stageGone, mustDuration(o.settle))
	res.Burst.NotQuarantined = countNotQuarantined(burst)
	if st, err := procstatus.Read(ag.pid()); err == nil {
		res.Burst.AgentRSSKiB, res.Burst.AgentHWMKiB = st.RSS, st.HWM
	}
	res.UnexpectedAlerts = tr.unexpectedAlerts()
	res.GoneOverflows = gone.overflows()

	took, err := ag.stop(30 * time.Second)
	if err != nil {
		return err
	}
	res.Single.StopSeconds = took.Seconds()
	return nil
}

// runSingle drops webshells one at a time: each is written, then the next
// waits until the webhook has its alert and the file has left the root, and
// a short pause more. The first warmup drops are not returned. With a
// staging dir, each file is written there and renamed into dropDir, and
// its latency counts from the rename.
func runSingle(ctx context.Context, o options, warmup, drops int, dropDir, staging string, tr *tracker) ([]*sample, error) {
	const perDrop = 5 * time.Second // bounds a drop the agent never acts on
	kind := "single"
	if staging != "" {
		kind = "renamed"
	}
	var measured []*sample
	for i := range warmup + drops {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		name := fmt.Sprintf("%s-%05d.php", kind, i)
		p := filepath.Join(dropDir, name)
		s := tr.expect(p)
		var at time.Time
		var err error
		if staging == "" {
			at, err = writeFile(p, webshell(kind, i))
		} else {
			at, err = writeAndRename(filepath.Join(staging, name), p, webshell(kind, i))
		}
		if err != nil {
			return nil, err
		}
		tr.setClosed(s, at)
		select {
		case <-s.acted:
		case <-time.After(perDrop):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		time.Sleep(o.pause)
		if i >= warmup {
			measured = append(measured, s)
		}
		if done := i + 1 - warmup; done > 0 && done%250 == 0 {
			fmt.Printf("latencybench:   %d/%d\n", done, drops)
		}
	}
	return measured, nil
}

// runBurst writes benign files as fast as it can with webshells spread
// evenly among them, then waits for every webshell to be alerted and moved.
func runBurst(ctx context.Context, o options, burstDir string, tr *tracker) ([]*sample, burstResult, error) {
	total := o.benign + o.shells
	isShell := make(map[int]bool, o.shells)
	for j := range o.shells {
		isShell[(2*j+1)*total/(2*o.shells)] = true
	}
	var shells []*sample
	start := time.Now()
	for i := range total {
		if i%500 == 0 && ctx.Err() != nil {
			return nil, burstResult{}, ctx.Err()
		}
		if isShell[i] {
			p := filepath.Join(burstDir, fmt.Sprintf("shell-%05d.php", i))
			s := tr.expect(p)
			closed, err := writeFile(p, webshell("burst", i))
			if err != nil {
				return nil, burstResult{}, err
			}
			tr.setClosed(s, closed)
			shells = append(shells, s)
			continue
		}
		name, content := benignFile(i)
		if _, err := writeFile(filepath.Join(burstDir, name), content); err != nil {
			return nil, burstResult{}, err
		}
	}
	written := time.Since(start)
	tr.waitActed(ctx, shells, 120*time.Second)
	info := burstResult{
		Benign:         o.benign,
		Shells:         len(shells),
		WriteSeconds:   written.Seconds(),
		FilesPerSecond: float64(total) / written.Seconds(),
	}
	if last := lastAt(shells, stageGone); !last.IsZero() {
		info.LastQuarantinedSeconds = last.Sub(start).Seconds()
	}
	return shells, info, nil
}

// measureIdle runs phase 3: a fresh agent over a tree of o.dirs folders.
func measureIdle(ctx context.Context, o options, dir, bin string, recv *receiver, tr *tracker, res *results) error {
	root := filepath.Join(dir, "idle-www")
	fmt.Printf("latencybench: phase 3: building %d directories\n", o.dirs)
	files, err := buildTree(root, o.dirs)
	if err != nil {
		return err
	}
	cfg, err := writeConfig(dir, "idle", root, o.settle, recv.url())
	if err != nil {
		return err
	}
	ag, err := startAgent(bin, cfg, filepath.Join(dir, "idle-agent.log"))
	if err != nil {
		return err
	}
	defer ag.stop(30 * time.Second)
	ready, err := ag.waitReady(ctx, tr, root, 120*time.Second)
	if err != nil {
		return err
	}
	fmt.Printf("latencybench: idle agent pid %d ready in %.2fs; quiet %s, then measuring %s\n",
		ag.pid(), ready.Seconds(), o.quiet, o.idleFor)
	idle := idleResult{Dirs: o.dirs, Files: files, ReadySeconds: ready.Seconds(), Watches: ag.watches()}
	if err := sleep(ctx, o.quiet); err != nil {
		return err
	}
	before, err := readProcStat(ag.pid())
	if err != nil {
		return err
	}
	t0 := time.Now()
	var maxRSS int64
	for time.Since(t0) < o.idleFor {
		if err := sleep(ctx, min(time.Second, o.idleFor-time.Since(t0))); err != nil {
			return err
		}
		if st, err := procstatus.Read(ag.pid()); err == nil {
			maxRSS = max(maxRSS, st.RSS)
		}
	}
	after, err := readProcStat(ag.pid())
	if err != nil {
		return err
	}
	wall := time.Since(t0)
	st, err := procstatus.Read(ag.pid())
	if err != nil {
		return err
	}
	idle.Seconds = wall.Seconds()
	idle.CPUSeconds = float64(after-before) / clockTicks
	idle.CPUPercent = 100 * idle.CPUSeconds / wall.Seconds()
	idle.RSSKiB, idle.HWMKiB, idle.MaxRSSKiB = st.RSS, st.HWM, max(maxRSS, st.RSS)
	res.Idle = idle
	if _, err := ag.stop(30 * time.Second); err != nil {
		return err
	}
	return nil
}

// writeConfig writes the daemon's config for one web root, like the agent
// tests' harness: webhook at every severity and never grouped.
func writeConfig(dir, name, root, settle, webhookURL string) (string, error) {
	state := filepath.Join(dir, name+"-state")
	cfg := fmt.Sprintf(`# written by latencybench
[agent]
state_dir = %q
settle = %q
log_level = "info"

[[watch]]
path = %q

[quarantine]
min_severity = "high"

[journald]
enabled = true

[[webhook]]
url = %q
secret_file = "webhook.secret"
min_severity = "low"
rate = 0.0
`, state, settle, root, webhookURL)
	p := filepath.Join(dir, name+".toml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		return "", err
	}
	return p, nil
}

// payloadKind chooses the webshell dropped (-payload), phpKB the size of
// the php one (-php-kb).
var (
	payloadKind = "yara"
	phpKB       = 40
)

// webshell is a PHP webshell with a comment that makes every copy's hash
// unique: a one-liner the bundled YARA rules flag as critical, or (-payload
// php) a page of ordinary functions (40 KB by default) ending in a class whose
// destructor runs a command from the request through a name built from a
// literal's letters, which only the PHP analyzer finds: the whole file is
// parsed and followed on the alert's path.
func webshell(phase string, i int) []byte {
	if payloadKind == "php" {
		b := fmt.Appendf(nil, "<?php\n// latencybench %s %d %d\n", phase, i, time.Now().UnixNano())
		b = append(b, phpPayload()...)
		return b
	}
	return fmt.Appendf(nil, "<?php @eval($_POST[\"x\"]); ?>\n<!-- latencybench %s %d %d -->\n", phase, i, time.Now().UnixNano())
}

var phpPayload = sync.OnceValue(func() []byte {
	var b []byte
	for i := 0; len(b) < phpKB*1000-300; i++ {
		b = fmt.Appendf(b, "function helper_%d($a, $b) {\n    $r = array_map('trim', explode(',', $a));\n    return count($r) > %d ? implode('-', $r) . $b : $b;\n}\n", i, i%7)
	}
	return append(b, `class Page {
    public $v;
    function __construct($r) { $this->v = $r['q']; }
    function __destruct() {
        $k = 'abcdefghijklmnopqrstuvwxyz';
        $n = $k[18] . $k[24] . $k[18] . $k[19] . $k[4] . $k[12];
        $n($this->v);
    }
}
new Page($_REQUEST);
`...)
})

// benignFile returns the name and content of the i-th harmless file.
func benignFile(i int) (string, []byte) {
	switch i % 4 {
	case 0:
		return fmt.Sprintf("page-%05d.php", i), fmt.Appendf(nil, "<?php\n// page %d\necho htmlspecialchars($_GET['q'] ?? '');\n", i)
	case 1:
		return fmt.Sprintf("page-%05d.html", i), fmt.Appendf(nil, "<!doctype html>\n<title>page %d</title>\n<p>Hello.</p>\n", i)
	case 2:
		return fmt.Sprintf("app-%05d.js", i), fmt.Appendf(nil, "// app %d\ndocument.title = 'page %d';\n", i, i)
	default:
		return fmt.Sprintf("style-%05d.css", i), fmt.Appendf(nil, "/* style %d */\nbody { margin: %dpx; }\n", i, i%40)
	}
}

// writeFile creates path with content and returns the time right after
// close() returned.
func writeFile(path string, content []byte) (time.Time, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return time.Time{}, err
	}
	_, werr := f.Write(content)
	cerr := f.Close()
	closed := time.Now()
	if err := errors.Join(werr, cerr); err != nil {
		return time.Time{}, fmt.Errorf("write %s: %w", path, err)
	}
	return closed, nil
}

// writeAndRename writes content to tmp, then renames it to path, and
// returns the time right after rename() returned.
func writeAndRename(tmp, path string, content []byte) (time.Time, error) {
	if _, err := writeFile(tmp, content); err != nil {
		return time.Time{}, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return time.Time{}, err
	}
	return time.Now(), nil
}

// buildTree makes n directories below root (about sqrt(n) at the top, the
// rest one level down) with two small files in every hundredth, and
// returns the number of files.
func buildTree(root string, n int) (int, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return 0, err
	}
	top := max(1, int(math.Sqrt(float64(n))))
	var dirs []string
	for i := 0; i < top && len(dirs) < n; i++ {
		dirs = append(dirs, filepath.Join(root, fmt.Sprintf("d%03d", i)))
	}
	for j := 0; len(dirs) < n; j++ {
		dirs = append(dirs, filepath.Join(dirs[j%top], fmt.Sprintf("s%05d", j)))
	}
	files := 0
	for i, d := range dirs {
		if err := os.Mkdir(d, 0o755); err != nil {
			return 0, err
		}
		if i%100 != 0 {
			continue
		}
		for k := range 2 {
			name, content := benignFile(i + k)
			if _, err := writeFile(filepath.Join(d, name), content); err != nil {
				return 0, err
			}
			files++
		}
	}
	return files, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func mustDuration(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

// commandLine is how this run was started; under `go run` the binary is a
// temp file, so the package is named instead.
func commandLine() string {
	prog := os.Args[0]
	if strings.Contains(prog, "go-build") {
		prog = "go run ./internal/cmd/latencybench"
	}
	return strings.Join(append([]string{prog}, os.Args[1:]...), " ")
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
