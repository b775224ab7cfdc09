package state

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// makeDB writes n records to a new file and returns its path and records.
func makeDB(t *testing.T, n int) (string, []File) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var files []File
	for i := range n {
		f := sampleFile(fmt.Sprintf("/srv/www/dir%03d/file%05d.php", i%97, i))
		f.Inode = uint64(i)
		files = append(files, f)
	}
	// Several commits, so the file has freed pages as well as live ones.
	for i := 0; i < n; i += 500 {
		if err := db.Put(files[i:min(i+500, n)]...); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, files
}

// checkIntact fails unless db holds exactly files.
func checkIntact(t *testing.T, db *DB, files []File) {
	t.Helper()
	if n, err := db.Count(); err != nil || n != len(files) {
		t.Fatalf("Count() = %d, %v; want %d", n, err, len(files))
	}
	for _, f := range files {
		got, ok, err := db.Get(f.Path)
		if err != nil || !ok || !equalFiles(got, f) {
			t.Fatalf("Get(%s) = %v, %v after a clean open", f.Path, ok, err)
		}
	}
}

func TestCorruptFiles(t *testing.T) {
	pageSize := int64(os.Getpagesize())
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int64) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	type damage struct {
		name        string
		apply       func(t *testing.T, path string)
		mustCorrupt bool
	}
	overwrite := func(off int64, b []byte) func(*testing.T, string) {
		return func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(b, off); err != nil {
				t.Fatal(err)
			}
		}
	}
	damages := []damage{
		{"zero-length", func(t *testing.T, p string) { os.Truncate(p, 0) }, true},
		{"one page", func(t *testing.T, p string) { os.Truncate(p, pageSize) }, true},
		{"truncated to half", func(t *testing.T, p string) {
			info, _ := os.Stat(p)
			os.Truncate(p, info.Size()/2/pageSize*pageSize)
		}, true},
		{"garbage", func(t *testing.T, p string) { os.WriteFile(p, random(64*pageSize), 0o600) }, true},
		{"both meta pages", overwrite(0, random(2*pageSize)), true},
		{"one meta page", overwrite(0, random(pageSize)), false},
	}
	path, files := makeDB(t, 3000)
	info, _ := os.Stat(path)
	for page := int64(2); page < info.Size()/pageSize; page += 7 {
		damages = append(damages, damage{fmt.Sprintf("page %d random", page), overwrite(page*pageSize, random(pageSize)), false})
		damages = append(damages, damage{fmt.Sprintf("page %d bytes 100-300 random", page), overwrite(page*pageSize+100, random(200)), false})
	}
	pristine, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(p, pristine, 0o600); err != nil {
				t.Fatal(err)
			}
			d.apply(t, p)
			db, err := Open(p, Options{})
			switch {
			case err == nil && d.mustCorrupt:
				db.Close()
				t.Fatal("opened cleanly")
			case err == nil:
				// The damage hit a free page or a meta page that has a
				// sound twin: all data must be there. (A lost newest meta
				// page would lose the last commit only; makeDB's last
				// commit is small enough to be the one checked below.)
				defer db.Close()
				if strings.Contains(d.name, "meta") {
					return
				}
				checkIntact(t, db, files)
				return
			case !errors.Is(err, ErrCorrupt):
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			case !strings.Contains(err.Error(), p):
				t.Errorf("error %q does not name the file", err)
			}
			db, reset, err := OpenOrReset(p, Options{})
			if err != nil || reset == nil {
				t.Fatalf("OpenOrReset: reset %v, err %v", reset, err)
			}
			defer db.Close()
			if !errors.Is(reset, ErrCorrupt) || !db.Created() {
				t.Errorf("reset %v, Created %v", reset, db.Created())
			}
			if n, _ := db.Count(); n != 0 {
				t.Errorf("fresh DB has %d records", n)
			}
			aside, _ := filepath.Glob(p + ".corrupt-*")
			if len(aside) != 1 || !strings.Contains(reset.Error(), aside[0]) {
				t.Errorf("moved aside: %v; reset says %q", aside, reset)
			}
		})
	}
}

// Damage that appears after a DB was opened unchecked comes out of reads as
// ErrCorrupt (or correct data), never as a panic or a fault.
func TestDamageAfterOpen(t *testing.T) {
	path, files := makeDB(t, 3000)
	info, _ := os.Stat(path)
	pristine, _ := os.ReadFile(path)
	pageSize := int64(os.Getpagesize())
	rng := rand.New(rand.NewPCG(3, 4))
	for page := int64(2); page < info.Size()/pageSize; page += 5 {
		p := filepath.Join(t.TempDir(), fmt.Sprintf("state-%d.db", page))
		os.WriteFile(p, pristine, 0o600)
		db, err := Open(p, Options{SkipCheck: true})
		if err != nil {
			t.Fatal(err)
		}
		junk := make([]byte, pageSize)
		for i := range junk {
			junk[i] = byte(rng.Uint32())
		}
		// Written through the file while bbolt's read-only map shows the
		// same page: the next read meets the damage.
		f, _ := os.OpenFile(p, os.O_WRONLY, 0)
		f.WriteAt(junk, page*pageSize)
		f.Close()
		ok := func(err error) {
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Errorf("page %d: %v, want ErrCorrupt", page, err)
			}
		}
		_, err = statsOf(db, "/srv/www")
		ok(err)
		ok(db.ForEach("/srv/www", func(File) error { return nil }))
		for _, f := range files[:200] {
			_, _, err := db.Get(f.Path)
			ok(err)
		}
		_, err = db.Count()
		ok(err)
		db.Close()
	}
}
