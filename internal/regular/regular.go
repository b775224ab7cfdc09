// Package regular opens and reads files whose path an operator or an
// attacker may have pointed at something else than a file: a FIFO, a
// device or a directory in a file's place. Opening never blocks (a FIFO
// with no writer would hold the caller forever) and anything but a regular
// file is refused with an error naming the path and what it is.
package regular

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Open opens path read-only, close-on-exec and without blocking, and
// returns it only when the open file is a regular file. The check is made
// on the file opened (fstat), so a path swapped after the open changes
// nothing. The caller closes the file.
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: not a regular file (%s)", path, TypeName(fi.Mode()))
	}
	return f, nil
}

// ReadFile reads the regular file at path whole, as Open opens it, and
// returns its content and the FileInfo of the open file. A file of more
// than max bytes is an error, also when it grows past max while read.
func ReadFile(path string, max int64) ([]byte, fs.FileInfo, error) {
	f, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.Size() > max {
		return nil, nil, fmt.Errorf("%s: %d bytes, more than %d", path, fi.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, nil, fmt.Errorf("%s: more than %d bytes", path, max)
	}
	return data, fi, nil
}

// TypeName names the kind of file m is, in the words the scanner uses:
// "fifo", "directory", "character device".
func TypeName(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsDir():
		return "directory"
	default:
		return "unknown type"
	}
}
