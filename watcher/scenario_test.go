package watcher

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shellwatch/shellwatch/walk"
)

// TestScenarios runs every testdata/*.txt scenario against a real Watcher on
// real inotify. A scenario is a script of filesystem operations, then the
// line "Output:" and what must be reported.
//
// Script (one operation a line; "#" starts a comment; an argument may be a
// Go-quoted string such as "new\nline.php" for hostile names). Paths are
// relative to the watched root ("." is the root itself); a path starting
// with /outside is in a second directory on the same filesystem that is not
// watched:
//
//	exclude PATTERN         exclude paths matching PATTERN, a walk.Globs pattern (before watch)
//	watch                   start watching here (default: before the first operation);
//	                        operations above it are setup, not watched
//	mkdir [-p] DIR          make a directory
//	write FILE TEXT...      create or truncate FILE and write TEXT
//	append FILE TEXT...     append TEXT to FILE
//	touch FILE              create FILE or update its times
//	chmod MODE FILE         change the mode (octal)
//	mv SRC DST              rename
//	ln SRC DST              hard link
//	symlink TARGET NAME     make NAME a symlink to TARGET (TARGET taken as a path too)
//	mkfifo NAME             make a FIFO
//	rm [-r] PATH            remove a file (-r: a tree)
//	rmdir DIR               remove an empty directory
//	sleep DURATION          pause the workload (to shape writes, never to wait for a result)
//
// Output (one expectation a line):
//
//	OPS PATH                at least one Change for PATH with one of OPS: created, modified,
//	                        removed, resync, joined by | for alternatives, or any
//	never PATH              no Change for PATH, up to a barrier at the end of the scenario
//	maybe PATH              a Change for PATH is allowed but not required (kernel-dependent)
//	problem KIND            at least one Problem of KIND (overflow, watch-limit, root-missing,
//	                        root-restored, watch-error)
//
// Coalescing makes exact sequences racy, so expectations are "at least once"
// and order-independent (a file written just as its new directory's watch
// lands may first be seen through its write: created|modified|resync), with
// three checks on top: every PATH the script touched last is reported after
// that last operation started (so the final content of a file is always
// reported); every Change names a path listed in the Output (no directory,
// no excluded or outside path, nothing invented); and every Change carries
// the root.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenarios in testdata")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			t.Parallel()
			sc, err := parseScenario(file)
			if err != nil {
				t.Fatal(err)
			}
			sc.run(t)
		})
	}
}

// The daemon passes a *walk.Globs as Root.Exclude.
var _ Excluder = (*walk.Globs)(nil)

type scenario struct {
	file     string
	excludes []string
	setup    []op
	script   []op
	expect   []expectation
	never    []string
	maybe    []string
	problems []ProblemKind
}

type op struct {
	line int
	args []string
}

type expectation struct {
	line int
	ops  []Op // empty: any
	path string
}

var opNames = map[string]Op{"created": OpCreated, "modified": OpModified, "removed": OpRemoved, "resync": OpResync}

var problemNames = map[string]ProblemKind{
	"overflow": ProblemOverflow, "watch-limit": ProblemWatchLimit, "root-missing": ProblemRootMissing,
	"root-restored": ProblemRootRestored, "watch-error": ProblemWatchError, "root-symlink": ProblemRootSymlink, "root-watched": ProblemRootWatched,
}

func parseScenario(file string) (*scenario, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := &scenario{file: file}
	var (
		inOutput bool
		watched  bool
		ops      []op
	)
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		args, err := tokenize(s.Text())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", file, n, err)
		}
		if len(args) == 0 {
			continue
		}
		bad := func(format string, a ...any) error {
			return fmt.Errorf("%s:%d: %s", file, n, fmt.Sprintf(format, a...))
		}
		if !inOutput {
			switch args[0] {
			case "Output:":
				inOutput = true
			case "exclude":
				if len(args) != 2 || watched {
					return nil, bad("exclude PATTERN, before watch")
				}
				sc.excludes = append(sc.excludes, args[1])
			case "watch":
				if watched {
					return nil, bad("watch twice")
				}
				watched = true
				sc.setup, ops = ops, nil
			default:
				if _, ok := commands[args[0]]; !ok {
					return nil, bad("unknown operation %q", args[0])
				}
				ops = append(ops, op{line: n, args: args})
			}
			continue
		}
		switch {
		case len(args) != 2:
			return nil, bad("expected OPS PATH, never PATH, maybe PATH or problem KIND")
		case args[0] == "never":
			sc.never = append(sc.never, args[1])
		case args[0] == "maybe":
			sc.maybe = append(sc.maybe, args[1])
		case args[0] == "problem":
			k, ok := problemNames[args[1]]
			if !ok {
				return nil, bad("unknown problem kind %q", args[1])
			}
			sc.problems = append(sc.problems, k)
		default:
			e := expectation{line: n, path: args[1]}
			if args[0] != "any" {
				for _, name := range strings.Split(args[0], "|") {
					o, ok := opNames[name]
					if !ok {
						return nil, bad("unknown op %q", name)
					}
					e.ops = append(e.ops, o)
				}
			}
			sc.expect = append(sc.expect, e)
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	if !inOutput {
		return nil, fmt.Errorf("%s: no Output: section", file)
	}
	sc.script = ops
	return sc, nil
}

// tokenize splits a line into whitespace-separated arguments; an argument
// that starts with a double quote is a Go string literal; # starts a comment.
func tokenize(line string) ([]string, error) {
	var args []string
	for {
		line = strings.TrimLeftFunc(line, unicode.IsSpace)
		if line == "" || line[0] == '#' {
			return args, nil
		}
		if line[0] == '"' {
			end := 1
			for ; end < len(line) && line[end] != '"'; end++ {
				if line[end] == '\\' {
					end++
				}
			}
			if end >= len(line) {
				return nil, fmt.Errorf("unterminated string")
			}
			s, err := strconv.Unquote(line[:end+1])
			if err != nil {
				return nil, err
			}
			args = append(args, s)
			line = line[end+1:]
			continue
		}
		end := strings.IndexFunc(line, unicode.IsSpace)
		if end < 0 {
			end = len(line)
		}
		args = append(args, line[:end])
		line = line[end:]
	}
}

// env is where a scenario runs.
type env struct {
	t             *testing.T
	root, outside string
}

// abs turns a scenario path into a real one.
func (e env) abs(p string) string {
	if p == "/outside" || strings.HasPrefix(p, "/outside/") {
		return e.outside + strings.TrimPrefix(p, "/outside")
	}
	return filepath.Join(e.root, p)
}

// rel turns a reported path back into a scenario path.
func (e env) rel(p string) string {
	switch {
	case p == e.root:
		return "."
	case strings.HasPrefix(p, e.root+"/"):
		return strings.TrimPrefix(p, e.root+"/")
	case p == e.outside || strings.HasPrefix(p, e.outside+"/"):
		return "/outside" + strings.TrimPrefix(p, e.outside)
	}
	return p
}

// command runs one operation and returns the scenario paths it touched.
type command func(e env, args []string) ([]string, error)

var commands map[string]command

func init() {
	commands = map[string]command{
		"mkdir": func(e env, a []string) ([]string, error) {
			if len(a) == 2 && a[0] == "-p" {
				return nil, os.MkdirAll(e.abs(a[1]), 0o755)
			}
			if len(a) != 1 {
				return nil, fmt.Errorf("mkdir [-p] DIR")
			}
			return nil, os.Mkdir(e.abs(a[0]), 0o755)
		},
		"write": func(e env, a []string) ([]string, error) {
			if len(a) < 1 {
				return nil, fmt.Errorf("write FILE TEXT...")
			}
			return a[:1], os.WriteFile(e.abs(a[0]), []byte(strings.Join(a[1:], " ")), 0o644)
		},
		"append": func(e env, a []string) ([]string, error) {
			if len(a) < 1 {
				return nil, fmt.Errorf("append FILE TEXT...")
			}
			f, err := os.OpenFile(e.abs(a[0]), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return nil, err
			}
			if _, err := f.WriteString(strings.Join(a[1:], " ")); err != nil {
				f.Close()
				return nil, err
			}
			return a[:1], f.Close()
		},
		"touch": func(e env, a []string) ([]string, error) {
			if len(a) != 1 {
				return nil, fmt.Errorf("touch FILE")
			}
			f, err := os.OpenFile(e.abs(a[0]), os.O_WRONLY|os.O_CREATE, 0o644)
			if err != nil {
				return nil, err
			}
			f.Close()
			now := time.Now()
			return a, os.Chtimes(e.abs(a[0]), now, now)
		},
		"chmod": func(e env, a []string) ([]string, error) {
			if len(a) != 2 {
				return nil, fmt.Errorf("chmod MODE FILE")
			}
			m, err := strconv.ParseUint(a[0], 8, 32)
			if err != nil {
				return nil, err
			}
			return a[1:], os.Chmod(e.abs(a[1]), os.FileMode(m))
		},
		"mv": func(e env, a []string) ([]string, error) {
			if len(a) != 2 {
				return nil, fmt.Errorf("mv SRC DST")
			}
			return a, os.Rename(e.abs(a[0]), e.abs(a[1]))
		},
		"ln": func(e env, a []string) ([]string, error) {
			if len(a) != 2 {
				return nil, fmt.Errorf("ln SRC DST")
			}
			return a[1:], os.Link(e.abs(a[0]), e.abs(a[1]))
		},
		"symlink": func(e env, a []string) ([]string, error) {
			if len(a) != 2 {
				return nil, fmt.Errorf("symlink TARGET NAME")
			}
			return a[1:], os.Symlink(e.abs(a[0]), e.abs(a[1]))
		},
		"mkfifo": func(e env, a []string) ([]string, error) {
			if len(a) != 1 {
				return nil, fmt.Errorf("mkfifo NAME")
			}
			return a, syscall.Mkfifo(e.abs(a[0]), 0o644)
		},
		"rm": func(e env, a []string) ([]string, error) {
			if len(a) == 2 && a[0] == "-r" {
				return a[1:], os.RemoveAll(e.abs(a[1]))
			}
			if len(a) != 1 {
				return nil, fmt.Errorf("rm [-r] PATH")
			}
			return a, os.Remove(e.abs(a[0]))
		},
		"rmdir": func(e env, a []string) ([]string, error) {
			if len(a) != 1 {
				return nil, fmt.Errorf("rmdir DIR")
			}
			return a, syscall.Rmdir(e.abs(a[0]))
		},
		"sleep": func(e env, a []string) ([]string, error) {
			if len(a) != 1 {
				return nil, fmt.Errorf("sleep DURATION")
			}
			d, err := time.ParseDuration(a[0])
			if err != nil {
				return nil, err
			}
			time.Sleep(d)
			return nil, nil
		},
	}
}

// barrier is the file created at the end of every scenario: once it is
// reported, what the script did before it has had its chance to be.
const barrier = ".scenario-barrier"

func (sc *scenario) run(t *testing.T) {
	base := t.TempDir()
	e := env{t: t, root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	for _, d := range []string{e.root, e.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exec := func(o op) []string {
		touched, err := commands[o.args[0]](e, o.args[1:])
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", sc.file, o.line, strings.Join(o.args, " "), err)
		}
		return touched
	}
	for _, o := range sc.setup {
		exec(o)
	}
	opts := Options{Roots: []Root{{Path: e.root}}}
	if len(sc.excludes) > 0 {
		ex, err := walk.CompileGlobs(sc.excludes)
		if err != nil {
			t.Fatalf("%s: exclude: %v", sc.file, err)
		}
		opts.Roots[0].Exclude = ex
	}
	h := startWatcher(t, opts)

	// Scenario path → mark taken just before its last operation: a report
	// at or after it came after that operation started.
	lastTouch := make(map[string]int)
	for _, o := range sc.script {
		m := h.mark()
		for _, p := range exec(o) {
			lastTouch[p] = m
		}
	}

	for _, x := range sc.expect {
		h.waitChange(0, e.abs(x.path), x.ops...)
		if m, ok := lastTouch[x.path]; ok {
			h.waitChange(m, e.abs(x.path))
		}
	}
	for _, k := range sc.problems {
		h.waitProblem(k)
	}
	if err := os.WriteFile(filepath.Join(e.root, barrier), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitChange(0, filepath.Join(e.root, barrier))

	listed := map[string]bool{barrier: true}
	for _, x := range sc.expect {
		listed[x.path] = true
	}
	for _, p := range sc.maybe {
		listed[p] = true
	}
	never := make(map[string]bool)
	for _, p := range sc.never {
		never[p] = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if r.problem != nil {
			continue
		}
		c := r.change
		p := e.rel(c.Path)
		switch {
		case never[p]:
			t.Errorf("%s: reported %s %s, which the scenario says never", sc.file, c.Op, quoteIfOdd(p))
		case !listed[p]:
			t.Errorf("%s: reported %s %s, which is not in the Output", sc.file, c.Op, quoteIfOdd(p))
		}
		if c.Root != e.root {
			t.Errorf("%s: change %s has root %q, want %q", sc.file, quoteIfOdd(p), c.Root, e.root)
		}
	}
}

// quoteIfOdd quotes a path that holds a space, a control character or
// invalid UTF-8, so test output shows it exactly.
func quoteIfOdd(p string) string {
	if !utf8.ValidString(p) || strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(p)
	}
	return p
}
