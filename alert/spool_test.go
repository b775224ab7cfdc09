package alert

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// TestSpoolSetsAsideWhatItCannotRead plants, next to a good spool file,
// the debris a crash or a human could leave: a truncated file, a stray
// file, a symlink, a temp file holding a whole alert and a truncated temp
// file. The good alert and the whole temp file are delivered, in order; the
// rest moves to corrupt/ and is logged by name.
func TestSpoolSetsAsideWhatItCannotRead(t *testing.T) {
	dir := t.TempDir()
	good := testAlert(1, finding.SeverityHigh)
	unrenamed := testAlert(2, finding.SeverityLow)
	goodJSON, _ := json.Marshal(good)
	unrenamedJSON, _ := json.Marshal(unrenamed)
	goodName := "00000000000000000007-" + good.ID + ".json"
	unrenamedName := "00000000000000000009-" + unrenamed.ID + ".json"
	planted := map[string][]byte{
		goodName:                                     goodJSON,
		tmpPrefix + unrenamedName:                    unrenamedJSON,
		"00000000000000000008-truncated.json":        goodJSON[:len(goodJSON)/2],
		tmpPrefix + "00000000000000000010-torn.json": goodJSON[:10],
		"00000000000000000011-empty.json":            nil,
		"00000000000000000012-oldschema.json":        []byte(`{"schema_version":99,"id":"x"}`),
		"notes.txt":                                  []byte("hello"),
		"00000000000000000013-noid.json":             []byte(`{"schema_version":1}`),
	}
	for name, data := range planted {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/shadow", filepath.Join(dir, "00000000000000000014-link.json")); err != nil {
		t.Fatal(err)
	}

	rc := newReceiver(nil)
	srv := newPlainServer(t, rc)
	log, logs := testLogger(t)
	w, err := NewWebhook(WebhookOptions{URL: srv, SpoolDir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, "the replayed alerts", func() bool { return w.Stats().Delivered == 2 })
	closeWebhook(t, w)

	got := rc.alertsReceived(t)
	if len(got) != 2 || got[0].ID != good.ID || got[1].ID != unrenamed.ID {
		t.Fatalf("receiver got %d alerts, want the good one, then the unrenamed one", len(got))
	}
	if files := spoolFiles(t, dir); len(files) != 0 {
		t.Errorf("spool still holds %v", files)
	}
	aside, err := os.ReadDir(filepath.Join(dir, corruptDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range aside {
		names = append(names, de.Name())
	}
	want := []string{
		"00000000000000000008-truncated.json", tmpPrefix + "00000000000000000010-torn.json",
		"00000000000000000011-empty.json", "00000000000000000012-oldschema.json",
		"00000000000000000013-noid.json", "00000000000000000014-link.json", "notes.txt",
	}
	slices.Sort(want) // ReadDir sorts by name
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("corrupt/ holds %v, want %v", names, want)
	}
	for _, name := range want {
		if !strings.Contains(logs.String(), name) {
			t.Errorf("log does not name %s", name)
		}
	}
	if target, err := os.Readlink(filepath.Join(dir, corruptDir, "00000000000000000014-link.json")); err != nil || target != "/etc/shadow" {
		t.Errorf("the symlink was not moved as a link: %q, %v", target, err)
	}
}

func newPlainServer(t *testing.T, rc *receiver) string {
	t.Helper()
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestSpoolRefusesUnsafeDirs: a spool others can write to, or reached
// through a symlink, could be fed forged alerts or emptied.
func TestSpoolRefusesUnsafeDirs(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	realDir := filepath.Join(base, "real")
	if err := os.Mkdir(realDir, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(realDir, link); err != nil {
		t.Fatal(err)
	}
	log, _ := testLogger(t)
	for dir, want := range map[string]string{
		open: "spool dir " + open + " is writable by group or others (mode 0777)",
		link: "spool dir " + link + " is a symlink",
	} {
		_, err := NewWebhook(WebhookOptions{URL: "http://127.0.0.1:9/", SpoolDir: dir, Logger: log})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewWebhook over %s: err = %v, want %q", dir, err, want)
		}
	}

	created := filepath.Join(base, "new", "spool")
	w, err := NewWebhook(WebhookOptions{URL: "http://127.0.0.1:9/", SpoolDir: created, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	closeWebhook(t, w)
	if fi, err := os.Stat(created); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("created spool dir: %v, %v; want mode 0700", fi.Mode(), err)
	}
}

// TestSpoolTrimsAtOpen: a spool holding more than MaxSpool (the limit was
// lowered, say) drops its oldest low and medium alerts at open and reports
// them.
func TestSpoolTrimsAtOpen(t *testing.T) {
	dir := t.TempDir()
	log, _ := testLogger(t)
	s, _, err := openSpool(dir, 100, 0, log)
	if err != nil {
		t.Fatal(err)
	}
	for i, sev := range []finding.Severity{finding.SeverityLow, finding.SeverityCritical, finding.SeverityMedium, finding.SeverityLow} {
		a := testAlert(i, sev)
		if _, _, err := s.add(&a); err != nil {
			t.Fatal(err)
		}
	}
	s.close()

	s, dropped, err := openSpool(dir, 2, 0, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if len(dropped) != 2 || dropped[0].sample.Severity != finding.SeverityLow || dropped[1].sample.Severity != finding.SeverityMedium {
		t.Errorf("dropped %+v, want the first low and the medium alert", dropped)
	}
	if n := len(spoolFiles(t, dir)); n != 2 {
		t.Errorf("%d files left, want 2", n)
	}
}

// FuzzDecodeSpoolRecord: whatever a spool file holds, reading it neither
// panics nor yields an alert that does not survive another round trip.
func FuzzDecodeSpoolRecord(f *testing.F) {
	a := testAlert(1, finding.SeverityHigh)
	a.File.Path = "/var/www/\xff\n.php"
	data, _ := json.Marshal(a)
	f.Add(data)
	f.Add([]byte(`{"schema_version":1,"id":"x","file":{"path":""},"path_base64":"////"}`))
	f.Add([]byte(`{"schema_version":1,"id":"x","path_base64":"!"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := decodeSpoolRecord(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("decoded alert does not encode: %v", err)
		}
		b, err := decodeSpoolRecord(again)
		if err != nil {
			t.Fatalf("re-encoded alert does not decode: %v\n%s", err, again)
		}
		if a.ID != b.ID || a.Path() != b.Path() {
			t.Fatalf("round trip changed the alert: %q %q -> %q %q", a.ID, a.Path(), b.ID, b.Path())
		}
	})
}
