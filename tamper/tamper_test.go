package tamper

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// watchDir starts a watch of a config file, a rule folder with a
// subfolder and a hash list, all real files in a temp dir, and returns
// the dir and the changes told.
func watchDir(t *testing.T) (string, *Watch, <-chan Change) {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "rules", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "shellwatch.toml"), []byte("[agent]\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "rules", "sub", "a.yar"), []byte("rule a { condition: false }\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "bad.txt"), []byte("00\n"), 0o600))
	ch := make(chan Change, 64)
	w, err := Start([]string{filepath.Join(dir, "shellwatch.toml"), filepath.Join(dir, "rules"), filepath.Join(dir, "bad.txt")},
		func(c Change) { ch <- c })
	must(err)
	t.Cleanup(func() { w.Close() })
	return dir, w, ch
}

// Each way of changing a target is told as a change of that target; what
// only reads the targets, or touches a neighbour, is not. A sentinel write
// after the quiet step proves nothing was told before it (events of one
// inotify instance arrive in order).
func TestChanges(t *testing.T) {
	for _, c := range []struct {
		name   string
		target string // relative; "" for nothing
		do     func(dir string) error
	}{
		{"config written in place", "shellwatch.toml", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "shellwatch.toml"), []byte("[agent]\n#x\n"), 0o600)
		}},
		{"config replaced by rename (an editor)", "shellwatch.toml", func(dir string) error {
			if err := os.WriteFile(filepath.Join(dir, ".shellwatch.toml.swp"), []byte("x"), 0o600); err != nil {
				return err
			}
			return os.Rename(filepath.Join(dir, ".shellwatch.toml.swp"), filepath.Join(dir, "shellwatch.toml"))
		}},
		{"config chmod", "shellwatch.toml", func(dir string) error { return os.Chmod(filepath.Join(dir, "shellwatch.toml"), 0o666) }},
		{"config removed", "shellwatch.toml", func(dir string) error { return os.Remove(filepath.Join(dir, "shellwatch.toml")) }},
		{"rule added in a subfolder", "rules", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "rules", "sub", "b.yar"), []byte("rule b { condition: true }\n"), 0o600)
		}},
		{"rule folder replaced", "rules", func(dir string) error {
			if err := os.Mkdir(filepath.Join(dir, "rules2"), 0o755); err != nil {
				return err
			}
			if err := os.RemoveAll(filepath.Join(dir, "rules")); err != nil {
				return err
			}
			return os.Rename(filepath.Join(dir, "rules2"), filepath.Join(dir, "rules"))
		}},
		{"hash list truncated", "bad.txt", func(dir string) error { return os.Truncate(filepath.Join(dir, "bad.txt"), 0) }},
		{"targets only read", "", func(dir string) error {
			for _, p := range []string{"shellwatch.toml", "rules/sub/a.yar", "bad.txt"} {
				if _, err := os.ReadFile(filepath.Join(dir, p)); err != nil {
					return err
				}
			}
			_, err := os.ReadDir(filepath.Join(dir, "rules", "sub"))
			return err
		}},
		{"a neighbour of the config changes", "", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "shellwatch.toml.bak"), []byte("x"), 0o600)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, w, ch := watchDir(t)
			if err := c.do(dir); err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(dir, c.target)
			if c.target == "" {
				// The sentinel: a change told after whatever the step told.
				want = filepath.Join(dir, "bad.txt")
				if err := os.WriteFile(want, []byte("11\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case got := <-ch:
				if got.Target != want {
					t.Fatalf("told %+v, want a change of %s", got, want)
				}
				if w.Changes(want) == 0 {
					t.Errorf("Changes(%s) = 0 after a change was told", want)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("no change of %s told", want)
			}
		})
	}
}

// A change tells the target's mode and owner as they are once it is seen,
// and that it is gone once removed; never its content.
func TestChangeTellsModeAndOwner(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "webhook.secret")
	if err := os.WriteFile(secret, []byte("hmac-key-never-told\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ch := make(chan Change, 64)
	w, err := Start([]string{secret}, func(c Change) { ch <- c })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	next := func() Change {
		t.Helper()
		select {
		case c := <-ch:
			return c
		case <-time.After(30 * time.Second):
			t.Fatal("no change told")
			return Change{}
		}
	}
	// Made readable to everyone: anyone on the host can sign alerts.
	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	c := next()
	if c.Op != "CHMOD" || c.Now.Gone || c.Now.Err != nil || c.Now.Mode != 0o644 || int(c.Now.UID) != os.Geteuid() || int(c.Now.GID) != os.Getegid() {
		t.Errorf("chmod told %+v, want mode 0644 owned by %d:%d", c, os.Geteuid(), os.Getegid())
	}
	if s := c.Now.String(); !strings.HasPrefix(s, "now -rw-r--r-- ") || strings.Contains(s, "hmac-key") {
		t.Errorf("the chmod's state says %q", s)
	}
	if err := os.Remove(secret); err != nil {
		t.Fatal(err)
	}
	if c := next(); c.Op != "REMOVE" || !c.Now.Gone || c.Now.String() != "now gone" {
		t.Errorf("removal told %+v (%s), want gone", c, c.Now)
	}
}
