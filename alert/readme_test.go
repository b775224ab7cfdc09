package alert

import (
	"os"
	"strings"
	"testing"
)

// The README is the operator's reference for alerts: every kind with its
// MESSAGE_ID and every journald field must be in it, so that a kind or a
// field added here cannot go undocumented.
func TestREADMEDocumentsKindsAndFields(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	for _, k := range Kinds() {
		row := "| `" + string(k) + "` |"
		i := strings.Index(readme, row)
		if i < 0 {
			t.Errorf("README has no table row for kind %s", k)
			continue
		}
		line := readme[i:]
		line = line[:strings.IndexByte(line, '\n')]
		if !strings.Contains(line, k.MessageID()) {
			t.Errorf("README row of %s lacks its MESSAGE_ID %s: %s", k, k.MessageID(), line)
		}
	}
	for _, f := range JournaldFields() {
		if !strings.Contains(readme, "`"+f+"`") {
			t.Errorf("README does not document journald field %s", f)
		}
	}
}
