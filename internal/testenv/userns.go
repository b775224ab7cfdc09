package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// namespaceWatchLimit is the inotify watch limit of the caller's user
// namespace (Linux 5.11 and later). A limit set in a child namespace below
// its parent's is the one its processes meet; the parent's, which every
// other test shares, is untouched.
const namespaceWatchLimit = "/proc/sys/user/max_inotify_watches"

// InUserNamespace makes cmd start in a new user namespace where it is root
// (uid and gid 0 mapped to 0, nothing else): it keeps root's files and
// loopback, and gets inotify limits of its own.
func InUserNamespace(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
	cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
}

// NeedUserNamespaceLimits skips t unless it runs as root on a kernel with
// per user namespace inotify limits and nsenter (util-linux) is there to
// change a child namespace's limit.
func NeedUserNamespaceLimits(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: it maps root into a user namespace")
	}
	if _, err := os.Stat(namespaceWatchLimit); err != nil {
		t.Skipf("no per user namespace inotify limit (Linux 5.11+): %v", err)
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("needs nsenter (util-linux)")
	}
}

// SetNamespaceWatchLimit sets the inotify watch limit of the caller's user
// namespace to limit. It refuses in the initial user namespace, whose
// limit is the whole machine's (fs.inotify.max_user_watches).
func SetNamespaceWatchLimit(limit string) error {
	m, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return err
	}
	if f := strings.Fields(string(m)); len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295" {
		return fmt.Errorf("refusing to set %s in the initial user namespace", namespaceWatchLimit)
	}
	return os.WriteFile(namespaceWatchLimit, []byte(limit), 0o644)
}

// SetWatchLimitOf sets the inotify watch limit of the user namespace of
// process pid (one InUserNamespace started), from inside it.
func SetWatchLimitOf(t testing.TB, pid, limit int) {
	t.Helper()
	cmd := exec.Command("nsenter", "-U", "-t", strconv.Itoa(pid), "/bin/sh", "-c", `echo "$1" > "$2"`, "sh", strconv.Itoa(limit), namespaceWatchLimit)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("set the watch limit of pid %d's user namespace: %v: %s", pid, err, out)
	}
}

// WatchLimit is the inotify watch limit of the caller's user namespace.
func WatchLimit(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(namespaceWatchLimit)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
