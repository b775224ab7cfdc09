package state

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
)

// hostilePaths are keys a web root's attacker can create.
var hostilePaths = []string{
	"/srv/www/a\nb.php",
	"/srv/www/bad\xff\xfe.php",
	"/srv/www/-rf",
	"/srv/www/\x00nul",
	"/srv/www/" + strings.Repeat("d/", 2000) + "deep.php",
	// Past bbolt's 32 KiB keys (relative mkdir has no depth limit).
	"/srv/www/" + strings.Repeat("deep/", 8000) + "x.php",
}

func sampleFile(path string) File {
	return File{
		Path: path, Dev: 2049, Inode: 1234567, Size: 4096, Mode: 0o100644, UID: 33, GID: 33,
		MTime:     time.Unix(1700000000, 123456789),
		CTime:     time.Unix(1700000001, 987654321),
		SHA256:    [32]byte{1, 2, 3, 31: 0xff},
		Severity:  finding.SeverityHigh,
		Rules:     []string{"php_eval_post", "webshell_\xffname"},
		FirstSeen: time.Unix(1690000000, 1),
		LastSeen:  time.Unix(1710000000, 999999999),
		Accepted:  true, AcceptedAt: time.Unix(1690000000, 5),
		Appeared: true,
	}
}

// equalFiles compares with time.Equal, since decoded times have another
// location and no monotonic reading.
func equalFiles(a, b File) bool {
	times := func(f *File) []*time.Time {
		return []*time.Time{&f.MTime, &f.CTime, &f.FirstSeen, &f.LastSeen, &f.AcceptedAt}
	}
	ta, tb := times(&a), times(&b)
	for i := range ta {
		if !ta[i].Equal(*tb[i]) {
			return false
		}
		*ta[i], *tb[i] = time.Time{}, time.Time{}
	}
	if len(a.Rules) == 0 && len(b.Rules) == 0 {
		a.Rules, b.Rules = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

func TestRecordRoundTrip(t *testing.T) {
	full := sampleFile("/srv/www/index.php")
	files := []File{
		{Path: "/x"},
		full,
		{Path: "/y", Size: -1, MTime: time.Unix(-5, 3), CTime: time.Unix(1<<40, 0), Mode: 0o100000 | 0o7777},
		{Path: "/z", MTime: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), Severity: 255, Rules: []string{""}},
	}
	for _, p := range hostilePaths {
		f := full
		f.Path = p
		files = append(files, f)
	}
	for _, f := range files {
		enc := appendRecord(nil, &f)
		got, err := decodeFile(keyOf(f.Path), enc)
		if err != nil {
			t.Fatalf("%.60q: decode: %v", f.Path, err)
		}
		if !equalFiles(got, f) {
			t.Errorf("%.60q: round trip\n got %.200v\nwant %.200v", f.Path, got, f)
		}
		p, s, err := decodeStat(keyOf(f.Path), enc)
		if err != nil || p != f.Path || !s.SameIdentity(f.Stat()) || s.Mode != f.Mode || s.UID != f.UID || s.GID != f.GID {
			t.Errorf("%.60q: decodeStat = %.60q, %+v, %v; want %+v", f.Path, p, s, err, f.Stat())
		}
	}
}

// Every truncation and every single-bit flip of a record is refused, and so
// is the record under another key (a flipped key bit).
func TestRecordDamageDetected(t *testing.T) {
	f := sampleFile("/srv/www/index.php")
	enc := appendRecord(nil, &f)
	key := []byte(f.Path)
	for n := range len(enc) {
		if _, err := decodeFile(key, enc[:n]); err == nil {
			t.Errorf("truncated to %d bytes: decoded", n)
		}
	}
	for i := range len(enc) * 8 {
		bad := append([]byte(nil), enc...)
		bad[i/8] ^= 1 << (i % 8)
		if _, err := decodeFile(key, bad); err == nil {
			t.Errorf("bit %d flipped: decoded", i)
		}
		if _, _, err := decodeStat(key, bad); err == nil {
			t.Errorf("bit %d flipped: decodeStat accepted", i)
		}
	}
	if _, err := decodeFile([]byte("/srv/www/index.phq"), enc); err == nil {
		t.Error("record decoded under another key")
	}

	// A long path's record under the key of another long path (same
	// prefix, another hash) is refused too.
	long := sampleFile("/srv/www/" + strings.Repeat("d/", 20000) + "a.php")
	enc = appendRecord(nil, &long)
	if _, err := decodeFile(keyOf(long.Path), enc); err != nil {
		t.Fatalf("long path: %v", err)
	}
	other := keyOf(long.Path[:len(long.Path)-5] + "b.php")
	if _, err := decodeFile(other, enc); err == nil {
		t.Error("long path's record decoded under another long key")
	}
}

func TestRecordValidate(t *testing.T) {
	for _, f := range []File{{}, {Path: "/a", Severity: 256}, {Path: "/a", Severity: -1}} {
		if f.validate() == nil {
			t.Errorf("validate(%.20q, severity %d) = nil", f.Path, f.Severity)
		}
	}
}

// FuzzDecodeRecord: whatever bytes a damaged page holds, decoding returns an
// error or a record, never panics, and a record it returns re-encodes to the
// same bytes.
func FuzzDecodeRecord(f *testing.F) {
	s := sampleFile("/srv/www/a.php")
	f.Add([]byte(s.Path), appendRecord(nil, &s))
	f.Add([]byte("/a"), appendRecord(nil, &File{Path: "/a"}))
	f.Fuzz(func(t *testing.T, key, val []byte) {
		got, err := decodeFile(key, val)
		decodeStat(key, val)
		if err != nil {
			return
		}
		if again := appendRecord(nil, &got); string(again) != string(val) {
			t.Errorf("decoded record re-encodes differently:\n%x\n%x", val, again)
		}
	})
}

func BenchmarkDecodeStat(b *testing.B) {
	f := sampleFile("/srv/www/wp-content/plugins/akismet/class.akismet.php")
	enc := appendRecord(nil, &f)
	key := []byte(f.Path)
	for b.Loop() {
		decodeStat(key, enc)
	}
}
