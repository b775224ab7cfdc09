package testenv

import (
	"testing"

	"golang.org/x/sys/unix"
)

// MkdirDeep makes depth nested folders named name below root through
// descriptors, as an attacker would with relative mkdir (the path may go
// past PATH_MAX and past bbolt's keys), and returns the deepest one open.
// RemoveDeep removes them.
func MkdirDeep(t testing.TB, root, name string, depth int) int {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range depth {
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			unix.Close(fd)
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd = next
	}
	return fd
}

// WriteAt opens name in the folder dirfd for writing, with flags added
// (unix.O_CREAT|unix.O_EXCL to make it, unix.O_APPEND to grow it), and
// writes content.
func WriteAt(t testing.TB, dirfd int, name string, flags int, content string) {
	t.Helper()
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CLOEXEC|flags, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(content)); err != nil {
		t.Fatal(err)
	}
}

// RemoveDeep removes what MkdirDeep made, and the files named at its
// bottom, from the bottom up through descriptors: a path past PATH_MAX
// cannot be removed by name.
func RemoveDeep(t testing.TB, root, name string, depth int, files ...string) {
	t.Helper()
	fds := make([]int, 0, depth+1)
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	for i := 0; err == nil && i <= depth; i++ {
		fds = append(fds, fd)
		if i < depth {
			fd, err = unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
	}
	if len(fds) == depth+1 {
		for _, f := range files {
			unix.Unlinkat(fds[depth], f, 0)
		}
	}
	for i := len(fds) - 1; i >= 0; i-- {
		if i < len(fds)-1 {
			if err := unix.Unlinkat(fds[i], name, unix.AT_REMOVEDIR); err != nil {
				t.Errorf("remove level %d of the deep tree: %v", i+1, err)
			}
		}
		unix.Close(fds[i])
	}
}
