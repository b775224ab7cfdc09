package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the module root, where the Makefile and nfpm.yaml's relative
// paths start.
const repoRoot = ".."

// binDir holds the shellwatch binary the tests build once; TestMain
// removes it.
var (
	binDir    string
	buildOnce sync.Once
	buildErr  error
	builtBin  string
)

func TestMain(m *testing.M) {
	if args := os.Getenv(mdweExecEnv); args != "" {
		execUnderMDWE(strings.Split(args, "\x1f"))
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// shellwatchBinary builds cmd/shellwatch once (as `make build` does, with
// the version version.sh gives) into a temporary folder and returns its path.
func shellwatchBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		var v []byte
		if v, buildErr = exec.Command("./version.sh").Output(); buildErr != nil {
			return
		}
		binDir, buildErr = os.MkdirTemp("", "shellwatch-packaging-")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(binDir, "shellwatch")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version="+strings.TrimSpace(string(v)), "-o", builtBin, "./cmd/shellwatch")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("build shellwatch: %v", buildErr)
	}
	return builtBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ":\n" + e.out }

// needCommand skips the test when name is not installed.
func needCommand(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (make deps installs it): %v", name, err)
	}
	return p
}

// run runs a command and returns its combined output and exit code; a
// command that cannot start fails the test.
func run(t *testing.T, dir string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out), 0
}
