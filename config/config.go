// Package config loads shellwatch's TOML configuration file: it fills in the
// documented defaults, rejects unknown keys and bad values, and names the key
// at fault in every error so an operator can fix the file in one pass.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shellwatch/shellwatch/finding"
)

// DefaultPath is where the packaged service reads its configuration.
const DefaultPath = "/etc/shellwatch/config.toml"

// Config is the whole configuration file. Default returns it with every
// documented default filled in; config.example.toml shows the same values.
type Config struct {
	Agent      Agent       `toml:"agent"`
	Rules      Rules       `toml:"rules"`
	Scanner    Scanner     `toml:"scanner"`
	Watch      []Watch     `toml:"watch"`
	Quarantine Quarantine  `toml:"quarantine"`
	Journald   Journald    `toml:"journald"`
	Webhook    []Webhook   `toml:"webhook"`
	AccessLog  []AccessLog `toml:"access_log"`
	Deploy     Deploy      `toml:"deploy"`
	Metrics    Metrics     `toml:"metrics"`
	Heartbeat  Heartbeat   `toml:"heartbeat"`
	Prevent    Prevent     `toml:"prevent"`
}

// Agent tunes the daemon, `shellwatch run`.
type Agent struct {
	// StateDir holds the webhook spools and, unless quarantine.dir says
	// otherwise, the vault.
	StateDir string `toml:"state_dir"`
	// Settle is the shortest time between two scans of a file that keeps
	// being written; the last write is always scanned.
	Settle Duration `toml:"settle"`
	// RescanInterval is how often a root that cannot be fully watched (the
	// inotify watch limit) is walked instead.
	RescanInterval Duration `toml:"rescan_interval"`
	// SweepInterval is how often every root is compared with the baseline
	// while the agent runs, to find what changed with no file event
	// (written through a hard link outside the root, or a shared
	// mapping); 0 turns it off.
	SweepInterval Duration `toml:"sweep_interval"`
	// RecheckInterval is how often the files most open to such writes
	// (with other hard links, or appeared in the last 10 minutes) are
	// checked by lstat; 0 turns it off.
	RecheckInterval Duration `toml:"recheck_interval"`
	// LogLevel is the least level logged on stderr: debug, info, warn, error.
	LogLevel string `toml:"log_level"`
	// ControlSocket is where `shellwatch deploy`, `baseline` and `status`
	// reach the daemon; only root may connect.
	ControlSocket string `toml:"control_socket"`
	// AllowNoSinks lets the daemon start with no alert path (journald off
	// and no webhook, or every one at min_severity "off"): said on purpose,
	// never by accident.
	AllowNoSinks bool `toml:"allow_no_sinks"`
}

// Heartbeat is the agent's sign of life to its webhooks.
type Heartbeat struct {
	// Interval is how often every webhook gets a heartbeat (an
	// always-firing ShellwatchHeartbeat in the Alertmanager format); 0
	// turns heartbeats off.
	Interval Duration `toml:"interval"`
}

// HasAlertPath reports whether an alert can reach anyone: journald is
// enabled, or a webhook is configured, with a min_severity that is not
// "off".
func (c *Config) HasAlertPath() bool {
	if c.Journald.Enabled && !c.Journald.MinSeverity.Off() {
		return true
	}
	for _, w := range c.Webhook {
		if !w.MinSeverity.Off() {
			return true
		}
	}
	return false
}

// Watch is one web root the daemon watches.
type Watch struct {
	Path    string   `toml:"path"`
	Exclude []string `toml:"exclude"`
	// ExcludeScripts makes the excludes (scanner.exclude and Exclude)
	// leave out scripts too. By default a file matching ScriptGlobs is
	// watched and scanned even where an exclude matches it or one of its
	// folders: an excluded folder is still watched, for its scripts.
	ExcludeScripts bool `toml:"exclude_scripts"`
	// Mode is "monitor" (signatures only) or "protected" (any new or
	// changed script outside a deploy window is an alert in itself).
	Mode string `toml:"mode"`
	// ScriptGlobs name the files that are code: in a protected root, what
	// may change only in deploys; in every root, what excludes do not
	// hide (unless ExcludeScripts), what is a transient script, and which
	// symbolic links are scripts.
	ScriptGlobs []string `toml:"script_globs"`
	// NoScriptGlobs name the places no code belongs (uploads): any script
	// there is critical and quarantined.
	NoScriptGlobs []string `toml:"no_script_globs"`
	// WebUser is the web server's user: a script it writes in a protected
	// root is critical, since deploys do not write as the web server.
	WebUser string `toml:"web_user"`
	// URLPath is the URL path the root is served at ("/", "/shop"): a
	// file's URL, looked up in the access logs, is URLPath and its path
	// below the root.
	URLPath string `toml:"url_path"`
	// ServerNames are the host names the root is served under; requests
	// logged with another virtual host are not its. Empty: any host.
	ServerNames []string `toml:"server_names"`
}

// Watch modes.
const (
	ModeMonitor   = "monitor"
	ModeProtected = "protected"
)

// DefaultScriptGlobs are the files a protected root treats as code.
func DefaultScriptGlobs() []string {
	return []string{"*.php", "*.phtml", "*.phar", "*.inc", "*.jsp", "*.jspx", "*.asp", "*.aspx",
		"*.ashx", "*.asmx", "*.cgi", "*.pl", "*.py", "*.sh", ".htaccess", ".user.ini"}
}

// DefaultWatch returns the values a [[watch]] table has for the keys it
// leaves out.
func DefaultWatch() Watch {
	return Watch{Exclude: []string{}, Mode: ModeMonitor, ScriptGlobs: DefaultScriptGlobs(), NoScriptGlobs: []string{},
		URLPath: "/", ServerNames: []string{}}
}

// Deploy sets the limits of deploy windows.
type Deploy struct {
	// DefaultTTL is the length of a window `deploy begin` opens without --ttl.
	DefaultTTL Duration `toml:"default_ttl"`
	// MaxTTL bounds --ttl: a window left open is a blind spot.
	MaxTTL Duration `toml:"max_ttl"`
}

// Metrics is the Prometheus endpoint of the daemon.
type Metrics struct {
	// Listen is the host:port /metrics is served on; empty (the default)
	// serves nothing. Loopback is recommended: the figures say what the
	// agent sees, though never which files.
	Listen string `toml:"listen"`
}

// Quarantine is the policy of moving flagged files into the vault.
type Quarantine struct {
	// Dir is the vault; empty means <agent.state_dir>/quarantine.
	Dir string `toml:"dir"`
	// MinSeverity is the least severity moved; "off" moves nothing.
	MinSeverity Threshold `toml:"min_severity"`
	// QuarantineModified also moves files that existed before they changed
	// (and files found flagged when the agent starts); off, they are only
	// alerted, because taking index.php away takes the site down.
	QuarantineModified bool `toml:"quarantine_modified"`
}

// Journald is the journald alert sink.
type Journald struct {
	Enabled     bool      `toml:"enabled"`
	MinSeverity Threshold `toml:"min_severity"`
	// Rate is the most alerts a second sent one by one (0: no limit); more
	// low and medium ones are grouped into one alert with counts each
	// second (high and critical ones always go one by one).
	Rate  float64 `toml:"rate"`
	Burst int     `toml:"burst"`
}

// Webhook is one HTTP receiver of alerts.
type Webhook struct {
	URL string `toml:"url"`
	// Format is "json" (shellwatch's schema) or "alertmanager".
	Format string `toml:"format"`
	// SecretFile holds the HMAC-SHA256 key that signs each body.
	SecretFile      string            `toml:"secret_file"`
	BearerTokenFile string            `toml:"bearer_token_file"`
	Headers         map[string]string `toml:"headers"`
	CAFile          string            `toml:"ca_file"`
	ClientCert      string            `toml:"client_cert"`
	ClientKey       string            `toml:"client_key"`
	Timeout         Duration          `toml:"timeout"`
	MinSeverity     Threshold         `toml:"min_severity"`
	// MaxSpool bounds the alerts kept on disk for this receiver.
	MaxSpool int `toml:"max_spool"`
	// AlertAfter is how long the receiver may fail every attempt before a
	// blind alert (webhook_failing) goes to the other sinks; 0 never.
	AlertAfter Duration `toml:"alert_after"`
	Rate       float64  `toml:"rate"`
	Burst      int      `toml:"burst"`
}

// SecretFile is a file a sink reads a secret from, and the key that names
// it ("webhook[0].secret_file").
type SecretFile struct {
	Key, Path string
}

// SecretFiles returns the files the webhooks read their secrets and trust
// from (secret_file, the HMAC key that signs each body; bearer_token_file;
// ca_file, the CAs a receiver's certificate must chain to; client_cert and
// client_key, what the agent proves itself with), those set, in the order
// of the tables and, in a table, of this list.
func (c *Config) SecretFiles() []SecretFile {
	var out []SecretFile
	for i, w := range c.Webhook {
		for _, f := range []SecretFile{{"secret_file", w.SecretFile}, {"bearer_token_file", w.BearerTokenFile},
			{"ca_file", w.CAFile}, {"client_cert", w.ClientCert}, {"client_key", w.ClientKey}} {
			if f.Path != "" {
				out = append(out, SecretFile{Key: fmt.Sprintf("webhook[%d].%s", i, f.Key), Path: f.Path})
			}
		}
	}
	return out
}

// StatePath returns the baseline database file.
func (c *Config) StatePath() string { return filepath.Join(c.Agent.StateDir, "state.db") }

// VaultDir returns the quarantine vault's folder.
func (c *Config) VaultDir() string {
	if c.Quarantine.Dir != "" {
		return c.Quarantine.Dir
	}
	return filepath.Join(c.Agent.StateDir, "quarantine")
}

// SpoolDir returns the folder of the spool of webhook i: named after a hash
// of its URL, so a reordered config keeps each receiver's backlog.
func (c *Config) SpoolDir(i int) string {
	sum := sha256.Sum256([]byte(c.Webhook[i].URL))
	return filepath.Join(c.Agent.StateDir, "spool", hex.EncodeToString(sum[:8]))
}

// Rules selects the detection rules and known-bad hash lists.
type Rules struct {
	// Bundled enables the rule set built into shellwatch.
	Bundled bool `toml:"bundled"`
	// Paths are operator rule files or folders of *.yar / *.yara files.
	Paths []string `toml:"paths"`
	// HashLists are files of known-bad sha256 or md5 hashes, one a line.
	HashLists []string `toml:"hash_lists"`
	// AllowLists are files of sha256 or md5 hashes of harmless files the
	// rules match (checked false positives): such files are not scanned.
	AllowLists []string `toml:"allow_lists"`
	// DefaultSeverity is given to matches of rules without a severity meta.
	DefaultSeverity finding.Severity `toml:"default_severity"`
}

// Scanner tunes how files are read and scanned.
type Scanner struct {
	// Workers is the number of files scanned at once; 0 means one per CPU.
	Workers int `toml:"workers"`
	// MaxFileSize is the most bytes of a file YARA and the analyzer read;
	// of a larger one they read its first and last MaxFileSize/2 bytes, and
	// it is still hashed in full and reported as read in part.
	MaxFileSize ByteSize `toml:"max_file_size"`
	// MaxHashSize is the most bytes of a file hashed; a larger one, or a
	// sparse one over MaxFileSize, is not hashed (a sparse file of
	// terabytes is cheap to make and would keep a worker busy for hours),
	// only its data scanned, head and tail.
	MaxHashSize ByteSize `toml:"max_hash_size"`
	// Timeout bounds the YARA scan of one file.
	Timeout Duration `toml:"timeout"`
	// PHPAnalyzer runs the PHP analyzer (package phpscan) beside YARA on
	// PHP files and on any file holding a PHP open tag.
	PHPAnalyzer bool `toml:"php_analyzer"`
	// PHPTimeout bounds the PHP analysis of one file; a file over it is
	// reported as analysed in part, with what was found so far.
	PHPTimeout Duration `toml:"php_timeout"`
	// Exclude lists glob patterns of paths never scanned.
	Exclude []string `toml:"exclude"`
}

// Default returns the configuration used for every key the file leaves out.
func Default() Config {
	return Config{
		Agent: Agent{
			StateDir:        "/var/lib/shellwatch",
			Settle:          Duration(250 * time.Millisecond),
			RescanInterval:  Duration(5 * time.Minute),
			SweepInterval:   Duration(10 * time.Minute),
			RecheckInterval: Duration(2 * time.Second),
			LogLevel:        "info",
			ControlSocket:   "/run/shellwatch/control.sock",
		},
		Prevent: DefaultPrevent(),
		Deploy: Deploy{
			DefaultTTL: Duration(30 * time.Minute),
			MaxTTL:     Duration(24 * time.Hour),
		},
		Watch: []Watch{},
		Quarantine: Quarantine{
			MinSeverity: Threshold(finding.SeverityHigh),
		},
		Journald: Journald{
			Enabled:     true,
			MinSeverity: Threshold(finding.SeverityLow),
		},
		Webhook:   []Webhook{},
		AccessLog: []AccessLog{},
		Heartbeat: Heartbeat{Interval: Duration(time.Minute)},
		Rules: Rules{
			Bundled:         true,
			Paths:           []string{},
			HashLists:       []string{},
			AllowLists:      []string{},
			DefaultSeverity: finding.SeverityHigh,
		},
		Scanner: Scanner{
			Workers:     0,
			MaxFileSize: 32 << 20,
			MaxHashSize: 4 << 30,
			Timeout:     Duration(10e9),
			PHPAnalyzer: true,
			PHPTimeout:  Duration(1e9),
			Exclude:     []string{},
		},
	}
}

// Load reads the file at path over the defaults and validates the result.
// Relative paths inside the file are resolved against the file's folder.
// A bad file gives an *Error listing every unknown key and bad value, each
// with the file, its line and the key (a key whose value is bad keeps its
// default while the others are checked).
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg := Default()
	lines, problems := decode(string(data), &cfg)
	if len(problems) == 1 && problems[0].Key == "" {
		// A syntax error: nothing else can be checked.
		return Config{}, &Error{Path: path, Problems: problems}
	}
	cfg.resolvePaths(dir)
	for _, p := range cfg.validate() {
		p.Line = lineOf(lines, p.Key)
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return Config{}, &Error{Path: path, Problems: problems}
	}
	return cfg, nil
}

// Parse decodes TOML text over the defaults. It reports every unknown key
// and bad value (an *Error), but does not validate values: call Validate for
// that.
func Parse(text string) (Config, error) {
	cfg := Default()
	if _, problems := decode(text, &cfg); len(problems) > 0 {
		return Config{}, &Error{Problems: problems}
	}
	return cfg, nil
}

// DefaultWebhook returns the values a [[webhook]] table has for the keys it
// leaves out.
func DefaultWebhook() Webhook {
	return Webhook{
		Format:      "json",
		Timeout:     Duration(10 * time.Second),
		MinSeverity: Threshold(finding.SeverityMedium),
		MaxSpool:    10000,
		AlertAfter:  Duration(10 * time.Minute),
		Rate:        10,
		Burst:       100,
		Headers:     map[string]string{},
	}
}

func (c *Config) resolvePaths(dir string) {
	resolve := func(ps []string) {
		for i, p := range ps {
			if p != "" && !filepath.IsAbs(p) {
				ps[i] = filepath.Join(dir, p)
			}
		}
	}
	resolve(c.Rules.Paths)
	resolve(c.Rules.HashLists)
	resolve(c.Rules.AllowLists)
	one := func(p *string) {
		s := []string{*p}
		resolve(s)
		*p = s[0]
	}
	one(&c.Agent.StateDir)
	one(&c.Agent.ControlSocket)
	one(&c.Quarantine.Dir)
	for i := range c.Watch {
		one(&c.Watch[i].Path)
	}
	for i := range c.AccessLog {
		one(&c.AccessLog[i].Path)
		resolve(c.AccessLog[i].Roots)
	}
	for i := range c.Webhook {
		w := &c.Webhook[i]
		for _, p := range []*string{&w.SecretFile, &w.BearerTokenFile, &w.CAFile, &w.ClientCert, &w.ClientKey} {
			one(p)
		}
	}
}

// Validate checks every value and returns all problems at once (an
// *Error), one line each, naming the key.
func (c *Config) Validate() error {
	if problems := c.validate(); len(problems) > 0 {
		return &Error{Problems: problems}
	}
	return nil
}

func (c *Config) validate() []Problem {
	var problems []Problem
	bad := func(key, format string, args ...any) {
		problems = append(problems, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	if !c.Rules.Bundled && len(c.Rules.Paths) == 0 && len(c.Rules.HashLists) == 0 {
		bad("rules.bundled", "is false and neither rules.paths nor rules.hash_lists is set: nothing would ever be detected")
	}
	for i, p := range c.Rules.Paths {
		if strings.TrimSpace(p) == "" {
			bad(fmt.Sprintf("rules.paths[%d]", i), "is empty")
		}
	}
	checkGlobs("scanner.exclude", c.Scanner.Exclude, bad)
	for i, p := range c.Rules.HashLists {
		if strings.TrimSpace(p) == "" {
			bad(fmt.Sprintf("rules.hash_lists[%d]", i), "is empty")
		}
	}
	for i, p := range c.Rules.AllowLists {
		if strings.TrimSpace(p) == "" {
			bad(fmt.Sprintf("rules.allow_lists[%d]", i), "is empty")
		}
	}
	if c.Rules.DefaultSeverity == finding.SeverityNone {
		bad("rules.default_severity", "must be low, medium, high or critical")
	}
	if c.Scanner.Workers < 0 || c.Scanner.Workers > 1024 {
		bad("scanner.workers", "= %d, want 0 (one per CPU) to 1024", c.Scanner.Workers)
	}
	if c.Scanner.MaxFileSize < 1024 {
		bad("scanner.max_file_size", "= %s, want at least 1KiB", c.Scanner.MaxFileSize)
	}
	if c.Scanner.MaxFileSize > 1<<30 {
		bad("scanner.max_file_size", "= %s, want at most 1GiB (each worker holds one file in memory)", c.Scanner.MaxFileSize)
	}
	if c.Scanner.MaxHashSize < c.Scanner.MaxFileSize {
		bad("scanner.max_hash_size", "= %s, want at least scanner.max_file_size %s", c.Scanner.MaxHashSize, c.Scanner.MaxFileSize)
	}
	if c.Scanner.PHPTimeout.Std() < 10e6 || c.Scanner.PHPTimeout.Std() > 60e9 {
		bad("scanner.php_timeout", "= %s, want 10ms to 60s", c.Scanner.PHPTimeout)
	}
	if c.Scanner.Timeout.Std() < 1e9 {
		bad("scanner.timeout", "= %s, want at least 1s (YARA counts whole seconds)", c.Scanner.Timeout)
	}
	c.validateDaemon(bad)
	c.validateAccessLogs(bad)
	c.validatePrevent(bad)
	return problems
}
