package packaging

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// mdweExecEnv makes the test binary a launcher (see TestMain): it turns on
// the kernel's memory-deny-write-execute for itself and execs the command
// the variable holds (arguments separated by the byte 0x1f).
const mdweExecEnv = "SHELLWATCH_TEST_MDWE_EXEC"

// execUnderMDWE sets PR_SET_MDWE (Linux 6.3+; kept across execve) and
// replaces the process with args. Exit status 99 means the kernel has no
// MDWE.
func execUnderMDWE(args []string) {
	if err := unix.Prctl(unix.PR_SET_MDWE, unix.PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "PR_SET_MDWE:", err)
		os.Exit(99)
	}
	err := syscall.Exec(args[0], args, os.Environ())
	fmt.Fprintln(os.Stderr, "exec:", err)
	os.Exit(98)
}

// TestScanUnderMemoryDenyWriteExecute runs shellwatch (Go runtime, cgo,
// libyara compiling and matching the bundled rules) with writable-executable
// memory refused by the kernel, as MemoryDenyWriteExecute=yes in the unit
// does with seccomp: YARA does not JIT, so the scan must work the same.
func TestScanUnderMemoryDenyWriteExecute(t *testing.T) {
	bin := shellwatchBinary(t)
	dir := t.TempDir()
	shell := filepath.Join(dir, "upload.php")
	write(t, shell, `<?php @eval($_POST["cmd"]); ?>`+"\n")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), mdweExecEnv+"="+strings.Join([]string{bin, "scan", dir}, "\x1f"))
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code == 99 {
		t.Skipf("this kernel has no PR_SET_MDWE (Linux 6.3+): %s", out)
	}
	if code != 1 || !strings.Contains(string(out), shell) {
		t.Fatalf("shellwatch scan with MDWE: exit %d, want 1 naming %s:\n%s", code, shell, out)
	}
}
