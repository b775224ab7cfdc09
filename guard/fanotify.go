package guard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// permMask is what the guard holds: every open, and every open to execute.
const permMask = unix.FAN_OPEN_PERM | unix.FAN_OPEN_EXEC_PERM

// dirMask is what the second group hears: folders made or moved in, and
// the files whose attributes change (which ends their trust, ignore.go).
const dirMask = unix.FAN_CREATE | unix.FAN_MOVED_TO | unix.FAN_ONDIR | unix.FAN_ATTRIB | unix.FAN_EVENT_ON_CHILD

// metadataLen is the size of struct fanotify_event_metadata.
const metadataLen = 24

// event is one fanotify_event_metadata, with the info records that follow
// it (the second group's folder and name).
type event struct {
	mask uint64
	fd   int32
	pid  int32
	info []byte
}

// parseEvents splits what one read returned into events. A record that is
// cut short or of another metadata version ends the batch with an error:
// the kernel wrote it, so it means a kernel the guard does not know.
func parseEvents(buf []byte, each func(event)) error {
	for len(buf) >= metadataLen {
		n := binary.NativeEndian.Uint32(buf[0:4])
		if n < metadataLen || int(n) > len(buf) {
			return fmt.Errorf("fanotify: event of %d bytes in a read of %d", n, len(buf))
		}
		if v := buf[4]; v != unix.FANOTIFY_METADATA_VERSION {
			return fmt.Errorf("fanotify: metadata version %d, want %d", v, unix.FANOTIFY_METADATA_VERSION)
		}
		metaLen := binary.NativeEndian.Uint16(buf[6:8])
		if metaLen < metadataLen || uint32(metaLen) > n {
			return fmt.Errorf("fanotify: metadata of %d bytes in an event of %d", metaLen, n)
		}
		each(event{
			mask: binary.NativeEndian.Uint64(buf[8:16]),
			fd:   int32(binary.NativeEndian.Uint32(buf[16:20])),
			pid:  int32(binary.NativeEndian.Uint32(buf[20:24])),
			info: buf[metaLen:n],
		})
		buf = buf[n:]
	}
	return nil
}

// response is a struct fanotify_response.
func response(fd int32, allow bool) []byte {
	var b [8]byte
	binary.NativeEndian.PutUint32(b[0:4], uint32(fd))
	verdict := uint32(unix.FAN_DENY)
	if allow {
		verdict = unix.FAN_ALLOW
	}
	binary.NativeEndian.PutUint32(b[4:8], verdict)
	return b[:]
}

// initGroup opens a fanotify group as a pollable *os.File: a Read waits in
// Go's poller, and Close wakes it (a blocked read(2) would not be).
func initGroup(flags uint, name string) (*os.File, error) {
	fd, err := unix.FanotifyInit(flags|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("fanotify_init (%s): %w: prevention needs CAP_SYS_ADMIN (see the README, \"Prevention\", for the unit's drop-in)", name, err)
		}
		return nil, fmt.Errorf("fanotify_init (%s): %w", name, err)
	}
	return os.NewFile(uintptr(fd), "fanotify-"+name), nil
}

// rawFD runs fn with f's descriptor, without Fd's side effect of making
// it blocking.
func rawFD(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var inner error
	if err := rc.Control(func(fd uintptr) { inner = fn(int(fd)) }); err != nil {
		return err
	}
	return inner
}

// dirEntry reads the folder and name of a FAN_REPORT_DFID_NAME event's
// info record: the folder's file system id and handle, and the name made
// in it. ok is false when the record is not one.
func dirEntry(info []byte) (fsid [8]byte, handle unix.FileHandle, name string, ok bool) {
	// struct fanotify_event_info_fid: header (type u8, pad u8, len u16),
	// fsid (8 bytes), struct file_handle (bytes u32, type i32, handle),
	// then the name, NUL-terminated.
	for len(info) >= 4 {
		typ, n := info[0], int(binary.NativeEndian.Uint16(info[2:4]))
		if n < 4 || n > len(info) {
			return fsid, handle, "", false
		}
		rec := info[:n]
		info = info[n:]
		if typ != unix.FAN_EVENT_INFO_TYPE_DFID_NAME || len(rec) < 20 {
			continue
		}
		copy(fsid[:], rec[4:12])
		hb := int(binary.NativeEndian.Uint32(rec[12:16]))
		ht := int32(binary.NativeEndian.Uint32(rec[16:20]))
		if hb < 0 || 20+hb > len(rec) {
			return fsid, handle, "", false
		}
		handle = unix.NewFileHandle(ht, rec[20:20+hb])
		rest := rec[20+hb:]
		end := 0
		for end < len(rest) && rest[end] != 0 {
			end++
		}
		if end == len(rest) || end == 0 {
			return fsid, handle, "", false
		}
		return fsid, handle, string(rest[:end]), true
	}
	return fsid, handle, "", false
}
