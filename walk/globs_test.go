package walk

import (
	"errors"
	"path"
	"strconv"
	"strings"
	"testing"
)

func TestExcluder(t *testing.T) {
	tests := []struct {
		patterns []string
		path     string
		isDir    bool
		want     bool
	}{
		// Patterns with "/": full path, "*" crosses "/".
		{[]string{"*/cache/*"}, "/var/www/html/wp-content/cache/a.php", false, true},
		{[]string{"*/cache/*"}, "/var/www/html/wp-content/cache", true, true},
		{[]string{"*/cache/*"}, "/var/www/html/wp-content/cache", false, false},
		{[]string{"*/cache/*"}, "/var/www/html/wp-content/cached/a.php", false, false},
		{[]string{"*/cache/*"}, "/var/www/cache/deep/er/a.php", false, true},
		{[]string{"/var/www/*.log"}, "/var/www/a/b/c.log", false, true},
		{[]string{"/var/www/*.log"}, "/var/wwwx/c.log", false, false},
		{[]string{"/var/www/*.log"}, "/srv/var/www/c.log", false, false},
		{[]string{"/srv/a?c/*"}, "/srv/abc/x", false, true},
		{[]string{"/srv/a?c/*"}, "/srv/a/c/x", false, false},
		{[]string{"/srv/[ab]/*"}, "/srv/b/x", false, true},
		{[]string{"/srv/[ab]/*"}, "/srv/c/x", false, false},
		{[]string{"/srv/[^ab]/*"}, "/srv/c/x", false, true},
		{[]string{"/srv/[a-c]x/*"}, "/srv/bx/y", false, true},
		{[]string{`/srv/\*/x`}, "/srv/*/x", false, true},
		{[]string{`/srv/\*/x`}, "/srv/a/x", false, false},
		{[]string{"/srv/up/*"}, "/srv/up/a\nb.php", false, true},
		{[]string{"/srv/up/*"}, "/srv/up/bad\xff\xfe.php", false, true},
		{[]string{"/srv/up/?.php"}, "/srv/up/\xff.php", false, true},
		{[]string{"/srv/a.b/*"}, "/srv/aXb/c", false, false}, // "." is literal
		{[]string{"/srv/(a|b)/*"}, "/srv/(a|b)/c", false, true},
		{[]string{"/srv/(a|b)/*"}, "/srv/a/c", false, false},
		{[]string{"/srv/x"}, "/srv/x/y", false, false}, // whole path, not a prefix
		{[]string{"/srv/x/*"}, "/srv/x", true, true},
		// Patterns without "/": base name only.
		{[]string{"*.log"}, "/var/www/a/error.log", false, true},
		{[]string{"*.log"}, "/var/www/a.log/index.php", false, false},
		{[]string{"*.log"}, "/var/www/a.log", true, true},
		{[]string{"node_modules"}, "/srv/app/node_modules", true, true},
		{[]string{"node_modules"}, "/srv/app/node_modules/x.js", false, false},
		{[]string{"*.LOG"}, "/srv/a.log", false, false}, // case matters
		{[]string{"?.php"}, "/srv/a.php", false, true},
		{[]string{"?.php"}, "/srv/ab.php", false, false},
		{[]string{"a\nb"}, "/srv/a\nb", false, true},
		{[]string{"*"}, "/srv/anything", false, true},
		// Several patterns.
		{[]string{"*.log", "*/tmp/*"}, "/srv/tmp/x.php", false, true},
		{[]string{"*.log", "*/tmp/*"}, "/srv/x.log", false, true},
		{[]string{"*.log", "*/tmp/*"}, "/srv/x.php", false, false},
		{nil, "/srv/x.php", false, false},
	}
	for _, tt := range tests {
		ex, err := CompileGlobs(tt.patterns)
		if err != nil {
			t.Fatalf("CompileGlobs(%q): %v", tt.patterns, err)
		}
		if got := ex.Match(tt.path, tt.isDir); got != tt.want {
			t.Errorf("CompileGlobs(%q).Match(%q, %v) = %v, want %v", tt.patterns, tt.path, tt.isDir, got, tt.want)
		}
	}
}

func TestNilExcluder(t *testing.T) {
	var ex *Globs
	if ex.Match("/a", true) || ex.Patterns() != nil {
		t.Error("a nil Globs excludes something")
	}
}

func TestExcluderBadPatterns(t *testing.T) {
	for _, p := range []string{"", "[", "/a/[b", "x\\", "[]", "[a-]", "[-a]", "[z-a]", "a\xffb", "[^]"} {
		_, err := CompileGlobs([]string{"*.log", p})
		if err == nil {
			t.Errorf("CompileGlobs(%q): no error", p)
			continue
		}
		if !errors.Is(err, path.ErrBadPattern) || !strings.Contains(err.Error(), strconv.Quote(p)) {
			t.Errorf("CompileGlobs(%q): error %q does not name the pattern or wrap ErrBadPattern", p, err)
		}
	}
}

// The patterns path.Match accepts mean the same here, for paths without "/"
// in the part matched by "*".
func TestExcluderAgreesWithPathMatch(t *testing.T) {
	patterns := []string{"*.php", "a?c", "[a-c]*", "[^x]y", `\[x`, "x*y*z", "*"}
	names := []string{"a.php", "abc", "bz", "zy", "xy", "[x", "xayz", "x", "", "a\nc"}
	for _, p := range patterns {
		ex, err := CompileGlobs([]string{p})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			want, _ := path.Match(p, n)
			if got := ex.Match("/srv/"+n, false); got != want && n != "" {
				t.Errorf("pattern %q name %q: excluded %v, path.Match %v", p, n, got, want)
			}
		}
	}
}

// Hostile paths cannot make matching slow: RE2 matching is linear.
func TestExcluderLongPath(t *testing.T) {
	ex, err := CompileGlobs([]string{"*a*a*a*a*a*a*a*a*a*a*b/*", "*a*a*a*a*b"})
	if err != nil {
		t.Fatal(err)
	}
	p := "/" + strings.Repeat("a", 100000)
	if ex.Match(p, true) {
		t.Error("excluded")
	}
}

func FuzzExcluder(f *testing.F) {
	f.Add("*/cache/*", "/var/www/cache/a")
	f.Add("[a-z]?.log", "/x/ab.log")
	f.Add(`\`, "x")
	f.Fuzz(func(t *testing.T, pattern, p string) {
		ex, err := CompileGlobs([]string{pattern})
		if err != nil {
			return
		}
		got := ex.Match(p, false)
		if !strings.Contains(pattern, "/") && !strings.Contains(p, "/") {
			if want, err := path.Match(pattern, p); err == nil && want != got && p != "" {
				t.Errorf("pattern %q name %q: excluded %v, path.Match %v", pattern, p, got, want)
			}
		}
	})
}
