package quarantine

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecodeEntry feeds the metadata decoder what a damaged or hostile vault
// could hold. It must never panic, and what it accepts must survive a round
// trip through the encoder unchanged, path bytes included.
func FuzzDecodeEntry(f *testing.F) {
	for _, name := range []string{"entry.json", "unverified.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"version":1,"id":"20250314T101502-3f9a1c0b7d2e","path":"/x","path_base64":"L3g="}`))
	f.Add([]byte(`{"version":1,"id":"20250314T101502-3f9a1c0b7d2e","path":"/\ud800","mode":"4755","rules":null}`))
	f.Add([]byte(`{"version":1,"id":"20250314T101502-3f9a1c0b7d2e","path":"/x","mtime":"2025-03-14T10:15:02+09:00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeEntry(data)
		if err != nil {
			return
		}
		if !ValidID(e.ID) {
			t.Fatalf("accepted id %q", e.ID)
		}
		again, err := encodeMetadata(e)
		if err != nil {
			t.Fatalf("cannot encode an accepted entry %+v: %v", e, err)
		}
		back, err := DecodeEntry(again)
		if err != nil {
			t.Fatalf("cannot decode its own encoding %s: %v", again, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("round trip changed the entry:\n%+v\n%+v", e, back)
		}
	})
}
