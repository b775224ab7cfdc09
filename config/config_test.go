package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
)

// The example file is the documentation of every key: it must parse, hold
// nothing unknown, and show exactly the defaults, but for rules.paths, which
// names the rules.d folder the package installs it beside.
func TestExampleMatchesDefaults(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatalf("config.example.toml: %v", err)
	}
	want := Default()
	want.Rules.Paths = []string{"/etc/shellwatch/rules.d"}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config.example.toml differs from Default():\n got  %+v\n want %+v", cfg, want)
	}
}

func TestParseErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, toml string
		want       []string // substrings of the error
	}{
		{"unknown key", "[scanner]\nmax_size = \"1MiB\"\n", []string{"line 2: scanner.max_size: unknown key"}},
		{"unknown table once", "[scaner]\nworkers = 2\n", []string{"line 1: scaner: unknown key"}},
		{"bad size", "[scanner]\nmax_file_size = \"32 potatoes\"\n", []string{"line 2", "scanner.max_file_size", "32 potatoes"}},
		{"bad duration", "[scanner]\ntimeout = \"5\"\n", []string{"scanner.timeout", `"5"`}},
		{"bad severity", "[rules]\ndefault_severity = \"urgent\"\n", []string{"rules.default_severity", "urgent"}},
		{"wrong type", "[scanner]\nworkers = \"two\"\n", []string{"scanner.workers"}},
		{"syntax", "[scanner\n", []string{"line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.toml)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg, err := Parse(`
[rules]
bundled = false
paths = [""]
[scanner]
workers = -1
max_file_size = "10B"
timeout = "100ms"
`)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("Validate succeeded, want errors")
	}
	for _, key := range []string{"rules.paths[0]", "scanner.workers", "scanner.max_file_size", "scanner.timeout"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
}

func TestLoadResolvesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	text := "[rules]\npaths = [\"rules.d\", \"/abs/x.yar\"]\nhash_lists = [\"bad.txt\"]\ndefault_severity = \"critical\"\n[scanner]\nmax_file_size = \"1MiB\"\ntimeout = \"2s\"\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Rules.Paths, []string{filepath.Join(dir, "rules.d"), "/abs/x.yar"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rules.paths = %q, want %q", got, want)
	}
	if got, want := cfg.Rules.HashLists[0], filepath.Join(dir, "bad.txt"); got != want {
		t.Errorf("rules.hash_lists[0] = %q, want %q", got, want)
	}
	if cfg.Rules.DefaultSeverity != finding.SeverityCritical || cfg.Scanner.MaxFileSize != 1<<20 || cfg.Scanner.Timeout.Std() != 2*time.Second {
		t.Errorf("values not decoded: %+v", cfg)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("Load of a missing file: error %v does not name it", err)
	}
}

func TestParseByteSize(t *testing.T) {
	good := map[string]ByteSize{"32MiB": 32 << 20, "512KiB": 512 << 10, "10MB": 10e6, "1GiB": 1 << 30, "100": 100, "1.5KiB": 1536, " 2 MiB ": 2 << 20, "7B": 7}
	for in, want := range good {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1MiB", "1e9", "0x10", "inf", "NaN", "1_000", "32 potatoes", "99999999999TiB"} {
		if got, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

// FuzzParse feeds the config parser arbitrary text: it may reject it, but it
// must not panic, and what it accepts must survive validation without panic.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("..", "config.example.toml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(example))
	f.Add("[scanner]\nmax_file_size = \"1KiB\"\n")
	f.Add("[rules]\npaths = [\"a\", \"b\"]\n")
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := Parse(text)
		if err != nil {
			return
		}
		_ = cfg.Validate()
	})
}

func TestWebhookTablesStartFromDefaults(t *testing.T) {
	cfg, err := Parse(`
[[webhook]]
url = "https://a.example/hook"
rate = 0.0
[[webhook]]
url = "http://127.0.0.1:9093"
format = "alertmanager"
min_severity = "critical"
[[watch]]
path = "/srv/www"
`)
	if err != nil {
		t.Fatal(err)
	}
	want0 := DefaultWebhook()
	want0.URL, want0.Rate = "https://a.example/hook", 0
	if !reflect.DeepEqual(cfg.Webhook[0], want0) {
		t.Errorf("webhook[0] = %+v, want %+v", cfg.Webhook[0], want0)
	}
	want1 := DefaultWebhook()
	want1.URL, want1.Format, want1.MinSeverity = "http://127.0.0.1:9093", "alertmanager", Threshold(finding.SeverityCritical)
	if !reflect.DeepEqual(cfg.Webhook[1], want1) {
		t.Errorf("webhook[1] = %+v, want %+v", cfg.Webhook[1], want1)
	}
	if len(cfg.Watch) != 1 || cfg.Watch[0].Path != "/srv/www" || cfg.Watch[0].Exclude == nil {
		t.Errorf("watch = %+v", cfg.Watch)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if a, b := cfg.SpoolDir(0), cfg.SpoolDir(1); a == b || !strings.HasPrefix(a, "/var/lib/shellwatch/spool/") {
		t.Errorf("spool dirs %q and %q", a, b)
	}
}

func TestValidateDaemonKeys(t *testing.T) {
	cfg, err := Parse(`
[agent]
state_dir = "/srv/www/state"
log_level = "loud"
sweep_interval = "1s"
recheck_interval = "1h"
[heartbeat]
interval = "500ms"
[[watch]]
path = "/srv/www"
[[watch]]
path = "/srv/www/shop"
exclude = ["[bad"]
[quarantine]
min_severity = "off"
[[webhook]]
url = "ftp://x"
format = "xml"
client_cert = "/c.pem"
alert_after = "-1m"
`)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Quarantine.MinSeverity.Off() || cfg.Quarantine.MinSeverity.Allows(finding.SeverityCritical) {
		t.Errorf("min_severity off = %v", cfg.Quarantine.MinSeverity)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken daemon config")
	}
	for _, want := range []string{
		"agent.log_level", "agent.sweep_interval: = 1s, want at least 10s", "agent.recheck_interval: = 1h0m0s, want 100ms to 10m", "heartbeat.interval: = 500ms, want 1s to 1h", "watch[1].path", "inside watch[0].path", "watch[1].exclude[0]",
		"quarantine.dir", "quarantined webshells would be served",
		"webhook[0].url", "webhook[0].format", "webhook[0].client_cert", "webhook[0].alert_after: = -1m0s",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	off, err := Parse("[agent]\nsweep_interval = \"0\"\nrecheck_interval = \"0\"\n")
	if err != nil || off.Agent.SweepInterval != 0 || off.Agent.RecheckInterval != 0 {
		t.Errorf("\"0\" turns the sweep and the re-checks off: %v %+v", err, off.Agent)
	}
	if _, err := Parse("[quarantine]\nmin_severity = \"sometimes\"\n"); err == nil || !strings.Contains(err.Error(), "quarantine.min_severity") {
		t.Errorf("bad threshold: %v", err)
	}
}

func TestWatchTablesStartFromDefaults(t *testing.T) {
	cfg, err := Parse(`
[[watch]]
path = "/srv/shop"
mode = "protected"
no_script_globs = ["*/uploads/*"]
[[watch]]
path = "/srv/blog"
mode = "guarded"
script_globs = ["[php"]
`)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultWatch()
	want.Path, want.Mode, want.NoScriptGlobs = "/srv/shop", ModeProtected, []string{"*/uploads/*"}
	if !reflect.DeepEqual(cfg.Watch[0], want) {
		t.Errorf("watch[0] = %+v, want %+v", cfg.Watch[0], want)
	}
	err = cfg.Validate()
	for _, w := range []string{"watch[1].mode", "guarded", "watch[1].script_globs[0]"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate: %v, want it to mention %q", err, w)
		}
	}
}

func TestMetricsListen(t *testing.T) {
	tests := []struct {
		listen   string
		ok       bool
		loopback bool
	}{
		{"", true, false},
		{"127.0.0.1:9787", true, true},
		{"[::1]:9787", true, true},
		{"localhost:9787", true, true},
		{"127.0.0.2:9787", true, true},
		{"0.0.0.0:9787", true, false},
		{":9787", true, false},
		{"10.1.2.3:9787", true, false},
		{"metrics.internal:9787", true, false},
		{"127.0.0.1", false, false},
		{"127.0.0.1:0", false, true},
		{"127.0.0.1:65536", false, true},
		{"127.0.0.1:http", false, true},
		{"::1:9787", false, false},
		{"http://127.0.0.1:9787", false, false},
	}
	for _, tt := range tests {
		cfg := Default()
		cfg.Metrics.Listen = tt.listen
		err := cfg.Validate()
		if tt.ok && err != nil {
			t.Errorf("listen %q: %v", tt.listen, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "metrics.listen")) {
			t.Errorf("listen %q: error %v, want one naming metrics.listen", tt.listen, err)
		}
		if got := cfg.Metrics.IsLoopback(); got != tt.loopback {
			t.Errorf("listen %q: IsLoopback() = %v, want %v", tt.listen, got, tt.loopback)
		}
	}
}

// Globs are checked in the language the daemon compiles them in: "[z-a]"
// passes filepath.Match (which reads a class only when it reaches it) but
// would stop the daemon; validation says so first, naming the key.
func TestValidateGlobsAsTheDaemonCompilesThem(t *testing.T) {
	cfg, err := Parse(`
[scanner]
exclude = ["*.log", "[z-a]"]
[[watch]]
path = "/srv/shop"
mode = "protected"
script_globs = ["*.php", "[z-a].phtml"]
no_script_globs = ["*/uploads/*"]
`)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, w := range []string{`scanner.exclude[1]: = "[z-a]" is not a valid glob: range z-a is reversed`, "watch[0].script_globs[1]"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate: %v, want it to say %q", err, w)
		}
	}
	if err != nil && strings.Contains(err.Error(), "no_script_globs") {
		t.Errorf("a valid glob reported: %v", err)
	}
}

// TestLoadReportsEveryProblem: a file with bad values in many tables is
// reported whole, one line a problem, each naming the file, the line when
// the decoder knows it, and the key.
func TestLoadReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	text := `[agent]
settle = "soon"
log_level = "loud"

[scanner]
workers = "two"
max_file_size = "32 potatoes"
timeout = "100ms"
frobnicate = true

[[watch]]
path = "/srv/a"
mode = "guarded"
exclude_scripts = "yes"
[[watch]]
path = "/srv/b"
exclude = [1]

[quarantine]
min_severity = "sometimes"

[[webhook]]
url = "ftp://x"
rate = "fast"
`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Load: %v, want a *config.Error", err)
	}
	want := []string{
		path + `:2: agent.settle: "soon" is not a duration`,
		path + `:3: agent.log_level: = "loud", want debug, info, warn or error`,
		path + `:6: scanner.workers: is a string, want an integer`,
		path + `:7: scanner.max_file_size: `,
		path + `:8: scanner.timeout: = 100ms, want at least 1s`,
		path + `:9: scanner.frobnicate: unknown key`,
		path + `:20: quarantine.min_severity: "sometimes" is not off, low, medium, high or critical`,
		path + `:24: webhook[0].rate: is a string, want a number`,
		path + `:23: webhook[0].url: = "ftp://x", want an http:// or https:// URL`,
		// Two [[watch]] tables: the decoder does not say which line is whose.
		path + `: watch[1].exclude: is an integer, want a string`,
		path + `: watch[0].mode: = "guarded"`,
		path + `: watch[0].exclude_scripts: is a string, want true or false`,
	}
	lines := strings.Split(err.Error(), "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, "config "+w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no line starts with %q in:\n%v", "config "+w, err)
		}
	}
	if len(lines) != len(want) || len(ce.Problems) != len(want) {
		t.Errorf("%d lines, %d problems, want %d:\n%v", len(lines), len(ce.Problems), len(want), err)
	}
}

// HasAlertPath is what the daemon checks before it starts: a config in
// which no alert reaches anyone is refused unless agent.allow_no_sinks says
// it is meant.
func TestHasAlertPath(t *testing.T) {
	for _, c := range []struct {
		toml string
		want bool
	}{
		{"", true}, // journald on by default
		{"[journald]\nenabled = false\n", false},
		{"[journald]\nmin_severity = \"off\"\n", false},
		{"[journald]\nenabled = false\n[[webhook]]\nurl = \"https://a.example/\"\n", true},
		{"[journald]\nenabled = false\n[[webhook]]\nurl = \"https://a.example/\"\nmin_severity = \"off\"\n", false},
	} {
		cfg, err := Parse(c.toml)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.HasAlertPath(); got != c.want {
			t.Errorf("%q: HasAlertPath = %v, want %v", c.toml, got, c.want)
		}
	}
	off, err := Parse("[heartbeat]\ninterval = \"0\"\n[agent]\nallow_no_sinks = true\n")
	if err != nil || off.Heartbeat.Interval != 0 || !off.Agent.AllowNoSinks || off.Validate() != nil {
		t.Errorf("heartbeat.interval \"0\" and agent.allow_no_sinks: %v %+v %v", err, off, off.Validate())
	}
}

func TestValidatePrevent(t *testing.T) {
	cfg, err := Parse("[prevent]\nenabled = true\nusers = [\"www-data\", \"no-such-user-shellwatch\", \"root\"]\ndeadline = \"0s\"\nmin_severity = \"off\"\n")
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken [prevent]")
	}
	for _, want := range []string{
		"prevent.deadline: = 0s, want 1ms to 10s",
		"prevent.min_severity: = \"off\"",
		`prevent.users[1]: = "no-such-user-shellwatch": no such user`,
		`prevent.users[2]: = "root" is root`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "prevent.users[0]") {
		t.Errorf("www-data is a user of this host (Debian base-passwd), yet:\n%v", err)
	}
	empty, err := Parse("[prevent]\nenabled = true\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.Validate(); err == nil || !strings.Contains(err.Error(), "prevent.users: is empty") {
		t.Errorf("enabled with no users: %v", err)
	}
	ok, err := Parse("[prevent]\nenabled = true\nusers = [\"www-data\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(ok.Prevent.UIDs) != 1 || ok.Prevent.UIDs[0] != 33 || ok.Prevent.Deadline.Std() != 100*time.Millisecond || ok.Prevent.MinSeverity.Severity() != finding.SeverityHigh || !ok.Prevent.Trust {
		t.Errorf("prevent = %+v, want www-data as uid 33, deadline 100ms, min_severity high, trust on", ok.Prevent)
	}
	strict, err := Parse("[prevent]\nenabled = true\nusers = [\"www-data\"]\ntrust = false\n")
	if err != nil {
		t.Fatal(err)
	}
	if strict.Prevent.Trust {
		t.Error("prevent.trust = false read as true")
	}
}

// SecretFiles lists the secret, token and TLS files of every webhook, resolved
// like every path, each named by its key; a webhook without them adds none.
func TestSecretFiles(t *testing.T) {
	cfg, dir := loadText(t, `
[[webhook]]
url = "https://a.example/hook"
secret_file = "a.secret"
[[webhook]]
url = "https://b.example/hook"
[[webhook]]
url = "https://c.example/hook"
secret_file = "/etc/shellwatch/c.secret"
bearer_token_file = "c.token"
ca_file = "ca.pem"
client_cert = "/etc/shellwatch/client.pem"
client_key = "client.key"
[[webhook]]
url = "https://d.example/hook"
ca_file = "/etc/ssl/d-ca.pem"
`)
	want := []SecretFile{
		{"webhook[0].secret_file", filepath.Join(dir, "a.secret")},
		{"webhook[2].secret_file", "/etc/shellwatch/c.secret"},
		{"webhook[2].bearer_token_file", filepath.Join(dir, "c.token")},
		{"webhook[2].ca_file", filepath.Join(dir, "ca.pem")},
		{"webhook[2].client_cert", "/etc/shellwatch/client.pem"},
		{"webhook[2].client_key", filepath.Join(dir, "client.key")},
		{"webhook[3].ca_file", "/etc/ssl/d-ca.pem"},
	}
	if got := cfg.SecretFiles(); !reflect.DeepEqual(got, want) {
		t.Errorf("SecretFiles() = %q, want %q", got, want)
	}
}

// loadText loads text as a config file in a temp dir of its own, and
// returns the config and the dir.
func loadText(t *testing.T, text string) (Config, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, dir
}
