package packaging

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// What the package installs, and what the test therefore may create and
// must see removed again. The test refuses to run when any of them is
// already there: it removes only what its own install created.
const (
	debBin       = "/usr/bin/shellwatch"
	debUnit      = "/lib/systemd/system/shellwatch.service"
	debCatalog   = "/usr/lib/systemd/catalog/shellwatch.catalog"
	debConfDir   = "/etc/shellwatch"
	debConfig    = "/etc/shellwatch/config.toml"
	debRulesD    = "/etc/shellwatch/rules.d"
	debStateDir  = "/var/lib/shellwatch"
	debVault     = "/var/lib/shellwatch/quarantine"
	debWantsLink = "/etc/systemd/system/multi-user.target.wants/shellwatch.service"
)

// TestDebInstallRunPurge builds the .deb the way `make deb` does, installs
// it on this machine with dpkg, runs the installed binary, checks the unit
// is enabled but not started, and purges the package (always, even when a
// check fails). Root only.
func TestDebInstallRunPurge(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("installs a Debian package: run as root")
	}
	for _, c := range []string{"dpkg", "dpkg-query", "dpkg-deb", "make"} {
		needCommand(t, c)
	}
	if status := packageStatus(t); status != "" {
		t.Skipf("a shellwatch package is already known to dpkg (%s); not touching it", status)
	}
	for _, p := range []string{debBin, debUnit, debCatalog, debConfDir, debStateDir, debWantsLink} {
		if _, err := os.Lstat(p); err == nil {
			t.Skipf("%s exists and is not from a package this test installed; not touching it", p)
		}
	}

	deb := buildDeb(t)
	out, code := run(t, "", "dpkg-deb", "--contents", deb)
	if code != 0 {
		t.Fatalf("dpkg-deb --contents: %s", out)
	}
	t.Logf("dpkg-deb --contents %s:\n%s", filepath.Base(deb), out)

	t.Cleanup(func() { purge(t) })
	install(t, deb)

	t.Run("files", func(t *testing.T) {
		out, code := run(t, "", "dpkg", "-L", "shellwatch")
		if code != 0 {
			t.Fatalf("dpkg -L shellwatch: %s", out)
		}
		listed := map[string]bool{}
		for _, l := range strings.Split(out, "\n") {
			listed[l] = true
		}
		for _, p := range []string{debBin, debUnit, debCatalog, debConfig, debConfDir + "/rules.d", debStateDir, debVault,
			"/usr/share/doc/shellwatch/README.md", "/usr/share/doc/shellwatch/copyright", "/usr/share/doc/shellwatch/prevent.conf"} {
			if !listed[p] {
				t.Errorf("dpkg -L shellwatch does not list %s", p)
			}
			if _, err := os.Stat(p); err != nil {
				t.Errorf("not installed: %v", err)
			}
		}
		out, _ = run(t, "", "dpkg-query", "-W", "-f=${Conffiles}", "shellwatch")
		if !strings.Contains(out, " "+debConfig+" ") {
			t.Errorf("%s is not a conffile; conffiles: %q", debConfig, out)
		}
		for p, want := range map[string]fs.FileMode{debStateDir: 0o700, debVault: 0o700, debConfDir: 0o700, debConfig: 0o600, debBin: 0o755} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().Perm() != want {
				t.Errorf("%s has mode %04o, want %04o", p, fi.Mode().Perm(), want)
			}
		}
	})

	t.Run("commands", func(t *testing.T) {
		// One version: the package's is the binary's.
		pkgVersion, _ := run(t, "", "dpkg-query", "-W", "-f=${Version}", "shellwatch")
		if out, code := run(t, "", debBin, "version"); code != 0 || out != "shellwatch "+pkgVersion+"\n" {
			t.Errorf("%s version: exit %d, %q; the package is version %q", debBin, code, out, pkgVersion)
		}
		// rules.d is empty after install: the rules compile, and a warning
		// says so.
		out, code := run(t, "", debBin, "rules", "check", "--config", debConfig)
		if code != 0 || !strings.Contains(out, "\nok: ") || !strings.Contains(out, debRulesD+": no *.yar") {
			t.Errorf("%s rules check: exit %d:\n%s", debBin, code, out)
		}
		// A rule put in rules.d, as the README says, is used by the
		// packaged config.
		marker := filepath.Join(debRulesD, "local.yar")
		write(t, marker, "rule local_marker { meta: severity = \"critical\" strings: $m = \"SHELLWATCH-LOCAL-MARKER\" condition: $m }\n")
		defer os.Remove(marker)
		out, code = run(t, "", debBin, "rules", "list", "--config", debConfig)
		if code != 0 || !strings.Contains(out, "default:local_marker") {
			t.Errorf("%s rules list with %s: exit %d, want default:local_marker listed:\n%s", debBin, marker, code, out)
		}
		marked := t.TempDir()
		write(t, filepath.Join(marked, "notes.txt"), "SHELLWATCH-LOCAL-MARKER\n")
		out, code = run(t, "", debBin, "scan", "--config", debConfig, marked)
		if code != 1 || !strings.Contains(out, "local_marker") {
			t.Errorf("scan with a rule in %s: exit %d, want 1 naming local_marker:\n%s", debRulesD, code, out)
		}
		dirty, clean := t.TempDir(), t.TempDir()
		shell := filepath.Join(dirty, "upload.php")
		write(t, shell, `<?php @eval($_POST["cmd"]); ?>`+"\n")
		write(t, filepath.Join(dirty, "index.php"), `<?php echo "hello"; ?>`+"\n")
		write(t, filepath.Join(clean, "index.php"), `<?php echo "hello"; ?>`+"\n")
		out, code = run(t, "", debBin, "scan", "--config", debConfig, dirty)
		if code != 1 || !strings.Contains(out, shell) || strings.Contains(out, filepath.Join(dirty, "index.php")+"\t") {
			t.Errorf("scan of a folder with a webshell: exit %d, want 1 naming only %s:\n%s", code, shell, out)
		}
		out, code = run(t, "", debBin, "scan", "--config", debConfig, clean)
		if code != 0 {
			t.Errorf("scan of a clean folder: exit %d, want 0:\n%s", code, out)
		}
	})

	t.Run("unit enabled, not started", func(t *testing.T) {
		target, err := os.Readlink(debWantsLink)
		if err != nil || target != debUnit {
			t.Errorf("unit not enabled: %s -> %q (%v), want -> %s", debWantsLink, target, err, debUnit)
		}
		if pids := processesOf(debBin); len(pids) > 0 {
			t.Errorf("%s is running after install (pids %v); it must wait for the operator", debBin, pids)
		}
		if _, err := os.Stat("/run/systemd/system"); err == nil {
			if out, _ := run(t, "", "systemctl", "is-active", "shellwatch.service"); strings.TrimSpace(out) == "active" {
				t.Errorf("systemctl is-active shellwatch: active, want the unit not started")
			}
		}
		if out, code := run(t, "", "journalctl", "--list-catalog", "--no-pager", "5d7a3c1e9b2f4e08a1c6f3b2d4e5a601"); code != 0 || !strings.Contains(out, "shellwatch") {
			t.Errorf("the catalog is not in journald's database after install: exit %d: %s", code, out)
		}
	})

	t.Run("reinstall keeps an edited conffile", func(t *testing.T) {
		b, err := os.ReadFile(debConfig)
		if err != nil {
			t.Fatal(err)
		}
		edited := string(b) + "\n# edited by the operator\n"
		write(t, debConfig, edited)
		install(t, deb)
		if b, _ := os.ReadFile(debConfig); string(b) != edited {
			t.Errorf("reinstalling replaced the edited %s", debConfig)
		}
	})

	// What the daemon would have left: a baseline, a spool, and a file in
	// the vault. Purge deletes the first two and keeps the vault.
	write(t, filepath.Join(debStateDir, "state.db"), "baseline")
	if err := os.MkdirAll(filepath.Join(debStateDir, "spool", "0123456789abcdef"), 0o700); err != nil {
		t.Fatal(err)
	}
	// Two quarantined files, each stored with its metadata beside it.
	evidence := filepath.Join(debVault, "20261201T090709-6bd69547513b")
	write(t, evidence, "<?php evidence")
	write(t, evidence+".json", "{}")
	write(t, filepath.Join(debVault, "20261201T090710-0123456789ab"), "<?php evidence")
	write(t, filepath.Join(debVault, "20261201T090710-0123456789ab.json"), "{}")

	out, code = run(t, "", "dpkg", "--purge", "shellwatch")
	if code != 0 {
		t.Fatalf("dpkg --purge shellwatch: exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "kept the quarantine vault "+debVault+" (2 quarantined files") {
		t.Errorf("purge did not say it kept the vault with its 2 quarantined files:\n%s", out)
	}
	if s := packageStatus(t); s != "" {
		t.Errorf("after purge dpkg still knows shellwatch: %s", s)
	}
	for _, p := range []string{debBin, debUnit, debCatalog, debConfDir, debWantsLink, filepath.Join(debStateDir, "state.db"), filepath.Join(debStateDir, "spool")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is still there after purge", p)
		}
	}
	if _, err := os.Stat(evidence); err != nil {
		t.Errorf("purge removed the vault's content: %v", err)
	}
	if out, _ := run(t, "", "journalctl", "--list-catalog", "--no-pager", "5d7a3c1e9b2f4e08a1c6f3b2d4e5a601"); strings.Contains(out, "shellwatch") {
		t.Errorf("journald's catalog database still lists shellwatch after purge: %s", out)
	}
}

// buildDeb packages a freshly built binary with the Makefile's nfpm step
// into a temporary folder and returns the .deb's path.
func buildDeb(t *testing.T) string {
	t.Helper()
	bin := shellwatchBinary(t)
	dir := t.TempDir()
	out, code := run(t, repoRoot, "make", "--no-print-directory", "deb-package", "DEB_BIN="+bin, "DEB_DIR="+dir)
	if code != 0 {
		t.Fatalf("make deb-package: exit %d:\n%s", code, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "shellwatch_*_amd64.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb-package made %v in %s:\n%s", debs, dir, out)
	}
	return debs[0]
}

// install installs deb with dpkg, and with apt-get install -f when dpkg
// left dependencies unmet.
func install(t *testing.T, deb string) {
	t.Helper()
	out, code := run(t, "", "dpkg", "-i", deb)
	if code != 0 {
		t.Logf("dpkg -i: exit %d:\n%s", code, out)
		out, code = run(t, "", "apt-get", "install", "-f", "-y", "-q", "--no-install-recommends")
		if code != 0 {
			t.Fatalf("apt-get install -f: exit %d:\n%s", code, out)
		}
	}
	t.Logf("dpkg -i %s:\n%s", filepath.Base(deb), out)
	if !strings.HasPrefix(packageStatus(t), "install ok installed") {
		t.Fatalf("shellwatch is not installed after dpkg -i: %q", packageStatus(t))
	}
}

// purge removes the package if it is (still) known to dpkg, and the state
// folder the test's install created, vault included.
func purge(t *testing.T) {
	if packageStatus(t) != "" {
		if out, code := run(t, "", "dpkg", "--purge", "shellwatch"); code != 0 {
			t.Errorf("cleanup: dpkg --purge shellwatch: exit %d:\n%s", code, out)
		}
	}
	if err := os.RemoveAll(debStateDir); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// packageStatus returns dpkg's status of the shellwatch package, or "" when
// dpkg does not know it (never installed, or purged).
func packageStatus(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "shellwatch").Output()
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(out))
	if strings.HasSuffix(s, " not-installed") {
		return ""
	}
	return s
}

// processesOf returns the pids of the processes running the executable exe.
func processesOf(exe string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		if target, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && target == exe {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
