package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/scanner"
)

// stringList is a flag that may be given many times.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// newFlagSet returns a flag set that prints its usage to stderr and reports
// errors instead of exiting, so run() keeps control of the exit status.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, flags and operands in any order ("scan /srv
// --json" works), and returns the operands. Everything after "--" is an
// operand, so a path that starts with a dash can always be named. When the
// command should stop here, stop is true with the exit status to use: -h
// prints help and exits 0, a bad flag exits 2.
func parseFlags(fs *flag.FlagSet, args []string) (operands []string, stop bool, status int) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, true, exitOK
			}
			return nil, true, exitError
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(operands, rest...), false, exitOK
		}
		if len(rest) == 0 {
			return operands, false, exitOK
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
}

// loadConfig returns the file's configuration, or the defaults when no file
// is named: a one-shot scan needs no config file.
func loadConfig(path string) (config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

// startEngine validates cfg and builds the scanner the one-shot commands
// use (scan, explain), printing what is wrong, or the rules' warnings, on
// stderr. The caller closes the engine.
func startEngine(cfg config.Config, stderr io.Writer) (*scanner.Engine, bool) {
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return nil, false
	}
	eng, err := scanner.NewEngine(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return nil, false
	}
	for _, w := range eng.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	return eng, true
}
