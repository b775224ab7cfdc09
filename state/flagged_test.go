package state

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func flaggedSample(root, url string, at time.Time) FlaggedURL {
	return FlaggedURL{Root: root, URL: url, Hosts: []string{"shop.example.com", "bad\xffhost"}, AlertID: "01J0ALERT",
		At: at, Path: root + url, SHA256: "2743f4", Kind: "detection", Action: "quarantined"}
}

// The flagged URLs and the logs' stamps survive a close and an open,
// hostile bytes and paths past bbolt's key limit included, and come back
// oldest first; a delete and a put in later batches apply in order.
func TestFlaggedRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	var want []FlaggedURL
	for i, p := range hostilePaths {
		want = append(want, flaggedSample("/srv/www", p[len("/srv/www"):], base.Add(time.Duration(len(hostilePaths)-i)*time.Second)))
	}
	gone := flaggedSample("/srv/other", "/up/x.php", base)
	until := map[string]time.Time{"/var/log/nginx/access.log": base.Add(time.Hour), "/var/log/a\nb.log": base}
	if err := db.WriteFlagged(FlaggedBatch{Put: append(want, gone), ReadUntil: until}); err != nil {
		t.Fatal(err)
	}
	if err := db.WriteFlagged(FlaggedBatch{Delete: []FlaggedURL{{Root: gone.Root, URL: gone.URL}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.ReadFlagged()
	if err != nil {
		t.Fatal(err)
	}
	if got.Skipped != 0 || len(got.URLs) != len(want) {
		t.Fatalf("read %d URLs, %d skipped; want %d", len(got.URLs), got.Skipped, len(want))
	}
	for i := range want {
		w := want[len(want)-1-i] // the last written is the oldest
		g := got.URLs[i]
		if !g.At.Equal(w.At) {
			t.Errorf("URL %d: at %v, want %v", i, g.At, w.At)
		}
		g.At = w.At
		if !reflect.DeepEqual(g, w) {
			t.Errorf("URL %d: %.80q, want %.80q", i, g, w)
		}
	}
	if len(got.ReadUntil) != 2 || !got.ReadUntil["/var/log/nginx/access.log"].Equal(until["/var/log/nginx/access.log"]) ||
		!got.ReadUntil["/var/log/a\nb.log"].Equal(base) {
		t.Errorf("read until %v, want %v", got.ReadUntil, until)
	}
}

// A record that does not decode (a flipped bit, a record moved under
// another key, a truncated one, a stray key) is skipped, counted and
// removed; the others are read, and the file is not called corrupt.
func TestFlaggedBadRecordsSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	good := flaggedSample("/srv/www", "/up/good.php", at)
	flipped := flaggedSample("/srv/www", "/up/flipped.php", at)
	moved := flaggedSample("/srv/www", "/up/moved.php", at.Add(time.Second))
	short := flaggedSample("/srv/www", "/up/short.php", at)
	if err := db.WriteFlagged(FlaggedBatch{Put: []FlaggedURL{good, flipped, moved, short}}); err != nil {
		t.Fatal(err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(flaggedBucket)
		v := append([]byte(nil), b.Get(urlKey(&flipped))...)
		v[5] ^= 1
		if err := b.Put(urlKey(&flipped), v); err != nil {
			return err
		}
		// moved's record, sealed under another key: its CRC holds, its
		// root and URL do not give the key.
		other := flaggedKey(flaggedURLKey, "/srv/www", "/elsewhere.php")
		if err := b.Put(other, encodeFlaggedURL(other, &moved)); err != nil {
			return err
		}
		if err := b.Put(urlKey(&short), []byte{flaggedVersion, 1}); err != nil {
			return err
		}
		return b.Put([]byte("stray"), []byte("x"))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(path, Options{}); err != nil {
		t.Fatalf("a bad flagged record made the state unreadable: %v", err)
	}
	defer db.Close()
	got, err := db.ReadFlagged()
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, u := range got.URLs {
		urls = append(urls, u.URL)
	}
	if got.Skipped != 4 || !reflect.DeepEqual(urls, []string{"/up/good.php", "/up/moved.php"}) {
		t.Errorf("read %q, %d skipped; want good and moved (its own key), 4 skipped", urls, got.Skipped)
	}
	if again, err := db.ReadFlagged(); err != nil || again.Skipped != 0 || len(again.URLs) != 2 {
		t.Errorf("read again: %d URLs, %d skipped, %v; want the bad records removed", len(again.URLs), again.Skipped, err)
	}
}

// A state file made before the bucket existed gets it at open.
func TestFlaggedBucketAddedToOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put(sampleFile("/srv/www/index.php")); err != nil {
		t.Fatal(err)
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(flaggedBucket) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.ReadFlagged(); err != nil || len(got.URLs) != 0 {
		t.Fatalf("read %+v, %v", got, err)
	}
	if err := db.WriteFlagged(FlaggedBatch{Put: []FlaggedURL{flaggedSample("/srv/www", "/x.php", time.Now())}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.Get("/srv/www/index.php"); !ok || err != nil {
		t.Errorf("the file records were lost: %v %v", ok, err)
	}
}
