package guard

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/testenv"
)

// When the guard's process dies, kill -9 included, the kernel allows every
// open it held: the web server keeps serving. A new guard holds opens
// again.
func TestGuardKilledFailsOpen(t *testing.T) {
	needRoot(t)
	root := webRoot(t)
	var files []string
	for _, name := range []string{"a.php", "b.php", "c.php"} {
		files = append(files, testenv.WriteFile(t, filepath.Join(root, name), "<?php echo '"+name+"';"))
	}
	child := startGuardChild(t, root)
	var webs []*opener
	for _, f := range files {
		w := startOpener(t, wwwData)
		w.ask(f)
		webs = append(webs, w)
	}
	for _, w := range webs {
		testenv.Eventually(t, waitFor, "the open held", func() bool { return testenv.InFanotify(w.cmd.Process.Pid) })
	}
	killed := time.Now()
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	for i, w := range webs {
		got, err := w.answer()
		if err != nil || !strings.Contains(got, filepath.Base(files[i])) {
			t.Errorf("held open of %s after kill -9: %q %v, want served", files[i], got, err)
		}
	}
	t.Logf("3 held opens completed %s after kill -9 of the guard", time.Since(killed).Round(time.Microsecond))

	// A new guard holds again.
	startGuardChild(t, root)
	w := startOpener(t, wwwData)
	w.ask(files[0])
	testenv.Eventually(t, waitFor, "the open held by the restarted guard", func() bool { return testenv.InFanotify(w.cmd.Process.Pid) })
}

// startGuardChild starts the test binary as a guard of root that never
// answers before its deadline of an hour, and waits for its marks.
func startGuardChild(t *testing.T, root string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), guardChildEnv+"="+root)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() // this test's own child, by its pid
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("guard child: %q %v", line, err)
	}
	return cmd
}
