package baseline

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/internal/testenv"
)

// Diff lists what differs from the accepted baseline: files added, changed
// (saying how) and deleted since they were recorded, and those recorded but
// never accepted; a root that cannot be walked is a problem naming it.
func TestDiff(t *testing.T) {
	b := openTest(t)
	root := filepath.Join(t.TempDir(), "www")
	same := testenv.WriteFile(t, filepath.Join(root, "same.php"), "1")
	chmod := testenv.WriteFile(t, filepath.Join(root, "chmod.php"), "1")
	gone := testenv.WriteFile(t, filepath.Join(root, "gone.php"), "1")
	hotfix := testenv.WriteFile(t, filepath.Join(root, "hotfix.php"), "1")
	for _, p := range []string{same, chmod, gone} {
		b.Remember(seen(t, p, 1), nil, true)
	}
	b.Remember(seen(t, hotfix, 1), nil, false) // alerted, never accepted
	if err := os.Chmod(chmod, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	testenv.WriteFile(t, filepath.Join(root, "added.php"), "1")

	changes, problems := b.Diff(context.Background(), root, nil)
	var got []string
	for _, c := range changes {
		got = append(got, c.Kind+" "+filepath.Base(c.Path)+" "+c.Detail)
	}
	sort.Strings(got)
	want := []string{
		"added added.php ",
		"changed chmod.php mode 0644 → 0600",
		"deleted gone.php ",
		"unaccepted hotfix.php sha256 0100000000000000, first seen " + b.clock.now().Format("2006-01-02T15:04:05Z07:00"),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(problems) != 0 {
		t.Errorf("diff:\n%s\nwant:\n%s\nproblems %q", strings.Join(got, "\n"), strings.Join(want, "\n"), problems)
	}

	_, problems = b.Diff(context.Background(), filepath.Join(root, "missing"), nil)
	if len(problems) != 1 || !strings.Contains(problems[0], filepath.Join(root, "missing")) {
		t.Errorf("diff of a missing root: problems %q, want one naming it", problems)
	}
}
