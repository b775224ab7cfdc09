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

// flagSet is the flags of a subcommand with its usage text. Help asked for
// (-h, --help, `shellwatch help COMMAND`) is printed once on stdout and
// exits 0; after a mistake the usage goes to stderr and the exit is 2.
type flagSet struct {
	*flag.FlagSet
	usage          string
	stdout, stderr io.Writer
}

// newFlagSet returns a flag set that reports errors instead of exiting, so
// run() keeps control of the exit status.
func newFlagSet(name, usage string, stdout, stderr io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), usage: usage, stdout: stdout, stderr: stderr}
	fs.SetOutput(stderr)
	// The flag package calls Usage on -h and on a bad flag, before parse
	// knows which; parse prints the usage itself, once, where it belongs.
	fs.Usage = func() {}
	return fs
}

// help prints the usage and the flags on stdout and returns the exit status
// of a command that was asked for its help.
func (fs *flagSet) help() int {
	fs.printUsage(fs.stdout)
	return exitOK
}

// usageError prints the usage and the flags on stderr, after the message
// saying what was wrong, and returns the exit status of a usage error.
func (fs *flagSet) usageError() int {
	fs.printUsage(fs.stderr)
	return exitError
}

func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprint(w, fs.usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(fs.stderr)
}

// parse parses args, flags and operands in any order ("scan /srv --json"
// works), and returns the operands. Everything after "--" is an operand, so
// a path that starts with a dash can always be named. When the command
// should stop here, stop is true with the exit status to use: -h prints
// help and exits 0, a bad flag exits 2.
func (fs *flagSet) parse(args []string) (operands []string, stop bool, status int) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, true, fs.help()
			}
			return nil, true, fs.usageError()
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

// parseNoOperands parses the flags of a command that takes no operands. ok
// is false when the command must stop with status.
func (fs *flagSet) parseNoOperands(args []string) (status int, ok bool) {
	operands, stop, status := fs.parse(args)
	if stop {
		return status, false
	}
	if len(operands) > 0 {
		fmt.Fprintf(fs.stderr, "shellwatch %s: unexpected argument %q\n", fs.Name(), operands[0])
		return exitError, false
	}
	return exitOK, true
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
