package guard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// permMask is what the guard holds: every open, and every open to execute.
const permMask = unix.FAN_OPEN_PERM | unix.FAN_OPEN_EXEC_PERM

// folderReport is what the folder group's events carry: the folder and
// the name of the entry (FAN_REPORT_DFID_NAME: a folder made is marked by
// that path), and for an event on a file, the file's own handle
// (FAN_REPORT_FID, an FAN_EVENT_INFO_TYPE_FID record; Linux 5.9, as
// FAN_REPORT_DFID_NAME): a FAN_ATTRIB ends the trust of that inode
// whatever its name is by the time the event is read. FAN_REPORT_TARGET_FID
// (5.17) would add the handle to the events of names made and moved as
// well, which the guard does not use.
const folderReport = unix.FAN_REPORT_DFID_NAME | unix.FAN_REPORT_FID

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

// initFolderGroup opens the folder group, with the files' own handles
// (folderReport): every kernel that has FAN_REPORT_DFID_NAME (5.9) has
// FAN_REPORT_FID (5.1). byNameOnly, a test's, leaves them out, to test the
// path by name that untrustEntry takes when a handle cannot be opened.
func (g *Guard) initFolderGroup() (*os.File, error) {
	if g.opts.byNameOnly {
		return initGroup(unix.FAN_CLASS_NOTIF|unix.FAN_REPORT_DFID_NAME, "folders")
	}
	return initGroup(unix.FAN_CLASS_NOTIF|folderReport, "folders")
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

// fileID names a file or folder as a FID group's info records do: the file
// system's id and a handle, which open_by_handle_at opens on that file
// system.
type fileID struct {
	fsid   [8]byte
	handle unix.FileHandle
}

// fidInfo is what the info records of a folder-group event say.
type fidInfo struct {
	// dir and name are the folder the event happened in and the entry's
	// name there (FAN_EVENT_INFO_TYPE_DFID_NAME); hasEntry, that such a
	// record was read whole.
	dir      fileID
	name     string
	hasEntry bool
	// file is the object's own handle (FAN_EVENT_INFO_TYPE_FID), which
	// FAN_REPORT_FID adds to the events on a file (FAN_ATTRIB); hasFile,
	// that such a record was read whole.
	file    fileID
	hasFile bool
}

// fidRecordHeader is the size of struct fanotify_event_info_fid up to the
// handle: the header (type u8, pad u8, len u16), the fsid (8 bytes) and
// struct file_handle's handle_bytes (u32) and handle_type (i32).
const fidRecordHeader = 20

// parseFIDInfo reads the info records that follow a folder-group event's
// metadata. Every length is checked against the bytes read: a record
// whose length is less than its header or more than what is left ends the
// parse (the records before it stand); a record of another type, or of a
// known type but malformed, is skipped; the first whole record of each
// type is the one kept.
func parseFIDInfo(info []byte) fidInfo {
	var fi fidInfo
	for len(info) >= 4 {
		typ, n := info[0], int(binary.NativeEndian.Uint16(info[2:4]))
		if n < 4 || n > len(info) {
			break
		}
		rec := info[:n]
		info = info[n:]
		switch typ {
		case unix.FAN_EVENT_INFO_TYPE_DFID_NAME:
			id, rest, ok := readFileID(rec)
			if !ok || fi.hasEntry {
				continue
			}
			end := bytes.IndexByte(rest, 0)
			if end <= 0 {
				continue // no name, or one without its NUL
			}
			fi.dir, fi.name, fi.hasEntry = id, string(rest[:end]), true
		case unix.FAN_EVENT_INFO_TYPE_FID:
			id, _, ok := readFileID(rec)
			if !ok || fi.hasFile {
				continue
			}
			fi.file, fi.hasFile = id, true
		}
	}
	return fi
}

// readFileID reads the fsid and handle of a fanotify_event_info_fid
// record, and returns what follows the handle (the name, in a DFID_NAME
// record). ok is false when the handle does not fit in the record.
func readFileID(rec []byte) (id fileID, rest []byte, ok bool) {
	if len(rec) < fidRecordHeader {
		return id, nil, false
	}
	copy(id.fsid[:], rec[4:12])
	hb := uint64(binary.NativeEndian.Uint32(rec[12:16]))
	ht := int32(binary.NativeEndian.Uint32(rec[16:20]))
	if hb > uint64(len(rec)-fidRecordHeader) {
		return id, nil, false
	}
	end := fidRecordHeader + int(hb)
	id.handle = unix.NewFileHandle(ht, rec[fidRecordHeader:end])
	return id, rec[end:], true
}
