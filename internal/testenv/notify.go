package testenv

import (
	"errors"
	"net"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// FullNotifySocket is a notify socket, as systemd's, that nobody reads,
// filled until a write would block. It is closed when the test ends.
func FullNotifySocket(t *testing.T) (path string, ln *net.UnixConn) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	for n := 0; ; n++ {
		err := unix.Send(fd, []byte("FILLER=1"), unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			if n == 0 {
				t.Fatal("the notify socket was full before it was filled")
			}
			return path, ln
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
