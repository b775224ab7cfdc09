package alert

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/finding"
)

func TestFindingMessage(t *testing.T) {
	a := Alert{Kind: KindDetection, Severity: finding.SeverityCritical, File: &File{Path: "/srv/www/x\n.php"}}
	for i := range 7 {
		a.Rules = append(a.Rules, Rule{Name: fmt.Sprintf("r%d", i)})
	}
	got := a.FindingMessage("new file", "quarantined as q1")
	if strings.Contains(got, "\n") {
		t.Errorf("a hostile path's newline reached the message: %q", got)
	}
	for _, want := range []string{"r0,r1,r2,r3,r4,+2 more; new file", "[critical]", "; quarantined as q1"} {
		if !strings.Contains(got, want) {
			t.Errorf("message %q lacks %q", got, want)
		}
	}
	if len(a.Rules) != 7 || a.Rules[5].Name != "r5" {
		t.Errorf("FindingMessage changed the alert's rules: %v", a.RuleNames())
	}
	b := Alert{Kind: KindDetection, Severity: finding.SeverityHigh, File: &File{Path: "/a"}}
	if got := b.FindingMessage("", "left"); !strings.HasSuffix(got, "[high] ; left") {
		t.Errorf("no rules, no why: %q", got)
	}
}

func TestModeString(t *testing.T) {
	for mode, want := range map[uint32]string{0o100644: "0644", 0o104755: "4755", 0o102700: "2700", 0o41777: "1777", 0: "0000"} {
		if got := ModeString(mode); got != want {
			t.Errorf("ModeString(%o) = %s, want %s", mode, got, want)
		}
	}
}

func TestListDetail(t *testing.T) {
	if ListDetail("added", nil) != "" {
		t.Error("an empty list is no line")
	}
	var paths []string
	for i := range 53 {
		paths = append(paths, fmt.Sprintf("/r/%d", i))
	}
	got := ListDetail("added", paths)
	if !strings.HasPrefix(got, "added (53): /r/0 ") || !strings.HasSuffix(got, "/r/49 … 3 more\n") {
		t.Errorf("ListDetail = %q", got)
	}
}

func TestRecent(t *testing.T) {
	var r Recent
	if len(r.List()) != 0 {
		t.Fatal("a new Recent lists alerts")
	}
	for i := range recentKept + 5 {
		r.Add(Alert{ID: fmt.Sprint(i)})
	}
	got := r.List()
	if len(got) != recentKept || got[0].ID != fmt.Sprint(recentKept+4) || got[recentKept-1].ID != "5" {
		t.Errorf("List after %d adds: %d alerts, newest %s, oldest %s", recentKept+5, len(got), got[0].ID, got[len(got)-1].ID)
	}
}
