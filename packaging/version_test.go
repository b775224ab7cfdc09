package packaging

import (
	"os"
	"path/filepath"
	"regexp"
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

// versionForm matches what version.sh prints (see its comment).
var versionForm = regexp.MustCompile(`^(\d+(\.\d+)*(~[0-9A-Za-z.]+)?(\+git\d+\.g[0-9a-f]+)?|0\.0\.0~git[0-9a-f]{12}|0\.0\.0~dev)(\.dirty)?$`)

// TestOneVersion: `make build` stamps the binary and `make deb` names the
// package with the same version, version.sh's, and the README's example
// alert shows a version of that form.
func TestOneVersion(t *testing.T) {
	needCommand(t, "make")
	out, code := run(t, "", "./version.sh")
	want := strings.TrimSpace(out)
	if code != 0 || !versionForm.MatchString(want) {
		t.Fatalf("version.sh: exit %d, %q does not have a documented form", code, want)
	}
	build, code := run(t, repoRoot, "make", "--no-print-directory", "-n", "build")
	if code != 0 || !strings.Contains(build, "-X main.version="+want+"'") {
		t.Errorf("make -n build: exit %d, does not stamp version %s:\n%s", code, want, build)
	}
	deb, code := run(t, repoRoot, "make", "--no-print-directory", "-n", "deb-package")
	if code != 0 || !strings.Contains(deb, "SHELLWATCH_DEB_VERSION='"+want+"'") || !strings.Contains(deb, "shellwatch_"+want+"_amd64.deb") {
		t.Errorf("make -n deb-package: exit %d, does not package version %s:\n%s", code, want, deb)
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"agent_version":"([^"]*)"`).FindSubmatch(readme)
	if m == nil || !versionForm.Match(m[1]) {
		t.Errorf("README's example agent_version %q is not a version version.sh makes", m)
	}
}
