package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/phpscan"
	"github.com/shellwatch/shellwatch/scanner"
)

const explainUsage = `Usage: shellwatch explain [--config F] [--rules PATH]… [--json] FILE…

Show why each FILE is (or is not) flagged, for on-call to decide in a minute
whether it is a shell: every rule that matched with its severity, family and
description; for a YARA rule the strings it matched and their lines; for the
PHP analyzer the way request input took from its source to the sink, line by
line, and the strings it folded (function names built at run time, payloads
decoded). The same scanner as "shellwatch scan": bundled rules, the config's
rules and hash lists, any --rules given, and the PHP analyzer.

With --json, one JSON object per FILE.

Exit status: 0 nothing flagged, 1 something flagged, 2 an error.

Flags:
`

func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain", explainUsage, stdout, stderr)
	configPath := fs.String("config", "", "read rules and scanner settings from this config `file`")
	asJSON := fs.Bool("json", false, "print one JSON object per file")
	var rulePaths stringList
	fs.Var(&rulePaths, "rules", "also compile the rule `file or folder` (repeatable)")
	files, stop, status := fs.parse(args)
	if stop {
		return status
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "shellwatch explain: name at least one FILE")
		return fs.usageError()
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return exitError
	}
	cfg.Rules.Paths = append(cfg.Rules.Paths, rulePaths...)
	eng, ok := startEngine(cfg, stderr)
	if !ok {
		return exitError
	}
	defer eng.Close()
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	flagged, failed := false, false
	for _, f := range files {
		// The operator named the file: a link in its path is resolved
		// once; the file itself is opened without following links.
		if real, err := filepath.EvalSymlinks(f); err == nil {
			f = real
		}
		v, ex := eng.Scanner.Explain(ctx, f)
		if v.Err != nil {
			fmt.Fprintf(stderr, "shellwatch: %s\n", safetext.PathsIn(v.Err.Error(), v.Path))
			failed = true
			if v.SHA256 == "" {
				continue
			}
		}
		flagged = flagged || v.Flagged()
		if *asJSON {
			if err := json.NewEncoder(stdout).Encode(newExplainRecord(v, ex)); err != nil {
				fmt.Fprintf(stderr, "shellwatch: write output: %v\n", err)
				return exitError
			}
			continue
		}
		writeExplanation(stdout, v, ex)
	}
	switch {
	case flagged:
		return exitFlagged
	case failed:
		return exitError
	}
	return exitOK
}

// writeExplanation prints one file's explanation for a person.
func writeExplanation(w io.Writer, v scanner.Verdict, ex scanner.Explanation) {
	verdict := "not flagged"
	if v.Flagged() {
		verdict = v.Severity.String()
	}
	fmt.Fprintf(w, "%s: %s\n  sha256 %s, %d bytes, %s, uid %d\n", safetext.Path(v.Path), verdict, v.SHA256, v.Size, v.Mode, v.UID)
	hits := map[string]scanner.YARAHit{}
	for _, h := range ex.YARA {
		hits[h.Namespace+"\x00"+h.Rule] = h
	}
	for _, m := range v.Matches {
		fmt.Fprintf(w, "\n  %s  [%s, %s", m.Rule, m.Namespace, m.Severity)
		if m.Family != "" {
			fmt.Fprintf(w, ", %s", m.Family)
		}
		fmt.Fprintln(w, "]")
		if m.Description != "" {
			fmt.Fprintf(w, "    %s\n", m.Description)
		}
		if h, ok := hits[m.Namespace+"\x00"+m.Rule]; ok {
			for _, s := range h.Strings {
				fmt.Fprintf(w, "    line %-5d %s = %s\n", s.Line, s.Name, strconv.QuoteToGraphic(string(s.Data)))
			}
		}
		if m.Namespace == scanner.PHPNamespace && ex.PHP != nil {
			for _, f := range ex.PHP.Findings {
				if f.Name == m.Rule {
					writeFinding(w, f)
				}
			}
		}
	}
	if ex.PHP != nil {
		if len(ex.PHP.Folded) > 0 {
			fmt.Fprintln(w, "\n  strings folded by the PHP analyzer:")
			for _, f := range ex.PHP.Folded {
				fmt.Fprintf(w, "    line %-5d %s: %s\n", f.Line, f.How, strconv.QuoteToGraphic(f.Value))
			}
		}
		switch {
		case ex.PHP.Skipped:
			fmt.Fprintln(w, "\n  PHP analyzer: nothing to follow (no request input, decoder, URL or command text)")
		case !ex.PHP.Parsed:
			fmt.Fprintln(w, "\n  PHP analyzer: no syntax tree could be had from the file")
		case ex.PHP.ParseNote != "" || ex.PHP.SyntaxErrors > 0:
			fmt.Fprintf(w, "\n  PHP analyzer: %d syntax errors recovered from %s\n", ex.PHP.SyntaxErrors, ex.PHP.ParseNote)
		}
		if ex.PHP.Incomplete != "" {
			fmt.Fprintf(w, "  PHP analyzer: incomplete, %s\n", ex.PHP.Incomplete)
		}
	}
	fmt.Fprintln(w)
}

// writeFinding prints where a PHP finding is and the way the data took.
func writeFinding(w io.Writer, f phpscan.Finding) {
	fmt.Fprintf(w, "    line %-5d reaches %s", f.Line, f.Sink)
	if f.Detail != "" {
		fmt.Fprintf(w, " (%s)", f.Detail)
	}
	fmt.Fprintln(w)
	for i, s := range f.Path {
		arrow := "→"
		if i == 0 {
			arrow = "from"
		}
		fmt.Fprintf(w, "      %-4s line %-5d %s\n", arrow, s.Line, strings.TrimSpace(s.What))
	}
}

// explainRecord is `explain --json`: the scan record, and what explains it.
type explainRecord struct {
	scanRecord
	YARA []explainYARA `json:"yara,omitempty"`
	PHP  *explainPHP   `json:"php,omitempty"`
}

type explainYARA struct {
	Rule      string          `json:"rule"`
	Namespace string          `json:"namespace"`
	Strings   []explainString `json:"strings"`
}

type explainString struct {
	Name   string `json:"name"`
	Line   int    `json:"line"`
	Offset uint64 `json:"offset"`
	Data   string `json:"data"`
}

type explainPHP struct {
	Findings     []explainFinding `json:"findings"`
	Folded       []phpscan.Folded `json:"folded,omitempty"`
	Parsed       bool             `json:"parsed"`
	Skipped      bool             `json:"skipped,omitempty"`
	ParseNote    string           `json:"parse_note,omitempty"`
	SyntaxErrors int              `json:"syntax_errors,omitempty"`
	Incomplete   string           `json:"incomplete,omitempty"`
}

type explainFinding struct {
	Rule        string         `json:"rule"`
	Severity    string         `json:"severity"`
	Family      string         `json:"family"`
	Description string         `json:"description"`
	Line        int            `json:"line"`
	Sink        string         `json:"sink"`
	Detail      string         `json:"detail,omitempty"`
	Path        []phpscan.Step `json:"path,omitempty"`
}

func newExplainRecord(v scanner.Verdict, ex scanner.Explanation) explainRecord {
	r := explainRecord{scanRecord: newScanRecord(v)}
	for _, h := range ex.YARA {
		y := explainYARA{Rule: h.Rule, Namespace: h.Namespace, Strings: []explainString{}}
		for _, s := range h.Strings {
			y.Strings = append(y.Strings, explainString{Name: s.Name, Line: s.Line, Offset: s.Offset, Data: strings.ToValidUTF8(string(s.Data), "\uFFFD")})
		}
		r.YARA = append(r.YARA, y)
	}
	if p := ex.PHP; p != nil {
		e := &explainPHP{Findings: []explainFinding{}, Folded: p.Folded, Parsed: p.Parsed, Skipped: p.Skipped,
			ParseNote: p.ParseNote, SyntaxErrors: p.SyntaxErrors, Incomplete: p.Incomplete}
		for _, f := range p.Findings {
			e.Findings = append(e.Findings, explainFinding{Rule: f.Name, Severity: f.Severity.String(), Family: f.Family,
				Description: f.Description, Line: f.Line, Sink: f.Sink, Detail: f.Detail, Path: f.Path})
		}
		r.PHP = e
	}
	return r
}
