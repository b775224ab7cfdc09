package policy

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
)

var (
	sumA = [32]byte{0xaa, 1}
	sumB = [32]byte{0xbb, 2}
)

// settings are the shipped defaults: quarantine at high and above, files
// that existed before are only alerted.
func settings(f Facts) Facts {
	f.Quarantine = config.Quarantine{MinSeverity: config.Threshold(finding.SeverityHigh)}
	f.MaxFileSize, f.MaxScanSize, f.MaxHashSize, f.YARATimeout = "32 MiB", 32<<20, 1<<30, "10s"
	return f
}

func flagged(sev finding.Severity) Verdict {
	return Verdict{Severity: sev, Flagged: true, SHA256: sumB, HasSHA256: true, Dev: 1, Inode: 7, Size: 40, Perm: 0o644}
}

func clean() Verdict {
	return Verdict{SHA256: sumB, HasSHA256: true, Dev: 1, Inode: 7, Size: 40, Perm: 0o644}
}

// record is the baseline's record of the same inode with content sum.
func record(sum [32]byte, sev finding.Severity, accepted bool) *Record {
	return &Record{Dev: 1, Inode: 7, Size: 40, Perm: 0o644, SHA256: sum, Severity: sev, Accepted: accepted}
}

var script = Root{Script: true}

// bigScript is a clean script of 40 MiB: scanned on its head and tail.
func bigScript() Verdict {
	v := clean()
	v.TooLarge, v.Script, v.Size = true, true, 40<<20
	return v
}

type want struct {
	kind       alert.Kind
	sev        finding.Severity
	quarantine bool
	remember   bool
	accepted   bool
	detection  bool
	why        string // contained in Why
	left       string // contained in LeftBecause
}

func TestDecide(t *testing.T) {
	offQ := config.Quarantine{MinSeverity: config.Threshold(finding.SeverityNone)}
	modifiedToo := config.Quarantine{MinSeverity: config.Threshold(finding.SeverityHigh), QuarantineModified: true}
	cases := []struct {
		name string
		f    Facts
		q    *config.Quarantine // nil: the defaults
		want want
	}{
		// Monitor roots: the rules decide.
		{"clean new file", Facts{Verdict: clean(), Born: true}, nil,
			want{remember: true, accepted: true}},
		{"flagged new file is moved", Facts{Verdict: flagged(finding.SeverityHigh), Born: true}, nil,
			want{kind: alert.KindDetection, sev: finding.SeverityHigh, quarantine: true, accepted: true, detection: true}},
		{"flagged file that existed is left", Facts{Verdict: flagged(finding.SeverityCritical), Prev: record(sumA, 0, true)}, nil,
			want{kind: alert.KindDetection, sev: finding.SeverityCritical, remember: true, accepted: true, detection: true, left: "existed before it changed"}},
		{"quarantine_modified moves it", Facts{Verdict: flagged(finding.SeverityCritical), Prev: record(sumA, 0, true)}, &modifiedToo,
			want{kind: alert.KindDetection, sev: finding.SeverityCritical, quarantine: true, accepted: true, detection: true}},
		{"below min_severity is left", Facts{Verdict: flagged(finding.SeverityMedium), Born: true}, nil,
			want{kind: alert.KindDetection, sev: finding.SeverityMedium, remember: true, accepted: true, detection: true, left: "below quarantine.min_severity high"}},
		{"min_severity off moves nothing", Facts{Verdict: flagged(finding.SeverityCritical), Born: true}, &offQ,
			want{kind: alert.KindDetection, sev: finding.SeverityCritical, remember: true, accepted: true, detection: true, left: "quarantine.min_severity is off"}},
		{"hash list only is ioc_match", Facts{Verdict: func() Verdict { v := flagged(finding.SeverityCritical); v.OnlyHashLists = true; return v }(), Born: true}, nil,
			want{kind: alert.KindIOCMatch, sev: finding.SeverityCritical, quarantine: true, accepted: true, detection: true}},
		{"first baseline alerts and leaves", Facts{Verdict: flagged(finding.SeverityCritical), Baseline: true, WhileDown: true, Born: false}, nil,
			want{kind: alert.KindDetection, sev: finding.SeverityCritical, remember: true, accepted: true, detection: true, left: "first baseline"}},
		{"the same flagged bytes again are not alerted", Facts{Verdict: flagged(finding.SeverityHigh), Prev: record(sumB, finding.SeverityHigh, true)}, nil,
			want{remember: true, accepted: true}},
		{"rescanned after a swap, alerted again", Facts{Verdict: flagged(finding.SeverityHigh), Prev: record(sumB, finding.SeverityHigh, true), Rescan: true, Born: true}, nil,
			want{kind: alert.KindDetection, sev: finding.SeverityHigh, quarantine: true, accepted: true, detection: true}},
		{"the same flagged bytes found at start are alerted", Facts{Verdict: flagged(finding.SeverityHigh), Prev: record(sumB, finding.SeverityHigh, true), WhileDown: true}, nil,
			want{kind: alert.KindDetection, sev: finding.SeverityHigh, remember: true, accepted: true, detection: true, left: "existed before"}},
		// Files that cannot be scanned.
		{"too large to scan", Facts{Verdict: func() Verdict { v := clean(); v.TooLarge = true; v.Size = 40 << 20; return v }(), Born: true}, nil,
			want{kind: alert.KindScanFailed, sev: finding.SeverityLow, remember: true, accepted: true, why: "not scanned in full: 41943040 bytes, 8388608 over scanner.max_file_size 32 MiB; head and tail scanned clean"}},
		// Unscannable is not harmless (issue 10): a new script that could
		// not be read to the end is high, and says why.
		{"too large new script", Facts{Verdict: bigScript(), Born: true}, nil,
			want{kind: alert.KindScanFailed, sev: finding.SeverityHigh, remember: true, accepted: true, why: "a new script: not scanned in full: 41943040 bytes, 8388608 over scanner.max_file_size 32 MiB; head and tail scanned clean"}},
		{"too large script that was there", Facts{Verdict: bigScript(), Prev: record(sumA, 0, true)}, nil,
			want{kind: alert.KindScanFailed, sev: finding.SeverityLow, remember: true, accepted: true, why: "not scanned in full"}},
		{"too large script of the first baseline", Facts{Verdict: bigScript(), Born: true, Baseline: true, WhileDown: true}, nil,
			want{kind: alert.KindScanFailed, sev: finding.SeverityLow, remember: true, accepted: true}},
		{"too large new script, grown again", Facts{Verdict: bigScript(), Born: true, Prev: &Record{Dev: 1, Inode: 7, Size: 33 << 20, SHA256: sumA}}, nil,
			want{remember: true, accepted: true}},
		{"YARA timeout on a new script", Facts{Verdict: Verdict{Err: TimedOut, Script: true, Dev: 1, Inode: 7}, Born: true}, nil,
			want{kind: alert.KindScanFailed, sev: finding.SeverityHigh, why: "a new script: YARA timed out after 10s; head and tail scanned again, clean"}},
		{"YARA timeout on a file that is no script", Facts{Verdict: Verdict{Err: TimedOut, Dev: 1, Inode: 7}, Born: true}, nil,
			want{kind: alert.KindScanFailed, sev: finding.SeverityMedium, why: "YARA timed out after 10s"}},
		{"unreadable new script", Facts{Verdict: Verdict{Err: Failed, Script: true, Dev: 1, Inode: 7}, Born: true}, nil,
			want{kind: alert.KindScanFailed, sev: finding.SeverityHigh, why: "a new script: could not be read"}},
		{"sparse new script", Facts{Verdict: Verdict{Err: NotHashed, TooLarge: true, Script: true, Dev: 1, Inode: 7, Size: 50 << 30}, Born: true}, nil,
			want{kind: alert.KindScanFailed, sev: finding.SeverityHigh, remember: true, accepted: false, why: "a new script: not hashed (sparse, or over scanner.max_hash_size); its data scanned clean"}},
		{"sparse script, once per inode", Facts{Verdict: Verdict{Err: NotHashed, TooLarge: true, Script: true, Dev: 1, Inode: 7, Size: 50 << 30}, Born: true,
			Prev: &Record{Dev: 1, Inode: 7, Size: 50 << 30, Accepted: true}}, nil,
			want{remember: true, accepted: true}},
		{"PHP analysis out of budget on a new script", Facts{Verdict: func() Verdict { v := clean(); v.Script, v.Incomplete = true, "stopped after 400000 steps"; return v }(), Born: true}, nil,
			want{kind: alert.KindScanFailed, sev: finding.SeverityHigh, remember: true, accepted: true, why: "a new script: PHP analysis not finished (stopped after 400000 steps)"}},
		{"PHP analysis out of budget, the same bytes again", Facts{Verdict: func() Verdict { v := clean(); v.Script, v.Incomplete = true, "stopped"; return v }(), Born: true, Prev: record(sumB, 0, true)}, nil,
			want{remember: true, accepted: true}},
		{"PHP analysis out of budget on a file that was there", Facts{Verdict: func() Verdict { v := clean(); v.Script, v.Incomplete = true, "stopped"; return v }(), Prev: record(sumA, 0, true)}, nil,
			want{remember: true, accepted: true}},
		{"too large, once per inode", Facts{Verdict: func() Verdict { v := clean(); v.TooLarge = true; v.Size = 41 << 20; return v }(),
			Prev: &Record{Dev: 1, Inode: 7, Size: 40 << 20, SHA256: sumA}}, nil,
			want{remember: true, accepted: true}},
		{"unreadable", Facts{Verdict: Verdict{Err: Failed, Dev: 1, Inode: 7}}, nil,
			want{kind: alert.KindScanFailed, sev: finding.SeverityMedium, why: "could not be read"}},
		{"too large to hash", Facts{Verdict: Verdict{Err: NotHashed, Dev: 1, Inode: 7, Size: 2 << 30}, Prev: &Record{Dev: 1, Inode: 7, Size: 100, Accepted: true}}, nil,
			want{kind: alert.KindScanFailed, sev: finding.SeverityMedium, remember: true, accepted: true, why: "not hashed"}},
		{"too large to hash, once per inode", Facts{Verdict: Verdict{Err: NotHashed, Dev: 1, Inode: 7, Size: 3 << 30}, Prev: &Record{Dev: 1, Inode: 7, Size: 2 << 30}}, nil,
			want{remember: true}},
		{"timed out is recorded, so nothing scans it again for nothing", Facts{Verdict: Verdict{Err: TimedOut, SHA256: sumB, HasSHA256: true, Dev: 1, Inode: 7, Size: 2 << 20}}, nil,
			want{kind: alert.KindScanFailed, sev: finding.SeverityMedium, remember: true, why: "YARA timed out"}},
		{"the same bytes timed out again: alerted once", Facts{Verdict: Verdict{Err: TimedOut, SHA256: sumB, HasSHA256: true, Dev: 1, Inode: 7, Size: 2 << 20}, Prev: record(sumB, 0, true)}, nil,
			want{remember: true, accepted: true}},
		{"gone before it was read", Facts{Verdict: Verdict{Err: Gone}}, nil,
			want{}},
		{"a flagged match outlives a failure", Facts{Verdict: func() Verdict { v := flagged(finding.SeverityCritical); v.Err = Failed; return v }(), Born: true}, nil,
			want{kind: alert.KindDetection, sev: finding.SeverityCritical, quarantine: true, accepted: true, detection: true}},
		// Protected roots: any script change outside a deploy is alerted.
		{"new script outside a window", Facts{Verdict: clean(), Root: script, Born: true}, nil,
			want{kind: alert.KindUnexpectedChange, sev: finding.SeverityHigh, remember: true, why: "script added outside a deploy window", left: "alerted, not moved"}},
		{"changed script outside a window", Facts{Verdict: clean(), Root: script, Prev: record(sumA, 0, true)}, nil,
			want{kind: alert.KindUnexpectedChange, sev: finding.SeverityHigh, remember: true, why: "script changed outside a deploy window"}},
		{"new script by the web user is moved", Facts{Verdict: clean(), Root: Root{Script: true, WebUser: "www-data", ByWebUser: true}, Born: true}, nil,
			want{kind: alert.KindUnexpectedChange, sev: finding.SeverityCritical, quarantine: true, why: "written by the web server's user www-data"}},
		{"changed script by the web user is left", Facts{Verdict: clean(), Root: Root{Script: true, WebUser: "www-data", ByWebUser: true}, Prev: record(sumA, 0, true)}, nil,
			want{kind: alert.KindUnexpectedChange, sev: finding.SeverityCritical, remember: true, left: "alerted, not moved"}},
		{"script in no_script_globs is moved", Facts{Verdict: clean(), Root: Root{Script: true, NoScriptZone: true}, Prev: record(sumA, 0, true)}, nil,
			want{kind: alert.KindUnexpectedChange, sev: finding.SeverityCritical, quarantine: true, why: "no_script_globs"}},
		{"no_script_globs in a window too", Facts{Verdict: clean(), Root: Root{Script: true, NoScriptZone: true}, Born: true, WindowOpen: true}, nil,
			want{kind: alert.KindUnexpectedChange, sev: finding.SeverityCritical, quarantine: true}},
		{"no_script_globs with quarantine off", Facts{Verdict: clean(), Root: Root{Script: true, NoScriptZone: true}, Born: true}, &offQ,
			want{kind: alert.KindUnexpectedChange, sev: finding.SeverityCritical, remember: true, left: "off"}},
		{"flagged script outside a window", Facts{Verdict: flagged(finding.SeverityMedium), Root: script, Born: true}, nil,
			want{kind: alert.KindDetection, sev: finding.SeverityHigh, quarantine: true, detection: true, why: "script added"}},
		{"script in an open window", Facts{Verdict: clean(), Root: script, Born: true, WindowOpen: true}, nil,
			want{remember: true}},
		{"script changed in a window since closed", Facts{Verdict: clean(), Root: script, Prev: record(sumA, 0, true), DeployedAt: true}, nil,
			want{remember: true, accepted: true}},
		{"flagged script in an open window is still moved", Facts{Verdict: flagged(finding.SeverityCritical), Root: script, Born: true, WindowOpen: true}, nil,
			want{kind: alert.KindDetection, sev: finding.SeverityCritical, quarantine: true, detection: true}},
		{"approved script", Facts{Verdict: clean(), Root: script, Born: true, Approved: true}, nil,
			want{remember: true, accepted: true}},
		{"empty script waits for its bytes", Facts{Verdict: func() Verdict { v := clean(); v.Size = 0; return v }(), Root: script, Born: true}, nil,
			want{remember: true}},
		{"unchanged script keeps its acceptance", Facts{Verdict: clean(), Root: script, Prev: record(sumB, 0, false)}, nil,
			want{remember: true, accepted: false}},
		// Changes made while the agent was down.
		{"modified while down", Facts{Verdict: clean(), Prev: record(sumA, 0, true), WhileDown: true}, nil,
			want{kind: alert.KindChangedWhileDown, sev: finding.SeverityMedium, remember: true, accepted: true, why: "while the agent was down: content modified", left: "while the agent was down is alerted, not moved"}},
		{"added while down", Facts{Verdict: clean(), WhileDown: true, Born: true}, nil,
			want{kind: alert.KindChangedWhileDown, sev: finding.SeverityMedium, remember: true, accepted: true, why: "added"}},
		{"mode of a protected script changed while down", Facts{Verdict: func() Verdict { v := clean(); v.Perm = 0o755; return v }(), Root: script, Prev: record(sumB, 0, true), WhileDown: true}, nil,
			want{kind: alert.KindChangedWhileDown, sev: finding.SeverityHigh, remember: true, accepted: true, why: "mode 0644 → 0755"}},
		{"protected script changed while down is unexpected", Facts{Verdict: clean(), Root: script, Prev: record(sumA, 0, true), WhileDown: true}, nil,
			want{kind: alert.KindUnexpectedChange, sev: finding.SeverityHigh, remember: true, why: "while the agent was down"}},
		{"touched while down", Facts{Verdict: clean(), Prev: record(sumB, 0, true), WhileDown: true}, nil,
			want{remember: true, accepted: true}},
		{"owner changed while down", Facts{Verdict: func() Verdict { v := clean(); v.UID = 33; return v }(), Prev: record(sumB, 0, true), WhileDown: true}, nil,
			want{kind: alert.KindChangedWhileDown, sev: finding.SeverityMedium, remember: true, accepted: true, why: "owner 0:0 → 33:0"}},
		{"first baseline raises nothing for clean files", Facts{Verdict: clean(), Root: script, WhileDown: true, Baseline: true}, nil,
			want{remember: true, accepted: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := settings(c.f)
			if c.q != nil {
				f.Quarantine = *c.q
			}
			d := Decide(f)
			w := c.want
			if d.Kind != w.kind || d.Kind != "" && d.Severity != w.sev {
				t.Errorf("kind %q severity %s, want %q %s", d.Kind, d.Severity, w.kind, w.sev)
			}
			if d.Quarantine != w.quarantine || d.Remember != w.remember || d.Accepted != w.accepted || d.Detection != w.detection {
				t.Errorf("quarantine %v remember %v accepted %v detection %v, want %v %v %v %v",
					d.Quarantine, d.Remember, d.Accepted, d.Detection, w.quarantine, w.remember, w.accepted, w.detection)
			}
			if !strings.Contains(d.Why, w.why) {
				t.Errorf("why %q, want it to say %q", d.Why, w.why)
			}
			if !strings.Contains(d.LeftBecause, w.left) || d.Quarantine && d.LeftBecause != "" {
				t.Errorf("left because %q, want it to say %q", d.LeftBecause, w.left)
			}
		})
	}
}

// A file that appeared while shellwatch watched stays new until a deploy,
// an approval or the first baseline takes it in: a shell appended to the
// attacker's own file long after it was created is moved like a new one.
func TestDecideAppeared(t *testing.T) {
	appeared := func(sum [32]byte) *Record { r := record(sum, 0, true); r.Appeared = true; return r }
	for _, c := range []struct {
		name                   string
		f                      Facts
		quarantine, stays, rem bool
	}{
		{"shell appended to a file that appeared", Facts{Verdict: flagged(finding.SeverityCritical), Prev: appeared(sumA)}, true, true, false},
		{"the same, found at a restart", Facts{Verdict: flagged(finding.SeverityCritical), Prev: appeared(sumA), WhileDown: true}, true, true, false},
		{"a file that was there before is left", Facts{Verdict: flagged(finding.SeverityCritical), Prev: record(sumA, 0, true)}, false, false, true},
		{"a new clean file is recorded as appeared", Facts{Verdict: clean(), Born: true}, false, true, true},
		{"it stays so when rewritten clean", Facts{Verdict: clean(), Prev: appeared(sumA)}, false, true, true},
		{"a deploy window takes it in", Facts{Verdict: clean(), Prev: appeared(sumA), WindowOpen: true}, false, false, true},
		{"a window since closed takes it in", Facts{Verdict: clean(), Prev: appeared(sumA), DeployedAt: true}, false, false, true},
		{"an approval of its content takes it in", Facts{Verdict: clean(), Prev: appeared(sumA), Approved: true}, false, false, true},
		{"the first baseline takes it in", Facts{Verdict: clean(), Baseline: true, WhileDown: true}, false, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(settings(c.f))
			if d.Quarantine != c.quarantine || d.Appeared != c.stays || d.Remember != c.rem {
				t.Errorf("quarantine %v appeared %v remember %v, want %v %v %v (%s)", d.Quarantine, d.Appeared, d.Remember, c.quarantine, c.stays, c.rem, d.LeftBecause)
			}
		})
	}
}

// A file linked into a root is alerted once, as that inode at that path,
// outside deploys and the first baseline; and any alert says a file has
// other links, or changed with no file event.
func TestDecideHardLinkAndUnseen(t *testing.T) {
	linked := clean()
	linked.Nlink = 3
	if d := Decide(settings(Facts{Verdict: linked, Born: true})); d.Kind != alert.KindHardLink || d.Severity != finding.SeverityMedium || d.Quarantine || !d.Remember || !strings.Contains(d.Why, "3 hard links") {
		t.Errorf("linked into a root: %+v", d)
	}
	for name, f := range map[string]Facts{
		"same inode again":  {Verdict: linked, Prev: record(sumA, 0, true)},
		"in a deploy":       {Verdict: linked, Born: true, WindowOpen: true},
		"first baseline":    {Verdict: linked, WhileDown: true, Baseline: true},
		"a single name now": {Verdict: clean(), Born: true},
	} {
		if d := Decide(settings(f)); d.Kind != "" {
			t.Errorf("%s: alerted %s", name, d.Kind)
		}
	}
	shell := flagged(finding.SeverityCritical)
	shell.Nlink = 2
	d := Decide(settings(Facts{Verdict: shell, Prev: record(sumA, 0, true), Unseen: true}))
	if d.Kind != alert.KindDetection || !strings.Contains(d.Why, "no file event") || !strings.Contains(d.Why, "2 hard links") {
		t.Errorf("a shell written through another link, found by a re-check: %s %q", d.Kind, d.Why)
	}
}

func TestDecideDeleted(t *testing.T) {
	for _, c := range []struct {
		f    Deleted
		kind alert.Kind
		sev  finding.Severity
	}{
		{Deleted{}, alert.KindChangedWhileDown, finding.SeverityMedium},
		{Deleted{Script: true}, alert.KindChangedWhileDown, finding.SeverityHigh},
		{Deleted{Script: true, WindowOpen: true}, "", finding.SeverityNone},
		{Deleted{Baseline: true}, "", finding.SeverityNone},
	} {
		if kind, sev := DecideDeleted(c.f); kind != c.kind || sev != c.sev {
			t.Errorf("%+v: %q %s, want %q %s", c.f, kind, sev, c.kind, c.sev)
		}
	}
}

// The README's alert table is what operators route on: every kind's
// severity there is what the policy decides. A kind the policy does not
// decide (the sinks' own) is named here, so none can be forgotten.
func TestREADMEAlertTable(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[alert.Kind]string{}
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		kind := alert.Kind(strings.Trim(strings.TrimSpace(cells[1]), "`"))
		if kind.MessageID() == "" {
			continue
		}
		rows[kind] = strings.TrimSpace(cells[2])
	}
	decide := func(f Facts) Decision { return Decide(settings(f)) }
	scriptBy := Root{Script: true, WebUser: "www-data", ByWebUser: true}
	for _, kind := range alert.Kinds() {
		text, ok := rows[kind]
		if !ok {
			t.Errorf("README has no row for %s", kind)
			continue
		}
		var got string
		switch kind {
		case alert.KindDetection, alert.KindQuarantineFailed:
			// The move's failure keeps the decision's kind and severity
			// (the agent turns the kind into quarantine_failed).
			got = "the rule's"
			for s := finding.SeverityLow; s <= finding.SeverityCritical; s++ {
				if d := decide(Facts{Verdict: flagged(s), Born: true}); d.Kind != alert.KindDetection || d.Severity != s {
					got = "not the rule's"
				}
			}
		case alert.KindIOCMatch:
			v := flagged(finding.SeverityCritical)
			v.OnlyHashLists = true
			if d := decide(Facts{Verdict: v, Born: true}); d.Kind == kind {
				got = d.Severity.String()
			}
		case alert.KindScanFailed:
			big := clean()
			big.TooLarge = true
			got = decide(Facts{Verdict: Verdict{Err: Failed}}).Severity.String() +
				" (" + decide(Facts{Verdict: big, Born: true}).Severity.String() + ": too large; " +
				decide(Facts{Verdict: bigScript(), Born: true}).Severity.String() + ": a new script not scanned in full)"
			for _, e := range []ScanError{Failed, TimedOut, NotHashed} {
				if d := decide(Facts{Verdict: Verdict{Err: e, Script: true}, Born: true}); d.Severity != finding.SeverityHigh {
					got += fmt.Sprintf(" but a new script with error %d gives %s", e, d.Severity)
				}
			}
		case alert.KindChangedWhileDown:
			mode := clean()
			mode.Perm = 0o700
			got = decide(Facts{Verdict: clean(), WhileDown: true, Born: true}).Severity.String() +
				" (" + decide(Facts{Verdict: mode, Root: script, Prev: record(sumB, 0, true), WhileDown: true}).Severity.String() + ": a script in a protected root)"
		case alert.KindHardLink:
			linked := clean()
			linked.Nlink = 2
			got = decide(Facts{Verdict: linked, Born: true}).Severity.String() +
				" (" + decide(Facts{Verdict: linked, Root: Root{Script: true}, Born: true, Approved: true}).Severity.String() + ": a script in a protected root)"
		case alert.KindUnexpectedChange:
			noScript := decide(Facts{Verdict: clean(), Root: Root{Script: true, NoScriptZone: true}, Born: true}).Severity
			byWeb := decide(Facts{Verdict: clean(), Root: scriptBy, Born: true}).Severity
			got = decide(Facts{Verdict: clean(), Root: script, Born: true}).Severity.String() +
				" (" + noScript.String() + ": in `no_script_globs`, or written by `web_user`)"
			if byWeb != noScript {
				got += " but web_user gives " + byWeb.String()
			}
		case alert.KindSymlink:
			q := config.Quarantine{MinSeverity: config.Threshold(finding.SeverityHigh)}
			if d := DecideLink(Link{Outside: true, Born: true, Quarantine: q}); d.Kind == kind {
				got = d.Severity.String()
			}
			if d := DecideLink(Link{Outside: true, Born: true, WindowOpen: true, Quarantine: q}); d.Kind == "" {
				got += " (none in a deploy window)"
			}
		case alert.KindTransientScript:
			k, sev := DecideTransient(Transient{Script: true})
			if k2, _ := DecideTransient(Transient{Script: true, WindowOpen: true}); k == kind && k2 == "" {
				got = sev.String() + " (none in a deploy window)"
			}
		case alert.KindAlertsDropped:
			// Decided by the webhook spool and the dispatcher (alert
			// package): as severe as the most severe alert lost, at least high.
			got = alert.LossSeverity(finding.SeverityLow).String() +
				" (" + alert.LossSeverity(finding.SeverityCritical).String() + ": a critical alert among those lost)"
		case alert.KindAlertsGrouped:
			got = "highest folded" // decided by the dispatcher (alert package)
		case alert.KindHeartbeat:
			got = "low" // set by the dispatcher (alert package)
		case alert.KindAccessReport:
			got = "the first alert's" // a follow-up (access package) travels as the alert it follows
		case alert.KindAlertsAtRisk:
			// Decided by the webhook (alert package): as severe as the most
			// severe alert held in memory, at least high; its resolution as
			// severe as the notice it ends.
			got = alert.LossSeverity(finding.SeverityLow).String() +
				" (" + alert.LossSeverity(finding.SeverityCritical).String() + ": a critical alert among those held; resolved: as the notice it ends)"
		case alert.KindBlind:
			got = BlindSeverity(blind.VaultUnwritable).String()
			var other []string
			for _, st := range blind.States() {
				if s := BlindSeverity(st); s != finding.SeverityHigh {
					other = append(other, fmt.Sprintf("%s: `%s`", s, st))
				}
			}
			if len(other) > 0 {
				got += " (" + strings.Join(other, ", ") + ")"
			}
		default:
			got = EventSeverity(kind).String()
		}
		if got != text {
			t.Errorf("%s: README says %q, policy gives %q", kind, text, got)
		}
	}
}

func TestDecideTransient(t *testing.T) {
	for _, c := range []struct {
		t    Transient
		kind alert.Kind
		sev  finding.Severity
	}{
		{Transient{Script: true}, alert.KindTransientScript, finding.SeverityHigh},
		{Transient{}, "", finding.SeverityNone}, // a temporary file
		{Transient{Script: true, WindowOpen: true}, "", finding.SeverityNone},
	} {
		if kind, sev := DecideTransient(c.t); kind != c.kind || sev != c.sev {
			t.Errorf("%+v: %q %s, want %q %s", c.t, kind, sev, c.kind, c.sev)
		}
	}
}
