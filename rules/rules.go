// Package rules owns the YARA rules shellwatch scans with: the bundled rule
// set written for this project (embedded in the binary), the rule files an
// operator adds, their compilation with the external variables every scan
// defines, and the metadata (severity, family, description) that turns a rule
// match into a finding an operator can act on.
package rules

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hillu/go-yara/v4"

	"github.com/shellwatch/shellwatch/finding"
)

//go:embed bundled/*.yar
var bundledFS embed.FS

// BundledNamespace is the YARA namespace of the bundled rules; operator rules
// live in OperatorNamespace, as they would with the yara command line tool, so
// a rule name may exist in both without a clash.
const (
	BundledNamespace  = "shellwatch"
	OperatorNamespace = "default"
)

// The external variables defined for every scan. Public rule sets (LOKI and
// THOR style) use these names, so they compile and work unchanged.
const (
	ExternalFilename  = "filename"
	ExternalFilepath  = "filepath"
	ExternalExtension = "extension"
)

// Options says which rules to compile.
type Options struct {
	// Bundled includes the rule set embedded in the binary.
	Bundled bool
	// Paths are operator rule files or folders. A folder contributes every
	// *.yar and *.yara file below it; a file is compiled whatever its name.
	Paths []string
	// DefaultSeverity is given to matches of rules that declare no usable
	// severity (most public rule sets). finding.SeverityNone means finding.SeverityHigh.
	DefaultSeverity finding.Severity
}

// Rule describes one compiled rule.
type Rule struct {
	Name        string           `json:"rule"`
	Namespace   string           `json:"namespace"`
	Tags        []string         `json:"tags,omitempty"`
	Severity    finding.Severity `json:"severity"`
	Family      string           `json:"family,omitempty"`
	Description string           `json:"description,omitempty"`
}

// Set is a compiled rule set, safe for concurrent use by many scanners.
type Set struct {
	compiled *yara.Rules
	rules    []Rule
	index    map[ruleKey]int
	sources  []string
	warnings []string
}

type ruleKey struct{ namespace, name string }

// Problem is one compiler error or warning, located in its rule file.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// CompileError lists every problem found in the rule files, one per line in
// the form file:line: message.
type CompileError struct {
	Problems []Problem
}

func (e *CompileError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// source is one rule file to compile: bundled (text in memory) or an operator
// file on disk.
type source struct {
	name      string // what messages call it
	namespace string
	text      string // bundled only
	path      string // operator files only
}

// Compile compiles the selected rules. On failure the error is a
// *CompileError naming every faulty file and line, or an error naming a path
// that could not be read.
func Compile(opts Options) (*Set, error) {
	srcs, notes, err := collectSources(opts)
	if err != nil {
		return nil, err
	}
	if len(srcs) == 0 {
		if len(notes) > 0 {
			return nil, fmt.Errorf("no rules to compile: the bundled rules are disabled and %s", strings.Join(notes, "; "))
		}
		return nil, errors.New("no rules to compile: the bundled rules are disabled and no rule paths are configured")
	}
	compiled, warnings, problems := compileSources(srcs)
	if problems != nil {
		// A YARA compiler is unusable after its first error, so compile each
		// file on its own to report the problems of every file at once.
		var all []Problem
		for _, src := range srcs {
			c, _, p := compileSources([]source{src})
			if c != nil {
				c.Destroy()
			}
			all = append(all, p...)
		}
		if len(all) == 0 { // the files clash only with each other
			all = problems
		}
		return nil, &CompileError{Problems: all}
	}
	defaultSeverity := opts.DefaultSeverity
	if defaultSeverity == finding.SeverityNone {
		defaultSeverity = finding.SeverityHigh
	}
	set := &Set{compiled: compiled, index: make(map[ruleKey]int), warnings: notes}
	for _, src := range srcs {
		set.sources = append(set.sources, src.name)
	}
	for _, w := range warnings {
		set.warnings = append(set.warnings, w.String())
	}
	for _, r := range compiled.GetRules() {
		if r.IsPrivate() { // building blocks of other rules; never reported
			continue
		}
		rule := Rule{Name: r.Identifier(), Namespace: r.Namespace(), Tags: r.Tags()}
		var warn string
		rule.Severity, rule.Family, rule.Description, warn = ruleMeta(r.Metas(), defaultSeverity)
		if warn != "" {
			set.warnings = append(set.warnings, fmt.Sprintf("rule %s:%s: %s", rule.Namespace, rule.Name, warn))
		}
		set.index[ruleKey{rule.Namespace, rule.Name}] = len(set.rules)
		set.rules = append(set.rules, rule)
	}
	return set, nil
}

// collectSources lists the bundled files and the operator files, in a stable
// order so that compile errors and `rules list` read the same every time.
// notes says which rule folders hold no rule file.
func collectSources(opts Options) (srcs []source, notes []string, err error) {
	if opts.Bundled {
		names, err := fs.Glob(bundledFS, "bundled/*.yar")
		if err != nil {
			return nil, nil, err
		}
		sort.Strings(names)
		for _, n := range names {
			b, err := bundledFS.ReadFile(n)
			if err != nil {
				return nil, nil, err
			}
			srcs = append(srcs, source{name: "bundled/" + path.Base(n), namespace: BundledNamespace, text: string(b)})
		}
	}
	for _, p := range opts.Paths {
		files, others, err := ruleFiles(p)
		if err != nil {
			return nil, nil, err
		}
		if len(files) == 0 {
			note := fmt.Sprintf("rule path %s: no *.yar or *.yara files in this folder yet", p)
			if others > 0 {
				note = fmt.Sprintf("rule path %s: no *.yar or *.yara files in this folder (%d other files are not read as rules: name them *.yar)", p, others)
			}
			notes = append(notes, note)
		}
		for _, f := range files {
			srcs = append(srcs, source{name: f, namespace: OperatorNamespace, path: f})
		}
	}
	return srcs, notes, nil
}

// ruleFiles returns p itself when it is a file, or the *.yar and *.yara files
// below it when it is a folder, with the number of other files there. Links
// to folders are not followed, so a rule folder cannot pull in a tree by
// accident. An empty folder is no error: the packaged rules.d starts empty.
func ruleFiles(p string) (files []string, others int, err error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, 0, fmt.Errorf("rule path %s: %w", p, err)
	}
	if !info.IsDir() {
		return []string{p}, 0, nil
	}
	err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("rule path %s: %w", f, err)
		}
		if d.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(f)) {
		case ".yar", ".yara":
			files = append(files, f)
		default:
			others++
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return files, others, nil
}

// compileSources compiles srcs with one compiler. It returns the rules, or
// the problems that stopped compilation.
func compileSources(srcs []source) (*yara.Rules, []Problem, []Problem) {
	c, err := yara.NewCompiler()
	if err != nil {
		return nil, nil, []Problem{{File: "yara", Message: err.Error()}}
	}
	defer c.Destroy()
	for _, name := range []string{ExternalFilename, ExternalFilepath, ExternalExtension} {
		if err := c.DefineVariable(name, ""); err != nil {
			return nil, nil, []Problem{{File: "yara", Message: fmt.Sprintf("define external %s: %v", name, err)}}
		}
	}
	warningsSeen := 0
	var warnings []Problem
	for _, src := range srcs {
		if err := addSource(c, src); err != nil {
			problems := messagesToProblems(c.Errors, src)
			if len(problems) == 0 {
				problems = []Problem{{File: src.name, Message: err.Error()}}
			}
			return nil, nil, problems
		}
		warnings = append(warnings, messagesToProblems(c.Warnings[warningsSeen:], src)...)
		warningsSeen = len(c.Warnings)
	}
	compiled, err := c.GetRules()
	if err != nil {
		return nil, nil, []Problem{{File: "yara", Message: err.Error()}}
	}
	return compiled, warnings, nil
}

func addSource(c *yara.Compiler, src source) error {
	if src.path == "" {
		return c.AddString(src.text, src.namespace)
	}
	f, err := os.Open(src.path)
	if err != nil {
		return err
	}
	defer f.Close()
	return c.AddFile(f, src.namespace)
}

// messagesToProblems names each message's file: libyara knows the file of an
// operator rule (and of its includes) but not of a rule compiled from memory.
func messagesToProblems(msgs []yara.CompilerMessage, src source) []Problem {
	var out []Problem
	for _, m := range msgs {
		file := m.Filename
		if file == "" {
			file = src.name
		}
		out = append(out, Problem{File: file, Line: m.Line, Message: m.Text})
	}
	return out
}

// Compiled returns the compiled YARA rules for scanners to use.
func (s *Set) Compiled() *yara.Rules { return s.compiled }

// Rules returns every compiled rule that can be reported (private rules,
// building blocks of others, are left out) with its metadata.
func (s *Set) Rules() []Rule { return s.rules }

// Lookup returns the metadata of the rule name in namespace.
func (s *Set) Lookup(namespace, name string) (Rule, bool) {
	i, ok := s.index[ruleKey{namespace, name}]
	if !ok {
		return Rule{}, false
	}
	return s.rules[i], true
}

// Sources names the files the set was compiled from.
func (s *Set) Sources() []string { return s.sources }

// Warnings returns the compiler's warnings (slow rules, for one) and problems
// with rule metadata, each naming its file or rule.
func (s *Set) Warnings() []string { return s.warnings }

// Destroy frees the compiled rules. No scanner may use them afterwards.
func (s *Set) Destroy() {
	if s.compiled != nil {
		s.compiled.Destroy()
		s.compiled = nil
	}
}

// Externals returns the values of the external variables for a file at p:
// its base name, its full path, and its extension in lower case with the
// leading dot (".php"), or "" when it has none — the convention of the LOKI
// and THOR rule sets, so their rules work unchanged. A dot file such as
// ".htaccess" has no extension.
func Externals(p string) (filename, fullPath, extension string) {
	filename = path.Base(p)
	ext := path.Ext(filename)
	if ext == filename { // ".htaccess"
		ext = ""
	}
	return filename, p, strings.ToLower(ext)
}
