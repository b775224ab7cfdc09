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

// A symbolic link's target is the attacker's choice of bytes: one that is
// not valid UTF-8 travels exactly as link_target_base64 and is read back.
func TestLinkTargetKeptExact(t *testing.T) {
	target := "/srv/\xff\xfe\n../x.php"
	a := Alert{ID: NewID(time.Now()), Kind: KindRootSymlink, Severity: finding.SeverityCritical,
		File: &File{Path: "/var/www/html", LinkTarget: target}}
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["link_target_base64"] != base64.StdEncoding.EncodeToString([]byte(target)) {
		t.Errorf("link_target_base64 = %v in %s", raw["link_target_base64"], data)
	}
	var back Alert
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.File == nil || back.File.LinkTarget != target {
		t.Errorf("read back: %+v, want link target %q", back.File, target)
	}
	clean, err := json.Marshal(Alert{File: &File{Path: "/x", LinkTarget: "/ok"}})
	if err != nil {
		t.Fatal(err)
	}
	var rawClean map[string]any
	if json.Unmarshal(clean, &rawClean); rawClean["link_target_base64"] != nil {
		t.Errorf("a valid UTF-8 target got link_target_base64: %s", clean)
	}
}
