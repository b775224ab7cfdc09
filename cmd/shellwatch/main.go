// Command shellwatch catches webshells and backdoors in web roots.
//
// Each subcommand lives in its own cmd_*.go file; they turn flags into calls
// on the packages that do the work and format the results.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit statuses shared by the subcommands, as clamscan uses them.
const (
	exitOK       = 0 // nothing found, or the command succeeded
	exitFlagged  = 1 // something was flagged
	exitError    = 2 // an error, a usage mistake included
	usageSummary = `shellwatch catches webshells and backdoors in web roots.

Usage:
  shellwatch run [--config F]
  shellwatch status [--config F] [--json]
  shellwatch deploy begin [--root R] [--ttl DUR] | end [--root R]
  shellwatch baseline accept [--manifest F] [PATH…] | diff [--json]
  shellwatch scan [--config F] [--json] [--rules PATH]… [--exclude GLOB]… PATH…
  shellwatch explain [--config F] [--json] [--rules PATH]… FILE…
  shellwatch rules check [--config F] [PATH…]
  shellwatch rules list [--config F] [--json]
  shellwatch trace [--config F] [--since T] [--until T] [--json] [--log FILE [--format F]]… (URL | PATH | --ip IP)
  shellwatch quarantine [--vault DIR] list [--json] | show ID | restore ID [--to PATH] | purge --older-than DUR
  shellwatch verify [--journal] [FILE]
  shellwatch version

Run "shellwatch help COMMAND" (or "shellwatch COMMAND --help") for a
command's flags.
Exit status: 0 nothing flagged or success, 1 something flagged (verify:
a problem in the stream), 2 error, 3 the daemon is not running (status,
deploy, baseline).
`
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageSummary)
		return exitError
	}
	switch args[0] {
	case "run":
		return runRun(args[1:], stdout, stderr)
	case "status":
		return runStatus(args[1:], stdout, stderr)
	case "deploy":
		return runDeploy(args[1:], stdout, stderr)
	case "baseline":
		return runBaseline(args[1:], stdout, stderr)
	case "scan":
		return runScan(args[1:], stdout, stderr)
	case "explain":
		return runExplain(args[1:], stdout, stderr)
	case "rules":
		return runRules(args[1:], stdout, stderr)
	case "quarantine":
		return runQuarantine(args[1:], stdout, stderr)
	case "trace":
		return runTrace(args[1:], stdout, stderr)
	case "verify":
		return runVerify(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "shellwatch %s\n", agentVersion())
		return exitOK
	case "help", "-h", "--help":
		// "shellwatch help scan" is "shellwatch scan --help".
		if len(args) > 1 && !isHelp(args[1]) {
			return run(append(args[1:len(args):len(args)], "--help"), stdout, stderr)
		}
		fmt.Fprint(stdout, usageSummary)
		return exitOK
	default:
		fmt.Fprintf(stderr, "shellwatch: unknown command %q\n\n%s", args[0], usageSummary)
		return exitError
	}
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help"
}
