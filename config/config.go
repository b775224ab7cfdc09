// Package config loads shellwatch's TOML configuration file: it fills in the
// documented defaults, rejects unknown keys and bad values, and names the key
// at fault in every error so an operator can fix the file in one pass.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/shellwatch/shellwatch/rules"
)

// DefaultPath is where the packaged service reads its configuration.
const DefaultPath = "/etc/shellwatch/config.toml"

// Config is the whole configuration file. Default returns it with every
// documented default filled in; config.example.toml shows the same values.
type Config struct {
	Rules   Rules   `toml:"rules"`
	Scanner Scanner `toml:"scanner"`
}

// Rules selects the detection rules and known-bad hash lists.
type Rules struct {
	// Bundled enables the rule set built into shellwatch.
	Bundled bool `toml:"bundled"`
	// Paths are operator rule files or folders of *.yar / *.yara files.
	Paths []string `toml:"paths"`
	// HashLists are files of known-bad sha256 or md5 hashes, one a line.
	HashLists []string `toml:"hash_lists"`
	// DefaultSeverity is given to matches of rules without a severity meta.
	DefaultSeverity rules.Severity `toml:"default_severity"`
}

// Scanner tunes how files are read and scanned.
type Scanner struct {
	// Workers is the number of files scanned at once; 0 means one per CPU.
	Workers int `toml:"workers"`
	// MaxFileSize is the most bytes read and YARA-scanned per file; larger
	// files are still hashed and reported as too large to scan.
	MaxFileSize ByteSize `toml:"max_file_size"`
	// Timeout bounds the YARA scan of one file.
	Timeout Duration `toml:"timeout"`
	// Exclude lists glob patterns of paths never scanned.
	Exclude []string `toml:"exclude"`
}

// Default returns the configuration used for every key the file leaves out.
func Default() Config {
	return Config{
		Rules: Rules{
			Bundled:         true,
			Paths:           []string{},
			HashLists:       []string{},
			DefaultSeverity: rules.SeverityHigh,
		},
		Scanner: Scanner{
			Workers:     0,
			MaxFileSize: 32 << 20,
			Timeout:     Duration(10e9),
			Exclude:     []string{},
		},
	}
}

// Load reads the file at path over the defaults and validates the result.
// Relative paths inside the file are resolved against the file's folder.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(string(data))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.resolvePaths(filepath.Dir(path))
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes TOML text over the defaults. It rejects unknown keys, naming
// each, but does not validate values: call Validate for that.
func Parse(text string) (Config, error) {
	cfg := Default()
	md, err := toml.Decode(text, &cfg)
	if err != nil {
		return Config{}, describeDecodeError(err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		keys := unknownKeys(undecoded)
		return Config{}, fmt.Errorf("unknown key %s", strings.Join(keys, ", unknown key "))
	}
	return cfg, nil
}

// unknownKeys names the keys the decoder did not use. Keys inside an unknown
// table are left out: "unknown key foo" says enough about [foo].
func unknownKeys(undecoded []toml.Key) []string {
	unknown := make(map[string]bool)
	for _, k := range undecoded {
		unknown[k.String()] = true
	}
	var keys []string
	for _, k := range undecoded {
		parentUnknown := false
		for i := 1; i < len(k); i++ {
			if unknown[k[:i].String()] {
				parentUnknown = true
				break
			}
		}
		if !parentUnknown {
			keys = append(keys, k.String())
		}
	}
	sort.Strings(keys)
	return keys
}

// describeDecodeError keeps the decoder's position and key but drops its
// multi-line source excerpt, which would break one-line log entries.
func describeDecodeError(err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.LastKey != "" && !strings.Contains(msg, pe.LastKey) {
			msg = pe.LastKey + ": " + msg
		}
		if pe.Position.Line > 0 {
			msg = fmt.Sprintf("line %d: %s", pe.Position.Line, msg)
		}
		return errors.New(msg)
	}
	return err
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
}

// Validate checks every value and returns all problems at once, one line
// each, naming the key.
func (c *Config) Validate() error {
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...))
	}
	if !c.Rules.Bundled && len(c.Rules.Paths) == 0 && len(c.Rules.HashLists) == 0 {
		bad("rules.bundled", "is false and neither rules.paths nor rules.hash_lists is set: nothing would ever be detected")
	}
	for i, p := range c.Rules.Paths {
		if strings.TrimSpace(p) == "" {
			bad(fmt.Sprintf("rules.paths[%d]", i), "is empty")
		}
	}
	for i, p := range c.Rules.HashLists {
		if strings.TrimSpace(p) == "" {
			bad(fmt.Sprintf("rules.hash_lists[%d]", i), "is empty")
		}
	}
	if c.Rules.DefaultSeverity == rules.SeverityNone {
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
	if c.Scanner.Timeout.Std() < 1e9 {
		bad("scanner.timeout", "= %s, want at least 1s (YARA counts whole seconds)", c.Scanner.Timeout)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}
