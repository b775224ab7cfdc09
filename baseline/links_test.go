package baseline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/shellwatch/shellwatch/state"
)

// The first reconciliation of a root tells every symbolic link; the next
// ones only those made, or made anew, since the last complete one that told
// links, across a restart, whatever bytes their names hold. A sweep
// (Reconcile) tells none and remembers none.
func TestReconcileTellsNewLinks(t *testing.T) {
	b := openTest(t)
	root := filepath.Join(t.TempDir(), "www")
	if err := os.MkdirAll(filepath.Join(root, "up"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := func(name, target string) {
		t.Helper()
		p := filepath.Join(root, name)
		os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	reconcile := func() []string {
		t.Helper()
		var told []string
		if _, err := b.ReconcileLinks(context.Background(), root, nil, func(state.Difference) {}, func(p string) { told = append(told, p) }); err != nil {
			t.Fatal(err)
		}
		sort.Strings(told)
		return told
	}
	at := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(root, n))
		}
		sort.Strings(out)
		return out
	}
	link("shadow", "/etc/shadow")
	link("up/a\nb\xff.php", "../shadow")
	link("same", "/srv/shared/uploads")
	if got, want := reconcile(), at("shadow", "up/a\nb\xff.php", "same"); !slices.Equal(got, want) {
		t.Fatalf("first reconciliation told %q, want every link %q", got, want)
	}
	b.reopen()
	if got := reconcile(); len(got) != 0 {
		t.Errorf("after a restart, nothing changed: told %q", got)
	}
	// Remembered by their paths' hashes, never the paths, which a web
	// user can make hundreds of KiB long.
	var kept []knownLink
	if _, err := b.db.GetMeta(metaLinks+root, &kept); err != nil || len(kept) != 3 {
		t.Fatalf("links remembered: %d, %v", len(kept), err)
	}
	for _, k := range kept {
		if len(k.Path) != 0 || len(k.Sum) != 32 {
			t.Errorf("a link remembered as %q / %d bytes of hash, want its hash only", k.Path, len(k.Sum))
		}
	}
	link("shadow", "/etc/passwd") // turned elsewhere: made anew
	link("new", "/")
	if got, want := reconcile(), at("shadow", "new"); !slices.Equal(got, want) {
		t.Errorf("told %q, want the links made since %q", got, want)
	}
	// A link made with no event the agent saw (here, with no agent), met
	// by a sweep, which judges no link: still told at the next start, not
	// remembered by the sweep that never judged it.
	link("unseen", "/etc")
	if _, err := b.Reconcile(context.Background(), root, nil, func(state.Difference) {}); err != nil {
		t.Fatal(err)
	}
	b.reopen()
	if got, want := reconcile(), at("unseen"); !slices.Equal(got, want) {
		t.Errorf("after a sweep met a link no one judged: told %q, want %q", got, want)
	}
	if got := reconcile(); len(got) != 0 {
		t.Errorf("once told: told %q again", got)
	}
	// A cancelled reconciliation remembers nothing.
	link("cut", "/etc")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.ReconcileLinks(ctx, root, nil, func(state.Difference) {}, func(string) {}); err == nil {
		t.Fatal("a cancelled reconciliation worked")
	}
	if got, want := reconcile(), at("cut"); !slices.Equal(got, want) {
		t.Errorf("after a cancelled reconciliation: told %q, want %q", got, want)
	}
}
