package policy

import (
	"testing"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
)

func TestLeavesRoot(t *testing.T) {
	const root = "/srv/www"
	for _, c := range []struct {
		link, target, resolved string
		want                   bool
	}{
		{"/srv/www/a/x.php", "y.php", "/srv/www/a/y.php", false},
		{"/srv/www/a/x.php", "../b/y.php", "/srv/www/b/y.php", false},
		{"/srv/www/a/x.php", "../../etc/passwd", "/srv/etc/passwd", true},
		{"/srv/www/a/x.php", "/etc/shadow", "/etc/shadow", true},
		{"/srv/www/x", "/srv/www-evil/shells", "", true}, // a sibling sharing the prefix, dangling
		{"/srv/www/x", "/proc/self/fd/0", "", true},      // refused magic link
		{"/srv/www/x", "hop", "/tmp/shells", true},       // lexically in, resolved out
		{"/srv/www/x", "/tmp/hop", "/srv/www/index.php", true},
		{"/srv/www/x", ".", "/srv/www", false},
		{"/srv/www/x", "..", "/srv", true},
	} {
		if got := LeavesRoot(root, c.link, c.target, c.resolved); got != c.want {
			t.Errorf("LeavesRoot(%s → %q, resolved %q) = %v, want %v", c.link, c.target, c.resolved, got, c.want)
		}
	}
}

func TestDecideLink(t *testing.T) {
	q := config.Quarantine{MinSeverity: config.Threshold(finding.SeverityHigh)}
	shell := flagged(finding.SeverityCritical)
	medium := flagged(finding.SeverityMedium)
	benign := clean()
	for _, c := range []struct {
		name  string
		l     Link
		kind  alert.Kind
		sev   finding.Severity
		moved bool
	}{
		{"to a shell outside", Link{Outside: true, Content: &shell, Born: true}, alert.KindDetection, finding.SeverityCritical, true},
		{"to a folder outside", Link{Outside: true, Dir: true, Born: true}, alert.KindSymlink, finding.SeverityHigh, true},
		{"script name, inside", Link{Script: true, Content: &benign, Born: true}, alert.KindSymlink, finding.SeverityHigh, true},
		{"harmless, inside", Link{Content: &benign, Born: true}, "", finding.SeverityNone, false},
		{"outside, seen at a resync", Link{Outside: true}, alert.KindSymlink, finding.SeverityHigh, false},
		{"outside, deploy window", Link{Outside: true, WindowOpen: true, Born: true}, "", finding.SeverityNone, false},
		{"a shell, deploy window", Link{Content: &shell, WindowOpen: true, Born: true}, alert.KindDetection, finding.SeverityCritical, true},
		{"medium rule, inside", Link{Content: &medium, Born: true}, alert.KindDetection, finding.SeverityMedium, false},
		// Found by the first baseline: as a file found then.
		{"first baseline, outside", Link{Outside: true, Baseline: true}, alert.KindSymlink, finding.SeverityHigh, false},
		{"first baseline, to a folder outside", Link{Outside: true, Dir: true, Baseline: true}, alert.KindSymlink, finding.SeverityHigh, false},
		{"first baseline, to a shell", Link{Content: &shell, Baseline: true}, alert.KindDetection, finding.SeverityCritical, false},
		{"first baseline, script name inside", Link{Script: true, Content: &benign, Baseline: true}, "", finding.SeverityNone, false},
		{"first baseline, script name outside", Link{Script: true, Outside: true, Baseline: true}, alert.KindSymlink, finding.SeverityHigh, false},
	} {
		c.l.Quarantine = q
		d := DecideLink(c.l)
		if d.Kind != c.kind || d.Severity != c.sev || d.Quarantine != c.moved {
			t.Errorf("%s: %q %s moved=%v (%s), want %q %s moved=%v", c.name, d.Kind, d.Severity, d.Quarantine, d.LeftBecause, c.kind, c.sev, c.moved)
		}
		if d.Kind != "" && !d.Quarantine && d.LeftBecause == "" {
			t.Errorf("%s: left in place with no reason", c.name)
		}
		if c.l.Baseline && d.Kind != "" && d.LeftBecause != "found by the root's first baseline: it was there before shellwatch" {
			t.Errorf("%s: left in place because %q, want the first baseline's reason", c.name, d.LeftBecause)
		}
	}
	off := DecideLink(Link{Outside: true, Born: true, Quarantine: config.Quarantine{MinSeverity: config.Threshold(finding.SeverityNone)}})
	if off.Quarantine {
		t.Errorf("quarantine.min_severity off, yet the link is moved: %+v", off)
	}
}
