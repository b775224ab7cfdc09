package guard

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// fidRecord builds a struct fanotify_event_info_fid as the kernel writes
// it: header, fsid, handle_bytes, handle_type, the handle, then name and
// its NUL when name is not nil, padded to 4 bytes.
func fidRecord(typ byte, fsid byte, handle []byte, name []byte) []byte {
	b := []byte{typ, 0, 0, 0}
	b = append(b, bytes.Repeat([]byte{fsid}, 8)...)
	b = binary.NativeEndian.AppendUint32(b, uint32(len(handle)))
	b = binary.NativeEndian.AppendUint32(b, 1)
	b = append(b, handle...)
	if name != nil {
		b = append(b, name...)
		b = append(b, 0)
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	binary.NativeEndian.PutUint16(b[2:4], uint16(len(b)))
	return b
}

// withLen returns rec with its header's length set to n.
func withLen(rec []byte, n int) []byte {
	rec = bytes.Clone(rec)
	binary.NativeEndian.PutUint16(rec[2:4], uint16(n))
	return rec
}

// withHandleBytes returns rec with its handle_bytes set to n.
func withHandleBytes(rec []byte, n uint32) []byte {
	rec = bytes.Clone(rec)
	binary.NativeEndian.PutUint32(rec[12:16], n)
	return rec
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// The folder group's info records are read within the bytes the kernel
// wrote, whatever lengths they claim: a record cut short or overlong ends
// the parse, a malformed one of a known type is skipped.
func TestParseFIDInfo(t *testing.T) {
	dfid := fidRecord(unix.FAN_EVENT_INFO_TYPE_DFID_NAME, 1, []byte("dirhandl"), []byte("page.php"))
	fid := fidRecord(unix.FAN_EVENT_INFO_TYPE_FID, 1, []byte("filehand"), nil)
	other := fidRecord(unix.FAN_EVENT_INFO_TYPE_PIDFD, 9, []byte("xxxx"), nil)
	cases := []struct {
		name           string
		info           []byte
		entry, file    bool
		wantName       string
		wantFileHandle string
	}{
		{"folder, name and file", cat(dfid, fid), true, true, "page.php", "filehand"},
		{"file record first", cat(fid, dfid), true, true, "page.php", "filehand"},
		{"folder and name only (no FAN_REPORT_FID)", dfid, true, false, "page.php", ""},
		{"another type skipped", cat(other, dfid, fid), true, true, "page.php", "filehand"},
		{"empty", nil, false, false, "", ""},
		{"a header cut short", dfid[:3], false, false, "", ""},
		{"length zero ends the parse", cat(withLen(other, 0), dfid), false, false, "", ""},
		{"length under the header ends the parse", cat(withLen(other, 3), dfid), false, false, "", ""},
		{"length past the read ends the parse; what came before stands", cat(dfid, withLen(fid, len(fid)+4)), true, false, "page.php", ""},
		{"record shorter than a handle's header", cat(withLen(dfid[:16], 16), fid), false, true, "", "filehand"},
		{"handle past its record skipped", cat(withHandleBytes(dfid, uint32(len(dfid))), fid), false, true, "", "filehand"},
		{"handle of 4 GiB skipped", cat(withHandleBytes(fid, 0xffffffff), dfid), true, false, "page.php", ""},
		{"name without its NUL", withLen(cat(fidRecord(unix.FAN_EVENT_INFO_TYPE_DFID_NAME, 1, []byte("dirhandl"), nil), []byte("abcd")), 32), false, false, "", ""},
		{"empty name", fidRecord(unix.FAN_EVENT_INFO_TYPE_DFID_NAME, 1, []byte("dirhandl"), []byte{}), false, false, "", ""},
		{"first record of a type kept", cat(dfid, fidRecord(unix.FAN_EVENT_INFO_TYPE_DFID_NAME, 2, []byte("other"), []byte("x"))), true, false, "page.php", ""},
		{"a tail too short for a header ignored", cat(dfid, fid, []byte{1, 0}), true, true, "page.php", "filehand"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fi := parseFIDInfo(c.info)
			if fi.hasEntry != c.entry || fi.hasFile != c.file {
				t.Fatalf("entry %v, file %v; want %v, %v", fi.hasEntry, fi.hasFile, c.entry, c.file)
			}
			if fi.name != c.wantName {
				t.Errorf("name %q, want %q", fi.name, c.wantName)
			}
			if c.file && string(fi.file.handle.Bytes()) != c.wantFileHandle {
				t.Errorf("file handle %q, want %q", fi.file.handle.Bytes(), c.wantFileHandle)
			}
			if c.entry && string(fi.dir.handle.Bytes()) != "dirhandl" {
				t.Errorf("folder handle %q, want dirhandl", fi.dir.handle.Bytes())
			}
		})
	}
}

// Whatever the bytes, parsing never reads past them, and what it returns
// was in them: a name without NUL, handles no longer than the input.
func FuzzParseFIDInfo(f *testing.F) {
	dfid := fidRecord(unix.FAN_EVENT_INFO_TYPE_DFID_NAME, 1, []byte("dirhandl"), []byte("page.php"))
	fid := fidRecord(unix.FAN_EVENT_INFO_TYPE_FID, 1, []byte("filehand"), nil)
	f.Add(cat(dfid, fid))
	f.Add(cat(fid, dfid))
	f.Add(withHandleBytes(fid, 0xffffffff))
	f.Add(withLen(dfid, 0))
	f.Fuzz(func(t *testing.T, info []byte) {
		fi := parseFIDInfo(info)
		if fi.hasEntry {
			if fi.name == "" || bytes.IndexByte([]byte(fi.name), 0) >= 0 || !bytes.Contains(info, []byte(fi.name)) {
				t.Errorf("name %q is not a NUL-free part of the input", fi.name)
			}
			if len(fi.dir.handle.Bytes()) > len(info) {
				t.Errorf("folder handle of %d bytes from %d", len(fi.dir.handle.Bytes()), len(info))
			}
		}
		if fi.hasFile && len(fi.file.handle.Bytes()) > len(info) {
			t.Errorf("file handle of %d bytes from %d", len(fi.file.handle.Bytes()), len(info))
		}
	})
}
