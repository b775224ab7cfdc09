package agent

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/testenv"
)

// The fail-open of issue 13 with the real agent: a `shellwatch run` agent
// in its own process holds www-data's opens of new scripts big enough that
// their scans take a while; kill -9 of the agent while they are held lets
// every one of them through (the kernel allows what a closed fanotify
// descriptor held), and the restarted agent refuses a flagged file again.
func TestPreventionKilledAgentFailsOpen(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("prevention needs root (fanotify permission events); CI runs as root")
	}
	h := newHarness(t)
	page := testenv.WriteFile(t, filepath.Join(h.www, "index.php"), raceBenign)
	testenv.Searchable(t, h.www)
	// A long deadline: the opens stay held until the kill, not until the
	// guard gives up on them.
	h.extraConfig = "[prevent]\nenabled = true\nusers = [\"www-data\"]\ndeadline = \"5s\"\n"
	c := h.startChild()

	// New scripts of 16 MiB each, clean: the two prevention workers scan
	// them one after the other, well past the moment of the kill.
	body := bigCleanScript(16 << 20)
	var files []string
	for i := range 4 {
		p := filepath.Join(h.www, fmt.Sprintf("big-%d.php", i))
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	type read struct {
		err error
		at  time.Time
	}
	cats := make([]*exec.Cmd, len(files))
	results := make([]chan read, len(files))
	for i, f := range files {
		cmd := testenv.AsWebUser("cat", f)
		// Straight into a file: the time measured is the open's and the
		// copy's, not this process reading a pipe.
		out, err := os.Create(filepath.Join(h.outside, fmt.Sprintf("cat-%d.out", i)))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cats[i], results[i] = cmd, make(chan read, 1)
		go func(i int) {
			err := cmd.Wait()
			results[i] <- read{err, time.Now()}
			out.Close()
		}(i)
		t.Cleanup(func() { cmd.Process.Kill() }) // this test's own cat, by its pid; a no-op once it exited
	}
	held := func() (n int) {
		for _, cmd := range cats {
			if testenv.InFanotify(cmd.Process.Pid) {
				n++
			}
		}
		return n
	}
	testenv.Eventually(t, waitFor, "every www-data open held by the agent", func() bool { return held() == len(cats) })

	killed := time.Now()
	c.kill9(t)
	reaped := time.Since(killed)
	testenv.Eventually(t, waitFor, "no open held after kill -9 of the agent", func() bool { return held() == 0 })
	released := time.Since(killed)
	var slowest time.Duration
	for i, res := range results {
		select {
		case r := <-res:
			slowest = max(slowest, r.at.Sub(killed))
			got, err := os.ReadFile(filepath.Join(h.outside, fmt.Sprintf("cat-%d.out", i)))
			if r.err != nil || err != nil || !bytes.Equal(got, body) {
				t.Errorf("held open of %s after kill -9 of the agent: %v %v, %d of %d bytes; want served whole", files[i], r.err, err, len(got), len(body))
			}
		case <-time.After(waitFor):
			t.Fatalf("the held open of %s did not complete after kill -9 of the agent: a stuck web server", files[i])
		}
	}
	t.Logf("%d held opens of %d MiB scripts completed at most %s after kill -9 of the agent (goal: 1s); the agent was reaped after %s, no open held after %s",
		len(files), len(body)>>20, slowest.Round(time.Microsecond), reaped.Round(time.Microsecond), released.Round(time.Microsecond))

	// The restarted agent guards again: index.php, edited in place into a
	// webshell (left in place: quarantine_modified is off), is refused to
	// www-data.
	h.startChild()
	if err := os.WriteFile(page, []byte(raceShell), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := testenv.AsWebUser("cat", page).CombinedOutput()
	if err == nil || strings.Contains(string(out), "system(") || !strings.Contains(string(out), "Operation not permitted") {
		t.Errorf("www-data after the restart read the webshell %s: err %v, %q; want it refused", page, err, out)
	}
}

// bigCleanScript is a clean PHP script of about size bytes.
func bigCleanScript(size int) []byte {
	var b bytes.Buffer
	b.WriteString("<?php\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "$v%d = strtolower(\"abc%d\") . substr(\"xyz\", %d, 2); echo htmlspecialchars($v%d);\n", i, i, i%3, i)
	}
	return b.Bytes()
}
