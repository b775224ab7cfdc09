package packaging

import (
	"strings"
	"testing"
)

// TestDebVersion checks how version.sh makes a Debian version of `git
// describe` output, and that dpkg agrees on the order of the results.
func TestDebVersion(t *testing.T) {
	for _, tc := range []struct{ describe, want string }{
		{"v1.2.3", "1.2.3"},
		{"v1.2.3-rc1", "1.2.3~rc1"},
		{"v1.2.3-4-gabc1234", "1.2.3+git4.gabc1234"},
		{"v1.2.3-rc1-4-gabc1234", "1.2.3~rc1+git4.gabc1234"},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3+git4.gabc1234.dirty"},
		{"weird tag/with space", "0.0.0~weird.tag.with.space"},
	} {
		out, code := run(t, "", "./version.sh", tc.describe)
		if got := strings.TrimSpace(out); code != 0 || got != tc.want {
			t.Errorf("version.sh %q = %q (exit %d), want %q", tc.describe, got, code, tc.want)
		}
	}
	out, code := run(t, "", "./version.sh")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("version.sh in this work tree: exit %d: %q", code, out)
	}
	t.Logf("this work tree packages as version %s", strings.TrimSpace(out))

	dpkg := needCommand(t, "dpkg")
	// Each sorts before the next.
	order := []string{"0.0.0~git0123456789ab", "1.2.3~rc1", "1.2.3~rc1+git4.gabc1234", "1.2.3", "1.2.3+git4.gabc1234", "1.2.3+git4.gabc1234.dirty", "1.2.4"}
	for i := 1; i < len(order); i++ {
		if _, code := run(t, "", dpkg, "--compare-versions", order[i-1], "lt", order[i]); code != 0 {
			t.Errorf("dpkg does not sort %s before %s", order[i-1], order[i])
		}
	}
}
