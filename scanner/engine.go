package scanner

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/shellwatch/shellwatch/phpscan"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/rules"
	"github.com/shellwatch/shellwatch/walk"
)

// Engine is what a configuration compiles to for scanning: the rule set, the
// known-bad hash lists and a scanner pool over them. `shellwatch scan` uses
// one for a run; the daemon builds a new one on every reload and swaps it in
// only when it compiled.
type Engine struct {
	Scanner *Scanner
	// Prevent, when prevent.enabled, is a small pool of its own over the
	// same rules for prevention's scans (package guard); nil otherwise.
	Prevent *Scanner
	Rules   *rules.Set
	// Exclude holds scanner.exclude (the [[watch]] tables add their own).
	Exclude *walk.Globs
	// Warnings are rule problems that do not stop compilation (a bad
	// severity meta, say), one line each, naming the file.
	Warnings []string
}

// RuleOptions turns the [rules] table into rule compilation options.
func RuleOptions(cfg config.Config) rules.Options {
	return rules.Options{
		Bundled:         cfg.Rules.Bundled,
		Paths:           cfg.Rules.Paths,
		DefaultSeverity: cfg.Rules.DefaultSeverity,
	}
}

// NewEngine compiles the configured rules and hash lists and starts a
// scanner pool. Errors name the file and line at fault.
func NewEngine(cfg config.Config) (*Engine, error) {
	ex, err := walk.CompileGlobs(cfg.Scanner.Exclude)
	if err != nil {
		return nil, fmt.Errorf("scanner.exclude: %w", err)
	}
	set, err := rules.Compile(RuleOptions(cfg))
	if err != nil {
		var ce *rules.CompileError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("rules do not compile:\n%w", err)
		}
		return nil, err
	}
	known, err := LoadHashLists(cfg.Rules.HashLists...)
	if err != nil {
		set.Destroy()
		return nil, err
	}
	allow, err := LoadHashLists(cfg.Rules.AllowLists...)
	if err != nil {
		set.Destroy()
		return nil, fmt.Errorf("rules.allow_lists: %w", err)
	}
	var php *phpscan.Options
	if cfg.Scanner.PHPAnalyzer {
		php = &phpscan.Options{Timeout: cfg.Scanner.PHPTimeout.Std()}
	}
	workers := cfg.Scanner.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	opts := Options{
		// One more than asked: the agent's slow lane scans expensive files
		// one at a time, and never takes a scanner the others need.
		Workers:     workers + 1,
		MaxFileSize: int64(cfg.Scanner.MaxFileSize),
		MaxHashSize: int64(cfg.Scanner.MaxHashSize),
		Allow:       allow,
		Timeout:     cfg.Scanner.Timeout.Std(),
		PHP:         php,
	}
	sc, err := New(set, known, opts)
	if err != nil {
		set.Destroy()
		return nil, err
	}
	e := &Engine{Scanner: sc, Rules: set, Exclude: ex, Warnings: set.Warnings()}
	if cfg.Prevent.Enabled {
		// Prevention's scans must end soon: a file that keeps one of its
		// two scanners busy for seconds, opened again and again, would
		// leave every other new file unjudged at the deadline. A file it
		// cannot judge quickly is judged in full by the normal pipeline.
		opts.Workers = PreventWorkers
		opts.Timeout = PreventTimeout
		opts.NoRescanOnTimeout = true
		if php != nil {
			opts.PHP = &phpscan.Options{Timeout: min(php.Timeout, PreventTimeout)}
		}
		if e.Prevent, err = New(set, known, opts); err != nil {
			sc.Close()
			set.Destroy()
			return nil, err
		}
	}
	return e, nil
}

// PreventWorkers is the number of scanners prevention has for itself: the
// files the web server opens before the normal queue judged them are
// scanned there, never behind that queue.
const PreventWorkers = 2

// PreventTimeout bounds the YARA scan (libyara counts whole seconds) and the
// PHP analysis of one file by prevention's scanners.
const PreventTimeout = time.Second

// Close stops the scanner pools and frees the compiled rules. Scans must
// have returned.
func (e *Engine) Close() {
	e.Scanner.Close()
	if e.Prevent != nil {
		e.Prevent.Close()
	}
	e.Rules.Destroy()
}
