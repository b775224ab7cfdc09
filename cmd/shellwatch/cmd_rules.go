package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/shellwatch/shellwatch/rules"
	"github.com/shellwatch/shellwatch/scanner"
)

const rulesUsage = `Usage:
  shellwatch rules check [--config F] [PATH…]
      Compile rules and print how many there are, or every error as
      file:line: message. With PATHs, only those rule files or folders are
      checked (as a new rule folder would be before it goes into the config);
      without, the rules the config selects.
  shellwatch rules list [--config F] [--json]
      Print the rules the config selects with severity and family.

Exit status: 0 the rules compile, 2 they do not (or a usage error).

Flags:
`

func runRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, rulesUsage)
		return exitError
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("rules "+sub, rulesUsage, stdout, stderr)
	configPath := fs.String("config", "", "read rule settings from this config `file`")
	asJSON := fs.Bool("json", false, "with list: one JSON object per rule")
	switch sub {
	case "check", "list":
	case "-h", "--help", "help":
		return fs.help()
	default:
		fmt.Fprintf(stderr, "shellwatch rules: unknown subcommand %q\n\n%s", sub, rulesUsage)
		return exitError
	}
	operands, stop, status := fs.parse(args)
	if stop {
		return status
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return exitError
	}
	opts := scanner.RuleOptions(cfg)
	if sub == "check" && len(operands) > 0 {
		opts = rules.Options{Paths: operands, DefaultSeverity: cfg.Rules.DefaultSeverity}
	}
	if sub == "list" && len(operands) > 0 {
		fmt.Fprintf(stderr, "shellwatch rules list: unexpected argument %q\n", operands[0])
		return exitError
	}
	set, err := rules.Compile(opts)
	if err != nil {
		var ce *rules.CompileError
		if errors.As(err, &ce) {
			fmt.Fprintln(stderr, ce.Error())
			fmt.Fprintf(stderr, "shellwatch: rules do not compile: %d error(s)\n", len(ce.Problems))
		} else {
			fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		}
		return exitError
	}
	defer set.Destroy()
	for _, w := range set.Warnings() {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if sub == "check" {
		fmt.Fprintf(stdout, "ok: %d rules from %d files\n", len(set.Rules()), len(set.Sources()))
		return exitOK
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range set.Rules() {
			if err := enc.Encode(r); err != nil {
				fmt.Fprintf(stderr, "shellwatch: %v\n", err)
				return exitError
			}
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tFAMILY\tRULE\tDESCRIPTION")
	for _, r := range set.Rules() {
		fmt.Fprintf(tw, "%s\t%s\t%s:%s\t%s\n", r.Severity, r.Family, r.Namespace, r.Name, r.Description)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return exitError
	}
	return exitOK
}
