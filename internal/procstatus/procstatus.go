// Package procstatus reads the memory figures of a process from
// /proc/PID/status, for the benchmarks that report them.
package procstatus

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Memory is what /proc/PID/status says of a process's memory, in KiB.
type Memory struct {
	// RSS is VmRSS, what the process has in RAM now; HWM is VmHWM, the
	// peak of RSS.
	RSS, HWM int64
	// Anon is RssAnon, the anonymous part of RSS: the heap and the stacks,
	// not the file pages of a map, which the kernel can drop and read back.
	Anon int64
}

// Read returns the memory figures of pid; pid 0 is this process.
func Read(pid int) (Memory, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	f, err := os.Open(path)
	if err != nil {
		return Memory{}, err
	}
	defer f.Close()
	var m Memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		switch key {
		case "VmRSS":
			m.RSS = kib
		case "VmHWM":
			m.HWM = kib
		case "RssAnon":
			m.Anon = kib
		}
	}
	if err := sc.Err(); err != nil {
		return Memory{}, fmt.Errorf("%s: %w", path, err)
	}
	if m.RSS == 0 {
		return Memory{}, fmt.Errorf("%s: no VmRSS line (a kernel thread, or a process that exited)", path)
	}
	return m, nil
}
