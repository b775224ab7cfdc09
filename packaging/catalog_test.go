package packaging

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/alert"
)

const catalogFile = "shellwatch.catalog"

// catalogEntry is one "-- MESSAGE_ID" entry of a journald catalog.
type catalogEntry struct {
	id      string
	headers map[string]string
	body    string
}

var catalogID = regexp.MustCompile(`^-- ([0-9a-f]{32})$`)

// readCatalog parses the entries of a catalog file (header lines up to the
// first blank line, then the body), in order.
func readCatalog(t *testing.T, path string) []catalogEntry {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var entries []catalogEntry
	var cur *catalogEntry
	inBody := false
	for n, line := range strings.Split(string(b), "\n") {
		if m := catalogID.FindStringSubmatch(line); m != nil {
			entries = append(entries, catalogEntry{id: m[1], headers: map[string]string{}})
			cur, inBody = &entries[len(entries)-1], false
			continue
		}
		switch {
		case cur == nil:
			if line != "" && !strings.HasPrefix(line, "#") {
				t.Fatalf("%s:%d: text before the first entry: %q", path, n+1, line)
			}
		case inBody:
			cur.body += line + "\n"
		case line == "":
			inBody = true
		default:
			key, value, ok := strings.Cut(line, ": ")
			if !ok {
				t.Fatalf("%s:%d: not a header line: %q", path, n+1, line)
			}
			cur.headers[key] = value
		}
	}
	return entries
}

// TestCatalogCoversEveryKind checks that every alert kind has exactly one
// entry under its MESSAGE_ID, with the headers journalctl -x shows, and that
// the catalog has no entry for an ID no kind uses.
func TestCatalogCoversEveryKind(t *testing.T) {
	entries := readCatalog(t, catalogFile)
	count := map[string]int{}
	byID := map[string]catalogEntry{}
	for _, e := range entries {
		count[e.id]++
		byID[e.id] = e
	}
	kinds := alert.Kinds()
	known := map[string]bool{}
	for _, k := range kinds {
		id := k.MessageID()
		known[id] = true
		if count[id] != 1 {
			t.Errorf("kind %s (MESSAGE_ID %s): %d catalog entries, want 1", k, id, count[id])
			continue
		}
		e := byID[id]
		if e.headers["Subject"] == "" {
			t.Errorf("kind %s: entry has no Subject", k)
		}
		if got := e.headers["Defined-By"]; got != "shellwatch" {
			t.Errorf("kind %s: Defined-By %q, want shellwatch", k, got)
		}
		if e.headers["Support"] == "" {
			t.Errorf("kind %s: entry has no Support", k)
		}
		if len(strings.TrimSpace(e.body)) < 80 {
			t.Errorf("kind %s: body too short to say what happened and what to do: %q", k, e.body)
		}
	}
	for id := range count {
		if !known[id] {
			t.Errorf("catalog entry %s belongs to no alert kind", id)
		}
	}
	if len(entries) != len(kinds) {
		t.Errorf("%d catalog entries for %d kinds", len(entries), len(kinds))
	}
}

// TestCatalogJournalctl has journalctl build its catalog database from the
// file in a scratch root (--root, so the system's database is untouched) and
// checks that it lists every kind's MESSAGE_ID.
func TestCatalogJournalctl(t *testing.T) {
	journalctl := needCommand(t, "journalctl")
	root := t.TempDir()
	dir := filepath.Join(root, "usr", "lib", "systemd", "catalog")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(catalogFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, catalogFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, root, journalctl, "--root="+root, "--update-catalog")
	if code != 0 || strings.TrimSpace(out) != "" {
		t.Fatalf("journalctl --update-catalog exited %d:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(root, "var", "lib", "systemd", "catalog", "database")); err != nil {
		t.Fatalf("journalctl --update-catalog wrote no database in the scratch root: %v", err)
	}
	out, code = run(t, root, journalctl, "--root="+root, "--list-catalog", "--no-pager")
	if code != 0 {
		t.Fatalf("journalctl --list-catalog exited %d:\n%s", code, out)
	}
	listed := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		id, rest, ok := strings.Cut(line, " ")
		if ok {
			listed[id] = rest
		}
	}
	for _, k := range alert.Kinds() {
		rest, ok := listed[k.MessageID()]
		if !ok {
			t.Errorf("kind %s: journalctl --list-catalog does not list %s", k, k.MessageID())
			continue
		}
		if !strings.HasPrefix(rest, "shellwatch: ") {
			t.Errorf("kind %s: listed as %q, want it defined by shellwatch", k, rest)
		}
	}
	if len(listed) != len(alert.Kinds()) {
		t.Errorf("journalctl lists %d entries for %d kinds:\n%s", len(listed), len(alert.Kinds()), out)
	}
}
