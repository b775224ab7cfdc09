package alert

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
)

// A grouped alert's samples keep a hostile path exact too: JSON strings
// cannot carry invalid UTF-8, path_base64 does.
func TestSampleKeepsHostilePathExact(t *testing.T) {
	path := "/var/www/up/\xff\xfe\nx.php"
	a := Alert{ID: NewID(time.Now()), Kind: KindDetection, Severity: finding.SeverityCritical,
		File: &File{Path: path, SHA256: "ab"}, Rules: []Rule{{Name: "r1"}}, Action: &Action{Taken: ActionQuarantined}}
	s := a.Sample()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Sample
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(back.PathBase64)
	if err != nil || string(raw) != path {
		t.Errorf("path_base64 %q decodes to %q, %v; want %q", back.PathBase64, raw, err, path)
	}
	// Read back (from a webhook spool, say), the sample holds the exact
	// path again, so it is written out as it was first.
	if back.Path != path {
		t.Errorf("sample read back has path %q, want %q", back.Path, path)
	}
	if back.Rule != "r1" || back.Action != ActionQuarantined || back.SHA256 != "ab" {
		t.Errorf("sample %+v", back)
	}
	if clean := (&Alert{File: &File{Path: "/ok.php"}}).Sample(); clean.PathBase64 != "" {
		t.Errorf("valid UTF-8 path got path_base64 %q", clean.PathBase64)
	}
}

// Every kind has its own MESSAGE_ID: 32 lower-case hex digits, distinct.
func TestKindsHaveDistinctMessageIDs(t *testing.T) {
	seen := map[string]Kind{}
	for _, k := range Kinds() {
		id := k.MessageID()
		if len(id) != 32 {
			t.Errorf("%s: MESSAGE_ID %q is not 32 hex digits", k, id)
		}
		for _, c := range id {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				t.Errorf("%s: MESSAGE_ID %q is not lower-case hex", k, id)
				break
			}
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share MESSAGE_ID %s", k, other, id)
		}
		seen[id] = k
	}
}
