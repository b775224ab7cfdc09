package guard

import (
	"bytes"
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// statusReader reads the user ids of processes from /proc/PID/status,
// reusing its buffer: the read loop calls it for every event, so it costs
// three system calls.
type statusReader struct {
	proc string // "/proc", or a test's
	buf  []byte
}

func newStatusReader(proc string) *statusReader {
	return &statusReader{proc: proc, buf: make([]byte, 8<<10)}
}

var errNoUid = errors.New("no Uid line")

// uids returns the real, effective, saved and file-system user ids of pid.
// The thread-group leader's: fanotify reports the thread group's id.
func (r *statusReader) uids(pid int32) ([4]uint32, error) {
	var ids [4]uint32
	fd, err := unix.Open(r.proc+"/"+strconv.Itoa(int(pid))+"/status", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ids, err
	}
	n, err := readFull(fd, r.buf)
	unix.Close(fd)
	if err != nil {
		return ids, err
	}
	return parseUids(r.buf[:n])
}

// parseUids finds the "Uid:" line of a status file. The Name line before
// it is the process's own to choose, but the kernel escapes a newline in
// it, so the line found at the start of a line is the kernel's.
func parseUids(status []byte) ([4]uint32, error) {
	var ids [4]uint32
	i := bytes.Index(status, []byte("\nUid:"))
	if i < 0 {
		return ids, errNoUid
	}
	line := status[i+5:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	fields := bytes.Fields(line)
	if len(fields) != 4 {
		return ids, errNoUid
	}
	for k, f := range fields {
		v, err := strconv.ParseUint(string(f), 10, 32)
		if err != nil {
			return ids, errNoUid
		}
		ids[k] = uint32(v)
	}
	return ids, nil
}

// readFull reads from fd until buf is full or the end.
func readFull(fd int, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// maxCmdline bounds the command line read for an alert.
const maxCmdline = 4096

// describe reads what an alert says of a process: its executable and its
// command line (arguments joined by spaces). Read after the answer; empty
// when the process is gone or hidden.
func describe(proc string, pid int32) (exe, cmdline string) {
	dir := proc + "/" + strconv.Itoa(int(pid))
	exe, _ = os.Readlink(dir + "/exe")
	f, err := os.Open(dir + "/cmdline")
	if err != nil {
		return exe, ""
	}
	defer f.Close()
	buf := make([]byte, maxCmdline)
	n, _ := f.Read(buf)
	args := bytes.TrimRight(buf[:n], "\x00")
	return exe, string(bytes.ReplaceAll(args, []byte{0}, []byte{' '}))
}
