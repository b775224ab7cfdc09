package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/scanner"
)

const scanUsage = `Usage: shellwatch scan [--config F] [--json] [--rules PATH]… [--exclude GLOB]… PATH…

Scan files and folders (recursively, never following symbolic links) with the
bundled rules, the config's rules and hash lists, any --rules given, and the
PHP analyzer (scanner.php_analyzer) on PHP files and files holding "<?php".
"shellwatch explain FILE" shows why a file is flagged.
Prints one line per flagged file on stdout:

  SEVERITY<TAB>PATH<TAB>RULE,RULE…

A PATH holding control characters, tabs, quotes or invalid UTF-8 is printed
as a Go quoted string ("a\nb"), so every line is one file. With --json, one
JSON object per flagged file instead. Errors and files read only in part
(larger than scanner.max_file_size: their head and tail) go to stderr, and a summary at the end; a live progress line when stderr is a
terminal.

Exit status: 0 nothing flagged, 1 something flagged, 2 an error and nothing
flagged.

Flags:
`

func runScan(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("scan", scanUsage, stdout, stderr)
	configPath := fs.String("config", "", "read rules and scanner settings from this config `file`")
	asJSON := fs.Bool("json", false, "print one JSON object per flagged file")
	var rulePaths, excludes stringList
	fs.Var(&rulePaths, "rules", "also compile the rule `file or folder` (repeatable)")
	fs.Var(&excludes, "exclude", "skip paths matching `glob` (repeatable; * crosses / in a glob with /)")
	workers := fs.Int("workers", -1, "files scanned at once (default: scanner.workers, 0 = one per CPU)")
	noBundled := fs.Bool("no-bundled", false, "leave out the bundled rules")
	paths, stop, status := fs.parse(args)
	if stop {
		return status
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "shellwatch scan: name at least one PATH to scan")
		return fs.usageError()
	}
	// The operator named these paths, so a link in them (/var/www ->
	// /srv/www) is resolved once here; below them no link is ever followed.
	for i, p := range paths {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			paths[i] = real
		}
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return exitError
	}
	cfg.Rules.Paths = append(cfg.Rules.Paths, rulePaths...)
	cfg.Scanner.Exclude = append(cfg.Scanner.Exclude, excludes...)
	if *noBundled {
		cfg.Rules.Bundled = false
	}
	if *workers >= 0 {
		cfg.Scanner.Workers = *workers
	}
	eng, ok := startEngine(cfg, stderr)
	if !ok {
		return exitError
	}
	defer eng.Close()
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	sc := eng.Scanner

	out := &scanPrinter{stdout: stdout, stderr: stderr, json: *asJSON, maxSize: cfg.Scanner.MaxFileSize}
	progress := startProgress(ctx, stderr, sc)
	start := time.Now()
	stats := sc.ScanTrees(ctx, paths, eng.Exclude, out.report)
	progress.stop()
	elapsed := time.Since(start)
	printSummary(stderr, stats, elapsed)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "shellwatch: scan interrupted")
		if stats.Flagged > 0 {
			return exitFlagged
		}
		return exitError
	case out.writeErr != nil:
		fmt.Fprintf(stderr, "shellwatch: write output: %v\n", out.writeErr)
		return exitError
	case stats.Flagged > 0:
		return exitFlagged
	case stats.Errors > 0:
		return exitError
	}
	return exitOK
}

// scanPrinter writes each verdict as it arrives. ScanTrees calls report from
// one goroutine at a time, so it needs no lock.
type scanPrinter struct {
	stdout, stderr io.Writer
	json           bool
	maxSize        config.ByteSize
	writeErr       error
}

func (p *scanPrinter) report(v scanner.Verdict) {
	if v.Err != nil {
		fmt.Fprintf(p.stderr, "shellwatch: %s\n", safetext.PathsIn(v.Err.Error(), v.Path))
	}
	if v.TooLarge {
		sum := v.SHA256
		if sum == "" {
			sum = "none"
		}
		fmt.Fprintf(p.stderr, "shellwatch: %s: larger than scanner.max_file_size %s (%d bytes): scanned %s; sha256 %s\n",
			safetext.Path(v.Path), p.maxSize, v.Size, v.Partial, sum)
	} else if v.Partial != "" {
		fmt.Fprintf(p.stderr, "shellwatch: %s: scanned %s\n", safetext.Path(v.Path), v.Partial)
	}
	if v.Incomplete != "" {
		fmt.Fprintf(p.stderr, "shellwatch: %s: PHP analysis incomplete (%s): findings so far are reported\n", safetext.Path(v.Path), v.Incomplete)
	}
	if !v.Flagged() || p.writeErr != nil {
		return
	}
	if p.json {
		b, err := json.Marshal(newScanRecord(v))
		if err == nil {
			b = append(b, '\n')
			_, err = p.stdout.Write(b)
		}
		p.writeErr = err
		return
	}
	names := make([]string, len(v.Matches))
	for i, m := range v.Matches {
		names[i] = m.Rule
	}
	_, p.writeErr = fmt.Fprintf(p.stdout, "%s\t%s\t%s\n", v.Severity, safetext.Path(v.Path), strings.Join(names, ","))
}

// printSummary writes the end-of-scan figures to stderr.
func printSummary(w io.Writer, s scanner.Stats, elapsed time.Duration) {
	secs := elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(s.Files) / secs
	}
	fmt.Fprintf(w, "scanned %d files, %s in %.2fs (%.0f files/s); flagged %d; errors %d; too large %d; skipped %d symlinks, %d special files\n",
		s.Files, humanBytes(s.Bytes), secs, rate, s.Flagged, s.Errors, s.TooLarge, s.Symlinks, s.Special)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// progressLine redraws a one-line progress report on a terminal.
type progressLine struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func (p *progressLine) stop() {
	if p.done == nil {
		return
	}
	close(p.done)
	p.wg.Wait()
}

// startProgress shows live counts on stderr, only when stderr is a terminal:
// in a pipe or a log file the line would be noise.
func startProgress(ctx context.Context, stderr io.Writer, sc *scanner.Scanner) *progressLine {
	f, ok := stderr.(*os.File)
	if !ok || !isTerminal(f) {
		return &progressLine{}
	}
	p := &progressLine{done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-ctx.Done():
				fmt.Fprint(f, "\r\033[K")
				return
			case <-tick.C:
				s := sc.Progress()
				fmt.Fprintf(f, "\r\033[K%d files, %s, %d flagged, %d errors", s.Files, humanBytes(s.Bytes), s.Flagged, s.Errors)
			}
		}
	}()
	return p
}
