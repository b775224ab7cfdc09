package packaging

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/config"
)

// maxExposure is the highest overall exposure `systemd-analyze security`
// may give the unit (0 is fully locked down, 10 is unprotected).
const maxExposure = 2.5

const unitFile = "shellwatch.service"

// TestUnitVerify runs `systemd-analyze verify` on the unit, with ExecStart
// pointed at a freshly built binary (verify checks that it exists) in a copy
// of the unit in a temporary folder.
func TestUnitVerify(t *testing.T) {
	analyze := needCommand(t, "systemd-analyze")
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	bin := shellwatchBinary(t)
	const exec = "ExecStart=/usr/bin/shellwatch "
	if !strings.Contains(string(unit), "\n"+exec) {
		t.Fatalf("%s has no line starting %q", unitFile, exec)
	}
	copied := strings.Replace(string(unit), "\n"+exec, "\nExecStart="+bin+" ", 1)
	dir := t.TempDir()
	path := filepath.Join(dir, unitFile)
	if err := os.WriteFile(path, []byte(copied), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, dir, analyze, "verify", path)
	if code != 0 {
		t.Fatalf("systemd-analyze verify exited %d:\n%s", code, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case line == "":
		case strings.Contains(line, "shellwatch"):
			t.Errorf("systemd-analyze verify warns about the unit: %s", line)
		default:
			t.Logf("systemd-analyze verify (not about our unit): %s", line)
		}
	}
}

var exposureLine = regexp.MustCompile(`Overall exposure level for [^:]+: ([0-9]+(?:\.[0-9]+)?)`)

// TestUnitSecurityExposure checks the unit's sandbox with `systemd-analyze
// security --offline=true` and logs the figure and what still counts.
func TestUnitSecurityExposure(t *testing.T) {
	analyze := needCommand(t, "systemd-analyze")
	path, err := filepath.Abs(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	out, code := run(t, t.TempDir(), analyze, "security", "--offline=true", "--no-pager", path)
	if code != 0 {
		t.Fatalf("systemd-analyze security --offline=true exited %d:\n%s", code, out)
	}
	m := exposureLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure in the output of systemd-analyze security:\n%s", out)
	}
	exposure, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "✗") {
			t.Logf("remaining: %s", strings.Join(strings.Fields(line), " "))
		}
	}
	t.Logf("systemd-analyze security --offline=true %s: overall exposure %.1f (at most %.1f allowed)", unitFile, exposure, maxExposure)
	if exposure > maxExposure {
		t.Errorf("overall exposure %.1f, want at most %.1f:\n%s", exposure, maxExposure, out)
	}
}

// TestPreventDropInExposure checks the unit with the prevention drop-in
// (as an operator installs it, in shellwatch.service.d/) with `systemd-analyze
// security --offline=true`, logs the figure, and checks that the drop-in
// grants what prevention needs: fanotify's calls and CAP_SYS_ADMIN, and no
// more than the exposure allowed.
func TestPreventDropInExposure(t *testing.T) {
	analyze := needCommand(t, "systemd-analyze")
	dir := t.TempDir()
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	dropIn, err := os.ReadFile(preventDropIn)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, unitFile), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, unitFile+".d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, unitFile+".d", preventDropIn), dropIn, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, dir, analyze, "security", "--offline=true", "--no-pager", filepath.Join(dir, unitFile))
	if code != 0 {
		t.Fatalf("systemd-analyze security --offline=true exited %d:\n%s", code, out)
	}
	m := exposureLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure in the output of systemd-analyze security:\n%s", out)
	}
	exposure, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`✗ CapabilityBoundingSet=~CAP_SYS_ADMIN`).MatchString(out) {
		t.Errorf("with the drop-in, the unit still lacks CAP_SYS_ADMIN, which fanotify permission events need:\n%s", out)
	}
	t.Logf("systemd-analyze security --offline=true %s with %s: overall exposure %.1f (at most %.1f allowed)", unitFile, preventDropIn, exposure, maxExposure)
	if exposure > maxExposure {
		t.Errorf("overall exposure with the prevention drop-in %.1f, want at most %.1f:\n%s", exposure, maxExposure, out)
	}
	d := readUnit(t, preventDropIn)
	for _, call := range []string{"fanotify_init", "fanotify_mark", "open_by_handle_at"} {
		if !slices.ContainsFunc(d["SystemCallFilter"], func(v string) bool { return slices.Contains(strings.Fields(v), call) }) {
			t.Errorf("%s does not allow %s: SystemCallFilter=%q", preventDropIn, call, d["SystemCallFilter"])
		}
	}
	contents := readContents(t)
	if e, ok := contents["/usr/share/doc/shellwatch/"+preventDropIn]; !ok || e.src != "packaging/"+preventDropIn {
		t.Errorf("nfpm.yaml does not ship %s as /usr/share/doc/shellwatch/%s", preventDropIn, preventDropIn)
	}
}

// preventDropIn is the drop-in that enables prevention.
const preventDropIn = "prevent.conf"

// TestUnitMatchesDefaults checks the directives the agent depends on, and
// that the folders systemd creates for the unit are where the default
// configuration (config.example.toml, installed as /etc/shellwatch/config.toml)
// puts the state, the vault and the control socket.
func TestUnitMatchesDefaults(t *testing.T) {
	unit := readUnit(t, unitFile)
	want := map[string]string{
		"Type":                    "notify",
		"NotifyAccess":            "main",
		"ExecStart":               "/usr/bin/shellwatch run --config /etc/shellwatch/config.toml",
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"Restart":                 "on-failure",
		"LogRateLimitIntervalSec": "0",
		"RuntimeDirectory":        "shellwatch",
		"RuntimeDirectoryMode":    "0700",
		"StateDirectory":          "shellwatch",
		"StateDirectoryMode":      "0700",
		"ConfigurationDirectory":  "shellwatch",
		"ProtectSystem":           "strict",
		"MemoryDenyWriteExecute":  "yes",
		"NoNewPrivileges":         "yes",
	}
	for key, value := range want {
		if got := unit[key]; len(got) != 1 || got[0] != value {
			t.Errorf("%s=%q, want %q", key, got, value)
		}
	}
	if len(unit["WatchdogSec"]) != 1 {
		t.Errorf("WatchdogSec is not set once: %q", unit["WatchdogSec"])
	}

	cfg, err := config.Load(filepath.Join(repoRoot, "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Agent.StateDir; got != "/var/lib/shellwatch" {
		t.Errorf("agent.state_dir = %q, but the unit's StateDirectory is /var/lib/shellwatch", got)
	}
	if got := cfg.VaultDir(); filepath.Dir(got) != "/var/lib/shellwatch" {
		t.Errorf("the default vault %q is outside the unit's StateDirectory", got)
	}
	if got := filepath.Dir(cfg.Agent.ControlSocket); got != "/run/shellwatch" {
		t.Errorf("agent.control_socket is in %q, but the unit's RuntimeDirectory is /run/shellwatch", got)
	}
}

// readUnit returns the [Service] and [Unit] assignments of a unit file, key
// to values in order.
func readUnit(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: not an assignment: %q", path, line)
		}
		out[key] = append(out[key], value)
	}
	return out
}

// nfpmEntry is one item of nfpm.yaml's contents list.
type nfpmEntry struct{ src, dst, typ string }

// readContents returns nfpm.yaml's contents entries by destination. It reads
// the flat shape the file uses (src, dst and type keys of "- " items), not
// YAML in general.
func readContents(t *testing.T) map[string]nfpmEntry {
	t.Helper()
	b, err := os.ReadFile("nfpm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var entries []nfpmEntry
	inContents := false
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case line == "contents:":
			inContents = true
			continue
		case inContents && line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#"):
			inContents = false
		}
		if !inContents {
			continue
		}
		if item, ok := strings.CutPrefix(trimmed, "- "); ok {
			entries = append(entries, nfpmEntry{})
			trimmed = item
		}
		if len(entries) == 0 {
			continue
		}
		e := &entries[len(entries)-1]
		if v, ok := strings.CutPrefix(trimmed, "src: "); ok {
			e.src = v
		} else if v, ok := strings.CutPrefix(trimmed, "dst: "); ok {
			e.dst = v
		} else if v, ok := strings.CutPrefix(trimmed, "type: "); ok {
			e.typ = v
		}
	}
	byDst := make(map[string]nfpmEntry)
	for _, e := range entries {
		byDst[e.dst] = e
	}
	return byDst
}

// TestPackagedConfigReadsRulesD: the config the package installs selects the
// rules.d folder the package makes, the one the README tells operators to
// put their rules in (TestDebInstallRunPurge checks a rule put there is
// used).
func TestPackagedConfigReadsRulesD(t *testing.T) {
	contents := readContents(t)
	conf, ok := contents[debConfig]
	if !ok || conf.src == "" {
		t.Fatalf("nfpm.yaml installs no %s (contents: %+v)", debConfig, contents)
	}
	if rulesD, ok := contents[debRulesD]; !ok || rulesD.typ != "dir" {
		t.Fatalf("nfpm.yaml makes no folder %s (contents: %+v)", debRulesD, contents)
	}
	cfg, err := config.Load(filepath.Join(repoRoot, conf.src))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cfg.Rules.Paths, debRulesD) {
		t.Errorf("the packaged config (%s) has rules.paths = %q: rules put in %s would be ignored", conf.src, cfg.Rules.Paths, debRulesD)
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "`"+debRulesD+"/`") {
		t.Errorf("README.md does not tell operators to put their rules in %s/", debRulesD)
	}
}
